"""Topics over time: each topic's share per day, week, month or year, and what rose or fell.

Symbols: W (n_articles, k) article-topic weights, dates (n_articles,) datetime64[D] with NaT for
articles without a date. For a period p and topic t::

    share[p, t] = sum of W[i, t] over dated articles i in p  /  sum of W[i, :] over the same articles

so the shares of a period sum to 1 over all topics (also when only some topics are shown). Periods run
without gaps from the first to the last dated article; a period with no articles has ``n_articles`` 0
and NaN shares (``null`` in JSON), so a chart shows a gap rather than a fall to zero. Articles without
a date are never given one: they are counted in ``n_undated`` and left out of every period.

Weeks are ISO weeks (Monday to Sunday) named ``2025-W41``; months ``2025-10``; years ``2025``.

:func:`compare` flags rising and falling topics between two date ranges such as ``2025-01:2025-06``
(first to last day of those months, both included) and ``2025-07:2025-12``.

>>> tr = model.trends(by="month")                         # doctest: +SKIP
>>> tr.periods, tr.shares.shape                           # doctest: +SKIP
>>> model.trends(compare=("2025-01:2025-06", "2025-07:2025-12")).changes   # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

import numpy as np

from .errors import MissingExtraError, ParameterError, QueryError

PERIODS = ("day", "week", "month", "year")
MIN_CHANGE = 0.02  # a topic "rises" or "falls" when its share moves by at least 2 points
_UNIT = {"day": "D", "month": "M", "year": "Y"}
_RANGE_END = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass(frozen=True)
class Trends:
    """Topic shares per period.

    periods : list of str, length P;   n_articles : int array (P,), dated articles per period
    topics : list of int, length T;     labels : list of str, length T
    shares : float array (P, T), NaN where a period has no articles
    n_undated : articles without a date, left out;   changes : list of dict (only with ``compare``)
    """

    by: str
    periods: list
    n_articles: np.ndarray
    topics: list
    labels: list
    shares: np.ndarray
    n_dated: int
    n_undated: int
    compare: tuple | None = None
    changes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        rows = [
            {
                "period": p,
                "n_articles": int(n),
                "shares": {
                    str(t): (None if np.isnan(s) else round(float(s), 6)) for t, s in zip(self.topics, row, strict=True)
                },
            }
            for p, n, row in zip(self.periods, self.n_articles, self.shares, strict=True)
        ]
        return {
            "by": self.by,
            "n_dated": self.n_dated,
            "n_undated": self.n_undated,
            "topics": [{"id": t, "label": label} for t, label in zip(self.topics, self.labels, strict=True)],
            "periods": rows,
            "compare": list(self.compare) if self.compare else None,
            "changes": self.changes,
        }

    def to_frame(self):
        """A pandas DataFrame: one row per period, one column per topic label, plus ``n_articles``."""
        try:
            import pandas as pd
        except ImportError:
            raise MissingExtraError("to_frame() needs pandas", extra="pandas", module="pandas") from None
        frame = pd.DataFrame(
            self.shares,
            index=pd.Index(self.periods, name=self.by),
            columns=[f"{t}: {label}" for t, label in zip(self.topics, self.labels, strict=True)],
        )
        frame.insert(0, "n_articles", self.n_articles)
        return frame


def topic_trends(
    W: np.ndarray,
    dates: np.ndarray,
    labels: list,
    *,
    by: str = "month",
    topics=None,
    compare=None,
    min_change: float = MIN_CHANGE,
) -> Trends:
    """Shares per period of ``topics`` (default: all) from W and the article dates; see the module docstring."""
    if by not in PERIODS:
        raise ParameterError(f"by={by!r} is not allowed; use one of {', '.join(PERIODS)}")
    k = W.shape[1]
    chosen = _check_topics(topics, k)
    dates = np.asarray(dates, dtype="datetime64[D]")
    dated = ~np.isnat(dates)
    if not dated.any():
        raise QueryError(
            f"none of the {len(dates)} articles has a date, so there are no trends; give dates when "
            "fitting (a date field in JSONL/CSV, or a 'date YYYY-MM-DD' first line in text files)"
        )
    W = W if dated.all() else W[dated]  # memory-mapped W is read, not copied, when every article is dated
    starts = period_starts(dates[dated], by)
    all_starts = _every_period(starts.min(), starts.max(), by)
    slot = np.searchsorted(all_starts, starts)
    n = len(all_starts)
    sums = np.stack([np.bincount(slot, weights=W[:, t], minlength=n) for t in range(k)], axis=1)  # (P, k)
    counts = np.bincount(slot, minlength=n)
    totals = sums.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, sums / np.where(totals > 0, totals, 1.0), np.nan)
    changes = []
    if compare is not None:
        changes = compare_ranges(W, dates[dated], labels, compare, topics=chosen, min_change=min_change)
    return Trends(
        by=by,
        periods=[period_name(s, by) for s in all_starts],
        n_articles=counts,
        topics=chosen,
        labels=[labels[t] for t in chosen],
        shares=shares[:, chosen],
        n_dated=int(dated.sum()),
        n_undated=int((~dated).sum()),
        compare=tuple(compare) if compare else None,
        changes=changes,
    )


def compare_ranges(W: np.ndarray, dates: np.ndarray, labels: list, ranges, *, topics, min_change=MIN_CHANGE):
    """Each topic's share in range A and range B of dated articles, sorted from most risen to most fallen.

    Returns a list of dicts: topic, label, share_a, share_b, change (= share_b - share_a) and
    direction ("rising", "falling" or "steady", by ``min_change``).
    """
    if not isinstance(ranges, (list, tuple)) or len(ranges) != 2:
        raise ParameterError(
            f"compare={ranges!r} is not allowed; give two ranges such as ('2025-01:2025-06', '2025-07:2025-12')"
        )
    share = []
    for text in ranges:
        low, high = parse_date_range(text)
        inside = (dates >= low) & (dates <= high)
        if not inside.any():
            raise QueryError(
                f"no dated articles in {text} ({low} to {high}); the archive's dates run from "
                f"{dates.min()} to {dates.max()}"
            )
        sums = W[inside].sum(axis=0, dtype=np.float64)
        share.append(sums / sums.sum() if sums.sum() > 0 else sums)
    rows = []
    for t in topics:
        change = float(share[1][t] - share[0][t])
        direction = "rising" if change >= min_change else "falling" if change <= -min_change else "steady"
        rows.append(
            {
                "topic": t,
                "label": labels[t],
                "share_a": round(float(share[0][t]), 6),
                "share_b": round(float(share[1][t]), 6),
                "change": round(change, 6),
                "direction": direction,
            }
        )
    return sorted(rows, key=lambda r: -r["change"])


def parse_date_range(text: str):
    """``"2025-01:2025-06"`` → (2025-01-01, 2025-06-30) as datetime64[D]; ``"2025"`` alone is that year."""
    if not isinstance(text, str):
        raise ParameterError(f"range {text!r} is not allowed; use START:END such as 2025-01:2025-06")
    low_text, _, high_text = text.partition(":")
    high_text = high_text or low_text
    for part in (low_text, high_text):
        if not _RANGE_END.match(part.strip()):
            raise ParameterError(
                f"range {text!r} is not allowed; use START:END with dates as YYYY, YYYY-MM or "
                "YYYY-MM-DD, such as 2025-01:2025-06"
            )
    try:
        low = np.datetime64(low_text.strip(), "D")
        high_unit = {4: "Y", 7: "M", 10: "D"}[len(high_text.strip())]
        high = (np.datetime64(high_text.strip(), high_unit) + 1).astype("datetime64[D]") - 1
    except ValueError:
        raise ParameterError(f"range {text!r} has a date that does not exist") from None
    if high < low:
        raise QueryError(f"range {text!r} is empty: it ends before it starts")
    return low, high


def period_starts(dates: np.ndarray, by: str) -> np.ndarray:
    """The first day of each date's period, datetime64[D]."""
    if by == "week":
        days = dates.astype("datetime64[D]").astype(np.int64)
        return (days - (days + 3) % 7).astype("datetime64[D]")  # 1970-01-01 was a Thursday
    return dates.astype(f"datetime64[{_UNIT[by]}]").astype("datetime64[D]")


def period_name(start: np.datetime64, by: str) -> str:
    if by == "week":
        year, week, _ = datetime.date.fromisoformat(str(start)).isocalendar()
        return f"{year}-W{week:02d}"
    return str(start.astype(f"datetime64[{_UNIT[by]}]"))


def _every_period(first, last, by: str) -> np.ndarray:
    if by == "week":
        return np.arange(first, last + 1, 7, dtype="datetime64[D]")
    unit = _UNIT[by]
    return np.arange(first.astype(f"datetime64[{unit}]"), last.astype(f"datetime64[{unit}]") + 1).astype(
        "datetime64[D]"
    )


def _check_topics(topics, k: int) -> list:
    if topics is None:
        return list(range(k))
    chosen = []
    for t in topics:
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 0 <= t < k:
            raise QueryError(f"no topic {t!r}; this model has topics 0 to {k - 1}")
        if int(t) not in chosen:
            chosen.append(int(t))
    if not chosen:
        raise ParameterError("topics=[] is not allowed; give at least one topic or None for all")
    return chosen
