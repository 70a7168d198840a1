"""Reading news archives into :class:`Article` records.

This is the only module that opens corpus files. It understands

* a directory: every ``.txt`` (or other plain-text) file is one article, and structured files inside it
  (``.jsonl``, ``.csv``, ``.tsv``, each optionally ``.gz``) are read as below. Binary files, hidden
  entries and odd ones (FIFOs, sockets and devices, broken or looping symlinks, files and folders that
  cannot be opened, a file reached twice through links) are skipped and counted, never opened blindly:
  a FIFO is never read, so it cannot block. Symlinks to folders are followed, once;
* a ``.txt`` file with one article per line;
* JSON Lines (``.jsonl``, ``.ndjson``, ``.json``) and CSV/TSV with named fields;
* the ``.gz`` variant of each file type.

A text may start with a ``date YYYY-MM-DD`` header, as the article this project was made from does; the
date is parsed and kept out of the text. Files are decoded as UTF-8; a line or file that is not UTF-8 is
decoded as latin-1 and counted in :attr:`ReadStats.latin1_fallbacks` (and a :class:`TopicsWarning` is
issued), never silently.

Ids come from the records' id field or, when there is none, from file names: ``"<file stem>:<line>"``
for a line of a file, the path below the folder without ``.txt``/``.gz`` for a whole-file article. When
two files would give the same ids (``a/news.txt`` and ``b/news.txt``), those files are named by their
path below the folder the given paths share (``a/news:1``, ``b/news:1``) instead, so no article is lost
to a clash.

A CSV field opened by a quote that is never closed swallows the rows after it. Such a record (the csv
module's strict parse fails, or one field holds many lines that look like rows of the file) is an
error naming its first line, or, with ``skip_bad_lines``, that
line is skipped and counted and the rows after it are read again as rows.

Reading is streamed: a :class:`Corpus` is a re-iterable stream of articles that never holds the whole
archive in memory. Each full pass checks that ids are unique and refreshes :attr:`Corpus.stats`;
whatever a pass skips is counted there, and skipped bad lines and odd folder entries are also named in
a :class:`TopicsWarning`.

Example
-------
>>> corpus = read_corpus("data/sample")                  # doctest: +SKIP
>>> for article in corpus:                               # doctest: +SKIP
...     print(article.id, article.date, article.text[:40])
"""

from __future__ import annotations

import csv
import datetime as _dt
import errno
import gzip
import json
import logging
import os
import random
import re
import stat as _stat
import warnings
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorpusError, ParameterError, TopicsWarning

logger = logging.getLogger(__name__)

FORMATS = ("auto", "lines", "text", "jsonl", "csv", "tsv")
# The keyword arguments of read_corpus that say how an archive is read; a model stores them (plain data)
# so that `add`, `refit` and `evaluate` read the same way.
READING_OPTIONS = ("format", "text_field", "id_field", "title_field", "date_field", "skip_bad_lines")
_RECORD_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}
_DATE_HEADER = re.compile(r"\A\ufeff?\s*date[:=]?[ \t]+(\d{4}-\d{2}-\d{2})\b[ \t]*(?:\r?\n)?", re.IGNORECASE)
_BINARY_PROBE = 8192
_DUPLICATES_SHOWN = 5
# One article may hold at most this many bytes. A longer "article" is almost always a whole dump on
# one line or a stray data file; tokenising it would take minutes and gigabytes for nothing, so it is
# refused (or skipped and counted with skip_bad_lines) and never held in memory whole.
MAX_ARTICLE_BYTES = 5_000_000
_TOO_LONG = f"longer than the {MAX_ARTICLE_BYTES // 1_000_000} MB allowed for one article"
# A CSV field over this many lines with rows of the file in it is taken for an unclosed quote that
# swallowed the rest of the file (real posts with full headers and quotes run to several hundred lines).
MAX_FIELD_LINES = 10_000
_ROW_LIKE_MIN = 3  # ... as is a field with at least this many lines that parse as rows of the file
_ROW_LIKE_MIN_KEYLESS = 10  # ... of a file without id or date column
_SHOWN = 3  # skipped lines and entries named in a warning


