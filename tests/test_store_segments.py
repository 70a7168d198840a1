"""Saving in segments (topics.segments): the bytes joblib.dump writes, each array's with its own CRC-32;
arrays a save keeps are copied from the file they are mapped from, with their checksums; loading checks
every segment, and files saved before segments are checked as they were."""

import errno
import io
import json
import os
import struct
import zlib

import joblib
import numpy as np
import pytest

import topics
from topics import ModelFileError, segments, store
from topics.model import load_for_update, save_model

KEY = b"newsroom-secret"


@pytest.fixture
def small_segments(monkeypatch):
    """Arrays of 4 kB and more are segments of their own and loading checks pieces of 8 kB, so the sample
    model's file (0.8 MB) has dozens of segments and pieces, as a large model's has."""
    monkeypatch.setattr(segments, "SEGMENT_MIN", 4096)
    monkeypatch.setattr(segments, "PIECE", 8192)


@pytest.fixture
def spy(monkeypatch):
    """Counts kernel copies (bytes asked for) and checksums computed from memory (bytes hashed)."""
    seen = {"copied": [], "hashed": []}
    copy, crc_of = os.copy_file_range, segments.crc32_of

    def counted_copy(src, dst, count, *args):
        seen["copied"].append(count)
        return copy(src, dst, count, *args)

    def counted_crc(view, **kwargs):
        seen["hashed"].append(len(view))
        return crc_of(view, **kwargs)

    monkeypatch.setattr(os, "copy_file_range", counted_copy)
    monkeypatch.setattr(segments, "crc32_of", counted_crc)
    return seen


def split(data: bytes):
    length = struct.unpack("<Q", data[-16:-8])[0]
    return data[: -16 - length], json.loads(data[-16 - length : -16])


def with_footer(data: bytes, **changes) -> bytes:
    payload, footer = split(data)
    footer = {k: v for k, v in {**footer, **changes}.items() if v is not None}
    encoded = json.dumps(footer).encode()
    return payload + encoded + struct.pack("<Q8s", len(encoded), b"TPCSEND1")


def joblib_bytes(model) -> bytes:
    """What ``joblib.dump`` writes for the model's payload: the plain reference a save must equal."""
    buffer = io.BytesIO()
    joblib.dump(store._payload(model.state_, model.get_params()), buffer)
    return buffer.getvalue()


def flipped(data: bytes, where: int) -> bytes:
    return data[:where] + bytes([data[where] ^ 0x01]) + data[where + 1 :]


def answers(model):
    return (
        [(h.id, round(h.score, 6)) for h in model.similar(id="lee-bg-010", k=5)],
        [(h.id, round(h.score, 6)) for h in model.similar(text="interest rates and the economy", k=5)],
        [t.to_dict() for t in model.topics()],
    )


def test_crc32_combine_gives_the_crc_of_the_joined_bytes(monkeypatch):
    rng = np.random.default_rng(0)
    for first, second in [(0, 0), (0, 5), (5, 0), (1, 1), (100, 3), (3, 100), (4096, 70_001), (1 << 20, 12_345)]:
        a, b = rng.bytes(first), rng.bytes(second)
        assert segments.crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    monkeypatch.setattr(segments, "PIECE", 1000)  # hashed in pieces on every core, then combined
    data = rng.bytes(123_457)
    assert segments.crc32_of(data) == zlib.crc32(data)
    assert segments.crc32(data) == zlib.crc32(data)  # zlib-ng's, when installed, gives zlib's values


def test_a_save_writes_what_joblib_dump_writes_with_a_checksum_per_segment(tmp_path, sample_model, small_segments):
    path = sample_model.save(tmp_path / "m.joblib")
    payload, footer = split(path.read_bytes())
    assert payload == joblib_bytes(sample_model)
    parts = footer["crc32_segments"]
    assert len(parts) > 20 and sum(n for n, _ in parts) == len(payload) and footer["crc32"] == zlib.crc32(payload)
    starts = np.cumsum([0] + [n for n, _ in parts])
    assert [zlib.crc32(payload[s : s + n]) for s, (n, _) in zip(starts, parts, strict=False)] == [c for _, c in parts]
    assert "crc32_blocks" not in footer
    assert answers(topics.load(path)) == answers(sample_model)


