"""Readable topics: labels, weighted words, sizes, representative articles and distinctness.

Symbols (as in :mod:`topics.topic_model`): H (k, V) topic-term weights, W (n_articles, k) article-topic
weights. For topic t:

- ``weight``: its share of all article-topic weight, ``W[:, t].sum() / W.sum()`` (shares sum to 1);
- ``n_articles``: the articles whose heaviest topic is t (articles with no topic weight count nowhere);
- ``articles``: the articles with the largest ``W[:, t]``, heaviest first;
- ``nearest_topic`` / ``nearest_similarity``: the other topic whose H row has the largest cosine with
  row t, and that cosine in [0, 1]; ``distinctness = 1 - nearest_similarity`` (1 = shares no words).

A topic's words are its most relevant terms (:func:`topics.topic_model.term_relevance`: heavy in the
topic, not common to the whole archive). Labels come from the first of them, phrases first
(:func:`topics.topic_model.label_from_terms`), unless the user named the topic (``model.rename_topic``),
in which case ``label`` is the name and ``auto_label`` keeps the generated one. This module only turns a
fitted model into plain records; it never prints.

>>> s = model.summary(n_words=8)                          # doctest: +SKIP
>>> [(t.id, t.label, round(t.weight, 3)) for t in s]      # doctest: +SKIP
>>> s.to_frame()  # needs pandas                          # doctest: +SKIP
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from .errors import MissingExtraError, ParameterError, QueryError
from .index import top_k, unit_rows
from .topic_model import (
    HEAD_WORDS,
    RELEVANCE_LAMBDA,
    TAIL_LAMBDA,
    label_from_terms,
    readable_terms,
    term_relevance,
    top_terms,
)
from .word_pairs import ordered_columns


@dataclass(frozen=True)
class Topic:
    """One topic: label, most relevant words with weights, size, best articles and its nearest other topic.

    ``words`` are the most relevant terms (:func:`topics.topic_model.term_relevance`) with a phrase standing
    for its own words (:func:`topics.topic_model.readable_terms`), most relevant first; ``word_weights``
    their weights in H, so a word common to the whole archive can follow a lighter one.
    """

    id: int
    label: str
    words: list
    word_weights: list
    weight: float
    n_articles: int
    articles: list = field(default_factory=list)
    auto_label: str = ""
    named: bool = False
    nearest_topic: int | None = None
    nearest_similarity: float = 0.0
    sources: list = field(default_factory=list)

    @property
    def distinctness(self) -> float:
        return 1.0 - self.nearest_similarity

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "words": list(self.words),
            "word_weights": [round(float(w), 6) for w in self.word_weights],
            "weight": round(self.weight, 6),
            "n_articles": self.n_articles,
            "articles": list(self.articles),
            "auto_label": self.auto_label,
            "named": self.named,
            "nearest_topic": self.nearest_topic,
            "nearest_similarity": round(self.nearest_similarity, 6),
            "distinctness": round(self.distinctness, 6),
            **(
                {"sources": [{"source": name, "share": round(share, 6)} for name, share in self.sources]}
                if self.sources
                else {}
            ),
        }


@dataclass(frozen=True)
class Summary:
    """All topics of a model (a sequence of :class:`Topic`, in topic-id order) and the archive size."""

    topics: list
    n_articles: int
    n_dated: int

    def __iter__(self):
        return iter(self.topics)

    def __len__(self) -> int:
        return len(self.topics)

    def __getitem__(self, i):
        return self.topics[i]

    def to_dict(self) -> dict:
        return {"n_articles": self.n_articles, "n_dated": self.n_dated, "topics": [t.to_dict() for t in self.topics]}

    def to_frame(self):
        """A pandas DataFrame, one row per topic (words joined by ", "); needs pandas."""
        pd = pandas_module()
        rows = [
            {
                "id": t.id,
                "label": t.label,
                "weight": t.weight,
                "n_articles": t.n_articles,
                "words": ", ".join(t.words),
                "nearest_topic": t.nearest_topic,
                "distinctness": t.distinctness,
            }
            for t in self.topics
        ]
        return pd.DataFrame(rows).set_index("id")


def summarize(model, *, n_words: int = 10, n_articles: int = 3, relevance: float = RELEVANCE_LAMBDA) -> Summary:
    """Describe every topic of a fitted ``model``; see the module docstring for the fields.

    ``relevance``: the λ that ranks each topic's words (1.0: the heaviest terms of H); labels always
    come from the default ranking, so a topic keeps its name whichever λ lists its words.
    """
    for name, value in (("n_words", n_words), ("n_articles", n_articles)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            raise ParameterError(f"{name}={value!r} is not allowed; use an integer >= 0")
    if isinstance(relevance, bool) or not isinstance(relevance, numbers.Real) or not 0 <= relevance <= 1:
        raise ParameterError(
            f"relevance={relevance!r} is not allowed; use a number in [0.0, 1.0] "
            f"(1.0: heaviest terms first; default {RELEVANCE_LAMBDA})"
        )
    H, W = np.asarray(model.components_), np.asarray(model.doc_topics_)
    shares, dominant = topic_sizes(W)
    nearest, similarity = nearest_topics(H)
    # A shown phrase can hide its two words, so 3n candidates leave n readable terms.
    n_candidates = 3 * max(n_words, 10)
    columns = _label_columns(H, shares, n_candidates, saved_word_order(model))
    listed = (
        columns
        if relevance == RELEVANCE_LAMBDA
        else top_terms(term_relevance(H, None, relevance, topic_shares=shares), n_candidates)
    )
    table, names = model.articles_, model.topic_names_
    article_counts = _article_counts(model)
    sources = source_shares(W, table.sources)
    stubs = model.stub_rows() if n_articles else None  # a stub never stands for a topic
    result = []
    for t in range(H.shape[0]):
        auto = _auto_label(model, columns[t], article_counts)
        terms, counts = model.vectorizer_.terms(listed[t]), article_counts[listed[t]]
        shown = listed[t][readable_terms(terms, n_words, counts)]
        rows = [r for r in top_k(W[:, t], n_articles, exclude=stubs) if W[r, t] > 0] if n_articles else []
        result.append(
            Topic(
                id=t,
                label=names.get(t) or auto,
                words=model.vectorizer_.terms(shown),
                word_weights=[float(w) for w in H[t, shown]],
                weight=float(shares[t]),
                n_articles=int(dominant[t]),
                articles=[{**table.record(r), "weight": round(float(W[r, t]), 6)} for r in rows],
                auto_label=auto,
                named=t in names,
                nearest_topic=nearest[t],
                nearest_similarity=float(similarity[t]),
                sources=sources[t],
            )
        )
    n_dated = int((~np.isnat(table.dates)).sum())
    return Summary(topics=result, n_articles=len(table), n_dated=n_dated)


def topic_labels(model) -> list:
    """Each topic's label (its name, else the generated one), as :func:`summarize` gives it, without
    the rest of the summary: what trends, maps and trees show beside topic numbers."""
    H, W = np.asarray(model.components_), np.asarray(model.doc_topics_)
    columns = _label_columns(H, topic_sizes(W)[0], 30, saved_word_order(model))
    names = model.topic_names_
    article_counts = _article_counts(model)
    return [names.get(t) or _auto_label(model, columns[t], article_counts) for t in range(H.shape[0])]


def topic_word_columns(model, n: int, word_order="saved") -> np.ndarray:
    """Columns of each topic's first ``n`` words as :func:`summarize` lists them before phrases stand in
    for words: int array (k, n). ``word_order``: the model's saved order (:mod:`topics.word_pairs`), or
    another one of the same shape, or None (words by relevance alone)."""
    H = np.asarray(model.components_)
    order = saved_word_order(model) if isinstance(word_order, str) and word_order == "saved" else word_order
    return _label_columns(H, topic_sizes(np.asarray(model.doc_topics_))[0], n, order)


def saved_word_order(model) -> list | None:
    """The fitted order of each topic's words (:mod:`topics.word_pairs`), or None for a model without one
    (saved before it, or whose order does not fit its topics and vocabulary)."""
    order = model.fit_info_.get("word_order")
    k, V = np.shape(model.components_)
    if not isinstance(order, list) or len(order) != k:
        return None
    if any(row is not None and not all(0 <= c < V for c in row) for row in order):
        return None
    return order


def _label_columns(H: np.ndarray, shares: np.ndarray, n: int, word_order=None) -> np.ndarray:
    """Columns of each topic's first n words, (k, n). The first :data:`HEAD_WORDS` are its saved order
    (:mod:`topics.word_pairs`) where it has one, else its most relevant terms at the default λ; labels come
    from these. The words after them are its most particular ones (relevance at :data:`TAIL_LAMBDA`).
    Only terms some topic uses are ranked (a large archive's topics use a fraction of its vocabulary)."""
    used = np.flatnonzero(H.any(axis=0))
    n = min(n, used.size)
    ranked = used[top_terms(term_relevance(H[:, used], None, topic_shares=shares), n)]
    tail = (
        used[top_terms(term_relevance(H[:, used], None, TAIL_LAMBDA, topic_shares=shares), n)]
        if n > HEAD_WORDS
        else None
    )
    rows = []
    for t in range(H.shape[0]):
        head = ordered_columns(word_order[t] if word_order is not None else None, ranked[t], min(n, HEAD_WORDS))
        rows.append(head if tail is None else ordered_columns(head.tolist(), tail[t], n))
    return np.stack(rows)


def _auto_label(model, columns, article_counts) -> str:
    """The generated label from a topic's ordered columns; ``article_counts``: :func:`_article_counts`."""
    return label_from_terms(model.vectorizer_.terms(columns), article_counts=article_counts[columns])


def _article_counts(model) -> np.ndarray:
    """The number of articles holding each term, int array (V,), from the CSC postings."""
    return np.diff(model.index_.postings.indptr)


# A topic lists the sources of at least this share of its weight, at most SOURCES_SHOWN of them.
SOURCE_SHOWN_SHARE = 0.05
SOURCES_SHOWN = 5


def source_shares(W: np.ndarray, sources) -> list:
    """For each topic, its main sources as ``[(source, share of the topic's weight)]``, largest first;
    empty lists when the articles name no source. A topic drawn mostly from one outlet is one outlet's
    beat or house style, which the reader should know."""
    if sources is None:
        return [[] for _ in range(W.shape[1])]
    names, codes = value_codes(sources)
    weight = value_weights(W, codes, len(names))
    totals = weight.sum(axis=0)
    result = []
    for t in range(W.shape[1]):
        shares = weight[:, t] / totals[t] if totals[t] > 0 else np.zeros(len(names))
        order = [
            i
            for i in np.argsort(-shares, kind="stable")[:SOURCES_SHOWN]
            if shares[i] >= SOURCE_SHOWN_SHARE and names[i] != ""
        ]
        result.append([(str(names[i]), float(shares[i])) for i in order])
    return result


def value_codes(values) -> tuple:
    """``(names, codes)`` of per-article metadata values (str or None): the distinct values sorted, ""
    standing for None, and each article's position in them, int array (n,)."""
    if hasattr(values, "factorize"):  # a StringColumn: read in one pass over its bytes
        return values.factorize()
    names, codes = np.unique(np.array(["" if v is None else v for v in values], dtype=object), return_inverse=True)
    return [str(name) for name in names], codes.astype(np.intp)


def value_weights(W: np.ndarray, codes: np.ndarray, n_values: int) -> np.ndarray:
    """Sums of W's rows per value, float64 array (n_values, k): row v adds the articles whose code is v."""
    W = np.asarray(W)
    return np.stack([np.bincount(codes, weights=W[:, t], minlength=n_values) for t in range(W.shape[1])], axis=1)


def topic_sizes(W: np.ndarray):
    """Each topic's share of all weight, float array (k,), and its dominant-article count, int array (k,)."""
    totals = W.sum(axis=0, dtype=np.float64)
    shares = totals / totals.sum() if totals.sum() > 0 else np.zeros_like(totals)
    has_topic = W.sum(axis=1) > 0
    dominant = np.bincount(W[has_topic].argmax(axis=1), minlength=W.shape[1])
    return shares, dominant


def nearest_topics(H: np.ndarray):
    """For each topic, the other topic with the most similar words (None when k = 1) and that cosine."""
    k = H.shape[0]
    if k < 2:
        return [None] * k, np.zeros(k)
    cos = topic_cosines(H)
    np.fill_diagonal(cos, -np.inf)
    nearest = cos.argmax(axis=1)
    return [int(n) for n in nearest], np.clip(cos[np.arange(k), nearest], 0.0, 1.0)


def topic_cosines(H: np.ndarray) -> np.ndarray:
    """Cosines of the rows of H, float64 array (k, k). Only the terms some topic uses take part (a large
    archive's topics use a fraction of its vocabulary; the others add nothing to any product or norm).
    float64 throughout: a float32 product can differ in the last bit between an in-memory and a
    memory-mapped H, and the rounded figures must be identical after a save/load round trip."""
    H = np.asarray(H)
    U = unit_rows(H[:, np.flatnonzero(H.any(axis=0))], dtype=np.float64)
    return U @ U.T


def check_topic(model, topic_id) -> int:
    """``topic_id`` as an int, or QueryError naming the topics that exist."""
    k = model.components_.shape[0]
    try:
        t = int(topic_id)
    except (TypeError, ValueError):
        raise QueryError(f"topic {topic_id!r} is not a topic number; use 0 to {k - 1}") from None
    if isinstance(topic_id, bool) or not 0 <= t < k or (isinstance(topic_id, float) and t != topic_id):
        raise QueryError(f"no topic {topic_id!r}; this model has topics 0 to {k - 1}")
    return t


def rename(model, topic_id, name: str | None) -> None:
    """Name a topic (``model.topic_names_[t] = name``); an empty name or None restores the generated label."""
    t = check_topic(model, topic_id)
    if name is not None and not isinstance(name, str):
        raise ParameterError(f"name={name!r} is not allowed; use a string")
    name = " ".join((name or "").split())
    if len(name) > 200:
        raise ParameterError(f"name of {len(name)} characters is too long; use at most 200")
    if name:
        model.topic_names_[t] = name
    else:
        model.topic_names_.pop(t, None)


@dataclass(frozen=True)
class ArticleView:
    """One stored article: metadata, its topic mix (shares summing to 1, largest first) and nearest articles."""

    id: str
    title: str | None
    date: str | None
    snippet: str
    topics: list
    similar: list

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "date": self.date,
            "snippet": self.snippet,
            "topics": list(self.topics),
            "similar": [h.to_dict() for h in self.similar],
        }


def article_view(model, article_id: str, *, k: int = 5, min_share: float = 0.01) -> ArticleView:
    """The topic mix of a stored article (topics with at least ``min_share`` of its weight) and its k neighbours."""
    row = model.row_of(article_id)
    w = np.asarray(model.doc_topics_[row], dtype=np.float64)
    total = w.sum()
    labels = model._topic_labels() if total > 0 else None
    mix = [
        {"topic": int(t), "label": labels[int(t)], "share": round(float(w[t] / total), 6)}
        for t in np.argsort(-w, kind="stable")
        if total > 0 and w[t] / total >= min_share
    ]
    record = model.articles_.record(row)
    return ArticleView(
        id=record["id"],
        title=record["title"],
        date=record["date"],
        snippet=record["snippet"],
        topics=mix,
        similar=model.similar(id=article_id, k=k),
    )


def pandas_module():
    try:
        import pandas as pd
    except ImportError:
        raise MissingExtraError("to_frame() needs pandas", extra="pandas", module="pandas") from None
    return pd