@dataclass(frozen=True)
class Article:
    """One article of an archive.

    Attributes
    ----------
    id : str
        Unique within the corpus; generated as ``"<file stem>:<line>"`` when the source has none (with
        the file's path instead of its stem when two files' stems clash; see the module docstring).
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
    hidden_skipped: int = 0  # folder entries whose names start with "."
    special_skipped: int = 0  # FIFOs, sockets and devices in folders
    broken_links_skipped: int = 0  # symlinks to nothing, or to themselves
    link_loops_skipped: int = 0  # symlinks to a folder being read already
    unreadable_skipped: int = 0  # files and folders in folders that cannot be opened
    repeated_skipped: int = 0  # files reached a second time (through links, or paths given twice)
    extra_cells: int = 0  # CSV rows with more cells than the header has columns (the extra ignored)
    renamed_sources: int = 0  # files whose ids use their path because their names clash
    odd_entries: list = field(default_factory=list)  # (path, what it is) of the skipped odd entries

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
        for count, what in (
            (self.special_skipped, "special files (FIFOs, sockets, devices) skipped"),
            (self.broken_links_skipped, "broken symlinks skipped"),
            (self.link_loops_skipped, "symlink loops skipped"),
            (self.unreadable_skipped, "unreadable files or folders skipped"),
            (self.repeated_skipped, "files reached twice skipped"),
            (self.hidden_skipped, "hidden entries skipped"),
            (self.extra_cells, "CSV rows with extra cells (ignored)"),
            (self.renamed_sources, "files with clashing names identified by their path"),
        ):
            if count:
                parts.append(f"{count} {what}")
        return ", ".join(parts)


def parse_date(value, *, whole: bool = False) -> str | None:
    """``"YYYY-MM-DD"`` from an ISO date or datetime string, or a date; None when absent or blank;
    ValueError when unreadable. The one date parser of topics: for an article's date field a datetime
    string gives its day; with ``whole`` (a date someone typed, :func:`topics.filters.date_bound`) the text
    must be a date and nothing more."""
    if value is None or value == "":
        return None
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()[:10]
    text = str(value).strip()
    if not text:
        return None
    return _dt.date.fromisoformat(text if whole else text[:10]).isoformat()


def split_date_header(text: str) -> tuple[str | None, str]:
    """Split a leading ``date YYYY-MM-DD`` header from ``text``: ``(date or None, rest)``."""
    match = _DATE_HEADER.match(text)
    if not match:
        return None, text
    try:
        date = parse_date(match.group(1))
    except ValueError:
        return None, text
    return date, text[match.end() :].lstrip()


@dataclass(frozen=True)
class _Source:
    """One file to read: its kind, whether it is one article of a folder, and the folder it was found in."""

    path: Path
    kind: str
    whole: bool  # a plain file of a folder: the whole file is one article
    root: Path | None  # the folder given, for files found in one


class Corpus:
    """A re-iterable stream of :class:`Article` records read from files.

    Create one with :func:`read_corpus`. Iterating reads the files again from the start; after a
    complete pass, :attr:`stats` tells what was read and skipped.
    """

    def __init__(
        self,
        paths,
        *,
        format="auto",
        text_field="text",
        id_field="id",
        title_field="title",
        date_field="date",
        skip_bad_lines=False,
    ):
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

    def reading_options(self) -> dict:
        """The keyword arguments of :func:`read_corpus` this corpus was opened with, as plain data."""
        return {name: getattr(self, name) for name in READING_OPTIONS}

    def __iter__(self) -> Iterator[Article]:
        stats = ReadStats()
        seen: set[str] = set()
        duplicates: dict[str, int] = {}
        sources = self._sources(stats)
        for source, label in zip(sources, _labels(sources, self.paths, stats), strict=True):
            for article in self._read_source(source, label, stats):
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
            warnings.warn(
                f"{stats.latin1_fallbacks} lines or files were not valid UTF-8 and were read as latin-1",
                TopicsWarning,
                stacklevel=2,
            )
        if stats.bad_lines:
            shown = ", ".join(f"{s}:{n} ({reason.split(';')[0]})" for s, n, reason in stats.bad_lines[:_SHOWN])
            more = ", ..." if len(stats.bad_lines) > _SHOWN else ""
            warnings.warn(
                f"skipped {len(stats.bad_lines)} bad line{'s' if len(stats.bad_lines) != 1 else ''}: {shown}{more}",
                TopicsWarning,
                stacklevel=2,
            )
        if stats.odd_entries:
            shown = ", ".join(f"{p} ({what})" for p, what in stats.odd_entries[:_SHOWN])
            more = ", ..." if len(stats.odd_entries) > _SHOWN else ""
            warnings.warn(
                f"skipped {len(stats.odd_entries)} folder entr{'ies' if len(stats.odd_entries) != 1 else 'y'} "
                f"that are not readable files or folders: {shown}{more}",
                TopicsWarning,
                stacklevel=2,
            )
        self.stats = stats

    def _names(self) -> str:
        return ", ".join(str(p) for p in self.paths)

    def sample_texts(self, size: int, *, seed: int = 0) -> list[str]:
        """An even sample of ``size`` article texts (reservoir sampling, seeded), in archive order.

        For learning what an archive repeats, not for reading it: one-per-line files (JSON Lines and
        .txt) are sampled by their raw lines, and only the chosen lines are decoded and parsed, so the pass
        costs a read of the bytes rather than a parse of every record; other files are read as articles.
        Lines that are not articles (blank, bad JSON, no text) are left out of the sample.
        """
        rng = random.Random(seed)
        sample: list = []
        seen = 0
        for source in self._sources(ReadStats()):
            for item in self._sample_items(source):
                if seen < size:
                    sample.append((seen, item))
                else:
                    slot = rng.randrange(seen + 1)
                    if slot < size:
                        sample[slot] = (seen, item)
                seen += 1
        texts = (self._sampled_text(item) for _, item in sorted(sample, key=lambda pair: pair[0]))
        return [text for text in texts if text]

    def _sample_items(self, source: _Source):
        """The raw lines of a one-per-line file, as (kind, bytes); the texts of any other file."""
        if not source.whole and source.kind in ("jsonl", "lines"):
            try:
                with _open_binary(source.path) as f:
                    for raw in f:
                        if raw.strip():
                            yield source.kind, raw
            except (OSError, EOFError, CorpusError):
                return
            return
        try:
            for article in self._read_source(source, _stem(source.path), ReadStats()):
                yield "text", article.text
        except CorpusError:
            return

    def _sampled_text(self, item) -> str:
        kind, value = item
        if kind == "text":
            return value
        line = value.decode("utf-8", "replace").strip()
        if kind == "lines":
            return split_date_header(line)[1]
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return ""
        text = record.get(self.text_field) if isinstance(record, dict) else None
        return text if isinstance(text, str) else ""

    # -- which files ------------------------------------------------------------------------------
    def _sources(self, stats: ReadStats) -> list[_Source]:
        """Every file to read, in order; odd folder entries and files reached twice are counted, not listed."""
        sources, seen_files = [], set()
        for path in self.paths:
            if path.is_dir():
                found = [(p, _kind_from_suffix(p)) for p in _walk(path, stats)]
                candidates = [_Source(p, kind, kind not in ("jsonl", "csv", "tsv"), path) for p, kind in found]
            else:
                kind = self.format if self.format != "auto" else _kind_from_suffix(path)
                candidates = [_Source(path, kind, False, None)]
            for source in candidates:
                identity = _identity(source.path)
                if identity is not None and identity in seen_files:
                    stats.repeated_skipped += 1
                    logger.info("skipped %s: read already", source.path)
                    continue
                if identity is not None:
                    seen_files.add(identity)
                sources.append(source)
        return sources

    def _read_source(self, source: _Source, label: str, stats: ReadStats) -> Iterator[Article]:
        if source.root is None:
            yield from self._read_file(source.path, source.kind, label, stats)
            return
        try:  # a file of a folder that cannot be opened is skipped and counted, not fatal
            if source.whole:
                yield from self._read_whole(source.path, label, stats)
            else:
                yield from self._read_file(source.path, source.kind, label, stats)
        except _Unreadable as exc:
            stats.unreadable_skipped += 1
            stats.odd_entries.append((str(source.path), f"unreadable: {exc.reason}"))

    def _read_whole(self, path: Path, article_id: str, stats: ReadStats) -> Iterator[Article]:
        """A plain file of a folder as one article (binary files are skipped and counted)."""
        raw = _read_bytes(path, limit=MAX_ARTICLE_BYTES)
        stats.files += 1
        if raw is None:
            self._too_long(path, None, stats)
            return
        if b"\x00" in raw[:_BINARY_PROBE]:
            stats.binary_skipped += 1
            logger.info("skipped binary file %s", path)
            return
        article = self._make_article(article_id, _decode(raw, stats), None, None, {}, stats, generated=False)
        if article is not None:
            yield article

    def _read_file(self, path: Path, kind: str, label: str, stats: ReadStats) -> Iterator[Article]:
        stats.files += 1
        if kind == "text":
            raw = _read_bytes(path, limit=MAX_ARTICLE_BYTES)
            if raw is None:
                self._too_long(path, None, stats)
                return
            if b"\x00" in raw[:_BINARY_PROBE]:
                raise CorpusError(f"{path} looks like a binary file, not text")
            article = self._make_article(label, _decode(raw, stats), None, None, {}, stats, generated=False)
            if article is not None:
                yield article
        elif kind == "lines":
            yield from self._read_lines(path, label, stats)
        elif kind == "jsonl":
            yield from self._read_jsonl(path, label, stats)
        else:
            yield from self._read_csv(path, label, stats, delimiter="\t" if kind == "tsv" else ",")

    def _read_lines(self, path: Path, stem: str, stats: ReadStats) -> Iterator[Article]:
        for lineno, line in _decoded_lines(path, stats, self._too_long):
            if "\x00" in line:
                raise CorpusError(f"{path} looks like a binary file, not text (NUL byte on line {lineno})")
            article = self._make_article(f"{stem}:{lineno}", line, None, None, {}, stats, generated=True)
            if article is not None:
                yield article

    def _read_jsonl(self, path: Path, stem: str, stats: ReadStats) -> Iterator[Article]:
        for lineno, line in _decoded_lines(path, stats, self._too_long):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                hint = (
                    " (a JSON array? write one object per line: JSON Lines)"
                    if lineno == 1 and line.lstrip().startswith("[")
                    else ""
                )
                self._bad_line(path, lineno, f"not valid JSON: {exc.msg}{hint}", stats)
                continue
            if not isinstance(record, dict):
                self._bad_line(path, lineno, f"expected a JSON object, got {type(record).__name__}", stats)
                continue
            article = self._from_record(record, path, stem, lineno, stats)
            if article is not None:
                yield article

    def _read_csv(self, path: Path, stem: str, stats: ReadStats, delimiter: str) -> Iterator[Article]:
        old_limit = csv.field_size_limit()
        csv.field_size_limit(2**31 - 1)  # news articles exceed csv's 128 KiB default; restored below
        try:
            lines = _Lines(_decoded_lines(path, stats, self._too_long, keep_ends=True))
            # strict: a quote closed in the middle of a field, or never, is an error, not a silent merge
            reader = csv.reader(lines, delimiter=delimiter, strict=True)
            try:
                columns = next(reader, None)
            except csv.Error as exc:
                raise CorpusError(f"{path}: not readable as CSV: {exc}") from None
            if not columns:
                return
            if self.text_field not in columns:
                raise CorpusError(
                    f"{path} has no column {self.text_field!r} (columns: {', '.join(columns)}); "
                    f"name the text column with --text-field"
                )
            shape = _RowShape(columns, delimiter, id_field=self.id_field, date_field=self.date_field)
            while True:
                lines.start_record()
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    problem = f"not readable as CSV ({exc})"
                else:
                    problem = shape.suspicious(row, len(lines.taken))
                if problem:
                    taken = lines.taken
                    first, last = taken[0][0], taken[-1][0]
                    if last > first:
                        problem = (
                            f"a quoted field opened here swallows lines {first + 1}-{last} "
                            f"(an unclosed quote?): {problem}"
                        )
                    self._bad_line(path, first, problem, stats)
                    # Skip the first line only, and read the lines it swallowed again as rows.
                    lines.push_back(taken[1:])
                    reader = csv.reader(lines, delimiter=delimiter, strict=True)
                    continue
                if not row:
                    continue
                if len(row) > len(columns):
                    stats.extra_cells += 1
                record = {name: row[i] if i < len(row) else None for i, name in enumerate(columns)}
                article = self._from_record(record, path, stem, lines.taken[-1][0], stats)
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


def read_corpus(
    paths,
    *,
    format: str = "auto",
    text_field: str = "text",
    id_field: str = "id",
    title_field: str = "title",
    date_field: str = "date",
    skip_bad_lines: bool = False,
) -> Corpus:
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
        mode = os.stat(path).st_mode
        if not (_stat.S_ISDIR(mode) or _stat.S_ISREG(mode) or _stat.S_ISFIFO(mode)):  # a FIFO named is read
            raise CorpusError(f"corpus path {str(path)!r} is a {_special_kind(mode)}, not a file or folder")
    return Corpus(
        paths,
        format=format,
        text_field=text_field,
        id_field=id_field,
        title_field=title_field,
        date_field=date_field,
        skip_bad_lines=skip_bad_lines,
    )


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


def as_articles(corpus):
    """Articles of anything :func:`topics.fit` accepts: a path or list of paths (read with
    :func:`read_corpus`), a :class:`Corpus`, a list of Articles (ids checked unique) or plain strings."""
    if isinstance(corpus, (str, os.PathLike)):
        return read_corpus(corpus)
    if isinstance(corpus, Corpus):
        return corpus
    try:
        items = list(corpus)
    except TypeError:
        kind = type(corpus).__name__
        raise CorpusError(f"a corpus is a path, a list of paths, Articles or strings, not {kind}") from None
    if items and all(isinstance(i, os.PathLike) for i in items):
        return read_corpus(items)
    if all(isinstance(i, Article) for i in items):
        check_unique_ids(items)
        return items
    return list(articles_from_texts(items))


def check_unique_ids(articles: list[Article]) -> None:
    """Raise CorpusError naming (up to five of) the ids that occur more than once."""
    seen, duplicates = set(), []
    for a in articles:
        if a.id in seen:
            duplicates.append(a.id)
        seen.add(a.id)
    if duplicates:
        raise CorpusError(f"duplicate article ids: {', '.join(map(repr, duplicates[:5]))}")


def source_of(article: Article, field: str) -> str | None:
    """An article's source from its metadata field, as text (None when missing or empty)."""
    value = article.meta.get(field) if article.meta else None
    if value is None or isinstance(value, (dict, list)):
        return None
    value = str(value).strip()
    return value or None


