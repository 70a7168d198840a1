"""A model file's payload in segments, each with its own CRC-32, so that a save copies what it keeps.

A model file (:mod:`topics.store`) is a joblib pickle in which every array's bytes follow the little record
that describes it. Editing topics changes H, W and names (tens of MB of a 100,000-article model); the
TF-IDF matrix, its postings, the search matrix and the article table (hundreds of MB) stay as they were.
A save therefore writes the payload as a list of segments, ``[[length, crc32], ...]`` in the footer
(``crc32_segments``), that cover it end to end: each array of at least :data:`SEGMENT_MIN` bytes is a
segment of its own, and the bytes between them (pickle records, small arrays) are segments too.

When an array to save is mapped read-only from a model file (a loaded model's arrays are), its bytes are
copied from that file by the kernel (``os.copy_file_range``) instead of passing through Python, and its
CRC-32 is the one that file's footer gave the same bytes, checked when the file was loaded
(:func:`remember`); only new bytes are hashed, as they are written. The payload's CRC-32 (``crc32``) is
combined from the segments' (:func:`crc32_combine`), so versions of ``topics`` that read only that keep
reading the file. The bytes are exactly the ones ``joblib.dump`` writes (a test compares them).

Loading checks each segment, in pieces of at most :data:`PIECE` bytes on every core at once
(:func:`segments_intact`). Where the system cannot tell which file an array is mapped from (no
``/proc/self/maps``: not Linux) or cannot copy between files, the array's bytes are written and hashed as
any others: the same file, more slowly.
"""

from __future__ import annotations

import bisect
import errno
import hashlib
import hmac
import os
import pickle
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

try:  # zlib-ng's CRC-32 uses the CPU's carry-less multiply: the same values, about ten times as fast
    from zlib_ng.zlib_ng import crc32
except ImportError:  # pragma: no cover - an install without zlib-ng
    from zlib import crc32

SEGMENT_MIN = 1 << 20  # arrays of at least this many bytes are segments of their own
PIECE = 1 << 25  # loading checks segments in pieces of at most this many bytes, in parallel
_WRITE_CHUNK = 1 << 24
_POLY = 0xEDB88320  # CRC-32 (zlib's), reflected


# -- CRC-32 arithmetic ----------------------------------------------------------------------------------
def _multiply(a: int, b: int) -> int:
    """a * b modulo the CRC-32 polynomial (reflected bit order), as zlib's ``multmodp``."""
    m, p = 1 << 31, 0
    while m:
        if a & m:
            p ^= b
            if not a & (m - 1):
                break
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
    return p


def _powers() -> list:
    """x^(2^n) modulo the polynomial for n = 0..31, as zlib's ``x2n_table``."""
    table, p = [], 1 << 30  # x^1
    for _ in range(32):
        table.append(p)
        p = _multiply(p, p)
    return table


