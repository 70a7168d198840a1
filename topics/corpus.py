"""Reading news archives into :class:`Article` records.

This is the only module that opens corpus files. It understands

* a directory: every ``.txt`` (or other plain-text) file is one article, and structured files inside it
  (``.jsonl``, ``.csv``, ``.tsv``, each optionally ``.gz``) are read as below; binary files are skipped
  and counted;
* a ``.txt`` file with one article per line;
* JSON Lines (``.jsonl``, ``.ndjson``, ``.json``) and CSV/TSV with named fields;
* the ``.gz`` variant of each file type.

A text may start with a ``date YYYY-MM-DD`` header, as the article this project was made from does; the
date is parsed and kept out of the text. Files are decoded as UTF-8; a line or file that is not UTF-8 is
decoded as latin-1 and counted in :attr:`ReadStats.latin1_fallbacks` (and a :class:`TopicsWarning` is
issued), never silently.

Reading is streamed: a :class:`Corpus` is a re-iterable stream of articles that never holds the whole
archive in memory. Each full pass checks that ids are unique and refreshes :attr:`Corpus.stats`.

Example
-------
>>> corpus = read_corpus("data/sample")                  # doctest: +SKIP
>>> for article in corpus:                               # doctest: +SKIP
...     print(article.id, article.date, article.text[:40])
"""

from __future__ import annotations

import csv
import datetime as _dt
import gzip
import json
import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from .errors import CorpusError, ParameterError, TopicsWarning

logger = logging.getLogger(__name__)

FORMATS = ("auto", "lines", "text", "jsonl", "csv", "tsv")
_RECORD_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}
_DATE_HEADER = re.compile(r"\A\ufeff?\s*date[:=]?[ \t]+(\d{4}-\d{2}-\d{2})\b[ \t]*(?:\r?\n)?", re.IGNORECASE)
_BINARY_PROBE = 8192
_DUPLICATES_SHOWN = 5
# One article may hold at most this many bytes. A longer "article" is almost always a whole dump on
# one line or a stray data file; tokenising it would take minutes and gigabytes for nothing, so it is
# refused (or skipped and counted with skip_bad_lines) and never held in memory whole.
MAX_ARTICLE_BYTES = 5_000_000
_TOO_LONG = f"longer than the {MAX_ARTICLE_BYTES // 1_000_000} MB allowed for one article"


@dataclass(frozen=True)
class Article:
    """One article of an archive.

    Attributes
    ----------
    id : str
        Unique within the corpus; generated as ``"<file stem>:<line>"`` when the source has none.
    text : str
        The body, with any ``date YYYY-MM-DD`` header removed.
    title : str or None
    date : str or None
        ISO date ``"YYYY-MM-DD"``.
    meta : dict
        Every other field of the source record (for example a ``label``), JSON-compatible.
    """

    id: str
    text: str
    title: str | None = None
    date: str | None = None
    meta: Mapping = field(default_factory=dict, compare=False, hash=False)


@dataclass
class ReadStats:
    """What one full pass over a corpus met, so nothing is dropped without being counted."""

    articles: int = 0
    files: int = 0
    empty_skipped: int = 0
    binary_skipped: int = 0
    latin1_fallbacks: int = 0
    bad_dates: int = 0
    generated_ids: int = 0
    too_long_skipped: int = 0
    bad_lines: list = field(default_factory=list)  # (source, line number, reason), with skip_bad_lines

    def describe(self) -> str:
        """A short human summary of what was skipped or repaired, or '' when nothing was."""
        parts = []
        if self.empty_skipped:
            parts.append(f"{self.empty_skipped} empty skipped")
        if self.binary_skipped:
            parts.append(f"{self.binary_skipped} binary files skipped")
        if self.bad_lines:
            parts.append(f"{len(self.bad_lines)} bad lines skipped")
        if self.too_long_skipped:
            parts.append(f"{self.too_long_skipped} over-long articles skipped")
        if self.latin1_fallbacks:
            parts.append(f"{self.latin1_fallbacks} read as latin-1")
        if self.bad_dates:
            parts.append(f"{self.bad_dates} unreadable dates ignored")
        return ", ".join(parts)


