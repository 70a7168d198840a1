"""Why two articles are similar: each term's and each topic's share of their score.

The score of a pair (see :mod:`topics.index`) is a sum of parts:

    score = (1 - alpha) * sum_t [(1 - s) * x_a[t] * x_b[t] + s * bm25_t(a, b)]  +  alpha * sum_j u_a[j] * u_b[j]

where x are the unit TF-IDF rows (t runs over the query a's terms), bm25_t the term's part of the
normalised BM25 score, s the query's search share (0 for a stored article or a long text), and u the unit
topic rows (j over topics). A term's share is its part of that sum divided by the score, and likewise for
a topic, so the shares of all terms and topics add up to 1. A term has a non-zero part only when it
occurs in both texts (for b, in its text, lead or title).

>>> e = model.compare({"id": "lee-00"}, {"id": "lee-13"})   # doctest: +SKIP
>>> [(t["term"], round(t["share"], 2)) for t in e.terms[:3]]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .index import blend, pair_parts


@dataclass(frozen=True)
class Explanation:
    """A pair's score with its two cosines and the terms and topics contributing most, largest first.

    ``terms``: dicts with ``term`` and ``share``; ``topics``: dicts with ``topic`` (id), ``label``, ``share``.
    ``lexical`` is the lexical part (the TF-IDF cosine, blended with BM25 for a short text query) and
    ``topical`` the topic cosine, both in [0, 1]; ``search_share`` is s, the share of BM25 in ``lexical``.
    """

    score: float
    lexical: float
    topical: float
    terms: list = field(default_factory=list)
    topics: list = field(default_factory=list)
    search_share: float = 0.0

    def to_dict(self) -> dict:
        return {
            "score": round(self.score, 6),
            "lexical": round(self.lexical, 6),
            "topical": round(self.topical, 6),
            "search_share": round(self.search_share, 6),
            "terms": [{**t, "share": round(t["share"], 6)} for t in self.terms],
            "topics": [{**t, "share": round(t["share"], 6)} for t in self.topics],
        }


def explain_pair(
    terms_a,
    topics_a,
    terms_b,
    topics_b,
    *,
    topic_weight: float,
    term_names,
    topic_labels,
    n_terms: int = 8,
    n_topics: int = 3,
    search=None,
    n_columns: int = 0,
) -> Explanation:
    """Explain one pair; a is the query.

    terms_* : sparse rows (1, V), unit length; topics_* : arrays (k,) of topic weights;
    term_names : callable mapping column indices to terms; topic_labels : sequence of k labels;
    search : None, or the search part of a text query (:meth:`topics.index.SimilarityIndex.search_part`);
    n_columns : B's number of columns (``term_names`` names column ``n_columns + i``, the query's i-th word
    form, too).
    """
    columns, term_products, topic_products = pair_parts(terms_a, topics_a, terms_b, topics_b, search, n_columns)
    if search is not None and not np.any(topics_a):  # a text of rare words only: its alpha is 0 (topics.index)
        topic_weight = 0.0
    lexical, topical = float(term_products.sum()), float(topic_products.sum())
    score = float(blend(lexical, topical, topic_weight))
    total = (1.0 - topic_weight) * lexical + topic_weight * topical
    scale = 1.0 / total if total > 0 else 0.0
    best_terms = _largest(term_products, n_terms)
    # Topics below half a percent of the score explain nothing a reader would notice.
    best_topics = [j for j in _largest(topic_products, n_topics) if topic_weight * topic_products[j] * scale >= 0.005]
    names = term_names(columns[best_terms]) if best_terms.size else []
    return Explanation(
        score=score,
        lexical=min(lexical, 1.0),
        topical=min(topical, 1.0),
        search_share=float(search[0]) if search is not None else 0.0,
        terms=[
            {"term": name, "share": float((1.0 - topic_weight) * term_products[i] * scale)}
            for name, i in zip(names, best_terms, strict=True)
        ],
        topics=[
            {"topic": int(j), "label": topic_labels[j], "share": float(topic_weight * topic_products[j] * scale)}
            for j in best_topics
        ],
    )


def _largest(values: np.ndarray, n: int) -> np.ndarray:
    """Positions of the n largest positive values, largest first (ties to the lower position)."""
    positive = np.flatnonzero(values > 0)
    order = np.lexsort((positive, -values[positive]))
    return positive[order][:n]