def test_an_edit_copies_the_arrays_it_keeps_with_their_checksums(tmp_path, sample_model, small_segments, spy):
    path = sample_model.save(tmp_path / "m.joblib")
    model = topics.load(path)
    model.merge_topics([2, 6])
    spy["copied"].clear()
    edited = model.save(tmp_path / "edited.joblib")
    payload, _ = split(edited.read_bytes())
    assert payload == joblib_bytes(model)
    # X, its postings, B, L and the article texts came from the loaded file, H and W (changed) did not
    assert sum(spy["copied"]) > 0.6 * len(payload)
    assert spy["hashed"] == []  # their checksums are the loaded file's, checked when it was loaded
    assert answers(topics.load(edited)) == answers(model)
    # in place, under the writer lock, as the CLI does
    spy["copied"].clear()
    with store.lock_model(path):
        again, stamp = load_for_update(path)
        again.merge_topics([2, 6])
        save_model(again, path, force=True, replacing=stamp)
    assert split(path.read_bytes())[0] == joblib_bytes(again)
    assert sum(spy["copied"]) > 0.6 * len(payload) and spy["hashed"] == []
    assert answers(topics.load(path)) == answers(model)


def test_where_the_kernel_cannot_copy_the_bytes_are_written_from_memory(
    tmp_path, sample_model, small_segments, monkeypatch
):
    path = sample_model.save(tmp_path / "m.joblib")
    model = topics.load(path)
    model.drop_topic(3)
    expected = joblib_bytes(model)
    copy = os.copy_file_range

    def other_file_system(*args):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    def half_then_nothing(src, dst, count, offset):  # a copy that stops short: undone, then written
        return copy(src, dst, count // 2, offset) if count > 1 else 0

    for replacement in (other_file_system, half_then_nothing, None):
        if replacement is None:
            monkeypatch.delattr(os, "copy_file_range")
        else:
            monkeypatch.setattr(os, "copy_file_range", replacement)
        saved = model.save(tmp_path / "copy.joblib", force=True)
        assert split(saved.read_bytes())[0] == expected
        assert answers(topics.load(saved)) == answers(model)
        monkeypatch.undo()
        monkeypatch.setattr(segments, "SEGMENT_MIN", 4096)


def test_a_source_changed_since_loading_is_hashed_again_or_not_copied(tmp_path, sample_model, small_segments, spy):
    path = sample_model.save(tmp_path / "m.joblib")
    model = topics.load(path)
    model.merge_topics([0, 1])
    expected = joblib_bytes(model)
    os.utime(path, ns=(0, 0))  # the same file with another stamp: checksums are computed from the bytes
    assert split(model.save(tmp_path / "a.joblib").read_bytes())[0] == expected
    assert spy["copied"] and spy["hashed"]
    spy["copied"].clear()
    sample_model.save(path, force=True)  # the path names another file now: nothing is copied from it
    assert split(model.save(tmp_path / "b.joblib").read_bytes())[0] == expected
    assert spy["copied"] == []
    assert answers(topics.load(tmp_path / "b.joblib")) == answers(model)


def test_a_signed_model_is_copied_and_signed_again(tmp_path, sample_model, small_segments, spy):
    path = sample_model.save(tmp_path / "signed.joblib", key=KEY)
    model = topics.load(path, key=KEY)
    model.merge_topics([2, 6])
    edited = model.save(tmp_path / "edited.joblib", key=KEY)
    assert spy["copied"] and spy["hashed"] == []  # a verified signature vouches for the segment checksums
    assert answers(topics.load(edited, key=KEY)) == answers(model)
    with pytest.raises(ModelFileError, match="key is wrong"):
        topics.load(edited, key=b"another key")
    damaged = tmp_path / "damaged.joblib"
    data = edited.read_bytes()
    damaged.write_bytes(flipped(data, len(data) // 3))
    with pytest.raises(ModelFileError, match=r"damaged|changed after it was signed"):
        topics.load(damaged, key=KEY)


def test_damage_in_any_segment_is_caught(tmp_path, sample_model, small_segments):
    path = sample_model.save(tmp_path / "m.joblib")
    data = path.read_bytes()
    payload, footer = split(data)
    starts = np.cumsum([0] + [n for n, _ in footer["crc32_segments"]])
    for where in (0, int(starts[len(starts) // 2]), len(payload) // 2, len(payload) - 1):
        damaged = tmp_path / f"damaged-{where}.joblib"
        damaged.write_bytes(flipped(data, where))
        with pytest.raises(ModelFileError, match="damaged \\(checksum mismatch\\)"):
            topics.load(damaged)
    cut = tmp_path / "cut.joblib"
    cut.write_bytes(data[: len(payload) // 2] + data[len(payload) :])  # a hole: the footer's size disagrees
    with pytest.raises(ModelFileError, match="truncated or appended to"):
        topics.load(cut)
    # segments that do not add up to the payload are not trusted: the whole-payload CRC-32 decides
    odd = tmp_path / "odd.joblib"
    odd.write_bytes(with_footer(data, crc32_segments=[[1, 0]]))
    assert answers(topics.load(odd)) == answers(sample_model)
    odd.write_bytes(with_footer(flipped(data, 100), crc32_segments=[[1, 0]]))
    with pytest.raises(ModelFileError, match="damaged \\(checksum mismatch\\)"):
        topics.load(odd)


def test_damage_in_the_search_matrix_is_caught_when_a_query_first_reads_it(tmp_path, sample_model, small_segments, spy):
    """Without a key, B's own segments (a third of a large file, read by short text queries only) are
    checked when B is first used: a query by id answers, a text query or a save of the damaged file is
    refused; damage anywhere else is still refused at load."""
    path = sample_model.save(tmp_path / "m.joblib")
    data = path.read_bytes()
    b_data = sample_model.index_.search.data.tobytes()
    where = data.index(b_data) + len(b_data) // 2
    damaged = tmp_path / "damaged-b.joblib"
    damaged.write_bytes(flipped(data, where))
    model = topics.load(damaged)
    assert [h.id for h in model.similar(id="lee-bg-010", k=5)] == [
        h.id for h in sample_model.similar(id="lee-bg-010", k=5)
    ]
    for use in (lambda: model.similar(text="interest rates", k=5), lambda: model.save(tmp_path / "copy.joblib")):
        with pytest.raises(ModelFileError, match="damaged \\(checksum mismatch\\)"):
            use()
    with pytest.raises(ModelFileError, match="damaged \\(checksum mismatch\\)"):
        topics.load(damaged, key=KEY)  # with a key, everything is checked first, as before
    x_data = sample_model.doc_terms_.data.tobytes()
    damaged.write_bytes(flipped(data, data.index(x_data) + len(x_data) // 2))
    with pytest.raises(ModelFileError, match="damaged \\(checksum mismatch\\)"):
        topics.load(damaged)
    # an intact B, once checked, is copied by a save with its checksum, as the rest
    model = topics.load(path)
    model.similar(text="interest rates", k=5)
    spy["hashed"].clear()
    model.save(tmp_path / "again.joblib")
    assert spy["hashed"] == []


def test_files_saved_before_segments_are_checked_and_edited_as_before(tmp_path, sample_model, monkeypatch, spy):
    """Files of 64 MiB block checksums (here 16 kB) or of one whole-payload CRC-32 load, catch damage, and
    an edit of one copies its arrays, computing their checksums from the bytes."""
    path = sample_model.save(tmp_path / "m.joblib")
    data = path.read_bytes()
    payload, _ = split(data)
    blocks = [zlib.crc32(payload[i : i + 16384]) for i in range(0, len(payload), 16384)]
    old_footers = {
        "blocks": {"crc32_segments": None, "crc32_block_bytes": 16384, "crc32_blocks": blocks},
        "whole": {"crc32_segments": None},
    }
    for name, changes in old_footers.items():
        old = tmp_path / f"{name}.joblib"
        old.write_bytes(with_footer(data, **changes))
        model = topics.load(old)
        assert answers(model) == answers(sample_model)
        old.write_bytes(with_footer(flipped(data, len(payload) - 1), **changes))
        with pytest.raises(ModelFileError, match="damaged \\(checksum mismatch\\)"):
            topics.load(old)
    monkeypatch.setattr(segments, "SEGMENT_MIN", 4096)
    model.merge_topics([2, 6])  # loaded from the whole-payload file
    saved = model.save(tmp_path / "edited.joblib")
    assert split(saved.read_bytes())[0] == joblib_bytes(model)
    assert spy["copied"] and spy["hashed"]


def test_the_search_matrix_is_left_for_later_only_where_nothing_else_refers_to_its_bytes(tmp_path):
    """A pickle may name one array twice: B's bytes are checked at load when any other part of the payload
    (L, say) holds the same array, since that part is used before B."""
    path = tmp_path / "bytes"
    path.write_bytes(bytes(range(256)) * 64)
    whole = np.memmap(path, dtype=np.uint8, mode="r")
    parts = [[1024, 0], [8192, 0], [7168, 0]]
    data = whole[1024 : 1024 + 8192].view(np.float32)
    payload = {"search": {"data": data, "indptr": np.zeros(3, np.int64)}, "search_fields": {"indptr": None}}
    assert store._search_segments(whole, parts, payload) == [1]
    for elsewhere in (data, whole[2048:2056], {"data": data}):
        payload["search_fields"]["data"] = elsewhere
        assert store._search_segments(whole, parts, payload) == []
    payload["search_fields"] = payload["search"]  # the same mapping under another name
    assert store._search_segments(whole, parts, payload) == []
