"""Exploring a fitted model: which topics a text is about, topics by a metadata field, topic words over time.

Symbols as in :mod:`topics.topic_model`: X (n_articles, V) TF-IDF rows, H (k, V) topic-term weights,
W (n_articles, k) article-topic weights.

- :func:`find_topics`: a text's topic weights w (1, k) are found as for any query (the non-negative
  least squares of :func:`topics.topic_model.nmf_transform`, the same W a stored article gets); each
  topic's score is its share ``w_t / sum(w)``, so the scores of all topics sum to 1.
- :func:`topics_by`: for a metadata field kept per article (the model's ``source_field``, "source" by
  default: outlets, parties, sections), the summed W of each value's articles, A (n_values, k). Each
  value's **mix** is its row of A normalised (what the outlet writes about); each topic's **spread** its
  column normalised (who writes about it). A topic is **over-represented** at a value when it takes at
  least ``OVER_RATIO`` (2) times as large a part of that value's weight as of all other values' weight
  together, ``ratio = mix[v, t] / mix[rest, t]`` (a relative risk; unlike a ratio against the whole
  archive it works with two values too), and the value has at least ``OVER_MIN_ARTICLES`` (3) articles
  led by the topic, so a handful of articles cannot make a finding.
- :func:`topic_words_over_time`: for topic t and period p, the term weights ``sum of W[i, t] X[i]``
  over the period's articles i (what the topic's articles say, weighted by how much they are about
  t), over the terms the topics are made of (those with weight in H: a large archive's rarest terms
  are not topic words), ranked as topic words are (:func:`topics.topic_model.relevance_scale`), phrases
  standing for their words (:func:`topics.topic_model.readable_terms`). Periods, thin periods and stray
  dates are those of :func:`topics.trends.period_grid`, so the words line up with ``trends``.

>>> [(topic.label, round(score, 2)) for topic, score in model.find_topics("travel ban", k=3)]  # doctest: +SKIP
>>> model.topics_by("source").to_frame()                                  # doctest: +SKIP
>>> model.topic_words_over_time(7, by="month").words                      # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .errors import ParameterError, QueryError
from .filters import date_window, in_window
from .summary import check_topic, pandas_module, topic_labels, topic_sizes, value_codes, value_weights
from .topic_model import nmf_transform, readable_terms, relevance_scale, top_terms
from .trends import MIN_ARTICLES, period_grid

OVER_RATIO = 2.0
OVER_MIN_ARTICLES = 3


# -- find topics ----------------------------------------------------------------------------------------
def find_topics(model, query, *, k: int = 5) -> list:
    """``[(Topic, score)]``: the k topics with the largest share of ``query``'s topic weight, largest first
    (topics with no weight are left out, so fewer than k may come back).

    query : a text, or a mapping with exactly one of ``"text"`` and ``"id"`` (a stored article).
    QueryError for an empty text, one with no words the model knows, or one none of whose words is in a topic.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"k={k!r} is not allowed; use an integer >= 1")
    weights = _query_weights(model, query)
    total = float(weights.sum())
    if total <= 0:
        raise QueryError("none of the query's known words belongs to a topic")
    order = [int(t) for t in np.argsort(-weights, kind="stable")[:k] if weights[t] > 0]
    summary = model.summary(n_words=10, n_articles=0)
    return [(summary[t], float(weights[t]) / total) for t in order]


def _query_weights(model, query) -> np.ndarray:
    """Topic weights (k,) of a text or of a stored article named by ``{"id": ...}``."""
    if isinstance(query, Mapping) and len(query.keys() & {"id", "text"}) == 1:
        if "id" in query:
            return np.asarray(model.doc_topics_[model.row_of(str(query["id"]))], dtype=np.float64)
        query = query["text"]
    if not isinstance(query, str):
        raise QueryError(
            f"a query is a text or a mapping with exactly one of 'id' or 'text', not {type(query).__name__}"
        )
    if not query.strip():
        raise QueryError("the query text is empty")
    terms = model.vectorizer_.transform([query])
    if terms.nnz == 0:
        raise QueryError("the query text has no words the model knows (only stop words, numbers or unseen words)")
    return nmf_transform(terms, model.components_)[0].astype(np.float64)


