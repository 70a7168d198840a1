"""Topics over time: each topic's share per day, week, month or year, and what rose or fell.

Symbols: W (n_articles, k) article-topic weights, dates (n_articles,) datetime64[D] with NaT for
articles without a date. For a period p and topic t::

    share[p, t] = sum of W[i, t] over dated articles i in p  /  sum of W[i, :] over the same articles

so the shares of a period sum to 1 over all topics (also when only some topics are shown). Periods run
without gaps from the first to the last dated article shown; a period with no articles has
``n_articles`` 0 and NaN shares (``null`` in JSON), so a chart shows a gap rather than a fall to zero.
Articles without a date are never given one: they are counted in ``n_undated`` and left out of every period.

Honest trends, because a share is only as good as the articles behind it:

- **Thin periods.** A period with fewer than ``min_articles`` articles (default 10) is marked ``thin``:
  its shares are shown, but it is never a peak (:meth:`Trends.peak`). Two articles make a 50% share.
- **Stray dates.** A few articles dated far from the rest (a typo, an old article in a new archive)
  would stretch the axis with empty periods. On each side at most ``STRAY_SHARE`` (1%) of the dated
  articles count as stray, and only when an empty stretch of at least ``STRAY_GAP`` (20%) of the span of
  the other 98% of dates, and at least a week, separates them from the rest. They are left out and
  counted in ``n_stray``. Giving ``since`` (``until``) turns the rule off on that side.
- **Source shifts.** When the articles name their source, consecutive periods (neither empty nor thin)
  whose source mix differs by a total variation distance of at least ``SOURCE_SHIFT`` (0.3; 0 = the same
  mix, 1 = no source in common) are listed in ``source_shifts``: there the shares may follow what was
  collected rather than the news.

Weeks are ISO weeks (Monday to Sunday) named ``2025-W41``; months ``2025-10``; years ``2025``. Dates
(``since``, ``until``, ranges) are typed as YYYY, YYYY-MM or YYYY-MM-DD (:func:`topics.filters.date_span`).

:func:`compare_ranges` flags rising and falling topics between two date ranges such as
``2025-01:2025-06`` (first to last day of those months, both included) and ``2025-07:2025-12``.

>>> tr = model.trends(by="month", since="2025-01")        # doctest: +SKIP
>>> tr.periods, tr.shares.shape, tr.thin                  # doctest: +SKIP
>>> model.trends(compare=("2025-01:2025-06", "2025-07:2025-12")).changes   # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass, field

import numpy as np

from .errors import MissingExtraError, ParameterError, QueryError
from .filters import DATE_FORMS, date_span, date_window, in_window

PERIODS = ("day", "week", "month", "year")
MIN_CHANGE = 0.02  # a topic "rises" or "falls" when its share moves by at least 2 points
MIN_ARTICLES = 10  # a period with fewer articles is thin: shown, never a peak
STRAY_SHARE = 0.01  # at most this share of the dated articles is stray, on each side
STRAY_GAP = 0.2  # ... when a gap of this share of the core span separates them
STRAY_MIN_GAP_DAYS = 7
SOURCE_SHIFT = 0.3  # total variation distance of the source mix between consecutive periods
_UNIT = {"day": "D", "month": "M", "year": "Y"}


@dataclass(frozen=True)
class Trends:
    """Topic shares per period.

    periods : list of str, length P;   n_articles : int array (P,), dated articles per period
    topics : list of int, length T;     labels : list of str, length T
    shares : float array (P, T), NaN where a period has no articles
    thin : bool array (P,), periods with some but fewer than ``min_articles`` articles
    n_dated : dated articles in the periods shown;   n_undated : articles without a date, left out
    n_outside : dated articles outside ``since``/``until``;   n_stray : stray dates left out (module docstring)
    first_day, last_day : str, the days the periods cover
    source_shifts : list of dict {"from", "to", "distance", "rose": [source, share before, after], "fell": ...}
    changes : list of dict (only with ``compare``)
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
    thin: np.ndarray | None = None
    min_articles: int = MIN_ARTICLES
    n_outside: int = 0
    n_stray: int = 0
    first_day: str = ""
    last_day: str = ""
    source_shifts: list = field(default_factory=list)

    def peak(self, column: int):
        """``(period, share)`` of the largest share of the ``column``-th topic shown, among periods that are
        neither empty nor thin; None when there is no such period."""
        usable = (self.n_articles > 0) & ~self._thin()
        if not usable.any():
            return None
        values = np.where(usable, self.shares[:, column], -np.inf)
        best = int(np.argmax(values))
        return self.periods[best], float(values[best])

    def _thin(self) -> np.ndarray:
        return self.thin if self.thin is not None else np.zeros(len(self.periods), dtype=bool)

    def notes(self) -> list:
        """What a reader should know about these shares, as sentences (empty when nothing to say)."""
        notes = []
        if self.n_undated:
            notes.append(f"{_count(self.n_undated, 'undated article')} {_are(self.n_undated)} left out.")
        if self.n_outside:
            notes.append(
                f"{_count(self.n_outside, 'article')} dated outside {self.first_day} to {self.last_day} "
                f"{_are(self.n_outside)} left out."
            )
        if self.n_stray:
            notes.append(
                f"{_count(self.n_stray, 'article')} with stray dates far from the rest {_are(self.n_stray)} left out "
                f"(the periods run from {self.first_day} to {self.last_day}; --since/--until show them)."
            )
        n_thin = int(self._thin().sum())
        if n_thin:
            notes.append(
                f"{n_thin} thin {self.by}{'s' if n_thin != 1 else ''} with fewer than {self.min_articles} "
                "articles: their shares are shaky and never count as peaks."
            )
        for s in self.source_shifts:
            rose, fell = s["rose"], s["fell"]
            notes.append(
                f"The mix of sources changes from {s['from']} to {s['to']} (distance {s['distance']:.2f}: "
                f"{rose[0]} {rose[1]:.0%} → {rose[2]:.0%}, {fell[0]} {fell[1]:.0%} → {fell[2]:.0%}); "
                "shares there may follow what was collected rather than the news."
            )
        return notes

    def to_dict(self) -> dict:
        rows = [
            {
                "period": p,
                "n_articles": int(n),
                "thin": bool(thin),
                "shares": {
                    str(t): (None if np.isnan(s) else round(float(s), 6)) for t, s in zip(self.topics, row, strict=True)
                },
            }
            for p, n, thin, row in zip(self.periods, self.n_articles, self._thin(), self.shares, strict=True)
        ]
        return {
            "by": self.by,
            "first_day": self.first_day,
            "last_day": self.last_day,
            "n_dated": self.n_dated,
            "n_undated": self.n_undated,
            "n_outside": self.n_outside,
            "n_stray": self.n_stray,
            "min_articles": self.min_articles,
            "topics": [{"id": t, "label": label} for t, label in zip(self.topics, self.labels, strict=True)],
            "periods": rows,
            "source_shifts": self.source_shifts,
            "compare": list(self.compare) if self.compare else None,
            "changes": self.changes,
        }

    def to_frame(self):
        """A pandas DataFrame: one row per period, one column per topic label, plus ``n_articles`` and ``thin``."""
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
        frame.insert(1, "thin", self._thin())
        return frame


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


