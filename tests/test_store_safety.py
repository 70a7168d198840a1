"""Model files against an attacker who knows the format, signatures that cover the whole file, and saves
that keep permissions, follow symlinks and leave nothing behind when they fail (issue 18)."""

import copy
import hashlib
import hmac
import io
import json
import os
import pickle
import shutil
import stat
import struct
import subprocess
import sys
import zlib

import joblib
import numpy as np
import pytest

import topics
from topics import ModelFileError, segments
from topics.model import load_for_update, save_model
from topics.store import lock_model, read_footer, signature_status

KEY = b"newsroom-secret"


# -- an attacker's tools: the format, written out -----------------------------------------------------------
def split(data: bytes):
    length = struct.unpack("<Q", data[-16:-8])[0]
    return data[: -16 - length], json.loads(data[-16 - length : -16])


def join(payload: bytes, footer: dict, *, key: bytes | None = None, sign_footer: bool = True) -> bytes:
    """A model file around ``payload``: size and CRC-32s fixed up and, with ``key``, signed as topics signs."""
    footer = dict(footer)
    footer.update(
        payload_bytes=len(payload), crc32=zlib.crc32(payload), crc32_segments=[[len(payload), zlib.crc32(payload)]]
    )
    footer.pop("footer_hmac_sha256", None)
    if key is not None:
        footer["hmac_sha256"] = hmac.new(key, payload, hashlib.sha256).hexdigest()
        if sign_footer:
            body = json.dumps(footer, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
            footer["footer_hmac_sha256"] = hmac.new(key, b"topics-model footer\n" + body, hashlib.sha256).hexdigest()
    encoded = json.dumps(footer).encode()
    return payload + encoded + struct.pack("<Q8s", len(encoded), b"TPCSEND1")


def plain_payload(path):
    """The payload of a model file as plain Python data, read with joblib itself (the file is trusted here)."""
    payload_bytes, _ = split(path.read_bytes())
    return joblib.load(io.BytesIO(payload_bytes))


def joblib_bytes(payload) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(payload, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def template(tmp_path_factory, sample_model):
    """A signed model, its payload as data and its footer."""
    path = tmp_path_factory.mktemp("template") / "signed.joblib"
    sample_model.save(path, key=KEY)
    return path, plain_payload(path), split(path.read_bytes())[1]


def write(tmp_path, data: bytes, name="hostile.joblib"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- hostile payloads that pass checksum and signature ------------------------------------------------------
def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(payload):
        target = payload
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value(target[keys[-1]]) if callable(value) else value

    return change


def _with(array, index, value):
    array = np.array(array)
    array[index] = value
    return array


HOSTILE = {
    "term index past the vocabulary": (
        _set("doc_terms", "indices", lambda a: _with(a, 3, 10**6)),
        "doc_terms has an index out of range",
    ),
    "negative posting": (_set("postings", "indices", lambda a: _with(a, -1, -5)), "postings has an index out of range"),
    "indptr going back": (_set("doc_terms", "indptr", lambda a: _with(a, 5, 0)), "doc_terms.indptr decreases"),
    "indptr past the data": (
        _set("doc_terms", "indptr", lambda a: _with(a, -1, a[-1] + 50)),
        "doc_terms.indptr does not span",
    ),
    "indices shorter than data": (_set("postings", "indices", lambda a: a[:-1]), "postings has .* indices for"),
    "W of the wrong shape": (_set("doc_topics", lambda a: a[:-1]), "doc_topics has shape"),
    "H of another width": (_set("components", lambda a: a[:, :-1]), "idf has shape|doc_terms has shape"),
    "idf of ints": (_set("idf", lambda a: a.astype(np.int64)), "idf has dtype int64"),
    "NaN topic weight": (_set("doc_topics", lambda a: _with(a, (0, 0), np.nan)), "doc_topics holds NaN"),
    "big-endian data": (_set("doc_terms", "data", lambda a: a.astype(">f4")), "non-native byte order"),
    "snippet offsets past the text": (
        _set("articles", "snippets", "offsets", lambda a: _with(a, -1, a[-1] + 9)),
        "articles.snippets.offsets do not fit",
    ),
    "id offsets splitting a character": (
        _set("articles", "ids", "blob", lambda a: _with(a, 0, 0x80)),
        "articles.ids splits a UTF-8 character|not valid UTF-8",
    ),
    "snippets that are not UTF-8": (
        _set("articles", "snippets", "blob", lambda a: _with(a, len(a) // 2, 0xFF)),
        "articles.snippets is not valid UTF-8",
    ),
    "no articles": (
        lambda p: [
            p["articles"][c].__setitem__("offsets", np.zeros(1, np.int64)) for c in ("ids", "titles", "snippets")
        ],
        "it holds 0 articles",
    ),
    "dates in seconds": (
        _set("articles", "dates", lambda a: a.astype("datetime64[s]")),
        "articles.dates are malformed",
    ),
    "a term that is not UTF-8": (
        _set("vocabulary", lambda a: _with(a, 5, b"caf\xc3")),
        "vocabulary is not valid UTF-8",
    ),
    "id order with a repeat": (_set("articles", "id_order", lambda a: _with(a, 0, a[1])), "id_order is not an order"),
    "topic name for a missing topic": (_set("topic_names", {"99": "x"}), "topic_names are malformed"),
    "parameter out of range": (_set("params", "topic_weight", 7.5), "params.topic_weight is not allowed"),
    "stop words that are not words": (_set("analyzer", "stop_words", [1, 2]), "analyzer.stop_words"),
    "history that is not a list of records": (_set("fit_info", "adds", "lots"), "fit_info.adds is malformed"),
    "history with bytes where the footer needs text": (
        _set("fit_info", "adds", [{"n_added": 1, "at": b"x"}]),
        "fit_info.adds is malformed",
    ),
    "a fit error that is text": (_set("fit_info", "relative_error", "low"), "fit_info is malformed"),
    "sources that are not paths": (_set("fit_info", "sources", [1]), "fit_info.sources is malformed"),
    "a word order that is not columns": (_set("fit_info", "word_order", [[1, -2]]), "fit_info.word_order is malformed"),
    "a word order that is text": (_set("fit_info", "word_order", "order"), "fit_info.word_order is malformed"),
    "a stub row past the last article": (
        _set("fit_info", "stubs", {"min_words": 3, "n_adds": 0, "rows": [10**6]}),
        "fit_info.stubs is malformed",
    ),
    "an integer of 5000 digits": (_set("fit_info", "n_articles", 10**5000), "integer of more than 64 bits"),
    "a self-referencing mapping": (
        lambda p: p["fit_info"].__setitem__("me", p["fit_info"]),
        "nested deeper than 32 levels",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_malformed_arrays_and_values_are_refused_in_one_line(tmp_path, template, case):
    _, payload, footer = template
    change, message = HOSTILE[case]
    payload = copy.deepcopy(payload)
    change(payload)
    hostile = write(tmp_path, join(joblib_bytes(payload), footer, key=KEY))
    for key in (KEY, None):  # signed by someone with the key, or simply not checked against one
        with pytest.raises(ModelFileError, match=message) as caught:
            topics.load(hostile, key=key)
        assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


@pytest.mark.parametrize(
    "change",
    [
        _set("search", "indices", lambda a: _with(a, 2, 10**6)),
        _set("search", "indptr", lambda a: _with(a, 3, 0)),
        _set("search", "data", lambda a: _with(a, 1, np.nan)),
    ],
    ids=["row past the last", "indptr going back", "NaN"],
)
def test_a_bad_search_matrix_is_refused_in_one_line_when_a_query_first_needs_it(tmp_path, template, change):
    """B (the BM25 matrix) is checked when a short text query first reads it, not when the model loads:
    a query by id, which never reads it, does not pay for checking it; what reads it is refused."""
    _, payload, footer = template
    payload = copy.deepcopy(payload)
    change(payload)
    hostile = write(tmp_path, join(joblib_bytes(payload), footer, key=KEY))
    model = topics.load(hostile, key=KEY)
    assert model.similar(model.articles_.ids[0], k=3)
    for query in (lambda: model.similar(text="rain", k=3), lambda: model.similar_batch(["rain"], k=3)):
        with pytest.raises(ModelFileError, match=r"damaged or not a topics model .*search") as caught:
            query()
        assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


def test_a_re_pickled_model_still_loads_so_the_checks_refuse_only_bad_data(tmp_path, template):
    path, payload, footer = template
    for data in (joblib_bytes(payload), pickle.dumps(payload, protocol=4)):  # arrays by numpy's reconstructor
        model = topics.load(write(tmp_path, join(data, footer, key=KEY)), key=KEY)
        assert [h.id for h in model.similar(id="lee-00", k=3)] == [
            h.id for h in topics.load(path).similar(id="lee-00", k=3)
        ]


@pytest.mark.parametrize("where", ["fit_info", "vocabulary", "dtype alone", "inside a list"])
def test_object_arrays_built_by_numpys_reconstructor_are_refused(tmp_path, template, where):
    _, payload, footer = template
    payload = copy.deepcopy(payload)
    objects = np.array([b"rain", ["a", "list"], {"a": 1}], dtype=object)
    if where == "fit_info":
        payload["fit_info"]["extra"] = objects
    elif where == "vocabulary":
        payload["vocabulary"] = payload["vocabulary"].astype(object)
    elif where == "dtype alone":
        payload["fit_info"]["extra"] = np.dtype(object)
    else:
        payload["fit_info"]["extra"] = [[objects]]
    data = pickle.dumps(payload, protocol=4)  # plain pickle: ndarrays go through numpy's _reconstruct
    assert b"_reconstruct" in data
    with pytest.raises(ModelFileError, match="array of Python objects"):
        topics.load(write(tmp_path, join(data, footer, key=KEY)), key=KEY)


def _placeholder_replaced(payload, marker: str, opcodes: bytes) -> bytes:
    """A plain pickle of ``payload`` where the string ``marker`` is built by ``opcodes`` instead."""
    data = pickle.dumps(payload, protocol=4)
    encoded = marker.encode()
    pickled = (
        b"\x8c" + bytes([len(encoded)]) if len(encoded) < 256 else b"X" + struct.pack("<I", len(encoded))
    ) + encoded
    assert data.count(pickled) == 1
    return data.replace(pickled, opcodes)


def test_deeply_nested_and_exponentially_shared_payloads_are_refused_quickly(tmp_path, template):
    _, payload, footer = template
    payload = copy.deepcopy(payload)
    payload["fit_info"]["deep"] = "PLACEHOLDER"
    deep = _placeholder_replaced(payload, "PLACEHOLDER", b"(" * 200_000 + b"l" * 200_000)  # [[[...]]], 200,000 deep
    with pytest.raises(ModelFileError, match="nested deeper than 32 levels"):
        topics.load(write(tmp_path, join(deep, footer, key=KEY)), key=KEY)
    # 20 levels of ten references to the level below: a few hundred bytes, 10**20 values when walked
    laughs = [1]
    for _ in range(20):
        laughs = [laughs] * 10
    payload["fit_info"]["deep"] = laughs
    with pytest.raises(ModelFileError, match="holds more values than its size allows"):
        topics.load(write(tmp_path, join(pickle.dumps(payload, protocol=4), footer, key=KEY)), key=KEY)


@pytest.mark.parametrize(
    "footer_text",
    [
        '{"format": "topics-model", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"format": "topics-model", "format_version": ' + "9" * 5000 + "}",
        '{"format": "topics-model", "format_version": 1, "payload_bytes": "many"}',
        '{"format": "topics-model", "x": ' + "[" * 900 + "]" * 900 + "}",  # parses, but nothing reads it safely
        '{"format": "topics-model", "format_version": 1, "payload_bytes": 9, "crc32": 0, "hmac_sha256": ' + "[1]}",
    ],
)
def test_hostile_footers_are_refused_in_one_line(tmp_path, sample_model_file, footer_text):
    payload, _ = split(sample_model_file.read_bytes())
    encoded = footer_text.encode()
    path = write(tmp_path, payload + encoded + struct.pack("<Q8s", len(encoded), b"TPCSEND1"))
    with pytest.raises(ModelFileError, match=r"damaged \((unreadable|malformed) footer\)"):
        read_footer(path)


def test_a_footer_history_of_the_wrong_types_is_refused(tmp_path, template):
    path, _, footer = template
    payload_bytes, _ = split(path.read_bytes())
    hostile = write(tmp_path, join(payload_bytes, {**footer, "adds": [{"n_added": {"nested": [1]}}]}))
    with pytest.raises(ModelFileError, match="malformed footer"):
        read_footer(hostile)


HOSTILE_CLI = ["duplicates", "batch", "similar", "summary", "info", "add", "label"]


@pytest.mark.parametrize("command", HOSTILE_CLI)
def test_the_cli_refuses_out_of_range_indices_in_one_line(run_cli, tmp_path, template, command):
    """These indices made `batch` crash with a segfault and `duplicates` read out of bounds, so the two run
    in a process of their own: a regression fails the test instead of killing the test run."""
    _, payload, footer = template
    payload = copy.deepcopy(payload)
    payload["postings"]["indices"] = _with(payload["postings"]["indices"], 0, 10**7)
    payload["doc_terms"]["indices"] = _with(payload["doc_terms"]["indices"], 0, 10**7)
    path = write(tmp_path, join(joblib_bytes(payload), footer, key=KEY), "m.joblib")
    (tmp_path / "queries.txt").write_text("rain and floods\n", encoding="utf-8")
    (tmp_path / "new.jsonl").write_text('{"id": "n1", "text": "heavy rain floods the city"}\n', encoding="utf-8")
    (tmp_path / "key").write_bytes(KEY)
    args = {
        "duplicates": ["duplicates"],
        "batch": ["batch", "queries.txt"],
        "similar": ["similar", "--text", "rain"],
        "summary": ["summary"],
        "info": ["info"],
        "add": ["add", "new.jsonl"],
        "label": ["label", "0", "x"],
    }[command]
    args += ["--model", "m.joblib", "--key-file", "key"]
    before = path.read_bytes()
    if command in ("duplicates", "batch"):
        env = {k: v for k, v in os.environ.items() if k != "TOPICS_MODEL_KEY"}
        done = subprocess.run(
            [sys.executable, "-m", "topics.cli", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        exit_code, stdout, stderr = done.returncode, done.stdout, done.stderr
    else:
        result = run_cli(*args)
        exit_code, stdout, stderr = result.exit_code, result.stdout, result.stderr
    if command == "info":  # reads the footer only, which is intact: it must not crash either
        assert exit_code == 0 and "verified" in stdout.split()
        return
    assert exit_code == 2, stdout
    assert stderr.startswith("topics: error: ") and stderr.count("\n") == 1
    assert "index out of range" in stderr
    assert path.read_bytes() == before


# -- signatures ---------------------------------------------------------------------------------------------
@pytest.fixture
def signed(tmp_path, sample_model):
    path = tmp_path / "m.joblib"
    sample_model.save(path, key=KEY)
    (tmp_path / "key").write_bytes(KEY + b"\n")
    (tmp_path / "new.jsonl").write_text(
        json.dumps({"id": "new-1", "text": "Bushfires burn near Sydney as firefighters battle the blaze"}) + "\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("args", [["add", "new.jsonl"], ["label", "2", "Fires"], ["refit", "new.jsonl"]])
def test_changing_a_signed_model_without_its_key_is_refused(run_cli, signed, monkeypatch, args):
    monkeypatch.delenv("TOPICS_MODEL_KEY", raising=False)
    before = signed.read_bytes()
    result = run_cli(*args, "--model", signed)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "is signed" in result.stderr and "--key-file" in result.stderr
    assert signed.read_bytes() == before
    with pytest.raises(ModelFileError, match="is signed: give its key"):
        load_for_update(signed)


def test_changing_a_signed_model_with_its_key_keeps_it_signed(run_cli, signed, monkeypatch):
    monkeypatch.delenv("TOPICS_MODEL_KEY", raising=False)
    assert run_cli("add", "new.jsonl", "--model", signed, "--key-file", "key").exit_code == 0
    monkeypatch.setenv("TOPICS_MODEL_KEY", KEY.decode())
    assert run_cli("label", "2", "Fires", "--model", signed).exit_code == 0
    model = topics.load(signed, key=KEY)
    assert len(model.articles_) == 352 and model.topic_names_[2] == "Fires"
    footer = read_footer(signed, key=KEY)
    assert footer["footer_hmac_sha256"] and signature_status(footer, KEY) == "verified"


def _footer_changed(source, /, **changes) -> bytes:
    payload, footer = split(source.read_bytes())
    footer.update(changes)
    encoded = json.dumps(footer).encode()
    return payload + encoded + struct.pack("<Q8s", len(encoded), b"TPCSEND1")


@pytest.mark.parametrize(
    "changes",
    [
        {"created": "1999-01-01T00:00:00+00:00"},
        {"adds": [{"at": "2026-01-01", "n_added": 5, "n_replaced": 0}]},
        {"topics_version": "9.9"},
    ],
)
def test_the_signature_covers_the_footer(run_cli, tmp_path, signed, monkeypatch, changes):
    monkeypatch.delenv("TOPICS_MODEL_KEY", raising=False)
    forged = write(tmp_path, _footer_changed(signed, **changes), "forged.joblib")  # payload and its HMAC intact
    with pytest.raises(ModelFileError, match="changed after it was signed"):
        topics.load(forged, key=KEY)
    with pytest.raises(ModelFileError, match="changed after it was signed"):
        read_footer(forged, key=KEY)
    result = run_cli("info", "--model", forged, "--key-file", "key")
    assert result.exit_code == 2 and "changed after it was signed" in result.stderr
    unverified = run_cli("info", "--model", forged)
    assert unverified.exit_code == 0 and "unverified (give the key" in unverified.stdout


def test_files_signed_before_footers_were_still_load_and_say_so(run_cli, tmp_path, signed, monkeypatch):
    monkeypatch.delenv("TOPICS_MODEL_KEY", raising=False)
    payload, footer = split(signed.read_bytes())
    old = write(tmp_path, join(payload, footer, key=KEY, sign_footer=False), "old.joblib")
    assert "footer_hmac_sha256" not in read_footer(old)
    assert len(topics.load(old, key=KEY).articles_) == 351
    doc = run_cli("info", "--model", old, "--key-file", "key", "--format", "json").json()
    assert doc["signature"] == "payload verified"
    assert "footer (history, creation time) unsigned" in run_cli("info", "--model", old, "--key-file", "key").stdout
    with pytest.raises(ModelFileError, match="changed after it was signed"):
        topics.load(write(tmp_path, join(payload, footer, key=b"wrong", sign_footer=False), "x.joblib"), key=KEY)


def test_info_verifies_only_with_a_key(run_cli, signed, sample_model_file, monkeypatch):
    monkeypatch.delenv("TOPICS_MODEL_KEY", raising=False)
    rows = {
        "unsigned": run_cli("info", "--model", sample_model_file),
        "no key": run_cli("info", "--model", signed),
        "key": run_cli("info", "--model", signed, "--key-file", "key"),
    }
    signed_row = {
        name: next(line for line in r.stdout.splitlines() if line.startswith("signed")) for name, r in rows.items()
    }
    assert signed_row["unsigned"].split()[1:] == ["no"]
    assert signed_row["no key"].split()[1] == "unverified"
    assert signed_row["key"].split()[1:] == ["verified"]
    monkeypatch.setenv("TOPICS_MODEL_KEY", "not the key")
    wrong = run_cli("info", "--model", signed)
    assert wrong.exit_code == 2 and "changed after it was signed, or the key is wrong" in wrong.stderr
    assert run_cli("info", "--model", sample_model_file, "--format", "json").json()["signature"] == "none"


# -- files ----------------------------------------------------------------------------------------------------
def test_saving_keeps_the_mode_of_the_file_it_replaces(tmp_path, sample_model):
    path = sample_model.save(tmp_path / "m.joblib")
    for mode in (0o600, 0o640, 0o604):
        os.chmod(path, mode)
        sample_model.save(path, force=True)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode


def test_a_new_file_respects_the_umask(tmp_path, sample_model):
    old = os.umask(0o077)
    try:
        path = sample_model.save(tmp_path / "private.joblib")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_saving_through_a_symlink_replaces_its_target(tmp_path, sample_model, sample_model_file):
    (tmp_path / "store").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "store" / "m.joblib"
    shutil.copy(sample_model_file, target)
    os.chmod(target, 0o600)
    link = tmp_path / "links" / "current.joblib"
    link.symlink_to(os.path.relpath(target, link.parent))
    model = topics.load(link)
    model.rename_topic(1, "Through the link")
    model.save(link, force=True)
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, link.parent)
    assert topics.load(target).topic_names_[1] == "Through the link"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "links").iterdir()) == ["current.joblib"]
    assert not [p for p in (tmp_path / "store").iterdir() if p.name.endswith(".tmp")]


def test_a_failed_save_removes_the_folders_it_created(tmp_path, sample_model, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(segments, "dump", full_disk)
    (tmp_path / "models").mkdir()
    with pytest.raises(ModelFileError, match="No space left on device"):
        sample_model.save(tmp_path / "models" / "2026" / "11" / "m.joblib")
    assert list(tmp_path.iterdir()) == [tmp_path / "models"] and not list((tmp_path / "models").iterdir())

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(segments, "dump", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sample_model.save(tmp_path / "new" / "m.joblib")
    assert not (tmp_path / "new").exists()


def test_the_lock_is_re_entrant_whatever_the_path_is_called(tmp_path, sample_model, monkeypatch):
    path = sample_model.save(tmp_path / "m.joblib")
    (tmp_path / "link.joblib").symlink_to("m.joblib")
    monkeypatch.chdir(tmp_path)
    with lock_model("m.joblib"), lock_model(tmp_path / "link.joblib"):  # one lock: the same model
        sample_model.save(path, force=True)  # takes it again, by its absolute path, without waiting
    assert len(topics.load(path).articles_) == 351


def test_a_save_refuses_to_replace_a_file_changed_since_it_was_loaded(tmp_path, sample_model):
    path = sample_model.save(tmp_path / "m.joblib")
    model, stamp = load_for_update(path)
    sample_model.save(path, force=True)  # another program replaced it meanwhile
    before = path.read_bytes()
    model.rename_topic(0, "Mine")
    with pytest.raises(ModelFileError, match="replaced by another program while this command ran; nothing was written"):
        save_model(model, path, force=True, replacing=stamp)
    assert path.read_bytes() == before
    model, stamp = load_for_update(path)
    save_model(model.rename_topic(0, "Mine"), path, force=True, replacing=stamp)
    assert topics.load(path).topic_names_[0] == "Mine"


@pytest.mark.parametrize("value", ["yes", "0" * 64, "é" * 64])
def test_a_signature_of_any_text_is_unverified_without_a_key_and_refused_with_one(
    run_cli, tmp_path, signed, monkeypatch, value
):
    monkeypatch.delenv("TOPICS_MODEL_KEY", raising=False)
    forged = write(tmp_path, _footer_changed(signed, hmac_sha256=value, footer_hmac_sha256=None), "forged.joblib")
    result = run_cli("info", "--model", forged)
    row = next(line for line in result.stdout.splitlines() if line.startswith("signed"))
    assert result.exit_code == 0 and row.split()[1] == "unverified"
    refused = run_cli("info", "--model", forged, "--key-file", "key")
    assert (
        refused.exit_code == 2 and refused.stderr.count("\n") == 1 and "changed after it was signed" in refused.stderr
    )
    with pytest.raises(ModelFileError, match="changed after it was signed"):
        topics.load(forged, key=KEY)


def test_a_footer_cannot_claim_to_be_verified(run_cli, tmp_path, signed, monkeypatch):
    monkeypatch.delenv("TOPICS_MODEL_KEY", raising=False)
    forged = write(tmp_path, _footer_changed(signed, signature="verified", path="elsewhere"), "forged.joblib")
    doc = run_cli("info", "--model", forged, "--format", "json").json()
    assert (doc["signature"], doc["path"]) == ("unverified", str(forged))


FUZZ = r"""
import copy, io, json, random, struct, sys, zlib
import joblib, numpy as np
import topics
from topics import TopicsError

data = open(sys.argv[1], "rb").read()
length = struct.unpack("<Q", data[-16:-8])[0]
original, footer = joblib.load(io.BytesIO(data[:-16 - length])), json.loads(data[-16 - length:-16])

def arrays(d, path=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from arrays(v, path + (k,))
    elif isinstance(d, np.ndarray) and d.size:
        yield path

rng, outcomes = random.Random(int(sys.argv[2])), {"loaded": 0, "refused": 0, "crashed": []}
paths = list(arrays(original))
for _ in range(int(sys.argv[3])):
    payload = copy.deepcopy(original)
    path = rng.choice(paths)
    parent = payload
    for k in path[:-1]:
        parent = parent[k]
    a = np.array(parent[path[-1]])
    flat = a.reshape(-1)
    j = rng.randrange(flat.size)
    if a.dtype.kind in "iu":
        flat[j] = np.array(rng.choice([-1, int(flat.max()) + 1, 2**31 - 1, flat.size])).astype(a.dtype)
    elif a.dtype.kind == "f":
        flat[j] = rng.choice([np.nan, np.inf, -1.0, 1e30])
    elif a.dtype.kind == "S":
        flat[j] = bytes(rng.randrange(256) for _ in range(3))
    parent[path[-1]] = a if rng.random() < 0.8 else a[:-1]
    buffer = io.BytesIO()
    joblib.dump(payload, buffer)
    body = buffer.getvalue()
    f = {**footer, "payload_bytes": len(body), "crc32": zlib.crc32(body),
         "crc32_segments": [[len(body), zlib.crc32(body)]]}
    encoded = json.dumps(f).encode()
    open(sys.argv[4], "wb").write(body + encoded + struct.pack("<Q8s", len(encoded), b"TPCSEND1"))
    try:
        m = topics.load(sys.argv[4])
        m.similar(text="rain and floods", k=5)
        m.similar(id=m.articles_.ids[len(m.articles_) - 1], k=5)
        m.similar_batch(["bushfire", "election"], k=3)
        m.summary(n_words=5, n_articles=2)
        m.duplicates()
        [m.articles_.record(r) for r in range(len(m.articles_))]
        outcomes["loaded"] += 1
    except TopicsError as e:
        outcomes["refused"] += "\n" not in str(e)
    except Exception as e:
        outcomes["crashed"].append(f"{'.'.join(path)}: {type(e).__name__}: {e}")
print(json.dumps(outcomes))
"""


def test_fuzzed_arrays_load_and_answer_or_are_refused_in_one_line(tmp_path, sample_model_file):
    """Random out-of-range, NaN, garbled and shortened array values, checksums fixed: every file either
    loads and answers every kind of query or is refused with a one-line ModelFileError. In a process of
    its own, so a crash in C code fails this test rather than the test run."""
    env = {k: v for k, v in os.environ.items() if k != "TOPICS_MODEL_KEY"}
    done = subprocess.run(
        [sys.executable, "-c", FUZZ, str(sample_model_file), "18", "60", str(tmp_path / "f.joblib")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcomes = json.loads(done.stdout)
    assert outcomes["crashed"] == [] and outcomes["loaded"] + outcomes["refused"] == 60
    assert outcomes["refused"] >= 20  # most mutations are caught by the checks, not by luck


# -- reading joblib's format without joblib -------------------------------------------------------------------
class _NoTell(io.BytesIO):
    """A file joblib cannot ask its position: it then writes arrays without alignment padding, as joblib
    before 1.2 wrote every file."""

    def tell(self):
        raise io.UnsupportedOperation("tell")


def test_arrays_written_without_alignment_padding_load_mapped_and_in_memory(tmp_path, template):
    path, payload, footer = template
    buffer = _NoTell()
    joblib.dump(payload, buffer)
    unpadded = write(tmp_path, join(buffer.getvalue(), footer, key=KEY))
    expected = [h.id for h in topics.load(path).similar(id="lee-00", k=5)]
    for mmap in (True, False):
        model = topics.load(unpadded, key=KEY, mmap=mmap)
        assert [h.id for h in model.similar(id="lee-00", k=5)] == expected
        assert np.array_equal(model.doc_topics_, topics.load(path).doc_topics_)


def test_a_model_read_into_memory_answers_as_the_mapped_one(sample_model_file):
    mapped, in_memory = topics.load(sample_model_file), topics.load(sample_model_file, mmap=False)
    assert type(in_memory.doc_topics_) is np.ndarray and in_memory.doc_terms_.data.flags.writeable
    assert [(h.id, h.score) for h in in_memory.similar(id="lee-00", k=5)] == [
        (h.id, h.score) for h in mapped.similar(id="lee-00", k=5)
    ]


def test_a_truncated_array_read_into_memory_is_refused_in_one_line(tmp_path, template):
    _, payload, footer = template
    data = joblib_bytes(payload)
    cut = write(tmp_path, join(data[: len(data) // 2], footer, key=KEY))
    with pytest.raises(ModelFileError, match=r"could not be read|damaged") as caught:
        topics.load(cut, key=KEY, mmap=False)
    assert "\n" not in str(caught.value)


@pytest.mark.slow  # starts a process
def test_loading_and_saving_a_model_import_neither_joblib_nor_scikit_learn(tmp_path, sample_model_file):
    """A cold command pays for neither: loading and saving read and write joblib's format themselves."""
    code = (
        "import sys, topics; topics.load(sys.argv[1]).save(sys.argv[2]); "
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(sample_model_file), str(tmp_path / "saved.joblib")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    imported = set(json.loads(done.stdout.replace("'", '"')))
    assert "numpy" in imported and not imported & {"joblib", "sklearn"}
    saved, loaded = topics.load(tmp_path / "saved.joblib"), topics.load(sample_model_file)
    assert [h.id for h in saved.similar(id="lee-00", k=5)] == [h.id for h in loaded.similar(id="lee-00", k=5)]


def test_the_file_records_the_installed_scikit_learn_version(template):
    from importlib.metadata import version

    _, payload, _ = template
    assert payload["versions"]["scikit-learn"] == version("scikit-learn")