_X2N = _powers()


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of ``A + B`` from ``crc1 = crc32(A)``, ``crc2 = crc32(B)`` and ``length2 = len(B)``
    (zlib's ``crc32_combine``, which Python's zlib does not expose)."""
    p, k, n = 1 << 31, 3, length2  # x^(8 n): start at x^(2^3)
    while n:
        if n & 1:
            p = _multiply(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return _multiply(p, crc1) ^ crc2


def crc32_of(view, *, workers: int | None = None) -> int:
    """The CRC-32 of a bytes-like object, in pieces hashed on every core (zlib releases the GIL)."""
    view = memoryview(view).cast("B")
    if len(view) <= PIECE:
        return crc32(view)
    starts = range(0, len(view), PIECE)
    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        crcs = list(pool.map(lambda s: crc32(view[s : s + PIECE]), starts))
    crc = crcs[0]
    for s, c in zip(starts[1:], crcs[1:], strict=True):
        crc = crc32_combine(crc, c, min(PIECE, len(view) - s))
    return crc


# -- checking on load -----------------------------------------------------------------------------------
def well_formed(segments, payload_bytes: int) -> bool:
    """Whether ``segments`` is a list of ``[length, crc32]`` pairs whose lengths add up to ``payload_bytes``."""

    def count(v, limit):
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < limit

    return (
        isinstance(segments, list)
        and all(isinstance(s, list) and len(s) == 2 and count(s[0], 2**63) and count(s[1], 2**32) for s in segments)
        and sum(s[0] for s in segments) == payload_bytes
    )


def segments_intact(payload, segments: list, which=None) -> bool:
    """Whether every segment of ``payload`` (a bytes-like object: a model file, mapped) matches its CRC-32,
    hashed in pieces of at most :data:`PIECE` bytes on every core. ``segments``: well formed
    (:func:`well_formed`); ``which``: the indices of the segments to check (default: all)."""
    view = memoryview(payload).cast("B")
    chosen = range(len(segments)) if which is None else set(which)
    pieces, offset = [], 0  # (segment index, start, length)
    for i, (length, _) in enumerate(segments):
        if i in chosen:
            pieces += [(i, offset + s, min(PIECE, length - s)) for s in range(0, length, PIECE)]
        offset += length
    if len(view) < offset:  # shorter than the footer says
        return False
    workers = min(len(pieces), os.cpu_count() or 1)
    if workers <= 1:
        crcs = [crc32(view[start : start + length]) for _, start, length in pieces]
    else:
        with ThreadPoolExecutor(workers) as pool:
            crcs = list(pool.map(lambda p: crc32(view[p[1] : p[1] + p[2]]), pieces))
    combined = [None] * len(segments)
    for (i, _, length), crc in zip(pieces, crcs, strict=True):
        combined[i] = crc if combined[i] is None else crc32_combine(combined[i], crc, length)
    return all((combined[i] if combined[i] is not None else 0) == segments[i][1] for i in chosen)


def segment_offsets(segments: list) -> list:
    """The offset of each segment in the payload."""
    offsets, offset = [], 0
    for length, _ in segments:
        offsets.append(offset)
        offset += length
    return offsets


# What loading verified: for a file's stamp (device, inode, size, modification time), the CRC-32 of each
# segment by its offset. A later save that copies an array from that very file takes the CRC from here.
_VERIFIED: OrderedDict = OrderedDict()
_VERIFIED_FILES = 8


def remember(stamp, segments: list, unchecked=()) -> None:
    """Record that the file with ``stamp`` was checked against its footer's well-formed ``segments``, but
    for those whose indices are ``unchecked`` (a later call records them once checked)."""
    known, offset = {}, 0
    for i, (length, crc) in enumerate(segments):
        if i not in unchecked:
            known[offset] = (length, crc)
        offset += length
    _VERIFIED[stamp] = known
    _VERIFIED.move_to_end(stamp)
    while len(_VERIFIED) > _VERIFIED_FILES:
        _VERIFIED.popitem(last=False)


# -- where mapped arrays come from ----------------------------------------------------------------------
class MappedFiles:
    """Which file, and where in it, an array's memory is mapped from (Linux's ``/proc/self/maps``).

    Only shared read-only mappings count: their memory is the file's bytes. A file is opened again by the
    path the mapping names and used only if it is still the same file (device and inode); its stamp says
    whether loading verified its segments (:func:`remember`). Use as a context manager: it closes what it opened.
    """

    def __init__(self, stamp_of):
        self._stamp_of = stamp_of
        self._maps = _read_maps()
        self._starts = [m[0] for m in self._maps]
        self._files = {}  # (device, inode) -> (fd, verified segments by offset) or None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for opened in self._files.values():
            if opened is not None:
                os.close(opened[0])
        self._files.clear()

    def find(self, array: np.ndarray):
        """``(fd, offset, crc32 or None)`` of the array's bytes in the file it is mapped from, or None."""
        address = array.__array_interface__["data"][0]
        i = bisect.bisect_right(self._starts, address) - 1
        if i < 0:
            return None
        start, end, offset, device, inode, path = self._maps[i]
        if address + array.nbytes > end:
            return None
        opened = self._open(device, inode, path)
        if opened is None:
            return None
        fd, verified = opened
        where = offset + address - start
        length, crc = verified.get(where, (None, None))
        return fd, where, crc if length == array.nbytes else None

    def _open(self, device, inode, path):
        if (device, inode) not in self._files:
            self._files[(device, inode)] = None
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                return None
            stat = os.fstat(fd)
            if (os.major(stat.st_dev), os.minor(stat.st_dev), stat.st_ino) != (*device, inode):
                os.close(fd)  # the path now names another file (the mapped one was replaced)
                return None
            self._files[(device, inode)] = (fd, _VERIFIED.get(self._stamp_of(stat), {}))
        return self._files[(device, inode)]


def _read_maps() -> list:
    """Shared read-only file mappings of this process: ``(start, end, file offset, (major, minor), inode,
    path)``, sorted by start; empty where ``/proc/self/maps`` does not exist."""
    try:
        with open("/proc/self/maps") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    maps = []
    for line in lines:
        parts = line.split(maxsplit=5)
        if len(parts) < 6 or parts[1][1] == "w" or parts[1][3] != "s" or not parts[5].startswith("/"):
            continue
        if parts[5].endswith(" (deleted)"):
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        major, minor = (int(x, 16) for x in parts[3].split(":"))
        maps.append((start, end, int(parts[2], 16), (major, minor), int(parts[4]), parts[5]))
    maps.sort()
    return maps


