"""Saving and loading: round trips give the same answers; damaged, foreign and unsigned files are refused."""

import json
import struct
import zlib

import numpy as np
import pytest

import topics
from topics import ModelFileError
from topics.store import FORMAT_VERSION, read_footer


def answers(model):
    return (
        [(h.id, round(h.score, 6)) for h in model.similar(id="lee-bg-010", k=10)],
        [(h.id, round(h.score, 6)) for h in model.similar(text="interest rates and the economy", k=10)],
        [t.to_dict() for t in model.topics()],
        model.transform(["Taliban fighters in Kandahar"]).round(6).tolist(),
    )


def test_round_trip_gives_identical_answers(sample_model, sample_model_file):
    loaded = topics.load(sample_model_file)
    assert answers(loaded) == answers(sample_model)
    assert loaded.get_params() == sample_model.get_params()


def test_large_arrays_load_memory_mapped(sample_model_file):
    loaded = topics.load(sample_model_file)
    assert isinstance(loaded.doc_topics_, np.memmap)
    assert not loaded.doc_terms_.data.flags.writeable  # a read-only view of the mapped file


@pytest.mark.slow  # starts worker processes
def test_a_loaded_models_mapped_arrays_reach_worker_processes(sample_model_file):
    """Loading maps the arrays from the file it verified; worker processes (topics add, search fields on
    all cores) map them again by the model's path, not by this process's own file handle."""
    from functools import partial

    from topics.parallel import map_chunks

    model = topics.load(sample_model_file)
    H, vocabulary = model.components_, model.vectorizer_.vocabulary_
    assert isinstance(H, np.memmap) or isinstance(H.base, np.memmap)
    sums = map_chunks(partial(np.sum, axis=None), [H, H[1:]], n_jobs=2)
    assert sums == pytest.approx([float(H.sum()), float(H[1:].sum())])
    assert map_chunks(len, [vocabulary, vocabulary[:5]], n_jobs=2) == [len(vocabulary), 5]


def test_saving_does_not_change_the_model(tmp_path, sample_model):
    before = answers(sample_model)
    sample_model.save(tmp_path / "m.joblib")
    assert answers(sample_model) == before


def test_never_overwrites_without_force(tmp_path, sample_model):
    path = tmp_path / "m.joblib"
    sample_model.save(path)
    path.write_bytes(b"precious")
    with pytest.raises(ModelFileError, match="already exists; use --force"):
        sample_model.save(path)
    assert path.read_bytes() == b"precious"
    sample_model.save(path, force=True)
    assert topics.load(path).similar(id="lee-00", k=1)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_footer_records_versions_and_counts(sample_model_file):
    footer = read_footer(sample_model_file)
    # format 5: the search matrix has columns for the archive's rare words, which readers of formats 1 to 4
    # would take for a damaged file (format 3: the analyser repairs broken text; 4: text cut into words first)
    assert footer["format"] == "topics-model" and footer["format_version"] == 5 and FORMAT_VERSION == 5
    assert (footer["n_articles"], footer["n_topics"]) == (351, 10)
    assert footer["hmac_sha256"] is None


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[: len(b) // 2], "not a topics model file, or it is truncated"),
        (lambda b: b[:100] + bytes([b[100] ^ 0xFF]) + b[101:], "damaged \\(checksum mismatch\\)"),
        (lambda b: b"just some text, not a model", "not a topics model file"),
        (lambda b: b"", "not a topics model file"),
        (lambda b: b"x" + b, "damaged \\(its size does not match"),
    ],
)
def test_damaged_files_are_refused(tmp_path, sample_model_file, damage, message):
    path = tmp_path / "bad.joblib"
    path.write_bytes(damage(sample_model_file.read_bytes()))
    with pytest.raises(ModelFileError, match=message):
        topics.load(path)


def rewrite_footer(data: bytes, **changes) -> bytes:
    length = struct.unpack("<Q", data[-16:-8])[0]
    footer = json.loads(data[-16 - length : -16])
    footer.update(changes)
    encoded = json.dumps(footer).encode()
    return data[: -16 - length] + encoded + struct.pack("<Q8s", len(encoded), b"TPCSEND1")


def test_newer_format_gets_an_upgrade_message(tmp_path, sample_model_file):
    path = tmp_path / "future.joblib"
    path.write_bytes(rewrite_footer(sample_model_file.read_bytes(), format_version=FORMAT_VERSION + 1))
    with pytest.raises(ModelFileError, match=r"newer topics .* upgrade topics"):
        topics.load(path)


def test_missing_and_directory_paths(tmp_path):
    with pytest.raises(ModelFileError, match=r"no model at .*topics fit CORPUS --model"):
        topics.load(tmp_path / "none.joblib")
    with pytest.raises(ModelFileError, match="is a directory"):
        topics.load(tmp_path)


def test_signed_models_refuse_unsigned_and_tampered_files(tmp_path, sample_model, sample_model_file):
    key = b"newsroom-secret"
    signed = tmp_path / "signed.joblib"
    sample_model.save(signed, key=key)
    assert topics.load(signed, key=key).similar(id="lee-00", k=1)
    with pytest.raises(ModelFileError, match="not signed and a key was given"):
        topics.load(sample_model_file, key=key)
    with pytest.raises(ModelFileError, match="changed after it was signed, or the key is wrong"):
        topics.load(signed, key=b"another key")
    # An attacker who rewrites the payload and fixes the CRC still cannot forge the HMAC.
    data = bytearray(signed.read_bytes())
    data[200] ^= 0x01
    length = struct.unpack("<Q", bytes(data[-16:-8]))[0]
    payload = bytes(data[: -16 - length])
    forged = tmp_path / "forged.joblib"
    forged.write_bytes(rewrite_footer(bytes(data), crc32=zlib.crc32(payload)))
    with pytest.raises(ModelFileError, match="changed after it was signed"):
        topics.load(forged, key=key)


def test_every_public_name_of_the_package_resolves():
    """The package imports its modules on first use; every name it exports is still there."""
    assert set(topics.__all__) <= set(dir(topics))
    for name in topics.__all__:
        value = getattr(topics, name)
        assert value is not None and (name.startswith("__") or getattr(value, "__name__", name) == name)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        topics.not_a_name  # noqa: B018