def read_query_lines(source) -> Iterator[tuple[int, str | None, str | None]]:
    """``(line number, text, None)`` or ``(line number, None, reason)`` for each line of a query file.

    ``source`` is a path or a binary stream (standard input). Lines are numbered as in the file (split at
    ``\n`` only), decoded like corpus lines, and the one-article size limit applies to each line: a
    longer line is reported with its reason (and read past, never held whole), the others still come.
    A first line that is only a ``date YYYY-MM-DD`` header, as texts may start with, is left out (its
    number is not reused). CorpusError when the file cannot be read or looks binary.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise CorpusError(f"{str(path)!r} is not a file" if path.exists() else f"file {str(path)!r} does not exist")
        with _open_binary(path) as f:
            yield from _query_lines(f, str(path))
    else:
        yield from _query_lines(source, "standard input")


def _query_lines(f, name: str):
    stats = ReadStats()
    for lineno, raw in _bounded_lines(f, name):
        if raw is None:
            yield lineno, None, f"line is longer than the {MAX_ARTICLE_BYTES // 1_000_000} MB allowed for one query"
            continue
        if b"\x00" in raw:
            if lineno == 1:
                raise CorpusError(f"{name} looks like a binary file, not text")
            yield lineno, None, "line holds a NUL byte (binary data?)"
            continue
        line = _decode(raw, stats).rstrip("\r\n")
        if lineno == 1:
            line = line.lstrip("\ufeff")
            date, rest = split_date_header(line)
            if date is not None and not rest.strip():
                continue
        yield lineno, line, None


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
    for suffix in (".gz", *_RECORD_SUFFIXES, ".txt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or path.name


def _walk(root: Path, stats: ReadStats) -> list[Path]:
    """The regular files under ``root`` in path order. Symlinks to folders are followed unless they lead to
    a folder read already (a loop); hidden entries, special files (FIFOs, sockets, devices), broken links
    and entries that cannot be opened are skipped and counted. Nothing is opened but folders, so a FIFO
    cannot block the read."""
    files: list[Path] = []
    visited: set = set()

    def entries(folder: Path):
        info = os.stat(folder)
        visited.add((info.st_dev, info.st_ino))
        with os.scandir(folder) as it:
            return iter(sorted(it, key=lambda e: e.name))

    def odd(path, what, counter):
        setattr(stats, counter, getattr(stats, counter) + 1)
        stats.odd_entries.append((str(path), what))
        logger.info("skipped %s: %s", path, what)

    try:
        stack = [entries(root)]
    except OSError as exc:
        raise CorpusError(f"cannot read folder {root}: {exc.strerror or exc}") from None
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        path = Path(entry.path)
        if entry.name.startswith("."):
            stats.hidden_skipped += 1
            continue
        try:
            info = os.stat(path)  # follows symlinks
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                odd(path, "symlink loop", "link_loops_skipped")
            elif isinstance(exc, FileNotFoundError):
                odd(path, "broken symlink", "broken_links_skipped")
            else:
                odd(path, f"unreadable: {exc.strerror or exc}", "unreadable_skipped")
            continue
        if _stat.S_ISDIR(info.st_mode):
            if (info.st_dev, info.st_ino) in visited:
                odd(path, "link to a folder read already", "link_loops_skipped")
                continue
            try:
                stack.append(entries(path))
            except OSError as exc:
                odd(path, f"unreadable folder: {exc.strerror or exc}", "unreadable_skipped")
        elif _stat.S_ISREG(info.st_mode):
            files.append(path)
        else:
            odd(path, _special_kind(info.st_mode), "special_skipped")
    return files


def _special_kind(mode: int) -> str:
    if _stat.S_ISFIFO(mode):
        return "FIFO"
    if _stat.S_ISSOCK(mode):
        return "socket"
    return "device" if _stat.S_ISCHR(mode) or _stat.S_ISBLK(mode) else "special file"


def _identity(path: Path):
    """(device, inode) of a file, to notice the same file reached twice; None when it cannot be stat'ed."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _labels(sources: list, given: list[Path], stats: ReadStats) -> list[str]:
    """The id (whole-file articles) or id prefix (``"<label>:<line>"``) of each source, unique among sources.

    Each source is first named as before (its stem, or its path below its folder for a whole-file
    article); sources whose names clash are named by their path below the folder all given paths share,
    without suffixes, and, if they still clash, with them.
    """
    natural = [_natural_label(s) for s in sources]
    labels = list(natural)
    if len(sources) < 2:
        return labels
    anchors = [os.path.abspath(p) if Path(p).is_dir() else os.path.dirname(os.path.abspath(p)) for p in given]
    common = os.path.commonpath(anchors)
    for full in (False, True):
        keys = [(s.whole or s.kind == "text", label) for s, label in zip(sources, labels, strict=True)]
        counts = Counter(keys)
        if all(counts[k] == 1 for k in keys):
            break
        labels = [
            _path_label(s, common, full) if counts[k] > 1 else label
            for s, k, label in zip(sources, keys, labels, strict=True)
        ]
    stats.renamed_sources = sum(a != b for a, b in zip(labels, natural, strict=True))
    return labels


