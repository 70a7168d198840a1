"""Model files over time and against an attacker: old files keep loading and answering the same, the
payload is plain data only, and hostile files are refused before any of their code can run."""

import json
import pickle
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from joblib.numpy_pickle import NumpyUnpickler

import topics
from topics import ModelFileError
from topics.store import read_footer

FIXTURES = Path(__file__).parent / "fixtures"
FORMAT1 = FIXTURES / "format1-lee50.joblib"


# -- upgrades -------------------------------------------------------------------------------------------
def test_a_format_1_model_keeps_loading_and_answering_the_same(tmp_path):
    import sys

    sys.path.insert(0, str(FIXTURES))
    try:
        from make_format1_model import answers
    finally:
        sys.path.remove(str(FIXTURES))
    expected = json.loads((FIXTURES / "format1-lee50.json").read_text(encoding="utf-8"))
    assert read_footer(FORMAT1)["format_version"] == 1
    shutil.copy(FORMAT1, tmp_path / "old.joblib")  # loading must not need to write beside it
    got = answers(topics.load(tmp_path / "old.joblib"))
    assert got["n_articles"] == expected["n_articles"] and got["topics"] == expected["topics"]
    for query, hits in expected["similar_ids"].items():
        assert [h[0] for h in got["similar_ids"][query]] == [h[0] for h in hits], query
        assert [h[1] for h in got["similar_ids"][query]] == pytest.approx([h[1] for h in hits], abs=2e-4)
    assert np.allclose(got["transform"], expected["transform"], atol=2e-4)
    # The file has no search matrix, so its text queries are scored by the cosine blend, as they were.
    for query, hits in expected["similar_texts"].items():
        assert [h[0] for h in got["similar_texts"][query]] == [h[0] for h in hits], query
        assert [h[1] for h in got["similar_texts"][query]] == pytest.approx([h[1] for h in hits], abs=2e-4)


class RecordingUnpickler(NumpyUnpickler):
    """joblib's own unpickler, noting every class the file names."""

    def find_class(self, module, name):
        self.named.add(f"{module}.{name}")
        return super().find_class(module, name)


def unpickle_recording(path):
    with open(path, "rb") as f:
        unpickler = RecordingUnpickler(str(path), f, False, mmap_mode=None)
        unpickler.named = set()
        return unpickler.load(), unpickler.named


def walk(value, where="payload"):
    """Every leaf of a payload as (where, type name); fails on anything but plain data."""
    if isinstance(value, dict):
        assert all(isinstance(k, str) for k in value), where
        for k, v in value.items():
            yield from walk(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from walk(v, f"{where}[{i}]")
    elif isinstance(value, np.ndarray):
        assert type(value) is np.ndarray and not value.dtype.hasobject, where
        yield where, "ndarray"
    else:
        assert value is None or type(value) in (str, int, float, bool), (where, type(value))
        yield where, type(value).__name__


@pytest.mark.parametrize("which", ["format 1 fixture", "fresh", "re-saved after loading"])
def test_the_payload_is_numpy_arrays_and_builtins_only(tmp_path, sample_model_file, which):
    path = {"format 1 fixture": FORMAT1, "fresh": sample_model_file}.get(which)
    if path is None:  # a loaded model's arrays are memory-mapped; saving it again must still write plain arrays
        path = topics.load(sample_model_file).save(tmp_path / "again.joblib")
    payload, named = unpickle_recording(path)
    assert named <= {"numpy.ndarray", "numpy.dtype", "joblib.numpy_pickle.NumpyArrayWrapper"}
    leaves = dict(walk(payload))
    assert leaves["payload.components"] == "ndarray" and leaves["payload.vocabulary"] == "ndarray"
    assert not any("sklearn" in name for name in named)


# -- hostile files --------------------------------------------------------------------------------------
class Plant:
    """Unpickling this creates a marker file: stands for any code an attacker wants to run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def forge(template: Path, payload: bytes) -> bytes:
    """A file with an attacker's payload and the template's footer, with size and CRC-32s fixed up."""
    data = template.read_bytes()
    length = struct.unpack("<Q", data[-16:-8])[0]
    footer = json.loads(data[-16 - length : -16])
    crc = zlib.crc32(payload)
    footer.update(payload_bytes=len(payload), crc32=crc, crc32_segments=[[len(payload), crc]])
    encoded = json.dumps(footer).encode()
    return payload + encoded + struct.pack("<Q8s", len(encoded), b"TPCSEND1")


@pytest.fixture
def hostile(tmp_path, sample_model):
    key = b"newsroom-secret"
    signed = tmp_path / "signed.joblib"
    sample_model.save(signed, key=key)
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"kind": "topics-model", "format_version": 1, "params": Plant(marker)}, protocol=4)
    path = tmp_path / "hostile.joblib"
    path.write_bytes(forge(signed, payload))
    assert read_footer(path)["hmac_sha256"]  # it passes as a signed, undamaged model file
    return path, key, marker


def test_a_signed_model_with_a_replaced_payload_is_refused_before_unpickling(hostile):
    path, key, marker = hostile
    with pytest.raises(ModelFileError, match="was changed after it was signed, or the key is wrong: refusing"):
        topics.load(path, key=key)
    assert not marker.exists()


def test_without_a_key_a_hostile_payload_still_cannot_run_code(hostile):
    path, _, marker = hostile
    with pytest.raises(
        ModelFileError,
        match=r"could not be read \(UnpicklingError: it names io.open, "
        r"which a topics model never holds\)",
    ):
        topics.load(path)
    assert not marker.exists()
    import joblib

    joblib.load(path)  # a plain joblib load of the same file does run it: the refusal above is real
    assert marker.exists()


def test_object_arrays_are_refused(tmp_path, sample_model_file):
    import joblib

    marker = tmp_path / "pwned"
    inner = tmp_path / "inner.joblib"
    joblib.dump({"kind": "topics-model", "objects": np.array([Plant(marker), 1], dtype=object)}, inner)
    path = tmp_path / "objects.joblib"
    path.write_bytes(forge(sample_model_file, inner.read_bytes()))
    with pytest.raises(ModelFileError, match="could not be read"):
        topics.load(path)
    assert not marker.exists()


def test_the_cli_refuses_hostile_files_in_one_line(run_cli, hostile, monkeypatch):
    path, key, marker = hostile
    monkeypatch.setenv("TOPICS_MODEL_KEY", key.decode())
    result = run_cli("similar", "--text", "rain", "--model", path)
    assert result.exit_code == 2 and result.stderr == (
        f"topics: error: {path} was changed after it was signed, or the key is wrong: refusing to load it\n"
    )
    assert not marker.exists()
