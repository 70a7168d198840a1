"""Which articles may be hits: date range, minimum score, and no near-duplicates.

:func:`select` turns a score array into the rows to show: it masks what the filters exclude, then takes
the best rows and, unless duplicates are kept, drops near-duplicates of the query and of each other
(:func:`topics.duplicates.distinct_rows`), widening the candidate list until k rows are left or none are.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import numpy as np

from .corpus import parse_date
from .duplicates import DEFAULT_THRESHOLD, distinct_rows
from .errors import ParameterError
from .index import top_k


@dataclass(frozen=True)
class HitFilter:
    """Validated filters: ``since``/``until`` as datetime64[D] or None (the first and last day allowed), ``min_score`` in [0, 1]."""

    since: np.datetime64 | None = None
    until: np.datetime64 | None = None
    min_score: float = 0.0
    keep_duplicates: bool = False
    threshold: float = DEFAULT_THRESHOLD

    @classmethod
    def build(cls, *, since=None, until=None, min_score=None, keep_duplicates=False) -> HitFilter:
        since, until = date_window(since, until)
        if min_score is not None and (
            isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0.0 <= min_score <= 1.0
        ):
            raise ParameterError(f"min_score={min_score!r} is not allowed; use a number in [0.0, 1.0]")
        if not isinstance(keep_duplicates, bool):
            raise ParameterError(f"keep_duplicates={keep_duplicates!r} is not allowed; use True or False")
        return cls(since, until, float(min_score or 0.0), keep_duplicates)

    def mask(self, dates: np.ndarray) -> np.ndarray | None:
        """Rows allowed by the date range (articles without a date fail any date filter), or None."""
        if self.since is None and self.until is None:
            return None
        return in_window(dates, self.since, self.until)


DATE_FORMS = "YYYY, YYYY-MM or YYYY-MM-DD"
_DATE_TEXT = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def date_span(value, name: str = "date") -> tuple[np.datetime64, np.datetime64]:
    """The first and last day (datetime64[D]) of a date someone typed: ``2025`` is the whole year,
    ``2025-03`` the month, ``2025-03-14`` that day; a ``datetime.date`` is its day. The one reader of
    typed dates (``--since``, ``--until``, trend ranges); ParameterError naming ``name`` otherwise."""
    if isinstance(value, (datetime.date, np.datetime64)) and not isinstance(value, bool):
        day = np.datetime64(value, "D")
        return day, day
    text = value.strip() if isinstance(value, str) else None
    if text and _DATE_TEXT.match(text):
        unit = {4: "Y", 7: "M", 10: "D"}[len(text)]
        try:
            if unit == "D":
                parse_date(text, whole=True)  # numpy would accept 2025-02-30's month but not its day
            first = np.datetime64(text, unit)
        except ValueError:
            first = None
        if first is not None:
            return first.astype("datetime64[D]"), (first + 1).astype("datetime64[D]") - 1
    raise ParameterError(f"{name}={value!r} is not allowed; use a date as {DATE_FORMS}")


def date_bound(value, name: str) -> np.datetime64 | None:
    """The ``since`` (first day) or ``until`` (last day) bound of a date as :func:`date_span` reads it,
    as datetime64[D], or None: ``since="2017-03"`` is 2017-03-01, ``until="2017-03"`` 2017-03-31."""
    if value is None:
        return None
    first, last = date_span(value, name)
    return last if name == "until" else first


def date_window(since=None, until=None) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    """``(since, until)`` as datetime64[D] bounds (None where not given); ParameterError when since > until."""
    since, until = date_bound(since, "since"), date_bound(until, "until")
    if since is not None and until is not None and since > until:
        raise ParameterError(f"since={str(since)!r} is after until={str(until)!r}; no article can match")
    return since, until


def in_window(dates: np.ndarray, since, until) -> np.ndarray:
    """Bool array (n,): dated (not NaT) and within the datetime64[D] bounds (None: open on that side)."""
    ok = ~np.isnat(dates)
    if since is not None:
        ok &= dates >= since
    if until is not None:
        ok &= dates <= until
    return ok


_CANDIDATE_POOL = 1024


def select(
    scores: np.ndarray, k: int, hit_filter: HitFilter, *, dates: np.ndarray, doc_terms, exclude=(), query=None
) -> np.ndarray:
    """Rows of the best k hits, best first, after the filters.

    scores : (n_articles,) array; dates : datetime64[D] (n_articles,); doc_terms : csr (n_articles, V);
    exclude : rows never to return (the query article); query : sparse row (1, V) whose near-duplicates
    are dropped, or None.
    """
    scores = np.array(scores, dtype=np.result_type(scores, np.float32))  # a copy; float32 stays float32
    allowed = hit_filter.mask(dates)
    if allowed is not None:
        scores[~allowed] = -np.inf
    if hit_filter.min_score > 0:
        scores[scores < np.float64(hit_filter.min_score - 1e-9)] = -np.inf  # compared in float64
    if hit_filter.keep_duplicates:
        return top_k(scores, k, exclude=exclude)
    # One selection pass costs about the same for 30 rows as for 1,000 (a pass over every score, 1 ms
    # at 1M articles), and candidates come out in the same order whatever the pool, so ask for a pool
    # large enough that near-duplicates rarely force another pass.
    want = max(2 * k + 8, _CANDIDATE_POOL)
    while True:
        candidates = top_k(scores, want, exclude=exclude)
        kept = distinct_rows(candidates, doc_terms, hit_filter.threshold, query=query, limit=k)
        if kept.size >= k or candidates.size < want:
            return kept[:k]
        want *= 4


def select_best(index, query, k: int, hit_filter: HitFilter, *, dates: np.ndarray, exclude=(), duplicate_of=None):
    """:func:`select` without scoring every article: (rows, float32 scores) of the best k hits, best first.

    index : topics.index.SimilarityIndex; query, duplicate_of : topics.index.Query (``duplicate_of``:
    the query article, whose near-duplicates are dropped, or None). The same rows as :func:`select` over
    ``index.score_all(query)``; see :meth:`topics.index.SimilarityIndex.best`.
    """
    return index.best(
        query,
        k,
        exclude=exclude,
        allowed=hit_filter.mask(dates),
        min_score=hit_filter.min_score,
        threshold=None if hit_filter.keep_duplicates else hit_filter.threshold,
        duplicate_of=duplicate_of,
    )