@dataclass(frozen=True)
class PeriodGrid:
    """Which articles a trend shows and in which period: the one recipe behind every chart over time.

    rows : int array (m,) of the articles shown (dated, in the window, not stray), or None for all of them
    slot : int array (m,), each shown article's period;  starts : datetime64[D] (P,), first day of each
    periods : list of str (P,);  counts : int array (P,) articles per period;  thin : bool array (P,)
    """

    by: str
    rows: np.ndarray | None
    slot: np.ndarray
    starts: np.ndarray
    periods: list
    counts: np.ndarray
    thin: np.ndarray
    min_articles: int
    n_dated: int
    n_undated: int
    n_outside: int
    n_stray: int
    first_day: str
    last_day: str

    def take(self, values):
        """The shown articles' entries of a per-article array or sequence (the array itself when all are shown)."""
        if self.rows is None:
            return values
        return values[self.rows] if isinstance(values, np.ndarray) else [values[r] for r in self.rows]

    def sums(self, W: np.ndarray) -> np.ndarray:
        """Per-period sums of the shown articles' rows of W: float64 array (P, k)."""
        W = self.take(W)
        n = len(self.periods)
        return np.stack([np.bincount(self.slot, weights=W[:, t], minlength=n) for t in range(W.shape[1])], axis=1)