# -- writing ----------------------------------------------------------------------------------------------
class SegmentWriter:
    """A write-only file for the pickler that keeps the CRC-32 of each segment (and, with a key, the
    HMAC-SHA256 of the whole payload) as it writes, and copies mapped arrays between files in the kernel."""

    def __init__(self, raw, key: bytes | None = None):
        self._raw = raw  # an unbuffered file: copies move its position, which nothing else caches
        self._position = 0
        self._segments = []
        self._length, self._crc = 0, 0  # of the segment being written
        self._mac = hmac.new(key, digestmod=hashlib.sha256) if key else None

    def tell(self) -> int:
        return self._position

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        written = 0
        while written < len(view):
            written += self._raw.write(view[written:])
        self._crc = crc32(view, self._crc)
        if self._mac is not None:
            self._mac.update(view)
        self._length += len(view)
        self._position += len(view)
        return len(view)

    def write_array(self, array: np.ndarray, source) -> None:
        """The bytes of C-contiguous ``array`` as a segment of their own; copied from ``source``
        (:meth:`MappedFiles.find`) when given and the system can."""
        self.end_segment()
        view = memoryview(array.reshape(-1).view(np.uint8))  # any dtype, datetime64 included
        if source is not None and self._copy(source, len(view)):
            crc = source[2] if source[2] is not None else crc32_of(view)
            if self._mac is not None:
                self._mac.update(view)
            self._segments.append([len(view), crc])
            self._position += len(view)
            return
        for start in range(0, len(view), _WRITE_CHUNK):
            self.write(view[start : start + _WRITE_CHUNK])
        self.end_segment()

    def _copy(self, source, length: int) -> bool:
        """Copy ``length`` bytes from the source file in the kernel; False (nothing copied) if it cannot."""
        fd, offset, _ = source
        out = self._raw.fileno()
        copied = 0
        try:
            while copied < length:
                n = os.copy_file_range(fd, out, length - copied, offset + copied)
                if n == 0:
                    break
                copied += n
        except (AttributeError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno not in _CANNOT_COPY:
                raise
        if copied < length:  # undo a partial copy: the bytes are written from memory instead
            os.lseek(out, self._position, os.SEEK_SET)
            os.ftruncate(out, self._position)
            return False
        return True

    def end_segment(self) -> None:
        if self._length:
            self._segments.append([self._length, self._crc])
        self._length, self._crc = 0, 0

    def finish(self) -> tuple[int, str | None, int, list]:
        """``(crc32, hmac_sha256 or None, payload bytes, segments)`` of everything written."""
        self.end_segment()
        crc = 0
        for length, segment_crc in self._segments:
            crc = crc32_combine(crc, segment_crc, length)
        mac = self._mac.hexdigest() if self._mac is not None else None
        return crc, mac, self._position, self._segments


# copy_file_range refuses across file systems on older kernels (EXDEV), on some file systems (EINVAL,
# EOPNOTSUPP) and where it is missing (ENOSYS); the bytes are then written from memory.
_CANNOT_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF, errno.EPERM}


def dump(payload, raw, *, key: bytes | None = None, stamp_of=None) -> tuple[int, str | None, int, list]:
    """Write ``payload`` as ``joblib.dump(payload, raw, compress=0)`` does, byte for byte, to the
    unbuffered file ``raw``; returns ``(crc32, hmac_sha256 or None, payload bytes, segments)``.

    ``stamp_of(stat_result)``: the stamp loading recorded verified files under (:func:`remember`).
    """
    writer = SegmentWriter(raw, key)
    with MappedFiles(stamp_of or (lambda stat: None)) as files:
        _Pickler(writer, files).dump(payload)
    return writer.finish()


