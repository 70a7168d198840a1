"""Saving and loading fitted models.

File layout
-----------
A model file is a joblib pickle of plain data (numpy arrays, strings, numbers, lists and dicts; no
pickled estimators), followed by a footer::

    [joblib payload][footer: UTF-8 JSON][footer length: 8 bytes little-endian][b"TPCSEND1"]

The footer names the format and its version and carries the payload's size, its CRC-32 (of the whole
payload, and of each 64 MiB block so that loading checks blocks in parallel) and, when the model was
saved with a key, an HMAC-SHA256 of the payload. :func:`load_model` reads the footer first
and checks version, size, checksum and signature before joblib reads (and so unpickles) anything.
Arrays are stored uncompressed so they load memory-mapped: a query process maps the file instead of
reading it, and starts fast however large the model.

Safety: a joblib file, like any pickle, can run code when it is loaded. The checksum only catches
damage. Loading a file from someone else is safe only when both of you use a signing key
(``TOPICS_MODEL_KEY`` or ``--key-file``) that nobody else has: with a key, unsigned or altered files
are refused before they are unpickled.

Saving is atomic: the model is written to a temporary file beside the target, synced, and then moved
into place, so a crash or Ctrl-C leaves the previous model intact and never a half-written one. An
existing file is replaced only with ``force=True``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import platform
import secrets
import struct
import zlib
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .errors import ModelFileError
from .index import SimilarityIndex
from .model import _LEGACY_PARAMS, _PARAMETER_RULES, TopicModel
from .table import ArticleTable
from .text import Analyzer, Vectorizer

logger = logging.getLogger(__name__)

FORMAT_NAME = "topics-model"
# 2: the analyser may drop boilerplate sentences learned from the archive. A file is written as format 1
# when it has none, so versions that read only format 1 keep reading it. 3: the analyser may repair text
# and cut repeated spans (and the parameters keep_words, min_words, learn_clutter exist).
FORMAT_VERSION = 3
KEY_ENV = "TOPICS_MODEL_KEY"
_END_MAGIC = b"TPCSEND1"
_TRAILER = struct.Struct("<Q8s")  # footer length, end magic
_MAX_FOOTER = 1 << 20
_CHUNK = 1 << 24
# The payload's CRC-32 is also kept per block of this many bytes (a multiple of _CHUNK), so loading
# checks the blocks on all cores at once: zlib releases the GIL. Checking a 3.6 GiB model took 1.41 s
# in one thread and 0.76 s in two (README, "Large archives").
_BLOCK = 1 << 26
_LOAD_ATTEMPTS = 3
# A short history of `topics add` in the footer, so `topics info` shows it without loading the model.
_FOOTER_ADD_FIELDS = ("at", "n_added", "n_replaced", "n_articles", "error_ratio", "unknown_share", "refit_advised")


# -- keys -----------------------------------------------------------------------------------------------
def resolve_key(key_file=None) -> bytes | None:
    """The signing key from ``key_file`` if given, else from the ``TOPICS_MODEL_KEY`` variable, else None."""
    if key_file is not None:
        try:
            key = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise ModelFileError(f"cannot read key file {key_file}: {exc.strerror}") from None
        if not key:
            raise ModelFileError(f"key file {key_file} is empty")
        return key
    value = os.environ.get(KEY_ENV, "")
    return value.encode("utf-8") if value else None


# -- saving ---------------------------------------------------------------------------------------------
def save_model(model: TopicModel, path, *, force: bool = False, key: bytes | None = None) -> Path:
    """Write ``model`` to ``path`` atomically and return the path. The in-memory model is not changed."""
    import joblib

    path = Path(path)
    check_writable(path, force=force)
    payload = _payload(model)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"  # named first, so Ctrl-C can remove it
        try:  # created with the usual permissions (mkstemp would make the model private, 0600)
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            tmp = None  # 64 random bits clashed: that file is not ours to remove
            raise
        joblib.dump(payload, tmp, compress=0)
        _append_footer(tmp, model, key)
        _publish(tmp, path, force=force)
    except OSError as exc:
        raise ModelFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:  # also on KeyboardInterrupt: never leave a temporary file behind
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    logger.info("saved model to %s", path)
    return path


def check_writable(path, *, force: bool = False) -> None:
    """Raise ModelFileError unless a model can be written at ``path`` (call it before a long fit)."""
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory; give a file path such as {path / 'default.joblib'}")
    if path.exists() and not force:
        raise ModelFileError(f"{path} already exists; use --force (force=True) to replace it")
    folder = path.parent  # checked without creating it: a failed command must leave nothing behind
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ModelFileError(f"cannot write {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK):
        raise ModelFileError(f"no permission to write in {folder}")


def _append_footer(tmp: Path, model: TopicModel, key: bytes | None) -> None:
    crc, mac, size, blocks = _digest(tmp, key, blocks=True)
    info = model.fit_info_
    footer = {
        "format": FORMAT_NAME,
        "format_version": format_version(model),
        "payload_bytes": size,
        "crc32": crc,
        "crc32_block_bytes": _BLOCK,
        "crc32_blocks": blocks,
        "hmac_sha256": mac,
        "created": info.get("created"),
        "topics_version": info.get("topics_version"),
        "n_articles": len(model.articles_),
        "n_topics": int(model.components_.shape[0]),
        "n_terms": int(model.components_.shape[1]),
        "adds": [{k: a.get(k) for k in _FOOTER_ADD_FIELDS} for a in info.get("adds", [])],
    }
    encoded = json.dumps(footer, sort_keys=True).encode("utf-8")
    with open(tmp, "ab") as f:
        f.write(encoded + _TRAILER.pack(len(encoded), _END_MAGIC))
        f.flush()
        os.fsync(f.fileno())


def _publish(tmp: Path, path: Path, *, force: bool) -> None:
    if force:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)  # fails if the target appeared meanwhile: never overwrite silently
        except FileExistsError:
            raise ModelFileError(f"{path} already exists; use --force (force=True) to replace it") from None
        except OSError:  # file systems without hard links
            if path.exists():
                raise ModelFileError(f"{path} already exists; use --force (force=True) to replace it") from None
            os.replace(tmp, path)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # directory fsync is not possible everywhere; the rename itself is still atomic


def _digest(path: Path, key: bytes | None, limit: int | None = None, fileobj=None, blocks: bool = False):
    """CRC-32 (and HMAC-SHA256 with a key) of the first ``limit`` bytes of a file, the byte count, and
    with ``blocks`` the CRC-32 of each ``_BLOCK`` bytes (else an empty list)."""
    crc, mac, size = 0, hmac.new(key, digestmod=hashlib.sha256) if key else None, 0
    block_crcs, block_crc = [], 0
    f = fileobj or open(path, "rb")
    try:
        f.seek(0)
        while limit is None or size < limit:
            chunk = f.read(_CHUNK if limit is None else min(_CHUNK, limit - size))
            if not chunk:
                break
            crc = zlib.crc32(chunk, crc)
            if blocks:
                block_crc = zlib.crc32(chunk, block_crc)
            if mac is not None:
                mac.update(chunk)
            size += len(chunk)
            if blocks and size % _BLOCK == 0:
                block_crcs.append(block_crc)
                block_crc = 0
    finally:
        if fileobj is None:
            f.close()
    if blocks and size % _BLOCK:
        block_crcs.append(block_crc)
    return crc, (mac.hexdigest() if mac is not None else None), size, block_crcs


def _blocks_intact(f, footer: dict) -> bool | None:
    """Whether every block of the payload matches its CRC-32 in the footer, checked in parallel threads;
    None when the footer has no usable block checksums (files saved before they existed)."""
    block, expected, size = footer.get("crc32_block_bytes"), footer.get("crc32_blocks"), footer["payload_bytes"]
    if not hasattr(os, "pread"):  # Windows: no positional reads, so the one-pass whole-payload check
        return None
    if not (isinstance(block, int) and block > 0 and isinstance(expected, list)
            and len(expected) == -(-size // block) and all(isinstance(c, int) for c in expected)):
        return None
    fd = f.fileno()

    def block_crc(i: int) -> int:
        crc, start, end = 0, i * block, min(size, (i + 1) * block)
        while start < end:
            chunk = os.pread(fd, min(_CHUNK, end - start), start)
            if not chunk:  # shorter than the footer says
                return -1
            crc, start = zlib.crc32(chunk, crc), start + len(chunk)
        return crc

    workers = min(len(expected), os.cpu_count() or 1)
    if workers <= 1:
        return all(block_crc(i) == c for i, c in enumerate(expected))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(block_crc, range(len(expected)))) == expected


def _payload(model: TopicModel) -> dict:
    return _plain_arrays(_payload_fields(model))


def _plain_arrays(value):
    """The payload with every array a plain ndarray (a loaded model's arrays are np.memmap views)."""
    if isinstance(value, dict):
        return {k: _plain_arrays(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_arrays(v) for v in value)
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        return value.view(np.ndarray)
    return value


def format_version(model: TopicModel) -> int:
    """The oldest format that holds ``model``: 3 if its analyser repairs text or cuts repeated spans, 2 if
    it drops boilerplate sentences, else 1."""
    analyzer = model.vectorizer_.analyzer
    if analyzer.repair or analyzer.spans:
        return 3
    return 2 if analyzer.boilerplate else 1


def _payload_fields(model: TopicModel) -> dict:
    import sklearn

    vectorizer = model.vectorizer_
    return {
        "kind": FORMAT_NAME,
        "format_version": format_version(model),
        "versions": {"topics": model.fit_info_.get("topics_version"), "scikit-learn": sklearn.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "params": model.get_params(),
        "fit_info": dict(model.fit_info_),
        "analyzer": vectorizer.analyzer.get_config(),
        "vectorizer": {"min_df": vectorizer.min_df, "max_df": vectorizer.max_df,
                       "max_features": vectorizer.max_features, "n_documents": vectorizer.n_documents_},
        "vocabulary": vectorizer.vocabulary_,
        "idf": vectorizer.idf_,
        "components": np.ascontiguousarray(model.components_, dtype=np.float32),
        "doc_topics": np.ascontiguousarray(model.doc_topics_, dtype=np.float32),
        "doc_terms": _sparse_to_dict(model.doc_terms_),
        "postings": _sparse_to_dict(model.index_.postings),
        "articles": model.articles_.to_dict(),
        "topic_names": {str(k): v for k, v in model.topic_names_.items()},
    }


def _sparse_to_dict(matrix) -> dict:
    index_dtype = np.int32 if max(matrix.nnz, *matrix.shape) < 2**31 else np.int64
    return {"format": matrix.format, "shape": tuple(int(s) for s in matrix.shape),
            "data": np.ascontiguousarray(matrix.data, dtype=np.float32),
            "indices": np.ascontiguousarray(matrix.indices, dtype=index_dtype),
            "indptr": np.ascontiguousarray(matrix.indptr, dtype=index_dtype)}


# -- loading --------------------------------------------------------------------------------------------
def read_footer(path) -> dict:
    """The footer of a model file (format, version, sizes, counts), checksum verified, without unpickling."""
    path = _existing_file(Path(path))
    with _open_model(path) as f:
        footer = _check_footer(path, f, os.fstat(f.fileno()).st_size)
        _check_digest(path, f, footer, key=None)
        return footer


def load_model(path, *, key: bytes | None = None, mmap: bool = True) -> TopicModel:
    """Open a saved model, verifying format, checksum and (with ``key``) signature before unpickling.

    Raises ModelFileError for a missing, truncated, damaged, unsigned-when-a-key-is-given, foreign or
    too-new file. With ``mmap`` (the default) large arrays stay on disk, memory-mapped read-only.
    """
    path = _existing_file(Path(path))
    for _ in range(_LOAD_ATTEMPTS):
        with _open_model(path) as f:
            stat = os.fstat(f.fileno())
            footer = _check_footer(path, f, stat.st_size)
            _check_digest(path, f, footer, key)
            payload = _unpickle(path, mmap)
            if _same_file(path, stat):  # not replaced by a concurrent save while we read it
                return _model_from_payload(payload, footer, path)
    raise ModelFileError(f"{path} kept changing while it was being read; try again")


def _check_digest(path: Path, f, footer: dict, key: bytes | None) -> None:
    """Refuse a payload whose CRC-32 (or, with a key, HMAC) does not match the footer."""
    if key is None:  # the signature needs one pass in order; without it, check blocks in parallel
        intact = _blocks_intact(f, footer)
        if intact is not None:
            if not intact:
                raise ModelFileError(f"{path} is damaged (checksum mismatch); refit it or restore a copy")
            return
    crc, mac, _, _ = _digest(path, key, limit=footer["payload_bytes"], fileobj=f)
    if crc != footer.get("crc32"):
        raise ModelFileError(f"{path} is damaged (checksum mismatch); refit it or restore a copy")
    if key is not None:
        if not footer.get("hmac_sha256"):
            raise ModelFileError(f"{path} is not signed and a key was given: refusing to load it")
        if not hmac.compare_digest(mac, footer["hmac_sha256"]):
            raise ModelFileError(f"{path} was changed after it was signed, or the key is wrong: refusing to load it")


def _existing_file(path: Path) -> Path:
    if not path.exists():
        raise ModelFileError(f"no model at {path}; fit one with: topics fit CORPUS --model {path}")
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file")
    return path


def _open_model(path: Path):
    try:
        return open(path, "rb")
    except PermissionError:
        raise ModelFileError(f"no permission to read {path}") from None
    except OSError as exc:
        raise ModelFileError(f"cannot open {path}: {exc.strerror}") from None


def _check_footer(path: Path, f, size: int) -> dict:
    not_model = f"{path} is not a topics model file, or it is truncated"
    if size < _TRAILER.size:
        raise ModelFileError(not_model)
    f.seek(size - _TRAILER.size)
    length, magic = _TRAILER.unpack(f.read(_TRAILER.size))
    if magic != _END_MAGIC or not 0 < length <= min(_MAX_FOOTER, size - _TRAILER.size):
        raise ModelFileError(not_model)
    f.seek(size - _TRAILER.size - length)
    try:
        footer = json.loads(f.read(length).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{path} is damaged (unreadable footer)") from None
    if not isinstance(footer, dict) or footer.get("format") != FORMAT_NAME:
        raise ModelFileError(not_model)
    version = footer.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} is damaged (bad format version {version!r})")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path} was written by a newer topics (model format {version}; this version reads "
                             f"format {FORMAT_VERSION} and older): upgrade topics to use it")
    if footer.get("payload_bytes") != size - _TRAILER.size - length:
        raise ModelFileError(f"{path} is damaged (its size does not match its footer: truncated or appended to)")
    return footer


def _unpickle(path: Path, mmap: bool):
    """The payload, unpickled so that only numpy arrays and plain Python values can be built."""
    unpickler_class = _plain_data_unpickler()
    try:
        with open(path, "rb") as f:
            try:
                unpickler = unpickler_class(str(path), f, not mmap, mmap_mode="r" if mmap else None)
            except TypeError:  # joblib < 1.4 has no ensure_native_byte_order argument
                unpickler = unpickler_class(str(path), f, mmap_mode="r" if mmap else None)
            return unpickler.load()
    except Exception as exc:  # a verified file should always load; report rather than crash
        raise ModelFileError(f"{path} could not be read ({type(exc).__name__}: {exc})") from None


# The only classes a model payload may name: everything else in it is a str, int, float, bool, None,
# list, tuple or dict, which pickle builds without naming a class. A file naming anything else (an
# estimator, os.system, ...) is refused before that name is even imported.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy", "memmap"), ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
}


def _plain_data_unpickler():
    import pickle

    from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler

    class PlainArrayWrapper(NumpyArrayWrapper):
        def read(self, unpickler, *args, **kwargs):
            if self.dtype.hasobject:  # object arrays hold nested pickles: not plain data
                raise pickle.UnpicklingError("the model holds an array of Python objects")
            return super().read(unpickler, *args, **kwargs)

    class PlainDataUnpickler(NumpyUnpickler):
        def find_class(self, module, name):
            if (module, name) not in _ALLOWED_GLOBALS:
                raise pickle.UnpicklingError(f"it names {module}.{name}, which a topics model never holds")
            if name == "NumpyArrayWrapper":
                return PlainArrayWrapper
            if name == "memmap":  # an array saved from a mapped model; never let the file call np.memmap
                return np.ndarray
            return super().find_class(module, name)

    return PlainDataUnpickler


def _same_file(path: Path, stat: os.stat_result) -> bool:
    try:
        now = os.stat(path)
    except OSError:
        return False
    return (now.st_ino, now.st_dev) == (stat.st_ino, stat.st_dev)


def _model_from_payload(payload, footer: dict, path: Path) -> TopicModel:
    try:
        if not isinstance(payload, dict) or payload.get("kind") != FORMAT_NAME:
            raise ValueError("not a topics model payload")
        params = {k: v for k, v in payload["params"].items() if k in _PARAMETER_RULES}
        params["extra_stop_words"] = tuple(params.get("extra_stop_words", ()))
        params.setdefault("term_weighting", "tfidf")  # files from before the option had tf-idf weights
        for name, legacy in _LEGACY_PARAMS.items():  # files from before these options behave as they did
            params.setdefault(name, legacy)
        model = TopicModel(**params)
        analyzer = Analyzer(**payload["analyzer"])
        vector = payload["vectorizer"]
        vectorizer = Vectorizer(analyzer, min_df=vector["min_df"], max_df=vector["max_df"],
                                max_features=vector["max_features"])
        vectorizer.vocabulary_ = payload["vocabulary"]
        vectorizer.idf_ = payload["idf"]
        vectorizer.n_documents_ = vector["n_documents"]
        H, W = payload["components"], payload["doc_topics"]
        X, postings = _sparse_from_dict(payload["doc_terms"]), _sparse_from_dict(payload["postings"])
        articles = ArticleTable.from_dict(payload["articles"])
        n, (k, v) = len(articles), H.shape
        if W.shape != (n, k) or X.shape != (n, v) or postings.shape != (n, v) or vectorizer.idf_.shape != (v,) \
                or len(vectorizer.vocabulary_) != v or len(articles.dates) != n:
            raise ValueError("array shapes do not agree")
        if (footer.get("n_articles"), footer.get("n_topics"), footer.get("n_terms")) != (n, k, v):
            raise ValueError("footer and contents disagree")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{path} is damaged or not a topics model ({exc})") from None
    model.vectorizer_ = vectorizer
    model.components_ = H
    model.doc_topics_ = W
    model.doc_terms_ = X
    model.articles_ = articles
    model.topic_names_ = {int(t): name for t, name in payload.get("topic_names", {}).items()}
    model.index_ = SimilarityIndex(X, W, model.topic_weight, postings=postings)
    model.fit_info_ = dict(payload.get("fit_info", {}))
    model.fit_info_["format_version"] = footer["format_version"]
    return model


def _sparse_from_dict(d: dict):
    cls = {"csr": sp.csr_matrix, "csc": sp.csc_matrix}[d["format"]]
    return cls((d["data"], d["indices"], d["indptr"]), shape=tuple(d["shape"]), copy=False)


def file_size(path) -> int:
    return Path(path).stat().st_size


__all__ = ["save_model", "load_model", "read_footer", "resolve_key", "check_writable", "FORMAT_VERSION"]