def parse_date(value) -> str | None:
    """``"YYYY-MM-DD"`` from an ISO date or datetime string; None when absent; ValueError when unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()[:10]
    text = str(value).strip()
    if not text:
        return None
    return _dt.date.fromisoformat(text[:10]).isoformat()


def split_date_header(text: str) -> tuple[str | None, str]:
    """Split a leading ``date YYYY-MM-DD`` header from ``text``: ``(date or None, rest)``."""
    match = _DATE_HEADER.match(text)
    if not match:
        return None, text
    try:
        date = parse_date(match.group(1))
    except ValueError:
        return None, text
    return date, text[match.end():].lstrip()


class Corpus:
    """A re-iterable stream of :class:`Article` records read from files.

    Create one with :func:`read_corpus`. Iterating reads the files again from the start; after a
    complete pass, :attr:`stats` tells what was read and skipped.
    """

    def __init__(self, paths, *, format="auto", text_field="text", id_field="id", title_field="title",
                 date_field="date", skip_bad_lines=False):
        self.paths = [Path(p) for p in paths]
        self.format = format
        self.text_field = text_field
        self.id_field = id_field
        self.title_field = title_field
        self.date_field = date_field
        self.skip_bad_lines = skip_bad_lines
        self.stats = ReadStats()

    def __repr__(self):
        return f"Corpus({[str(p) for p in self.paths]!r}, format={self.format!r})"

    def __iter__(self) -> Iterator[Article]:
        stats = ReadStats()
        seen: set[str] = set()
        duplicates: dict[str, int] = {}
        for path in self.paths:
            for article in self._read_path(path, stats):
                if article.id in seen:
                    duplicates[article.id] = duplicates.get(article.id, 1) + 1
                    continue
                seen.add(article.id)
                stats.articles += 1
                yield article
        if duplicates:
            shown = ", ".join(f"{i!r} ({n}x)" for i, n in list(duplicates.items())[:_DUPLICATES_SHOWN])
            more = f" and {len(duplicates) - _DUPLICATES_SHOWN} more" if len(duplicates) > _DUPLICATES_SHOWN else ""
            raise CorpusError(f"duplicate article ids: {shown}{more}; ids must be unique (choose another --id-field?)")
        if stats.articles == 0:
            skipped = stats.describe()
            raise CorpusError(f"no articles found in {self._names()}" + (f" ({skipped})" if skipped else ""))
        if stats.latin1_fallbacks:
            warnings.warn(f"{stats.latin1_fallbacks} lines or files were not valid UTF-8 and were read as latin-1",
                          TopicsWarning, stacklevel=2)
        self.stats = stats

    def _names(self) -> str:
        return ", ".join(str(p) for p in self.paths)

    # -- one path -------------------------------------------------------------------------------
    def _read_path(self, path: Path, stats: ReadStats) -> Iterator[Article]:
        if path.is_dir():
            yield from self._read_directory(path, stats)
            return
        kind = self.format if self.format != "auto" else _kind_from_suffix(path)
        yield from self._read_file(path, kind, stats)

    def _read_directory(self, root: Path, stats: ReadStats) -> Iterator[Article]:
        for path in sorted(_walk_files(root)):
            kind = _kind_from_suffix(path)
            if kind in ("jsonl", "csv", "tsv"):
                yield from self._read_file(path, kind, stats)
                continue
            raw = _read_bytes(path, limit=MAX_ARTICLE_BYTES)
            stats.files += 1
            if raw is None:
                self._too_long(path, None, stats)
                continue
            if b"\x00" in raw[:_BINARY_PROBE]:
                stats.binary_skipped += 1
                logger.info("skipped binary file %s", path)
                continue
            text = _decode(raw, stats)
            article_id = path.relative_to(root).as_posix()
            article_id = re.sub(r"(\.txt)?(\.gz)?$", "", article_id)
            article = self._make_article(article_id, text, None, None, {}, stats, generated=False)
            if article is not None:
                yield article

    def _read_file(self, path: Path, kind: str, stats: ReadStats) -> Iterator[Article]:
        stats.files += 1
        if kind == "text":
            raw = _read_bytes(path, limit=MAX_ARTICLE_BYTES)
            if raw is None:
                self._too_long(path, None, stats)
                return
            if b"\x00" in raw[:_BINARY_PROBE]:
                raise CorpusError(f"{path} looks like a binary file, not text")
            article = self._make_article(_stem(path), _decode(raw, stats), None, None, {}, stats, generated=False)
            if article is not None:
                yield article
        elif kind == "lines":
            yield from self._read_lines(path, stats)
        elif kind == "jsonl":
            yield from self._read_jsonl(path, stats)
        else:
            yield from self._read_csv(path, stats, delimiter="\t" if kind == "tsv" else ",")

    def _read_lines(self, path: Path, stats: ReadStats) -> Iterator[Article]:
        stem = _stem(path)
        for lineno, line in _decoded_lines(path, stats, self._too_long):
            if "\x00" in line:
                raise CorpusError(f"{path} looks like a binary file, not text (NUL byte on line {lineno})")
            article = self._make_article(f"{stem}:{lineno}", line, None, None, {}, stats, generated=True)
            if article is not None:
                yield article

    def _read_jsonl(self, path: Path, stats: ReadStats) -> Iterator[Article]:
        stem = _stem(path)
        for lineno, line in _decoded_lines(path, stats, self._too_long):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                hint = " (a JSON array? write one object per line: JSON Lines)" if lineno == 1 and line.lstrip().startswith("[") else ""
                self._bad_line(path, lineno, f"not valid JSON: {exc.msg}{hint}", stats)
                continue
            if not isinstance(record, dict):
                self._bad_line(path, lineno, f"expected a JSON object, got {type(record).__name__}", stats)
                continue
            article = self._from_record(record, path, stem, lineno, stats)
            if article is not None:
                yield article

    def _read_csv(self, path: Path, stats: ReadStats, delimiter: str) -> Iterator[Article]:
        stem = _stem(path)
        old_limit = csv.field_size_limit()
        csv.field_size_limit(2**31 - 1)  # news articles exceed csv's 128 KiB default; restored below
        try:
            lines = (line for _, line in _decoded_lines(path, stats, self._too_long, keep_ends=True))
            reader = csv.DictReader(lines, delimiter=delimiter)
            try:
                columns = reader.fieldnames
            except csv.Error as exc:
                raise CorpusError(f"{path}: not readable as CSV: {exc}") from None
            if not columns:
                return
            if self.text_field not in columns:
                raise CorpusError(f"{path} has no column {self.text_field!r} (columns: {', '.join(columns)}); "
                                  f"name the text column with --text-field")
            while True:
                try:
                    record = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    self._bad_line(path, reader.line_num, f"not readable as CSV: {exc}", stats)
                    continue
                record.pop(None, None)  # surplus cells of a ragged row
                article = self._from_record(record, path, stem, reader.line_num, stats)
                if article is not None:
                    yield article
        finally:
            csv.field_size_limit(old_limit)

    # -- records ----------------------------------------------------------------------------------
    def _from_record(self, record: dict, path: Path, stem: str, lineno: int, stats: ReadStats):
        text = record.get(self.text_field)
        if text is None:
            if self.text_field not in record:
                self._bad_line(path, lineno, f"no {self.text_field!r} field (name it with --text-field)", stats)
                return None
            text = ""
        if not isinstance(text, str):
            self._bad_line(path, lineno, f"field {self.text_field!r} is not a string", stats)
            return None
        raw_id = record.get(self.id_field)
        generated = raw_id is None or raw_id == ""
        article_id = f"{stem}:{lineno}" if generated else str(raw_id)
        title = record.get(self.title_field)
        title = str(title).strip() or None if title is not None else None
        try:
            date = parse_date(record.get(self.date_field))
        except (ValueError, TypeError):
            stats.bad_dates += 1
            date = None
        used = {self.text_field, self.id_field, self.title_field, self.date_field}
        meta = {k: v for k, v in record.items() if k not in used and _is_plain(v)}
        return self._make_article(article_id, text, title, date, meta, stats, generated=generated)

    def _make_article(self, article_id, text, title, date, meta, stats: ReadStats, *, generated: bool):
        header_date, text = split_date_header(text)
        text = text.strip()
        if not text:
            stats.empty_skipped += 1
            return None
        if generated:
            stats.generated_ids += 1
        return Article(id=article_id, text=text, title=title, date=date or header_date, meta=meta)

    def _bad_line(self, path: Path, lineno: int, reason: str, stats: ReadStats):
        if not self.skip_bad_lines:
            raise CorpusError(f"{path}:{lineno}: {reason}; use --skip-bad-lines to skip such lines")
        stats.bad_lines.append((str(path), lineno, reason))
        logger.warning("skipped %s:%d: %s", path, lineno, reason)

    def _too_long(self, path: Path, lineno: int | None, stats: ReadStats):
        """A line (or, with ``lineno`` None, a whole file) too long to be one article."""
        where, what = (f"{path}:{lineno}", "line") if lineno is not None else (str(path), "file")
        if not self.skip_bad_lines:
            raise CorpusError(f"{where}: {what} is {_TOO_LONG}; use --skip-bad-lines to skip it")
        stats.too_long_skipped += 1
        logger.warning("skipped %s: %s is %s", where, what, _TOO_LONG)


def read_corpus(paths, *, format: str = "auto", text_field: str = "text", id_field: str = "id",
                title_field: str = "title", date_field: str = "date", skip_bad_lines: bool = False) -> Corpus:
    """Open one or more archive paths as a streamed :class:`Corpus`.

    Parameters
    ----------
    paths : str, Path or list of them
        Files or directories (see the module docstring for the formats).
    format : {"auto", "lines", "text", "jsonl", "csv", "tsv"}, default="auto"
        How to read files given directly: "auto" decides by suffix (``.txt`` and unknown suffixes are
        one article per line), "text" reads each whole file as one article.
    text_field, id_field, title_field, date_field : str
        Field names in JSONL and CSV records, default="text", "id", "title", "date".
    skip_bad_lines : bool, default=False
        Skip (and count) malformed JSONL/CSV lines instead of stopping at the first.

    Raises
    ------
    CorpusError
        When a path does not exist; reading errors are raised while iterating.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise CorpusError("no corpus path given")
    if format not in FORMATS:
        raise ParameterError(f"format={format!r} is not one of {', '.join(FORMATS)}")
    for path in paths:
        if not Path(path).exists():
            raise CorpusError(f"corpus path {str(path)!r} does not exist")
    return Corpus(paths, format=format, text_field=text_field, id_field=id_field, title_field=title_field,
                  date_field=date_field, skip_bad_lines=skip_bad_lines)


