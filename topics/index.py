"""Exact nearest neighbours over the articles' TF-IDF and topic vectors.

The similarity of two articles a and b is a blend of a lexical and a topical cosine:

    score(a, b) = (1 - alpha) * cos(x_a, x_b) + alpha * cos(w_a, w_b)

where x is the article's TF-IDF row (unit length) and w its NMF topic weights. Both cosines lie in
[0, 1] because every weight is non-negative, so the score does too. The lexical part finds articles
that share the query's specific words; the topical part finds articles that tell the same kind of
story in other words.

Lexical scores come from an inverted index (the TF-IDF matrix in CSC form: for each term, the articles
that contain it), so a query touches only the postings of its own terms. Topical scores are one dense
product with the unit-length topic matrix.

Two ways to the same answer: :meth:`SimilarityIndex.scores` scores every article (the exhaustive
reference, ``exact=True``), and :meth:`SimilarityIndex.best` scores only the articles that can still
reach the k best, with compiled loops when numba is installed (:mod:`topics.kernels` explains the
pruning and why it is exact). Both give the same rows and the same float32 scores.
"""

from __future__ import annotations

import functools
import itertools
import os
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .duplicates import distinct_positions


class SimilarityIndex:
    """Exact top-k search by blended score.

    Parameters
    ----------
    doc_terms : csr_matrix of shape (n_articles, V), float32, unit rows
    doc_topics : ndarray of shape (n_articles, k), float32, non-negative
    topic_weight : float in [0, 1]
        ``alpha`` in the module docstring.
    postings : csc_matrix of shape (n_articles, V), optional
        The same matrix as ``doc_terms`` in CSC form (built when not given; pass it when loading).
    """

    def __init__(self, doc_terms, doc_topics, topic_weight: float, postings=None):
        self.doc_terms = doc_terms
        self.postings = postings if postings is not None else sp.csc_matrix(doc_terms)
        self.topic_units = unit_rows(doc_topics)
        self.topic_weight = float(topic_weight)
        self._depth = 0  # how deep in the ranking the last query's distinct hits lay (see best)

    @property
    def n_articles(self) -> int:
        return self.doc_terms.shape[0]

    def query(self, query_terms, query_topics) -> Query:
        """The :class:`Query` of a text: query_terms a sparse row (1, V), unit length; query_topics (k,)."""
        query_terms = sp.csr_matrix(query_terms)
        topics = unit_rows(np.asarray(query_topics, dtype=np.float32)[None, :])[0]
        return Query(query_terms.indices, query_terms.data, topics)

    def article_query(self, row: int) -> Query:
        """The :class:`Query` of stored article ``row``."""
        start, end = self.doc_terms.indptr[row], self.doc_terms.indptr[row + 1]
        return Query(self.doc_terms.indices[start:end], self.doc_terms.data[start:end], self.topic_units[row])

    def scores(self, query_terms, query_topics) -> np.ndarray:
        """Scores of every article against one query: float32 array of shape (n_articles,).

        query_terms : sparse row (1, V), unit length; query_topics : array (k,)
        """
        return self.score_all(self.query(query_terms, query_topics))

    def scores_for_article(self, row: int) -> np.ndarray:
        """Scores of every article against stored article ``row`` (itself included)."""
        return self.score_all(self.article_query(row))

    def score_all(self, query: Query) -> np.ndarray:
        """Scores of every article against ``query``, in numpy: float32 array of shape (n_articles,)."""
        return self._blend32(self._lexical(query.columns, query.weights), self._topical(query.topics, None, _engine()))

    def _blend32(self, lexical: np.ndarray, topical: np.ndarray) -> np.ndarray:
        """:func:`blend` in float32, operation by operation the same on any subset of rows."""
        return ((1.0 - self.topic_weight) * lexical + self.topic_weight * topical).astype(np.float32)

    def _topical(self, topics: np.ndarray, rows: np.ndarray | None, kernels) -> np.ndarray:
        """Topic cosines (float32) of ``rows`` (None: every row) with the unit vector ``topics``.

        Each row is summed in float32 in topic order, the same bits whichever rows are asked for and
        whether ``kernels`` (:mod:`topics.kernels` or None) compiles the loop or numpy runs it (see
        :func:`topics.kernels.topic_cosines`).
        """
        units, topics = self.topic_units, _small(topics, np.float32)
        if kernels is not None:
            if rows is None:
                return kernels.all_topic_cosines(units, topics)
            return kernels.topic_cosines(units, topics, rows)
        if rows is not None:
            return _topic_sums(units[rows], topics)
        step = 1 << 16
        return np.concatenate(
            [_topic_sums(units[start : start + step], topics) for start in range(0, len(units), step)]
            or [np.zeros(0, dtype=np.float32)]
        )

    def _lexical(self, columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Cosine with every article, touching only the postings of the query's terms."""
        p = self.postings
        if len(columns) == 0:
            return np.zeros(self.n_articles, dtype=np.float32)
        # One scatter-add per term over its contiguous postings (a row appears once per term), not a
        # gather of all postings into new arrays: 33 against 53 ms p50, 49 against 133 ms p90, at
        # 1M articles, with the same sums in the same order. Summed in float32, as X is stored and as
        # scipy's X @ x sums: 24 against 28 ms p50 at 1M, the same top 10 as that product.
        scores = np.zeros(self.n_articles, dtype=np.float32)
        indptr, rows, values = p.indptr, p.indices, p.data
        for column, weight in zip(
            np.asarray(columns).tolist(), np.asarray(weights, dtype=np.float32).tolist(), strict=True
        ):
            start, end = indptr[column], indptr[column + 1]
            scores[rows[start:end]] += values[start:end] * np.float32(weight)
        return scores

    # -- the pruned search (topics.kernels) ---------------------------------------------------------------
    def best(
        self,
        query: Query,
        k: int,
        *,
        exclude=(),
        allowed: np.ndarray | None = None,
        min_score: float = 0.0,
        threshold: float | None = None,
        duplicate_of: Query | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the k best articles for ``query`` and their scores, best first, ties to the lower row.

        exclude : rows never returned; allowed : bool array (n_articles,) of rows that may be returned,
        or None; min_score : rows scoring less (compared in float64, 1e-9 slack) are never returned.
        With ``threshold``, near-duplicates (TF-IDF cosine >= threshold) of ``duplicate_of`` and of
        better rows are dropped as :func:`topics.duplicates.distinct_rows` drops them. The same rows
        and scores as :func:`topics.filters.select` over :meth:`score_all`; see :mod:`topics.kernels`.
        """
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        kernels = _engine()
        lexical = self._scatter(query, kernels)
        lexical[np.asarray(exclude, dtype=np.intp)] = -np.inf
        if allowed is not None:
            lexical[~allowed] = -np.inf
        floor = np.float64(min_score) - 1e-9 if min_score > 0 else -np.inf
        # Near-duplicates eat into the first rows (on synthetic archives 75 rows hold 10 distinct ones at
        # 100k articles, 190 at 300k, ~1,000 at 1M); a longer prefix costs a few more topic products, a
        # second round two passes over every row. So start from the depth the previous query needed.
        want = k if threshold is None else max(8 * k + 32, min(self._depth, 64 * k + 256))
        seen, kept = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        while True:
            rows, scores, complete = self._prefix(lexical, query.topics, want, floor, kernels)
            if threshold is None:
                return rows[:k], scores[:k]
            # A longer prefix starts with the rows already scanned, in the same order (it usually does):
            # the pass goes on from there rather than from the top.
            if not (seen.size <= rows.size and np.array_equal(rows[: seen.size], seen)):
                kept = np.zeros(0, dtype=np.int64)
                seen = seen[:0]
            kept = self._distinct(rows, threshold, duplicate_of, k, kernels, kept, seen.size)
            if kept.size >= k or complete:
                self._depth = want  # a hint for the next query, never a change in any answer
                return rows[kept[:k]], scores[kept[:k]]
            seen = rows
            want *= 4

    def _scatter(self, query: Query, kernels) -> np.ndarray:
        if kernels is None or len(query.columns) == 0:
            return self._lexical(query.columns, query.weights)
        p = self.postings
        columns, weights = _small(query.columns, p.indices.dtype), _small(query.weights, np.float32)
        return kernels.scatter_add(p.indptr, p.indices, p.data, columns, weights, self.n_articles)

    def _prefix(self, lexical, topics, m: int, floor: float, kernels) -> tuple[np.ndarray, np.ndarray, bool]:
        """The first rows of the full ranking: every allowed row scoring >= some c, at least m of them.

        Returns (rows, float32 scores, complete), ranked; ``complete`` when they are every allowed row
        scoring >= ``floor``. ``lexical`` holds -inf for rows that are not allowed.
        """
        alpha = self.topic_weight
        # The seeds are the rows with the largest L; the m-th best exact score among 4m of them bounds
        # the m-th best of the archive from below more tightly than the m-th seed's alone would.
        seeds = kernels.largest(lexical, 4 * m) if kernels is not None else _largest(lexical, 4 * m)
        if seeds.size < m or alpha >= 1.0:
            return self._prefix_of_all(lexical, topics, m, floor, kernels)
        seed_scores = self._blend32(lexical[seeds], self._topical(topics, seeds, kernels))
        cut = float(np.partition(seed_scores, seeds.size - m)[seeds.size - m])
        complete = cut < floor
        cut = max(cut, floor)
        # T_i <= 1 (a little more in float32 products): a row below this lexical floor cannot reach cut.
        lexical_floor = (cut - alpha * (1.0 + 1e-5) - 1e-6) / (1.0 - alpha) - 1e-6
        if lexical_floor <= 0:
            return self._prefix_of_all(lexical, topics, m, floor, kernels)
        rows = kernels.at_least(lexical, lexical_floor) if kernels is not None else _at_least(lexical, lexical_floor)
        scores = self._blend32(lexical[rows], self._topical(topics, rows, kernels))
        reached = scores.astype(np.float64) >= cut
        rows, scores = rows[reached], scores[reached]
        order = np.lexsort((rows, -scores))
        return rows[order], scores[order], complete

    def _prefix_of_all(self, lexical, topics, m: int, floor: float, kernels) -> tuple[np.ndarray, np.ndarray, bool]:
        """:meth:`_prefix` by scoring every row: the m best allowed rows scoring >= floor."""
        if kernels is not None:
            alpha = self.topic_weight
            rows, scores = kernels.best_of_all(
                lexical,
                self.topic_units,
                _small(topics, np.float32),
                np.float32(1.0 - alpha),
                np.float32(alpha),
                float(floor),
                m,
            )
            order = np.lexsort((rows, -scores))
            return rows[order], scores[order], rows.size < m
        excluded = ~np.isfinite(lexical)
        scores = self._blend32(np.where(excluded, np.float32(0), lexical), self._topical(topics, None, kernels))
        scores[excluded | (scores < floor)] = -np.inf
        rows = top_k(scores, m)
        return rows, scores[rows], rows.size < m

    def _distinct(
        self, rows, threshold: float, duplicate_of: Query | None, limit: int, kernels, kept=None, start: int = 0
    ) -> np.ndarray:
        """Positions in ``rows`` (ranked) of the first ``limit`` that are no near-duplicates; ``kept``: the
        positions kept among ``rows[:start]``, already decided."""
        if kernels is None:
            query = None
            if duplicate_of is not None:
                columns = np.asarray(duplicate_of.columns)
                query = sp.csr_matrix(
                    (duplicate_of.weights, columns, [0, columns.size]), shape=(1, self.doc_terms.shape[1])
                )
            return distinct_positions(rows, self.doc_terms, threshold, query=query, limit=limit)
        X = self.doc_terms
        empty = np.zeros(0, dtype=X.indices.dtype), np.zeros(0, dtype=np.float32)
        q_columns, q_weights = empty if duplicate_of is None else (duplicate_of.columns, duplicate_of.weights)
        return kernels.distinct(
            rows,
            X.indptr,
            X.indices,
            X.data,
            X.shape[1],
            _small(q_columns, X.indices.dtype),
            _small(q_weights, np.float32),
            np.float32(threshold - 1e-6),
            limit,
            np.zeros(0, dtype=np.int64) if kept is None else kept,
            start,
        )


class Query(NamedTuple):
    """One query as the index reads it: term ``columns`` (int, ascending) with their ``weights``
    (float32, the query's TF-IDF row) and ``topics``, its unit topic vector (k,), float32."""

    columns: np.ndarray
    weights: np.ndarray
    topics: np.ndarray


@functools.cache
def _kernels():
    """:mod:`topics.kernels` when numba is installed and ``TOPICS_KERNELS`` is not "0", else None."""
    if os.environ.get("TOPICS_KERNELS") == "0":
        return None
    try:
        from . import kernels
    except ImportError:
        return None
    return kernels


_QUERIES = itertools.count()


def _engine():
    """The loops for this query: :mod:`topics.kernels`, or None for their numpy twins.

    Importing numba and loading the cached machine code costs a process about half a second once,
    more than a whole numpy query on a million articles; so a process's first query runs in numpy
    (a one-shot ``topics similar`` never pays it) and the compiled loops take over from the second.
    ``TOPICS_KERNELS=1`` uses them from the first query (a server warms up with
    :func:`load_kernels`), ``TOPICS_KERNELS=0`` never.
    """
    if next(_QUERIES) == 0 and os.environ.get("TOPICS_KERNELS") != "1":
        return None
    return _kernels()


def load_kernels() -> bool:
    """Load the compiled loops now (numba's import and machine code), so no query pays for it; True
    when they are in use. For long-running processes such as ``topics serve``."""
    next(_QUERIES)
    kernels = _kernels()
    if kernels is not None:
        kernels.warm_up()
    return kernels is not None


def _small(array, dtype) -> np.ndarray:
    """A writable contiguous copy of a query-sized array: the compiled loops then meet one array type
    per argument (a memory-mapped model's arrays are read-only, a text query's are not)."""
    return np.array(array, dtype=dtype, order="C", copy=True)


def _largest(values: np.ndarray, m: int) -> np.ndarray:
    """numpy twin of :func:`topics.kernels.largest`."""
    rows = np.flatnonzero((values > 0) & np.isfinite(values))
    if rows.size > m:
        rows = rows[np.argpartition(-values[rows], m - 1)[:m]]
    return rows


def _topic_sums(units: np.ndarray, topics: np.ndarray) -> np.ndarray:
    """numpy twin of :func:`topics.kernels.topic_cosines` over every row of ``units``: the same float32
    sums in the same order, one topic at a time."""
    total = np.zeros(len(units), dtype=np.float32)
    for t in range(topics.size):
        total += units[:, t] * topics[t]
    return total


def _at_least(values: np.ndarray, floor: float) -> np.ndarray:
    """numpy twin of :func:`topics.kernels.at_least`."""
    return np.flatnonzero(values.astype(np.float64) >= floor)


def unit_rows(matrix, *, dtype=np.float32):
    """Rows scaled to unit L2 length, all-zero rows kept zero: the one row-normalising recipe of topics.

    A sparse matrix gives a float32 CSR copy (TF-IDF rows, :class:`topics.text.Vectorizer`). A dense array
    gives a new ndarray of ``dtype``: float32 (the default: topic vectors of every article) is scaled by
    squared norms from ``einsum`` and one multiply, so no temporary as large as the matrix is made (a
    million articles' rows are scaled at every query process start); float64 (topic-term
    rows, whose cosines are shown unrounded and must not depend on float32 rounding) is divided by
    its exact norms.
    """
    if sp.issparse(matrix):
        x = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        x.data /= np.repeat(norms, np.diff(x.indptr)).astype(np.float32)
        return x
    matrix = np.asarray(matrix, dtype=dtype)
    if matrix.dtype != np.float32:
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms > 0, norms, 1.0)
    squares = np.einsum("ij,ij->i", matrix, matrix)
    inverse = np.zeros_like(squares)
    np.divide(1.0, np.sqrt(squares), out=inverse, where=squares > 0)
    return matrix * inverse[:, None]


def top_k(scores: np.ndarray, k: int, exclude=()) -> np.ndarray:
    """Rows of the k highest scores, best first; ties go to the lower row, so results are stable."""
    scores = np.array(scores, dtype=None if np.issubdtype(np.asarray(scores).dtype, np.floating) else np.float64)
    scores[np.asarray(exclude, dtype=np.intp)] = -np.inf
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    rows = _rows_above_sample_threshold(scores, k)
    if rows is None:
        rows = np.flatnonzero(np.isfinite(scores))
    pool = scores[rows]
    k = min(k, rows.size)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    best = np.argpartition(-pool, k - 1)[:k] if k < pool.size else np.arange(pool.size)
    # Widen to every row tied with the k-th score so the tie-break by row is exact.
    candidates = rows[pool >= pool[best].min()]
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order][:k]


_SAMPLE_STEP = 64


def _rows_above_sample_threshold(scores: np.ndarray, k: int):
    """Rows that surely hold the k best scores, ascending, or None when a sample cannot tell.

    The threshold is a score that every 64th row's sample puts at about 2k + 1,000 rows from the top.
    When at least k rows reach it, no row below it can be among the k best or tie with the k-th, so
    the selection runs on those rows only: 1 against 15 ms at a million articles.
    """
    sample = scores[::_SAMPLE_STEP]
    rank = 2 * k // _SAMPLE_STEP + 16
    if rank >= sample.size:
        return None
    threshold = np.partition(sample, sample.size - rank)[sample.size - rank]
    if not np.isfinite(threshold):
        return None
    rows = np.flatnonzero(scores >= threshold)
    return rows if rows.size >= k else None


# -- the score for many queries at once, and for pairs ---------------------------------------------------
def blend(lexical, topical, topic_weight: float):
    """The similarity score from its two cosines: ``(1 - alpha) * lexical + alpha * topical``, in [0, 1].

    The one definition every path uses (single queries, batches, pairs, explanations).
    """
    return np.clip((1.0 - topic_weight) * lexical + topic_weight * topical, 0.0, 1.0)


def batch_scores(index: SimilarityIndex, query_terms, query_topics) -> np.ndarray:
    """Scores of every article against many queries: float32 array of shape (n_queries, n_articles).

    query_terms : csr_matrix (n_queries, V), unit rows; query_topics : array (n_queries, k).
    One sparse product (queries x articles) and one dense product, not a loop over queries.
    """
    lexical = sp.csr_matrix(query_terms, dtype=np.float32) @ index.doc_terms.T
    topical = unit_rows(query_topics) @ index.topic_units.T
    return blend(lexical.toarray(), topical, index.topic_weight).astype(np.float32)


def pair_parts(terms_a, topics_a, terms_b, topics_b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-term and per-topic products whose sums are the two cosines of a pair.

    terms_* : sparse rows (1, V), unit length; topics_* : arrays (k,). Returns ``(columns, term_products,
    topic_products)``: the columns of the terms in both texts and their weight products (summing to the
    TF-IDF cosine), and an array (k,) of topic products (summing to the topic cosine).
    """
    shared = sp.coo_matrix(sp.csr_matrix(terms_a, dtype=np.float32).multiply(sp.csr_matrix(terms_b, dtype=np.float32)))
    keep = shared.data > 0
    ua = unit_rows(np.asarray(topics_a, dtype=np.float32)[None, :])[0]
    ub = unit_rows(np.asarray(topics_b, dtype=np.float32)[None, :])[0]
    return shared.col[keep], shared.data[keep].astype(np.float64), (ua * ub).astype(np.float64)
