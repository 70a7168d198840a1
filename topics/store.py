"""Saving and loading fitted models.

What a file holds is a model's :class:`topics.state.FittedState` and its parameters as plain data:
:func:`save_state` writes them and :func:`load_state` reads them back; :func:`topics.model.save_model` and
:func:`topics.model.load_model` turn them into a ``TopicModel`` and back, so this module never imports it.

File layout
-----------
A model file is a joblib pickle of plain data (numpy arrays, strings, numbers, lists and dicts; no
pickled estimators), followed by a footer::

    [joblib payload][footer: UTF-8 JSON][footer length: 8 bytes little-endian][b"TPCSEND1"]

The footer names the format and its version and carries the payload's size, its CRC-32 (of the whole
payload, and of each of its segments, :mod:`topics.segments`, so that loading checks them in parallel and
a save copies the arrays it keeps with their checksums; files saved before segments have one per 64 MiB
block, or only the whole payload's) and, when the model was
saved with a key, an HMAC-SHA256 of the payload (``hmac_sha256``) and one of the rest of the footer
(``footer_hmac_sha256``, so its history and creation time are signed too; files signed before it
existed have only the first, and ``topics info`` says their footer is unsigned). :func:`load_state`
reads the footer first and checks version, size, checksum and signature before joblib reads (and so
unpickles) anything, then checks every array's structure (:mod:`topics.payload`) before using it. Without
a key (so without a signature to check), a file with segment checksums is unpickled first, by an
unpickler that builds only arrays and plain values, to learn where the search matrix B lies: B's own
segments and structure are checked when B is first used (a query by id never reads it), every other
segment before anything uses the payload.
Arrays are stored uncompressed so they load memory-mapped: a query process maps the file (once: the
checksums are computed on that mapping and the arrays are views of it) instead of reading it.

Safety: a joblib file, like any pickle, can run code when it is loaded. The checksum only catches
damage. Loading a file from someone else is safe only when both of you use a signing key
(``TOPICS_MODEL_KEY`` or ``--key-file``) that nobody else has: with a key, unsigned or altered files
are refused before they are unpickled.

Saving is atomic (:func:`topics.files.atomic_write`): the model is written to a temporary file beside
the target, synced, and then moved into place, so a crash or Ctrl-C leaves the previous model intact and
never a half-written one. An existing file is replaced only with ``force=True``; it keeps its permission
bits (a model holds article snippets: a private 0600 file stays private), and a symlink is followed, its
target replaced. A temporary file is named ``.NAME.topics-HOST-PID-RANDOM.tmp``: one left by a killed
process (SIGKILL, power loss) is removed by the next save into that folder once its process is gone.
Folders a failed save created are removed again.

Writers of one model take its lock (:func:`lock_model`, a ``.NAME.lock`` file beside it, via
``filelock``) across load, change and save, so two ``topics add`` runs never lose one's articles;
:func:`save_state` takes it too whenever it replaces a file. Readers never take it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import mmap
import os
import pickle
import platform
import re
import struct
import sys
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import segments
from .analyzer import Analyzer
from .errors import ModelFileError
from .files import TargetExistsError, atomic_write, stat_or_none, target_of
from .params import DEFAULT_TOPIC_WEIGHT, params_from_file, saved_params
from .payload import FOOTER_ADD_FIELDS, check_payload, check_search, search_columns
from .state import NO_SEARCH, FittedState
from .table import ArticleTable
from .text import Vectorizer

logger = logging.getLogger(__name__)

FORMAT_NAME = "topics-model"
# 2: the analyser may drop boilerplate sentences learned from the archive. A file is written as format 1
# when it has none, so versions that read only format 1 keep reading it. 3: the analyser may repair text
# and cut repeated spans (and the parameters keep_words, min_words, learn_clutter exist). 4: Chinese and
# Japanese are cut into words. 5: the search matrix has columns for rare words too (``rare_words``).
FORMAT_VERSION = 5
KEY_ENV = "TOPICS_MODEL_KEY"
_END_MAGIC = b"TPCSEND1"
_TRAILER = struct.Struct("<Q8s")  # footer length, end magic
_MAX_FOOTER = 1 << 20
_CHUNK = 1 << 24
_POPULATE_READ = 22  # Linux's MADV_POPULATE_READ (5.14 and later), which Python's mmap does not name
_FOOTER_MAC = "footer_hmac_sha256"


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
def save_state(
    state: FittedState, params: dict, path, *, force: bool = False, key: bytes | None = None, replacing=None
) -> Path:
    """Write a model, its fitted ``state`` and its ``params`` (``TopicModel.get_params()``), to ``path``
    atomically (:func:`topics.files.atomic_write`) and return the path. Neither is changed.

    A symlink at ``path`` is followed and its target replaced. An existing file keeps its permission
    bits; a new one gets the usual ones (0666 less the umask). With ``replacing``, the stamp that
    :func:`load_state_for_update` returned, the save is refused if the file is no longer the one loaded.
    """
    path = Path(path)
    check_writable(path, force=force)
    payload = _payload(state, params)

    def write(tmp: Path) -> None:
        # Unbuffered, as segments.dump copies into it in the kernel; "r+b" as atomic_write created it empty:
        # truncating it ("wb") would make ext4 start writing it back on close, before the fsync that waits anyway.
        with open(tmp, "r+b", buffering=0) as raw:
            digest = segments.dump(payload, raw, key=key, stamp_of=_stamp)
        _append_footer(tmp, state, key, digest)

    @contextmanager
    def guard(target: Path, existing):
        with lock_model(target) if existing is not None or replacing is not None else nullcontext():
            if replacing is not None and _stamp(stat_or_none(target)) != replacing:
                raise ModelFileError(
                    f"{path} was replaced by another program while this command ran; nothing was written: run it again"
                )
            yield

    try:
        atomic_write(path, write, force=force, make_folders=True, guard=guard)
    except TargetExistsError:
        raise ModelFileError(f"{path} already exists; use --force (force=True) to replace it") from None
    except OSError as exc:
        raise ModelFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    logger.info("saved model to %s", path)
    return path


def check_writable(path, *, force: bool = False) -> None:
    """Raise ModelFileError unless a model can be written at ``path`` (call it before a long fit)."""
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory; give a file path such as {path / 'default.joblib'}")
    if path.exists() and not force:
        raise ModelFileError(f"{path} already exists; use --force (force=True) to replace it")
    folder = target_of(path).parent  # checked without creating it: a failed command must leave nothing behind
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ModelFileError(f"cannot write {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK):
        raise ModelFileError(f"no permission to write in {folder}")


# One FileLock per lock file in this process: re-entering it (the CLI holds it, save_state takes it again)
# only counts, where a second FileLock would open the file again and wait for itself.
_LOCKS: dict = {}
_LOCKS_GUARD = threading.Lock()


@contextmanager
def lock_model(path, *, on_wait=None):
    """Hold the writer lock of the existing model at ``path`` (of its target, if a symlink) for the ``with`` block.

    Hold it from loading a model to saving it again, so that no other writer's change is lost between.
    Waits for the writer that holds it, calling ``on_wait()`` first; Ctrl-C stops the wait. Re-entrant
    in one thread; a crashed holder's lock is freed by the operating system. Readers never take it.
    """
    from filelock import FileLock, Timeout

    _existing_file(Path(path))  # never leave a lock file where there is no model
    target = target_of(Path(path))  # one canonical name per model, so re-entry in a process finds the same lock
    name = os.path.join(os.path.realpath(target.parent), f".{target.name}.lock")
    with _LOCKS_GUARD:
        lock = _LOCKS.get(name) or _LOCKS.setdefault(name, FileLock(name))
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_wait is not None:
                on_wait()
            lock.acquire()
    except OSError as exc:
        raise ModelFileError(f"cannot lock {path} for writing: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        lock.release()


def _stamp(stat_result):
    """What a save changes: a replaced file is another inode (size and time also change for an in-place write)."""
    if stat_result is None:
        return None
    return stat_result.st_dev, stat_result.st_ino, stat_result.st_size, stat_result.st_mtime_ns


def _append_footer(tmp: Path, state: FittedState, key: bytes | None, digest: tuple) -> None:
    """Append the footer to the payload written to ``tmp``; ``digest``: what :func:`topics.segments.dump` returned."""
    crc, mac, size, parts = digest
    info = state.fit_info
    footer = {
        "format": FORMAT_NAME,
        "format_version": format_version(state),
        "payload_bytes": size,
        "crc32": crc,
        "crc32_segments": parts,
        "hmac_sha256": mac,
        "created": info.get("created"),
        "topics_version": info.get("topics_version"),
        "n_articles": len(state.articles),
        "n_topics": int(state.components.shape[0]),
        "n_terms": int(state.components.shape[1]),
        "adds": [{k: a.get(k) for k in FOOTER_ADD_FIELDS} for a in info.get("adds", [])],
    }
    if "stop_word_languages" in info:  # what `topics info` shows of the archive's languages
        footer["languages"] = info.get("languages", {})
        footer["stop_word_languages"] = info["stop_word_languages"]
    if key is not None:
        footer[_FOOTER_MAC] = _footer_mac(footer, key)
    encoded = json.dumps(footer, sort_keys=True).encode("utf-8")
    with open(tmp, "ab") as f:  # atomic_write syncs the file before moving it into place
        f.write(encoded + _TRAILER.pack(len(encoded), _END_MAGIC))


def _footer_mac(footer: dict, key: bytes) -> str:
    """HMAC-SHA256 of every footer field but itself (which include the payload's HMAC), canonically encoded."""
    body = {k: v for k, v in footer.items() if k != _FOOTER_MAC}
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return hmac.new(key, b"topics-model footer\n" + encoded, hashlib.sha256).hexdigest()


def _digest(whole, key: bytes | None, limit: int) -> tuple[int, str | None]:
    """CRC-32 and, with a key, HMAC-SHA256 (else None) of the first ``limit`` bytes of ``whole`` (a
    mapped file), in one pass."""
    crc, mac = 0, hmac.new(key, digestmod=hashlib.sha256) if key else None
    view = memoryview(whole).cast("B")[:limit]
    for start in range(0, len(view), _CHUNK):
        chunk = view[start : start + _CHUNK]
        crc = segments.crc32(chunk, crc)
        if mac is not None:
            mac.update(chunk)
    return crc, (mac.hexdigest() if mac is not None else None)


def _mapped(f) -> np.memmap:
    """The whole of open file ``f``, mapped read-only (uint8), its pages read in at once where the system
    can (Linux's MADV_POPULATE_READ: one call instead of a fault per page)."""
    whole = np.memmap(f, dtype=np.uint8, mode="r")
    return _populated(whole, [(0, len(whole))])


def _populated(whole: np.memmap, ranges: list) -> np.memmap:
    """``whole`` (a mapped file) once the pages of each ``(start, length)`` range are read in (see
    :func:`_mapped`); ranges next to each other are read in one call."""
    merged = []
    for start, length in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], start + length)
        elif length > 0:
            merged.append([start, start + length])
    with contextlib.suppress(AttributeError, OSError, ValueError):  # older kernels, other systems
        for start, end in merged:
            aligned = start - start % mmap.PAGESIZE
            whole._mmap.madvise(_POPULATE_READ, aligned, end - aligned)
    return whole