def period_grid(dates: np.ndarray, *, by: str = "month", since=None, until=None, min_articles=MIN_ARTICLES):
    """The :class:`PeriodGrid` of article ``dates`` (datetime64[D], NaT when unknown); see the module docstring."""
    if by not in PERIODS:
        raise ParameterError(f"by={by!r} is not allowed; use one of {', '.join(PERIODS)}")
    if isinstance(min_articles, bool) or not isinstance(min_articles, (int, np.integer)) or min_articles < 0:
        raise ParameterError(f"min_articles={min_articles!r} is not allowed; use an integer >= 0")
    low, high = date_window(since, until)
    dates = np.asarray(dates, dtype="datetime64[D]")
    dated = ~np.isnat(dates)
    if not dated.any():
        raise QueryError(
            f"none of the {len(dates)} articles has a date, so there are no trends; give dates when "
            "fitting (a date field in JSONL/CSV, or a 'date YYYY-MM-DD' first line in text files)"
        )
    window = in_window(dates, low, high)
    if not window.any():
        raise QueryError(
            f"no dated articles from {since or 'the start'} to {until or 'the end'}; the archive's dates run "
            f"from {dates[dated].min()} to {dates[dated].max()}"
        )
    first, last = stray_bounds(dates[window], keep_first=low is not None, keep_last=high is not None)
    kept = window & (dates >= first) & (dates <= last)
    rows = None if kept.all() else np.flatnonzero(kept)
    starts = period_starts(dates if rows is None else dates[rows], by)
    all_starts = _every_period(starts.min(), starts.max(), by)
    slot = np.searchsorted(all_starts, starts)
    counts = np.bincount(slot, minlength=len(all_starts))
    return PeriodGrid(
        by=by,
        rows=rows,
        slot=slot,
        starts=all_starts,
        periods=[period_name(s, by) for s in all_starts],
        counts=counts,
        thin=(counts > 0) & (counts < min_articles),
        min_articles=int(min_articles),
        n_dated=int(kept.sum()),
        n_undated=int((~dated).sum()),
        n_outside=int(dated.sum() - window.sum()),
        n_stray=int(window.sum() - kept.sum()),
        first_day=str(low if low is not None else first),
        last_day=str(high if high is not None else last),
    )


def topic_trends(
    W: np.ndarray,
    dates: np.ndarray,
    labels: list,
    *,
    by: str = "month",
    topics=None,
    compare=None,
    min_change: float = MIN_CHANGE,
    since=None,
    until=None,
    min_articles: int = MIN_ARTICLES,
    sources=None,
) -> Trends:
    """Shares per period of ``topics`` (default: all) from W and the article dates; see the module docstring.

    ``since``/``until``: the first and last date shown (YYYY, YYYY-MM or YYYY-MM-DD, inclusive);
    ``sources``: each article's source (a sequence of str or None, length n_articles) or None.
    """
    chosen = _check_topics(topics, W.shape[1])
    grid = period_grid(dates, by=by, since=since, until=until, min_articles=min_articles)
    sums = grid.sums(W)  # memory-mapped W is read, not copied, when every article is shown
    totals = sums.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, sums / np.where(totals > 0, totals, 1.0), np.nan)
    shifts = []
    if sources is not None:
        from .summary import value_codes

        names, codes = value_codes(sources)
        shifts = source_shifts(grid.slot, grid.take(codes), names, grid.periods, usable=(grid.counts > 0) & ~grid.thin)
    changes = []
    if compare is not None:
        dated = np.flatnonzero(~np.isnat(np.asarray(dates, dtype="datetime64[D]")))  # the ranges say which dates
        changes = compare_ranges(
            W[dated],
            np.asarray(dates, dtype="datetime64[D]")[dated],
            labels,
            compare,
            topics=chosen,
            min_change=min_change,
        )
    return Trends(
        by=by,
        periods=grid.periods,
        n_articles=grid.counts,
        topics=chosen,
        labels=[labels[t] for t in chosen],
        shares=shares[:, chosen],
        n_dated=grid.n_dated,
        n_undated=grid.n_undated,
        compare=tuple(compare) if compare else None,
        changes=changes,
        thin=grid.thin,
        min_articles=grid.min_articles,
        n_outside=grid.n_outside,
        n_stray=grid.n_stray,
        first_day=grid.first_day,
        last_day=grid.last_day,
        source_shifts=shifts,
    )