class ArrayRecord:
    """The record that joblib's format puts before each array's bytes (joblib's ``NumpyArrayWrapper``,
    pickled under that name, :data:`PICKLED_AS`): the array's type, shape, memory order, dtype, whether it
    may be mapped, and the alignment of its bytes (a byte giving the padding's length and the padding
    precede them; files of joblib before 1.2 have no alignment, nor padding). Written and read here
    without importing joblib, a tenth of a second of every command."""

    PICKLED_AS = ("joblib.numpy_pickle", "NumpyArrayWrapper")

    def __init__(self, array: np.ndarray):  # joblib's attributes in joblib's order: the same pickled bytes
        self.subclass = type(array)
        self.shape = array.shape
        self.order = "F" if (array.flags.f_contiguous and not array.flags.c_contiguous) else "C"
        self.dtype = array.dtype
        self.allow_mmap = not array.dtype.hasobject
        self.numpy_array_alignment_bytes = ALIGNMENT

    def read(self, unpickler) -> np.ndarray:
        """The array whose bytes follow in ``unpickler.file_handle``: a view of ``unpickler.whole_file`` (the
        file, mapped) when given and the array may be mapped, else read into memory. UnpicklingError for a
        malformed record, an array of Python objects or one larger than the file."""
        state = self.__dict__  # as the file gave it
        dtype, shape, order = state.get("dtype"), state.get("shape"), state.get("order", "C")
        if (
            not isinstance(dtype, np.dtype)
            or not isinstance(shape, tuple)
            or not all(type(d) is int and 0 <= d < 2**48 for d in shape)
            or order not in ("C", "F")
        ):
            raise pickle.UnpicklingError("the model holds a malformed array")
        if dtype.hasobject:  # its bytes would be taken for pointers
            raise pickle.UnpicklingError("the model holds an array of Python objects")
        handle = unpickler.file_handle
        if state.get("numpy_array_alignment_bytes") is not None:
            padding = handle.read(1)
            handle.seek(padding[0] if padding else 0, os.SEEK_CUR)
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        offset = handle.tell()
        if nbytes > os.fstat(handle.fileno()).st_size - offset:
            raise pickle.UnpicklingError("the model holds an array larger than the file")
        whole = unpickler.whole_file
        if whole is not None and state.get("allow_mmap", False):
            # A view of the file mapped once, so that the pages the checksums read in serve the arrays too.
            array = np.ndarray.__new__(np.memmap, shape, dtype=dtype, buffer=whole, offset=offset, order=order)
            handle.seek(offset + nbytes)
            return array
        array = np.empty(shape, dtype=dtype, order=order)
        if handle.readinto(memoryview(array.reshape(-1, order="A").view(np.uint8))) != nbytes:
            raise pickle.UnpicklingError("the model is shorter than its arrays")
        return array if dtype.isnative else array.byteswap().view(dtype.newbyteorder("="))


ALIGNMENT = 16  # joblib's NUMPY_ARRAY_ALIGNMENT_BYTES


class _Pickler(pickle._Pickler):
    """joblib's NumpyPickler without joblib: every array is its :class:`ArrayRecord`, then its bytes, aligned;
    each array of at least :data:`SEGMENT_MIN` bytes is a segment of its own, copied from the file it is
    mapped from when it can be (``files``: :class:`MappedFiles`). The pure-Python pickler, as joblib's:
    its ``save`` can be changed."""

    def __init__(self, writer: SegmentWriter, files: MappedFiles):
        super().__init__(writer, protocol=pickle.DEFAULT_PROTOCOL)
        self._writer, self._files = writer, files

    def save(self, obj, save_persistent_id=True):
        if type(obj) not in (np.ndarray, np.matrix, np.memmap):
            return super().save(obj, save_persistent_id)
        if obj.dtype.hasobject:
            raise pickle.PicklingError("a topics model holds no arrays of Python objects")
        record = ArrayRecord(obj)
        super().save(record)
        if self.proto >= 4:
            self.framer.commit_frame(force=True)  # the record reaches the file before the array's bytes
        padding = ALIGNMENT - (self._writer.tell() + 1) % ALIGNMENT
        self._writer.write(bytes([padding]) + b"\xff" * padding)
        if _own_segment(obj):
            self._writer.write_array(obj, self._files.find(obj))
            return
        data = np.ascontiguousarray(obj if record.order == "C" else obj.T)  # in the record's order
        self._writer.write(memoryview(data.reshape(-1).view(np.uint8)))

    def save_global(self, obj, name=None):
        if obj is not ArrayRecord:
            return super().save_global(obj, name)
        module, qualified = ArrayRecord.PICKLED_AS  # as pickle names a class, without importing joblib to check
        self.save(module)
        self.save(qualified)
        self.write(pickle.STACK_GLOBAL)
        self.memoize(obj)


def _own_segment(obj) -> bool:
    return (
        type(obj) is np.ndarray
        and obj.nbytes >= SEGMENT_MIN
        and obj.flags.c_contiguous
        and not obj.dtype.hasobject
        and obj.dtype.isnative
    )


__all__ = [
    "ArrayRecord",
    "crc32_combine",
    "crc32_of",
    "dump",
    "remember",
    "segments_intact",
    "well_formed",
    "SEGMENT_MIN",
]