def _blocks_intact(whole, footer: dict) -> bool | None:
    """Whether every block of the payload matches its CRC-32 in the footer (files saved before segments:
    blocks of ``crc32_block_bytes``), checked as segments are; None when the footer has no usable ones."""
    block, expected, size = footer.get("crc32_block_bytes"), footer.get("crc32_blocks"), footer["payload_bytes"]
    if not (isinstance(block, int) and block > 0 and isinstance(expected, list) and len(expected) == -(-size // block)):
        return None
    blocks = [[min(block, size - i * block), crc] for i, crc in enumerate(expected)]
    return segments.segments_intact(whole, blocks) if segments.well_formed(blocks, size) else None


def _payload(state: FittedState, params: dict) -> dict:
    return _plain_arrays(_payload_fields(state, params))


def _plain_arrays(value):
    """The payload with every array a plain ndarray (a loaded model's arrays are np.memmap views)."""
    if isinstance(value, dict):
        return {k: _plain_arrays(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_arrays(v) for v in value)
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        return value.view(np.ndarray)
    return value


def format_version(state: FittedState) -> int:
    """The oldest format that holds a model's ``state``: 5 if it searches rare words, 4 if its analyser cuts
    Chinese or Japanese text into words, 3 if it repairs text or cuts repeated spans, 2 if it drops
    boilerplate sentences, else 1."""
    analyzer = state.vectorizer.analyzer
    if _saved_fields(state) is not None and state.search_fields.n_rare:
        return 5
    if analyzer.segment:
        return 4
    if analyzer.repair or analyzer.spans:
        return 3
    return 2 if analyzer.boilerplate else 1


def _sklearn_version() -> str:
    """scikit-learn's version, from the name of its installed metadata folder (``scikit_learn-1.7.2.dist-info``):
    importing scikit-learn costs a write command seconds, and importlib.metadata's parser a tenth of a second."""
    for folder in sys.path:
        with contextlib.suppress(OSError):
            for name in os.listdir(folder or "."):
                found = _SKLEARN_METADATA.fullmatch(name)
                if found:
                    return found[1]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scikit-learn")
    except PackageNotFoundError:  # an install without metadata
        import sklearn

        return sklearn.__version__


_SKLEARN_METADATA = re.compile(r"scikit[-_.]learn-([^-]+)\.dist-info", re.IGNORECASE)


def _payload_fields(state: FittedState, params: dict) -> dict:
    vectorizer = state.vectorizer
    return {
        "kind": FORMAT_NAME,
        "format_version": format_version(state),
        "versions": {
            "topics": state.fit_info.get("topics_version"),
            "scikit-learn": _sklearn_version(),
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "params": saved_params(params),
        "fit_info": dict(state.fit_info),
        "analyzer": vectorizer.analyzer.get_config(),
        "vectorizer": {
            "min_df": vectorizer.min_df,
            "max_df": vectorizer.max_df,
            "max_features": vectorizer.max_features,
            "n_documents": vectorizer.n_documents_,
        },
        "vocabulary": vectorizer.vocabulary_,
        "idf": vectorizer.idf_,
        "components": np.ascontiguousarray(state.components, dtype=np.float32),
        "doc_topics": np.ascontiguousarray(state.doc_topics, dtype=np.float32),
        "doc_terms": _sparse_to_dict(state.doc_terms),
        "postings": _sparse_to_dict(state.index.postings),
        # B of topics.index; None for a model loaded from a file saved before search scoring
        "search": None if state.index.search is None else _sparse_to_dict(state.index.search),
        # L of topics.state.SearchFields, so that `topics add` builds B without reading every article again;
        # None if not at hand (a file saved before L was kept): `topics add` computes it, not every save
        "search_fields": None
        if _saved_fields(state) is None or state.search_fields.known() is None
        else _sparse_to_dict(state.search_fields.known()),
        # the words B searches beyond the vocabulary, its columns V and up (topics.state.SearchFields)
        "rare_words": None if _saved_fields(state) is None else state.search_fields.rare_words,
        "articles": state.articles.to_dict(),
        "topic_names": {str(k): v for k, v in state.topic_names.items()},
    }


def _saved_fields(state: FittedState):
    """The state's :class:`topics.state.SearchFields` when its file holds them (with B), else None."""
    return None if state.index.search is None else state.search_fields


def _sparse_to_dict(matrix) -> dict:
    index_dtype = np.int32 if max(matrix.nnz, *matrix.shape) < 2**31 else np.int64
    return {
        "format": matrix.format,
        "shape": tuple(int(s) for s in matrix.shape),
        "data": np.ascontiguousarray(matrix.data, dtype=np.float32),
        "indices": np.ascontiguousarray(matrix.indices, dtype=index_dtype),
        "indptr": np.ascontiguousarray(matrix.indptr, dtype=index_dtype),
    }


# -- loading --------------------------------------------------------------------------------------------
def read_footer(path, *, key: bytes | None = None) -> dict:
    """The footer of a model file (format, version, sizes, counts), checksum verified, without unpickling.

    With ``key``, a signed file's signature (payload and footer) is verified too and a mismatch refused,
    as loading does; an unsigned file is returned as it is (see :func:`signature_status`).
    """
    path = _existing_file(Path(path))
    with _open_model(path) as f:
        footer = _check_footer(path, f, os.fstat(f.fileno()).st_size)
        _check_digest(path, _mapped(f), footer, key if footer.get("hmac_sha256") else None)
        return footer


def signature_status(footer: dict, key: bytes | None) -> str:
    """ "none" (not signed), "unverified" (signed, no key given), "verified" (payload and footer), or
    "payload verified" (signed before footers were); ``footer`` as :func:`read_footer` with ``key`` gave it."""
    if not footer.get("hmac_sha256"):
        return "none"
    if key is None:
        return "unverified"
    return "verified" if footer.get(_FOOTER_MAC) else "payload verified"


def load_state(path, *, key: bytes | None = None, mmap: bool = True) -> tuple[dict, FittedState]:
    """``(params, state)`` of a saved model, verifying format, checksum and (with ``key``) signature before
    unpickling. ``params`` are ``TopicModel`` keywords (:func:`topics.params.params_from_file`);
    :func:`topics.model.load_model` turns both into a model.

    Raises ModelFileError for a missing, truncated, damaged, malformed, unsigned-when-a-key-is-given,
    foreign or too-new file. With ``mmap`` (the default) large arrays stay on disk, memory-mapped read-only.
    """
    params, state, _ = _load(Path(path), key, mmap, for_update=False)
    return params, state


def load_state_for_update(path, *, key: bytes | None = None) -> tuple[dict, FittedState, tuple]:
    """``(params, state, stamp)``: the model at ``path``, to change and save again with
    ``save_state(state, params, path, force=True, key=key, replacing=stamp)``. Hold :func:`lock_model`
    around both.

    A signed model is refused without its key: saving it again would silently drop the signature.
    """
    return _load(Path(path), key, True, for_update=True)


def _load(path: Path, key: bytes | None, mmap: bool, *, for_update: bool):
    path = _existing_file(path)
    with _open_model(path) as f:
        stat_result = os.fstat(f.fileno())
        footer = _check_footer(path, f, stat_result.st_size)
        if for_update and key is None and footer.get("hmac_sha256"):
            raise ModelFileError(
                f"{path} is signed: give its key with --key-file (or TOPICS_MODEL_KEY) to "
                f"change it; without the key it would be saved unsigned"
            )
        parts, stamp = footer.get("crc32_segments"), _stamp(stat_result)
        # The pickle stream and every array are read through this handle and its mapping, which are the
        # ones checked: a save that replaces the file meanwhile cannot mix another file into them.
        if key is None and mmap and segments.well_formed(parts, footer["payload_bytes"]):
            payload, check_later = _load_checking_search_later(path, f, footer, stamp)
        else:
            whole = _mapped(f)  # checked here, and the arrays are views of it: each page is read in once
            if _check_digest(path, whole, footer, key):
                segments.remember(stamp, parts)
            payload, check_later = _unpickle(path, f, whole if mmap else None), None
        return (*_state_from_payload(payload, footer, path, check_later), stamp)


def _load_checking_search_later(path: Path, f, footer: dict, stamp):
    """``(payload, check_later)`` of a model file with segment checksums, read without a key: every segment
    is checked against its CRC-32 but the search matrix B's own (a query by id never reads B: at a million
    articles it is a third of the file), which ``check_later()`` checks before B is first used.

    The payload is unpickled first, to learn where B lies: the unpickler reads only the pickle's records and
    builds only arrays and plain values (:class:`_PlainDataUnpickler`), the arrays views of the mapped file,
    not read. Nothing uses the payload before its other segments are checked; a file that cannot be
    unpickled is checked whole, so that a damaged one says so.
    """
    whole = np.memmap(f, dtype=np.uint8, mode="r")
    try:
        payload = _unpickle(path, f, whole)
    except ModelFileError:
        _check_digest(path, _populated(whole, [(0, len(whole))]), footer, None)
        raise
    parts = footer["crc32_segments"]
    later = _search_segments(whole, parts, payload)
    now = [i for i in range(len(parts)) if i not in later]
    _check_segments(path, whole, parts, now)
    segments.remember(stamp, parts, unchecked=later)
    if not later:
        return payload, None

    def check_later():
        _check_segments(path, whole, parts, later)
        segments.remember(stamp, parts)

    return payload, check_later


def _check_segments(path: Path, whole, parts: list, which: list) -> None:
    """Refuse the file unless the segments ``which`` (indices into the footer's well-formed ``parts``) of
    ``whole`` (the file, mapped) match their CRC-32s; their pages are read in first, as :func:`_mapped` does."""
    offsets = segments.segment_offsets(parts)
    _populated(whole, [(offsets[i], parts[i][0]) for i in which])
    if not segments.segments_intact(whole, parts, which):
        raise ModelFileError(f"{path} is damaged (checksum mismatch); refit it or restore a copy")


def _search_segments(whole, parts: list, payload) -> list:
    """Indices of the segments that hold nothing but the bytes of one of B's arrays (each array of at least
    :data:`topics.segments.SEGMENT_MIN` bytes is a segment of its own) and that no other array of the
    payload shares (a pickle may name one array twice); B's arrays are views of ``whole``."""
    search = payload.get("search") if isinstance(payload, dict) else None
    if not isinstance(search, dict):
        return []
    where = {offset: i for i, offset in enumerate(segments.segment_offsets(parts))}
    later = []
    for a in search.values():
        i = where.get(_offset_in(whole, a)) if isinstance(a, np.ndarray) else None
        if i is not None and parts[i][0] == a.nbytes > 0 and a.flags.c_contiguous:
            later.append(i)
    # every array reached other than as a value of B's own mapping (one B refers to elsewhere too is found there)
    others = _arrays_of([value for name, value in payload.items() if name != "search"])
    offsets = segments.segment_offsets(parts)
    return [
        i for i in later if not any(_overlaps(_offset_in(whole, a), a.nbytes, offsets[i], parts[i][0]) for a in others)
    ]


def _offset_in(whole, array: np.ndarray):
    """Where the bytes of ``array`` begin in the mapped file ``whole``, or None when they are not in it."""
    offset = array.__array_interface__["data"][0] - whole.__array_interface__["data"][0]
    return offset if 0 <= offset < len(whole) else None


def _overlaps(start, length: int, segment_start: int, segment_length: int) -> bool:
    """Whether bytes ``[start, start + length)`` (start None: not in the file) meet the segment's."""
    return start is not None and start < segment_start + segment_length and segment_start < start + max(length, 1)


def _arrays_of(value) -> list:
    """Every array in a payload (plain data, walked once per container)."""
    arrays, seen, stack = [], set(), [value]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            arrays.append(item)
        elif isinstance(item, (dict, list, tuple)) and id(item) not in seen:
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return arrays


def _check_digest(path: Path, whole, footer: dict, key: bytes | None) -> bool:
    """Refuse a payload whose CRC-32s (or, with a key, HMAC) do not match the footer, and with a key a
    footer whose own HMAC does not match; ``whole``: the model file, mapped (:func:`_mapped`). True when
    the footer's segment checksums are known to be right for the file (:mod:`topics.segments`), so that
    a save may copy them with the bytes."""
    parts = footer.get("crc32_segments")
    by_segments = segments.well_formed(parts, footer["payload_bytes"])
    if key is None:  # the signature needs one pass in order; without it, check segments or blocks in parallel
        intact = segments.segments_intact(whole, parts) if by_segments else _blocks_intact(whole, footer)
        if intact is not None:
            if not intact:
                raise ModelFileError(f"{path} is damaged (checksum mismatch); refit it or restore a copy")
            return by_segments
    crc, mac = _digest(whole, key, footer["payload_bytes"])
    if crc != footer.get("crc32"):
        raise ModelFileError(f"{path} is damaged (checksum mismatch); refit it or restore a copy")
    if key is None:
        return False
    if not footer.get("hmac_sha256"):
        raise ModelFileError(f"{path} is not signed and a key was given: refusing to load it")
    footer_mac = footer.get(_FOOTER_MAC)  # compared as bytes: a forged value may be any text
    if not hmac.compare_digest(mac.encode(), footer["hmac_sha256"].encode()) or (
        footer_mac is not None and not hmac.compare_digest(_footer_mac(footer, key).encode(), footer_mac.encode())
    ):
        raise ModelFileError(f"{path} was changed after it was signed, or the key is wrong: refusing to load it")
    return by_segments and footer_mac is not None  # payload and footer, segment checksums included, are signed


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
    try:  # ValueError: also numbers of thousands of digits; RecursionError: arrays nested thousands deep
        footer = json.loads(f.read(length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelFileError(f"{path} is damaged (unreadable footer)") from None
    if not isinstance(footer, dict) or footer.get("format") != FORMAT_NAME:
        raise ModelFileError(not_model)
    if not _footer_well_formed(footer):
        raise ModelFileError(f"{path} is damaged (malformed footer)")
    version = footer.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} is damaged (bad format version {version!r})")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer topics (model format {version}; this version reads "
            f"format {FORMAT_VERSION} and older): upgrade topics to use it"
        )
    if footer.get("payload_bytes") != size - _TRAILER.size - length:
        raise ModelFileError(f"{path} is damaged (its size does not match its footer: truncated or appended to)")
    return footer


def _footer_well_formed(footer: dict) -> bool:
    """Whether every field that is read has a type it can be read as (sizes, counts, text, digests)."""

    def count(v):
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63

    def text(v):
        return v is None or (isinstance(v, str) and len(v) <= 200)

    def scalar(v):
        return text(v) or isinstance(v, (bool, float)) or (isinstance(v, int) and abs(v) < 2**63)

    def shallow(value, depth=0):  # fields of later versions too: a footer is a few flat records
        if isinstance(value, dict):
            value = list(value.values())
        return not isinstance(value, list) or (depth < 4 and all(shallow(v, depth + 1) for v in value))

    adds = footer.get("adds", [])
    return (
        shallow(footer)
        and count(footer.get("payload_bytes"))
        and count(footer.get("crc32"))
        and all(
            footer.get(k) is None or count(footer[k])
            for k in ("n_articles", "n_topics", "n_terms", "crc32_block_bytes")
        )
        and all(text(footer.get(k)) for k in ("created", "topics_version", "hmac_sha256", _FOOTER_MAC))
        and isinstance(adds, list)
        and all(isinstance(a, dict) and all(scalar(x) for x in a.values()) for a in adds)
    )


def _unpickle(path: Path, f, whole):
    """The payload of open model file ``f``, unpickled so that only numpy arrays and plain Python values
    can be built. With ``whole`` (``f`` mapped, :func:`_mapped`) arrays are read-only views of it, else
    they are read into memory."""
    try:
        f.seek(0)
        return _PlainDataUnpickler(f, whole).load()
    except Exception as exc:  # a verified file should always load; report rather than crash
        reason = " ".join(str(exc).split())
        reason = reason if len(reason) <= 200 else reason[:199] + "…"
        raise ModelFileError(f"{path} could not be read ({type(exc).__name__}: {reason})") from None


def _name_maps_by_path(payload, path: str) -> None:
    """Give every mapped array the model's absolute path as its file name (``payload``: one that
    :func:`topics.payload.check_payload` passed; each container is visited once).

    The arrays stay mapped from the file that was verified; the name is what joblib sends to worker
    processes, which map the array again by name. Writers hold the model's lock from loading to saving,
    so the path names the same file then.
    """
    seen, stack = set(), [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, np.memmap):
            value.filename = path
        elif isinstance(value, (dict, list, tuple)) and id(value) not in seen:
            seen.add(id(value))
            stack.extend(value.values() if isinstance(value, dict) else value)


# The only classes a model payload may name: everything else in it is a str, int, float, bool, None,
# list, tuple or dict, which pickle builds without naming a class. A file naming anything else (an
# estimator, os.system, ...) is refused before that name is even imported.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy", "memmap"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


def _refuse_objects(value):
    """``value``, unless it is (or is an array of) a dtype of Python objects or an array of another type."""
    if isinstance(value, (np.ndarray, np.dtype, np.generic)):
        dtype = value if isinstance(value, np.dtype) else value.dtype
        if dtype.hasobject:  # object arrays hold nested pickles: not plain data
            raise pickle.UnpicklingError("the model holds an array of Python objects")
        if isinstance(value, np.ndarray) and type(value) not in (np.ndarray, np.memmap):
            raise pickle.UnpicklingError(f"the model holds an array of type {type(value).__name__}")
    return value


def _checked(real, name):
    def build(*args):
        if name == "_reconstruct" and (not args or args[0] is not np.ndarray):
            raise pickle.UnpicklingError("it rebuilds an array of another type")
        if name == "scalar" and args:
            _refuse_objects(args[0])
        return _refuse_objects(real(*args))

    return build


class _PlainDataUnpickler(pickle._Unpickler):
    """An unpickler of joblib's format (each array's :class:`topics.segments.ArrayRecord`, then its bytes)
    that builds numpy arrays and plain Python values only. ``whole``: the file mapped (:func:`_mapped`), to
    give arrays as views of it, or None to read them into memory. The pure-Python unpickler, as joblib's:
    its opcode table can be changed."""

    dispatch = dict(pickle._Unpickler.dispatch)  # noqa: RUF012  (pickle's own per-class opcode table)

    def __init__(self, f, whole):
        super().__init__(f)
        self.file_handle, self.whole_file = f, whole

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a topics model never holds")
        if (module, name) == segments.ArrayRecord.PICKLED_AS:
            return segments.ArrayRecord
        if name == "memmap":  # an array saved from a mapped model; never let the file call np.memmap
            return np.ndarray
        real = super().find_class(module, name)
        return _checked(real, name) if name in ("dtype", "_reconstruct", "scalar") else real

    def load_build(self):  # the array record is replaced by its array; anything built is checked
        pickle._Unpickler.load_build(self)
        if isinstance(self.stack[-1], segments.ArrayRecord):
            self.stack.append(self.stack.pop().read(self))
        _refuse_objects(self.stack[-1])

    def load_reduce(self):  # ndarray(...) called directly could map any memory it is given
        self._refuse_call(self.stack[-2])
        pickle._Unpickler.load_reduce(self)

    def load_newobj(self):
        self._refuse_call(self.stack[-2])
        pickle._Unpickler.load_newobj(self)

    def load_newobj_ex(self):
        self._refuse_call(self.stack[-3])
        pickle._Unpickler.load_newobj_ex(self)

    @staticmethod
    def _refuse_call(func):
        if func is np.ndarray or func is np.dtype:
            raise pickle.UnpicklingError(f"it calls {func.__name__} directly")

    dispatch[pickle.BUILD[0]] = load_build
    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex


def _state_from_payload(payload, footer: dict, path: Path, check_later=None) -> tuple[dict, FittedState]:
    """``(params, state)`` of a checked payload, params as ``TopicModel`` keywords; ``check_later``: checks
    B's checksums (:func:`_load_checking_search_later`) before B is first used, or None."""
    try:
        # every array's structure, before scipy or numpy index with it (B's when a query first needs it)
        check_payload(payload, footer, search_later=True)
        _name_maps_by_path(payload, os.path.abspath(path))
        params = params_from_file(payload["params"])
        analyzer = Analyzer(**payload["analyzer"])
        vector = payload["vectorizer"]
        vectorizer = Vectorizer(
            analyzer, min_df=vector["min_df"], max_df=vector["max_df"], max_features=vector["max_features"]
        )
        vectorizer.vocabulary_ = payload["vocabulary"]
        vectorizer.idf_ = payload["idf"]
        vectorizer.n_documents_ = vector["n_documents"]
        H, W = payload["components"], payload["doc_topics"]
        X, postings = _sparse_from_dict(payload["doc_terms"]), _sparse_from_dict(payload["postings"])
        search = _search_on_use(payload, path, check_later) if payload.get("search") is not None else None
        fields = _sparse_from_dict(payload["search_fields"]) if payload.get("search_fields") is not None else None
        rare_words = payload.get("rare_words") if search is not None else None  # none before format 5
        articles = ArticleTable.from_dict(payload["articles"])
        n, (k, v) = len(articles), H.shape
        b = v + (0 if rare_words is None else len(rare_words))  # B's columns
        if (
            W.shape != (n, k)
            or X.shape != (n, v)
            or postings.shape != (n, v)
            or (fields is not None and fields.shape != (n, b))
            or vectorizer.idf_.shape != (v,)
            or len(vectorizer.vocabulary_) != v
            or len(articles.dates) != n
        ):
            raise ValueError("array shapes do not agree")
        if (footer.get("n_articles"), footer.get("n_topics"), footer.get("n_terms")) != (n, k, v):
            raise ValueError("footer and contents disagree")
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise ModelFileError(f"{path} is damaged or not a topics model ({' '.join(str(exc).split())[:200]})") from None
    fit_info = {**payload.get("fit_info", {}), "format_version": footer["format_version"]}
    topic_weight = params.get("topic_weight", DEFAULT_TOPIC_WEIGHT)
    state = FittedState.build(
        vectorizer=vectorizer,
        components=H,
        doc_topics=W,
        doc_terms=X,
        articles=articles,
        topic_names={int(t): name for t, name in payload.get("topic_names", {}).items()},
        fit_info=fit_info,
        topic_weight=topic_weight,
        postings=postings,
        # A file saved before search scoring has no B: its text queries are scored as they were then,
        # rather than every query process reading back all snippets to build it (seconds per 10k articles).
        search=search if search is not None else NO_SEARCH,
        search_fields=fields,
        rare_words=rare_words,
    )
    return params, state


def _search_on_use(payload: dict, path: Path, check_later=None):
    """B of a checked payload as :class:`topics.index.SimilarityIndex` takes it when it is built on first
    use: a callable returning it, which checks its checksums (``check_later``, if any) and structure
    (:func:`topics.payload.check_search`) first."""
    search, n, b = payload["search"], len(payload["doc_topics"]), search_columns(payload)

    def checked():
        if check_later is not None:
            check_later()
        try:
            check_search(search, n, b)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = " ".join(str(exc).split())[:200]
            raise ModelFileError(f"{path} is damaged or not a topics model ({reason})") from None
        return _sparse_from_dict(search)

    return checked


def _sparse_from_dict(d: dict):
    cls = {"csr": sp.csr_matrix, "csc": sp.csc_matrix}[d["format"]]
    return cls((d["data"], d["indices"], d["indptr"]), shape=tuple(d["shape"]), copy=False)


def file_size(path) -> int:
    return Path(path).stat().st_size


__all__ = [
    "save_state",
    "load_state",
    "load_state_for_update",
    "lock_model",
    "read_footer",
    "signature_status",
    "resolve_key",
    "check_writable",
    "FORMAT_VERSION",
]