# -- topics by a metadata field -------------------------------------------------------------------------
@dataclass(frozen=True)
class TopicsBy:
    """Topics × values of a metadata field (module docstring for mix, spread and ratio).

    field : str;  values : list of str, V values;  n_articles : int array (V,) articles per value
    topics : list of int (k);  labels : list of str (k)
    weights : float array (V, k), summed W;  led : int array (V, k), articles of value v led by topic t
    n_missing : articles without a value (left out)
    """

    field: str
    values: list
    n_articles: np.ndarray
    topics: list
    labels: list
    weights: np.ndarray
    led: np.ndarray
    n_missing: int

    @property
    def mix(self) -> np.ndarray:
        """(V, k): each value's topic mix, rows summing to 1."""
        return _normalise(self.weights, axis=1)

    @property
    def spread(self) -> np.ndarray:
        """(V, k): each topic's split over the values, columns summing to 1."""
        return _normalise(self.weights, axis=0)

    @property
    def value_shares(self) -> np.ndarray:
        """(V,): each value's part of all topic weight."""
        total = self.weights.sum()
        return self.weights.sum(axis=1) / total if total > 0 else np.zeros(len(self.values))

    @property
    def ratio(self) -> np.ndarray:
        """(V, k): the topic's part of the value's weight over its part of all other values' weight
        (inf where the other values have none of it; 0 where the value has none)."""
        rest = self.weights.sum(axis=0, keepdims=True) - self.weights  # (V, k): every other value together
        rest_mix = _normalise(rest, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(rest_mix > 0, self.mix / np.where(rest_mix > 0, rest_mix, 1.0), np.inf)
        return np.where(self.mix > 0, ratio, 0.0)

    @property
    def over(self) -> np.ndarray:
        """(V, k) bool: the topic is over-represented at the value (module docstring)."""
        return (self.ratio >= OVER_RATIO) & (self.led >= OVER_MIN_ARTICLES)

    def to_dict(self) -> dict:
        mix, spread, ratio, over = self.mix, self.spread, self.ratio, self.over
        topic_shares = _normalise(self.weights.sum(axis=0), axis=0)

        def cell(v, t, share):
            finite = np.isfinite(ratio[v, t])
            return {
                "share": round(float(share), 6),
                "ratio": round(float(ratio[v, t]), 6) if finite else None,
                "over": bool(over[v, t]),
            }

        return {
            "field": self.field,
            "n_missing": self.n_missing,
            "values": [
                {
                    "value": value,
                    "n_articles": int(self.n_articles[v]),
                    "share": round(float(self.value_shares[v]), 6),
                    "topics": [{"topic": self.topics[t], **cell(v, t, mix[v, t])} for t in _largest(mix[v])],
                }
                for v, value in enumerate(self.values)
            ],
            "topics": [
                {
                    "id": topic,
                    "label": label,
                    "weight": round(float(topic_shares[t]), 6),
                    "values": [{"value": self.values[v], **cell(v, t, spread[v, t])} for v in _largest(spread[:, t])],
                }
                for t, (topic, label) in enumerate(zip(self.topics, self.labels, strict=True))
            ],
        }

    def to_frame(self):
        """A long pandas DataFrame, one row per (value, topic): weight, mix, spread, ratio, over; needs pandas."""
        pd = pandas_module()
        V, k = self.weights.shape
        return pd.DataFrame(
            {
                self.field: np.repeat(self.values, k),
                "topic": np.tile(self.topics, V),
                "label": np.tile(np.array(self.labels, dtype=object), V),
                "weight": self.weights.ravel(),
                "mix": self.mix.ravel(),
                "spread": self.spread.ravel(),
                "ratio": self.ratio.ravel(),
                "over": self.over.ravel(),
            }
        )


def _normalise(a: np.ndarray, axis: int) -> np.ndarray:
    totals = a.sum(axis=axis, keepdims=True)
    return np.divide(a, totals, out=np.zeros_like(a, dtype=np.float64), where=totals > 0)


def _largest(values: np.ndarray) -> list:
    return [int(i) for i in np.argsort(-values, kind="stable")]


def metadata_fields(model) -> dict:
    """The per-article metadata fields a model keeps, by name: ``{name: column}`` (the source field
    the model was fitted with, when its articles named one)."""
    sources = model.articles_.sources
    return {} if sources is None else {model.source_field: sources}


def topics_by(model, field: str, *, since=None, until=None) -> TopicsBy:
    """Topics × values of ``field`` over the articles dated from ``since`` to ``until`` (all articles,
    dated or not, when neither is given). QueryError naming the fields that exist for an unknown one."""
    fields = metadata_fields(model)
    if field not in fields:
        have = ", ".join(fields) if fields else "none (fit with articles that name a source, --source-field)"
        raise QueryError(f"no field {field!r} in this model; its per-article fields: {have}")
    names, codes = value_codes(fields[field])
    W = np.asarray(model.doc_topics_)
    if since is not None or until is not None:
        rows = np.flatnonzero(in_window(model.articles_.dates, *date_window(since, until)))
        if rows.size == 0:
            raise QueryError(f"no dated articles from {since or 'the start'} to {until or 'the end'}")
        W, codes = W[rows], codes[rows]
    weights = value_weights(W, codes, len(names))
    has_topic = W.sum(axis=1) > 0
    led = np.zeros((len(names), W.shape[1]), dtype=np.int64)
    np.add.at(led, (codes[has_topic], W[has_topic].argmax(axis=1)), 1)
    counts = np.bincount(codes, minlength=len(names))
    keep = [v for v, name in enumerate(names) if name != ""]
    return TopicsBy(
        field=field,
        values=[names[v] for v in keep],
        n_articles=counts[keep],
        topics=list(range(W.shape[1])),
        labels=topic_labels(model),
        weights=weights[keep],
        led=led[keep],
        n_missing=int(counts.sum() - counts[keep].sum()),
    )


# -- topic words over time ------------------------------------------------------------------------------
@dataclass(frozen=True)
class WordsOverTime:
    """One topic's leading words per period.

    periods : list of str (P,);  n_articles : int array (P,);  thin : bool array (P,)
    weights : float array (P,), the topic's summed W in each period;  words : list of P lists of str
    overall : the topic's leading words over all the periods, by the same ranking
    """

    topic: int
    label: str
    by: str
    periods: list
    n_articles: np.ndarray
    thin: np.ndarray
    weights: np.ndarray
    words: list
    overall: list
    n_stray: int
    n_outside: int

    def to_dict(self) -> dict:
        return {
            "topic": self.topic,
            "label": self.label,
            "by": self.by,
            "overall": list(self.overall),
            "n_stray": self.n_stray,
            "n_outside": self.n_outside,
            "periods": [
                {"period": p, "n_articles": int(n), "thin": bool(thin), "weight": round(float(w), 6), "words": words}
                for p, n, thin, w, words in zip(
                    self.periods, self.n_articles, self.thin, self.weights, self.words, strict=True
                )
            ],
        }


def topic_words_over_time(
    model, topic, *, by: str = "month", n_words: int = 5, since=None, until=None, min_articles: int = MIN_ARTICLES
) -> WordsOverTime:
    """Topic ``topic``'s ``n_words`` leading words in each period (module docstring)."""
    t = check_topic(model, topic)
    if isinstance(n_words, bool) or not isinstance(n_words, (int, np.integer)) or n_words < 1:
        raise ParameterError(f"n_words={n_words!r} is not allowed; use an integer >= 1")
    grid = period_grid(model.articles_.dates, by=by, since=since, until=until, min_articles=min_articles)
    rows = np.arange(len(model.articles_)) if grid.rows is None else grid.rows
    w = np.asarray(model.doc_topics_[:, t])[rows].astype(np.float64)
    H = np.asarray(model.components_)
    used = np.flatnonzero(H.any(axis=0))  # the terms topics are made of (a rare term weighs nothing in H)
    masses = _period_term_weights(model.doc_terms_, rows, w, grid.slot, len(grid.periods), used)
    scale = relevance_scale(H, topic_sizes(np.asarray(model.doc_topics_))[0])[used]
    words = [_leading_words(model, used, mass, scale, n_words) for mass in masses]
    overall = _leading_words(model, used, sum(masses), scale, n_words)
    return WordsOverTime(
        topic=t,
        label=topic_labels(model)[t],
        by=by,
        periods=grid.periods,
        n_articles=grid.counts,
        thin=grid.thin,
        weights=np.bincount(grid.slot, weights=w, minlength=len(grid.periods)),
        words=words,
        overall=overall,
        n_stray=grid.n_stray,
        n_outside=grid.n_outside,
    )


def _period_term_weights(X, rows, w, slot, n_periods: int, columns: np.ndarray) -> list:
    """For each period p, ``sum of w[i] X[rows[i], columns]`` over the articles i in p with w[i] > 0: a
    list of n_periods float64 arrays (len(columns),). One pass over those articles' rows of X (csr)."""
    about = np.flatnonzero(w > 0)
    about = about[np.argsort(slot[about], kind="stable")]  # the articles of each period together
    part = X[rows[about]]
    position = np.full(X.shape[1], -1, dtype=np.intp)
    position[columns] = np.arange(len(columns))
    where = position[part.indices]
    weights = part.data * np.repeat(w[about], np.diff(part.indptr))
    ends = part.indptr[np.searchsorted(slot[about], np.arange(n_periods + 1))]
    result = []
    for a, b in itertools.pairwise(ends):
        kept = where[a:b] >= 0
        result.append(np.bincount(where[a:b][kept], weights=weights[a:b][kept], minlength=len(columns)))
    return result


def _leading_words(model, columns: np.ndarray, mass: np.ndarray, scale: np.ndarray, n: int) -> list:
    """The n most relevant readable terms of a term-weight vector over the vocabulary's ``columns``."""
    present = np.flatnonzero(mass)
    if present.size == 0:
        return []
    values = mass[present] * scale[present]
    best = columns[present[top_terms(values[None, :], 3 * n)[0]]]
    terms = model.vectorizer_.terms(best)
    counts = np.diff(model.index_.postings.indptr)[best]
    return [terms[i] for i in readable_terms(terms, n, counts)]