def _natural_label(source) -> str:
    if source.whole:
        return _strip_text_suffix(source.path.relative_to(source.root).as_posix())
    return _stem(source.path)


def _path_label(source, common: str, full: bool) -> str:
    relative = Path(os.path.relpath(os.path.abspath(source.path), common)).as_posix()
    if full:
        return relative
    if source.whole or source.kind == "text":
        return _strip_text_suffix(relative)
    folder = relative.rpartition("/")[0]
    return f"{folder}/{_stem(source.path)}" if folder else _stem(source.path)


def _strip_text_suffix(name: str) -> str:
    return re.sub(r"(\.txt)?(\.gz)?$", "", name)


class _Unreadable(CorpusError):
    """A file that cannot be opened (permissions, say): fatal when named directly, skipped in a folder."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class _Lines:
    """Numbered lines handed to a csv reader one at a time. It remembers the lines of the record being
    read (``taken``), and lines pushed back are handed out again first."""

    def __init__(self, numbered):
        self._numbered = iter(numbered)
        self._back: deque = deque()
        self.taken: list = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        item = self._back.popleft() if self._back else next(self._numbered)
        self.taken.append(item)
        return item[1]

    def start_record(self):
        self.taken = []

    def push_back(self, items):
        self._back.extendleft(reversed(items))


class _RowShape:
    """Tells a CSV field that swallowed rows of its file (an unclosed quote) from a real multi-line text.

    A line of a field is row-like when it parses as a row of the file: as many cells as the header has
    columns, a non-empty id without white space in the id column and a date in the date column (or
    nothing, when there is an id column too), with an id no other row-like line of the field has. A field
    is suspicious when it has at least _ROW_LIKE_MIN row-like lines that are at least half its non-blank lines, or the field spans more than
    MAX_FIELD_LINES lines (a swallowed file that also holds multi-line rows). A long field without
    row-like lines is a long text, however many lines it has. In a file with
    neither column to check, where lists in real texts ("* Alien (band), a 1980s group") parse as rows
    of a two-column file, it takes _ROW_LIKE_MIN_KEYLESS row-like lines that are nine in ten non-blank ones.
    """

    def __init__(self, columns, delimiter: str, *, id_field: str, date_field: str):
        self.n_columns = len(columns)
        self.delimiter = delimiter
        self.id_column = columns.index(id_field) if id_field in columns else None
        self.date_column = columns.index(date_field) if date_field in columns else None
        keyed = self.id_column is not None or self.date_column is not None
        self.need, self.share = (_ROW_LIKE_MIN, 0.5) if keyed else (_ROW_LIKE_MIN_KEYLESS, 0.9)

    def suspicious(self, row: list, n_lines: int) -> str:
        """Why the record looks like an unclosed quote, or '' when it does not."""
        if n_lines < 2:
            return ""
        for value in row:
            if "\n" not in value:
                continue
            lines = value.split("\n")
            nonblank = [line for line in lines[1:] if line.strip()]
            # Rows of a real file have distinct ids: lines that repeat one id ("0,0" fifty times) are text.
            keys = [self._row_key(line) for line in nonblank] if self.n_columns > 1 else []
            row_like = len({k for k in keys if k is not None})
            if row_like >= self.need and (row_like >= self.share * len(nonblank) or len(lines) > MAX_FIELD_LINES):
                return f"one field holds {len(lines):,} lines, {row_like:,} of them like rows of the file"
        return ""

    def _row_key(self, line: str):
        """The id of a line that parses as a row of the file (its line itself when there is no id column),
        or None."""
        try:
            cells = next(csv.reader([line], delimiter=self.delimiter))
        except (csv.Error, StopIteration):
            return None
        if len(cells) != self.n_columns:
            return None
        if self.id_column is not None:
            value = cells[self.id_column]
            if not value or any(c.isspace() for c in value):
                return None
        if self.date_column is not None:
            try:
                date = parse_date(cells[self.date_column])
            except (ValueError, TypeError):
                return None
            if date is None and self.id_column is None:
                return None
        return cells[self.id_column] if self.id_column is not None else line


def _open_binary(path: Path):
    try:
        return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    except PermissionError:
        raise _Unreadable(f"no permission to read {path}", "no permission") from None
    except IsADirectoryError:
        raise CorpusError(f"{path} is a directory") from None
    except OSError as exc:
        raise _Unreadable(f"cannot open {path}: {exc.strerror or exc}", exc.strerror or str(exc)) from None


def _read_bytes(path: Path, limit: int | None = None) -> bytes | None:
    """The bytes of a file (decompressed), or None when there are more than ``limit``."""
    with _open_binary(path) as f:
        try:
            raw = f.read() if limit is None else f.read(limit + 1)
        except (OSError, EOFError) as exc:
            raise _Unreadable(f"{path}: cannot be read ({exc})", f"cannot be read ({exc})") from None
    return None if limit is not None and len(raw) > limit else raw


def _decoded_lines(path: Path, stats: ReadStats, too_long, keep_ends: bool = False):
    """(line number, text) for each line of a file; non-UTF-8 lines fall back to latin-1 and are counted.

    A line over MAX_ARTICLE_BYTES is never held whole (:func:`_bounded_lines`) and is reported with
    ``too_long(path, line number, stats)``, which raises or counts it.
    """
    with _open_binary(path) as f:
        for lineno, raw in _bounded_lines(f, str(path)):
            if raw is None:
                too_long(path, lineno, stats)
                continue
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            line = _decode(raw, stats)
            yield lineno, line if keep_ends else line.rstrip("\r\n")


def _bounded_lines(f, name: str):
    """(line number, raw bytes) for each line of a binary stream, split at ``\\n`` only; None for a line
    over MAX_ARTICLE_BYTES, which is read past in chunks and never held whole. CorpusError naming the line
    when the stream breaks."""
    lineno = 0
    try:
        while raw := f.readline(MAX_ARTICLE_BYTES + 1):
            lineno += 1
            if len(raw.rstrip(b"\r\n")) > MAX_ARTICLE_BYTES:
                while not raw.endswith(b"\n") and (raw := f.readline(1 << 20)):
                    pass
                yield lineno, None
                continue
            yield lineno, raw
    except (OSError, EOFError) as exc:
        raise CorpusError(f"{name}: cannot be read after line {lineno} ({exc})") from None


def _decode(raw: bytes, stats: ReadStats) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        stats.latin1_fallbacks += 1
        return raw.decode("latin-1")


def _is_plain(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))