def stray_bounds(dates: np.ndarray, *, keep_first: bool = False, keep_last: bool = False):
    """The first and last date (datetime64[D]) of the articles that are not stray (module docstring).

    dates : datetime64[D] (n,), no NaT. ``keep_first``/``keep_last``: no stray dates on that side.
    """
    days = np.sort(dates.astype(np.int64))
    n = len(days)
    m = int(n * STRAY_SHARE)  # the most articles that can be stray on one side
    first, last = days[0], days[-1]
    if m > 0:
        min_gap = max(STRAY_GAP * (days[n - 1 - m] - days[m]), STRAY_MIN_GAP_DAYS)
        if not keep_first:
            wide = np.flatnonzero(np.diff(days[: m + 1]) >= min_gap)  # a gap after article i: 0..i are stray
            first = days[wide[-1] + 1] if wide.size else first
        if not keep_last:
            wide = np.flatnonzero(np.diff(days[n - 1 - m :]) >= min_gap)
            last = days[n - 1 - m + wide[0]] if wide.size else last
    return np.datetime64(int(first), "D"), np.datetime64(int(last), "D")


def source_shifts(
    slot: np.ndarray, codes: np.ndarray, names: list, periods: list, *, usable: np.ndarray, threshold=SOURCE_SHIFT
) -> list:
    """Consecutive usable periods whose mix of sources differs by a total variation distance >= threshold.

    slot : int array (n,), each article's period; codes : int array (n,), each article's source as a
    position in ``names`` ("" for articles naming none, which count as a source of their own, as
    :func:`topics.summary.value_codes` gives them); usable : bool array (P,), periods to compare
    (neither empty nor thin). Each shift names the source that rose most and the one that fell most.
    """
    if len(names) < 2:
        return []
    mix = np.zeros((len(periods), len(names)))
    np.add.at(mix, (slot, codes), 1.0)
    mix /= np.maximum(mix.sum(axis=1, keepdims=True), 1.0)
    shifts = []
    order = np.flatnonzero(usable)
    for a, b in itertools.pairwise(order):
        change = mix[b] - mix[a]
        distance = 0.5 * float(np.abs(change).sum())
        if distance >= threshold:
            rose, fell = int(np.argmax(change)), int(np.argmin(change))
            shifts.append(
                {
                    "from": periods[a],
                    "to": periods[b],
                    "distance": round(distance, 6),
                    "rose": [
                        names[rose] or "(no source)",
                        round(float(mix[a, rose]), 6),
                        round(float(mix[b, rose]), 6),
                    ],
                    "fell": [
                        names[fell] or "(no source)",
                        round(float(mix[a, fell]), 6),
                        round(float(mix[b, fell]), 6),
                    ],
                }
            )
    return shifts


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
    """``"2025-01:2025-06"`` → (2025-01-01, 2025-06-30) as datetime64[D]; ``"2025"`` alone is that year.
    Each end is read by :func:`topics.filters.date_span`, as every date typed anywhere."""
    if not isinstance(text, str):
        raise ParameterError(f"range {text!r} is not allowed; use START:END such as 2025-01:2025-06")
    low_text, _, high_text = text.partition(":")
    try:
        low, high = date_span(low_text)[0], date_span(high_text or low_text)[1]
    except ParameterError:
        raise ParameterError(
            f"range {text!r} is not allowed; use START:END with dates as {DATE_FORMS}, such as 2025-01:2025-06"
        ) from None
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