def articles_from_texts(texts: Iterable[str]) -> Iterator[Article]:
    """Articles with ids "0", "1", ... from plain strings (empty strings are skipped, keeping numbering)."""
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise CorpusError(f"item {i} is {type(text).__name__}, not a string")
        if len(text) > MAX_ARTICLE_BYTES:
            raise CorpusError(f"item {i} is {_TOO_LONG}")
        date, body = split_date_header(text)
        if body.strip():
            yield Article(id=str(i), text=body.strip(), date=date)


def read_query_file(path) -> str:
    """The whole text of one file, for a query (decoded like corpus files)."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"{str(path)!r} is not a file" if path.exists() else f"file {str(path)!r} does not exist")
    raw = _read_bytes(path, limit=MAX_ARTICLE_BYTES)
    if raw is None:
        raise CorpusError(f"{path} is {_TOO_LONG}")
    if b"\x00" in raw[:_BINARY_PROBE]:
        raise CorpusError(f"{path} looks like a binary file, not text")
    return split_date_header(_decode(raw, ReadStats()))[1]


# -- low-level helpers: bytes in, text out ----------------------------------------------------------
def _kind_from_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return _RECORD_SUFFIXES.get(suffixes[-1] if suffixes else "", "lines")


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz",) + tuple(_RECORD_SUFFIXES) + (".txt",):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or path.name


def _walk_files(root: Path):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith("."):
                yield Path(dirpath) / name


def _open_binary(path: Path):
    try:
        return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    except PermissionError:
        raise CorpusError(f"no permission to read {path}") from None
    except IsADirectoryError:
        raise CorpusError(f"{path} is a directory") from None


def _read_bytes(path: Path, limit: int | None = None) -> bytes | None:
    """The bytes of a file (decompressed), or None when there are more than ``limit``."""
    with _open_binary(path) as f:
        try:
            raw = f.read() if limit is None else f.read(limit + 1)
        except (OSError, EOFError) as exc:
            raise CorpusError(f"{path}: cannot be read ({exc})") from None
    return None if limit is not None and len(raw) > limit else raw


def _decoded_lines(path: Path, stats: ReadStats, too_long, keep_ends: bool = False):
    """(line number, text) for each line of a file; non-UTF-8 lines fall back to latin-1 and are counted.

    A line over MAX_ARTICLE_BYTES is never held whole: it is read past in chunks and reported with
    ``too_long(path, line number, stats)``, which raises or counts it.
    """
    with _open_binary(path) as f:
        lineno = 0
        try:
            while raw := f.readline(MAX_ARTICLE_BYTES + 1):
                lineno += 1
                if len(raw.rstrip(b"\r\n")) > MAX_ARTICLE_BYTES:
                    while not raw.endswith(b"\n") and (raw := f.readline(1 << 20)):
                        pass
                    too_long(path, lineno, stats)
                    continue
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                line = _decode(raw, stats)
                yield lineno, line if keep_ends else line.rstrip("\r\n")
        except (OSError, EOFError) as exc:
            raise CorpusError(f"{path}: cannot be read after line {lineno} ({exc})") from None


def _decode(raw: bytes, stats: ReadStats) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        stats.latin1_fallbacks += 1
        return raw.decode("latin-1")


def _is_plain(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))
