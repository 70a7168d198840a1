"""Exact nearest neighbours over the articles' TF-IDF, search and topic vectors.

The score of an article d for a query q (a stored article or a new text) is

    score(q, d) = (1 - alpha) * lexical(q, d) + alpha * cos(w_q, w_d)
    lexical(q, d) = (1 - s(q)) * cos(x_q, x_d) + s(q) * bm25(q, d)

- x is a TF-IDF row (unit length), w the NMF topic weights; alpha is the topic weight, except for a text
  scored by search (s(q) > 0) none of whose words is in the topic vocabulary: it has no topic weights
  (w_q = 0) and its alpha is 0, so its score is its lexical part.
- s(q) is the query's *search share*. For a text it depends on n_q, its number of distinct terms in
  the search vocabulary (below): 1 up to ``SHORT_QUERY_TERMS`` terms, 0 from ``LONG_QUERY_TERMS`` on, linear between. For a
  stored article (a query by id) it is 0. So a few words typed as a search are scored as a search engine
  scores them, while an article-length text and every stored article are scored by the cosine alone,
  exactly as before search scoring existed: article-to-article similarity is unchanged.
- bm25(q, d) is Okapi BM25 divided by its upper bound for the query, so it lies in [0, 1):

      bm25(q, d) = (sum_t v_t * B[d, t] + sum_g B_g(d)) / (sum_t v_t * idf_t + sum_g idf_g) / (k1 + 1)
      B[d, t] = idf_t * f_dt * (k1 + 1) / (f_dt + k1 * (1 - b + b * len_d / mean_len))
      idf_t = ln(1 + (N - df_t + 0.5) / (df_t + 0.5))

  t runs over the query's terms in the *search vocabulary*: the V terms of the vocabulary and the R rare
  words that it leaves out for rarity (below ``min_df``, mostly words of one article: a name or a rare word
  is what identifies a known item; :class:`topics.state.SearchFields`). Words outside both count too (df_t 0, so
  the largest idf_t there is, matched by no article: a query of unknown words matches nothing well);
  v_t is 1 for a word and ``PHRASE_WEIGHT`` for a two-word phrase (whose
  words count already); f_dt counts the term in the article's text, plus ``LEAD_WEIGHT`` times in its
  lead (the stored snippet, its first 200 characters) and ``TITLE_WEIGHT`` times in its title;
  len_d = sum_t f_dt; df_t counts the articles holding t in any field; k1 = ``BM25_K1``,
  b = ``BM25_B``. A text that is not a stored article is taken to be of mean length.

  g runs over the query's *word forms* (models fitted with a stemmer, ``fit_info["search_forms"]``; none
  otherwise): each distinct Snowball stem of the query's words (not phrases), standing for every word of
  the search vocabulary with that stem (:class:`topics.forms.WordForms`), so "storms" also finds
  "storm" and "stormed". A form is a BM25 term of its own over the summed counts of its words,
  f_dg = sum_{t in g} f_dt, with df_g the articles holding any of them:

      B_g(d) = idf_g * f_dg * (k1 + 1) / (f_dg + k1 * (1 - b + b * len_d / mean_len))
             = idf_g * (k1 + 1) * S / (1 + S),   S = sum_{t in g} B[d, t] / (idf_t * (k1 + 1) - B[d, t])

  (the second line, read off B alone, is the same number: each ratio is f_dt over the article's length
  norm). A word is so counted once as written and once by its form; a form that no word of the search
  vocabulary has counts against the query as an unknown word does (in the denominator, with the largest
  idf), so a query of words the archive does not know stays a weak match. ``benchmarks/search_scoring.py``
  and ``benchmarks/search.py`` measured it (news headline -> article +0.014 MRR@10).

Every part lies in [0, 1] because every weight is non-negative, so the score does too. The lexical
part finds articles that share the query's specific words; the topical part finds articles that tell
the same kind of story in other words. ``benchmarks/search.py`` measured the constants.

Lexical scores come from inverted indexes (the TF-IDF matrix and the BM25 matrix B in CSC form: for
each term, the articles that contain it), so a query touches only the postings of its own terms, in one
scatter-add per term (:func:`postings_scores`). Topical scores are one dense product with the
unit-length topic matrix.

Two ways to the same answer: :meth:`SimilarityIndex.scores` scores every article (the exhaustive
reference, ``exact=True``), and :meth:`SimilarityIndex.best` scores only the articles that can still
reach the k best, with compiled loops when numba is installed (:mod:`topics.kernels` explains the
pruning and why it is exact). Both give the same rows and the same float32 scores.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .compiled import compiled_kernels
from .duplicates import distinct_positions

# The constants of the score (module docstring), chosen on benchmarks/search.py.
BM25_K1 = 1.2
BM25_B = 0.75
LEAD_WEIGHT = 2.0
TITLE_WEIGHT = 2.0
PHRASE_WEIGHT = 0.25
SHORT_QUERY_TERMS = 10
LONG_QUERY_TERMS = 20


class SimilarityIndex:
    """Exact top-k search by the score of the module docstring.

    Parameters
    ----------
    doc_terms : csr_matrix of shape (n_articles, V), float32, unit rows
    doc_topics : ndarray of shape (n_articles, k), float32, non-negative
    topic_weight : float in [0, 1]
        ``alpha`` in the module docstring.
    postings : csc_matrix of shape (n_articles, V), optional
        The same matrix as ``doc_terms`` in CSC form (built when not given; pass it when loading).
    search : csc_matrix of shape (n_articles, V), or a callable returning one, optional
        B, the BM25 weights of the module docstring (:func:`search_postings`); a callable is called the
        first time a short query needs it (a model file saved before search scoring has none). None
        (only for indexes built by hand): short queries are scored by the cosine alone.
    phrases : callable, optional
        Maps an array of vocabulary columns to a boolean array, true where the term is a two-word phrase.
    n_search_terms : int, optional
        V + R, B's number of columns: the vocabulary's V terms, then R rare words (default: V, none).
    """

    def __init__(
        self, doc_terms, doc_topics, topic_weight: float, postings=None, search=None, phrases=None, n_search_terms=None
    ):
        self.doc_terms = doc_terms
        self.n_search_terms = doc_terms.shape[1] if n_search_terms is None else int(n_search_terms)
        self.postings = postings if postings is not None else sp.csc_matrix(doc_terms)
        self._doc_topics = doc_topics
        self._topic_units = None
        self.topic_weight = float(topic_weight)
        self._search = search
        self._search_idf = None
        self.phrases = phrases
        self._depth = 0  # how deep in the ranking the last query's distinct hits lay (see best)

    @property
    def n_articles(self) -> int:
        return self.doc_terms.shape[0]

    @property
    def topic_units(self) -> np.ndarray:
        """The articles' topic weights scaled to unit length, float32 (n_articles, k): made on first use, as a
        process answering one query reads only the rows it scores (:meth:`unit_topics`)."""
        if self._topic_units is None:
            self._topic_units = unit_rows(self._doc_topics)
        return self._topic_units

    def unit_topics(self, rows) -> np.ndarray:
        """``topic_units[rows]``, without making all of :attr:`topic_units` when it is not made yet (scaling
        a row does not depend on the other rows: the same bits)."""
        if self._topic_units is not None:
            return self._topic_units[rows]
        return unit_rows(np.asarray(self._doc_topics[rows], dtype=np.float32))

    @property
    def search(self):
        """B (CSC, n_articles x V) or None; built on first use when the index was given a callable."""
        if callable(self._search):
            self._search = self._search()
        return self._search

    def load_search(self) -> bool:
        """Build B now, or check it (a model file's B is checked when first used, :mod:`topics.store`), so that
        no query waits for it and a damaged one is refused here; whether the index has a B."""
        return self.search is not None

    @property
    def search_idf(self) -> np.ndarray:
        """idf_t of the module docstring, float64 (V,), from the document frequencies of B."""
        if self._search_idf is None:
            self._search_idf = bm25_idf(np.diff(self.search.indptr), self.n_articles)
        return self._search_idf

    def search_share(self, n_terms: int) -> float:
        """s(n_terms) of the module docstring; 0 when the index has no search matrix."""
        return float(search_share(n_terms)) if self._search is not None else 0.0

    def query(self, query_terms, query_topics, unknown: float = 0.0, rare=(), forms=()) -> Query:
        """The :class:`Query` of a text: query_terms a sparse row (1, V), unit length; query_topics (k,);
        unknown: the number of the query's words outside the search vocabulary; rare: the B columns of its
        rare words (V and up); forms: its word forms, each the B columns of its words."""
        query_terms = sp.csr_matrix(query_terms)
        topics = unit_rows(np.asarray(query_topics, dtype=np.float32)[None, :])[0]
        rare = np.asarray(rare, dtype=np.int64)
        share = self.search_share(len(query_terms.indices) + rare.size)
        forms = tuple(np.asarray(g, dtype=np.int64) for g in forms) if share > 0 else ()
        return Query(query_terms.indices, query_terms.data, topics, share, float(unknown), rare, forms)

    def article_query(self, row: int) -> Query:
        """The :class:`Query` of stored article ``row`` (search share 0)."""
        start, end = self.doc_terms.indptr[row], self.doc_terms.indptr[row + 1]
        return Query(self.doc_terms.indices[start:end], self.doc_terms.data[start:end], self.unit_topics([row])[0])

    def scores(self, query_terms, query_topics, unknown: float = 0.0) -> np.ndarray:
        """Scores of every article against one text query: float32 array of shape (n_articles,).

        query_terms : sparse row (1, V), unit length; query_topics : array (k,); unknown : the number of
        the query's words outside the vocabulary.
        """
        return self.score_all(self.query(query_terms, query_topics, unknown))

    def scores_for_article(self, row: int) -> np.ndarray:
        """Scores of every article against stored article ``row`` (itself included); its search share is 0."""
        return self.score_all(self.article_query(row))

    def score_all(self, query: Query) -> np.ndarray:
        """Scores of every article against ``query``, in numpy: float32 array of shape (n_articles,)."""
        alpha = self.alpha_of(query)
        return self._blend32(self._scatter(query, None), self._topical(query.topics, None, _engine()), alpha)

    def alpha_of(self, query: Query) -> float:
        """alpha of the module docstring for this query: the topic weight, or 0 for a text scored by search
        whose words are all outside the topic vocabulary (it has no topic vector to compare)."""
        return 0.0 if query.share > 0 and not np.any(query.topics) else self.topic_weight

    def search_weights(self, columns: np.ndarray) -> np.ndarray:
        """v_t of the module docstring for the query's B columns: 1 for a word, PHRASE_WEIGHT for a phrase
        (rare words, columns V and up, are words)."""
        columns = np.asarray(columns)
        weights = np.ones(columns.size)
        if self.phrases is not None:
            known = columns < self.doc_terms.shape[1]
            weights[known] = np.where(self.phrases(columns[known]), PHRASE_WEIGHT, 1.0)
        return weights

    def search_bound(self, columns: np.ndarray, unknown: float = 0.0, forms=()) -> float:
        """The BM25 score no article can reach for a query of these columns, ``unknown`` words outside
        the vocabulary and word ``forms`` (each a :func:`form_postings` triple): bm25's denominator."""
        columns = np.asarray(columns)
        known = float(self.search_weights(columns) @ self.search_idf[columns])
        known += sum(idf for _, _, idf in forms)
        return (known + unknown * float(bm25_idf(0, self.n_articles))) * (BM25_K1 + 1.0)

    def form_postings(self, forms, kernels=None) -> list:
        """``(rows, values, idf_g)`` of each word form of a query (:func:`form_postings`)."""
        return [form_postings(self.search, self.search_idf, g, kernels) for g in forms]

    def search_part(
        self,
        columns: np.ndarray,
        *,
        row: int | None = None,
        text_counts=None,
        unknown: float = 0.0,
        rare=(),
        forms=(),
    ):
        """``(share, values, rare, rare_values, form_values)`` for :func:`pair_parts`: s(n_q),
        ``v_t * B[d, t] / bound`` per query column, the same for the B columns ``rare`` of its rare words,
        and ``B_g(d) / bound`` per word form (``forms``: each the B columns of its words), for a stored
        article ``row`` or a text with raw counts ``text_counts`` (1, V + R); None for a long query."""
        columns, rare = np.asarray(columns), np.asarray(rare, dtype=np.int64)
        every = np.concatenate([columns.astype(np.int64), rare])
        share = self.search_share(every.size)
        if share <= 0:
            return None
        postings = self.form_postings(forms)
        bound = self.search_bound(every, unknown, postings)
        if bound <= 0:
            return None
        if row is not None:
            values = stored_search_values(self.search, row, every)
            ratios = [form_ratios(stored_search_values(self.search, row, g), self.search_idf[g]) for g in forms]
        else:
            counts = sp.csr_matrix(text_counts, dtype=np.float64).toarray().ravel()
            values = text_search_row(text_counts, self.search_idf)[every]
            ratios = [counts[np.asarray(g, dtype=np.int64)].sum() / BM25_K1 for g in forms]  # a mean-length text
        values = self.search_weights(every) * values / bound
        form_values = np.array([form_value(s, idf) for s, (_, _, idf) in zip(ratios, postings, strict=True)]) / bound
        return share, values[: columns.size], rare, values[columns.size :], form_values

    def _scatter(self, query: Query, kernels) -> np.ndarray:
        """lexical(q, d) of the module docstring for every article, float32: the cosine, blended with
        bm25 by the query's search share; scatter-adds compiled by ``kernels`` or run in numpy (None),
        the same sums either way."""
        cosine = self._postings_scores(self.postings, query.columns, query.weights, kernels)
        if query.share == 0.0:
            return cosine
        # A form of one word is that word's column of B (B_g = B[:, t]): it joins the scatter-add.
        singles = [g for g in query.forms if g.size == 1]
        columns = np.concatenate([np.asarray(query.columns, dtype=np.int64), query.rare, *singles])
        forms = self.form_postings([g for g in query.forms if g.size > 1], kernels)
        bound = self.search_bound(columns, query.unknown, forms)
        if bound <= 0:
            bm25 = np.zeros(self.n_articles, dtype=np.float32)
        else:
            weights = self.search_weights(columns) / bound
            bm25 = self._postings_scores(self.search, columns, weights, kernels)
            add_forms(bm25, forms, bound)
        return (1.0 - query.share) * cosine + query.share * bm25

    def _postings_scores(self, matrix, columns, weights, kernels) -> np.ndarray:
        if kernels is None or len(columns) == 0:
            return postings_scores(matrix.indptr, matrix.indices, matrix.data, self.n_articles, columns, weights)
        columns, weights = _small(columns, matrix.indices.dtype), _small(weights, np.float32)
        return kernels.scatter_add(matrix.indptr, matrix.indices, matrix.data, columns, weights, self.n_articles)

    def _lexical(self, columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Cosine with every article, touching only the postings of the query's terms."""
        p = self.postings
        return postings_scores(p.indptr, p.indices, p.data, self.n_articles, columns, weights)

    def _blend32(self, lexical: np.ndarray, topical: np.ndarray, alpha: float) -> np.ndarray:
        """:func:`blend` in float32 with topic weight ``alpha``, operation by operation the same on any subset
        of rows."""
        return ((1.0 - alpha) * lexical + alpha * topical).astype(np.float32)

    def _topical(self, topics: np.ndarray, rows: np.ndarray | None, kernels) -> np.ndarray:
        """Topic cosines (float32) of ``rows`` (None: every row) with the unit vector ``topics``.

        Each row is summed in float32 in topic order, the same bits whichever rows are asked for and
        whether ``kernels`` (:mod:`topics.kernels` or None) compiles the loop or numpy runs it (see
        :func:`topics.kernels.topic_cosines`).
        """
        topics = _small(topics, np.float32)
        if rows is not None and kernels is None:
            return _topic_sums(self.unit_topics(rows), topics)
        units = self.topic_units
        if kernels is not None:
            if rows is None:
                return kernels.all_topic_cosines(units, topics)
            return kernels.topic_cosines(units, topics, rows)
        step = 1 << 16
        return np.concatenate(
            [_topic_sums(units[start : start + step], topics) for start in range(0, len(units), step)]
            or [np.zeros(0, dtype=np.float32)]
        )

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
        # second round two passes over every row. So start from half as much again as the depth the
        # previous query needed: the depth itself sent every other query at 300k to a second round.
        want = k if threshold is None else max(8 * k + 32, min(int(_HEADROOM * self._depth), 64 * k + 256))
        seen, kept = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        counts = kernels.lexical_histogram(lexical, _BINS) if kernels is not None else None
        while True:
            rows, scores, complete = self._prefix(
                lexical, query.topics, want, floor, kernels, self.alpha_of(query), counts
            )
            if threshold is None:
                return rows[:k], scores[:k]
            # A longer prefix starts with the rows already scanned, in the same order (it usually does):
            # the pass goes on from there rather than from the top.
            if not (seen.size <= rows.size and np.array_equal(rows[: seen.size], seen)):
                kept = np.zeros(0, dtype=np.int64)
                seen = seen[:0]
            kept = self._distinct(rows, threshold, duplicate_of, k, kernels, kept, seen.size)
            if kept.size >= k or complete:
                # how deep the k-th distinct row lay: a hint for the next query, never a change in any answer
                self._depth = int(kept[min(k, kept.size) - 1]) + 1 if kept.size else want
                return rows[kept[:k]], scores[kept[:k]]
            seen = rows
            want *= 4

    def _prefix(self, lexical, topics, m: int, floor: float, kernels, alpha: float, counts=None):
        """The first rows of the full ranking: every allowed row scoring >= some c, at least m of them.

        Returns (rows, float32 scores, complete), ranked; ``complete`` when they are every allowed row
        scoring >= ``floor``. ``lexical`` holds -inf for rows that are not allowed; ``alpha`` is the
        query's topic weight (:meth:`alpha_of`); ``counts``: lexical's
        :func:`topics.kernels.lexical_histogram` (with the compiled loops).
        """
        if alpha >= 1.0:
            return self._prefix_of_all(lexical, topics, m, floor, kernels, alpha)
        if kernels is not None:
            rows, scores, state = kernels.ranked_prefix(
                lexical,
                counts,
                self.topic_units,
                _small(topics, np.float32),
                np.float32(1.0 - alpha),
                np.float32(alpha),
                float(alpha),
                float(floor),
                m,
                _SEEDS * m,
            )
            if state < 0:
                return self._prefix_of_all(lexical, topics, m, floor, kernels, alpha)
            order = np.lexsort((rows, -scores))
            return rows[order], scores[order], state == 1
        # The seeds are the rows with the largest L; the m-th best exact score among 4m of them bounds
        # the m-th best of the archive from below more tightly than the m-th seed's alone would.
        seeds = _largest(lexical, 4 * m)
        if seeds.size < m:
            return self._prefix_of_all(lexical, topics, m, floor, kernels, alpha)
        seed_scores = self._blend32(lexical[seeds], self._topical(topics, seeds, kernels), alpha)
        cut = float(np.partition(seed_scores, seeds.size - m)[seeds.size - m])
        complete = cut < floor
        cut = max(cut, floor)
        # T_i <= 1 (a little more in float32 products): a row below this lexical floor cannot reach cut.
        lexical_floor = (cut - alpha * (1.0 + 1e-5) - 1e-6) / (1.0 - alpha) - 1e-6
        if lexical_floor <= 0:
            return self._prefix_of_all(lexical, topics, m, floor, kernels, alpha)
        rows = _at_least(lexical, lexical_floor)
        scores = self._blend32(lexical[rows], self._topical(topics, rows, kernels), alpha)
        reached = scores.astype(np.float64) >= cut
        rows, scores = rows[reached], scores[reached]
        order = np.lexsort((rows, -scores))
        return rows[order], scores[order], complete

    def _prefix_of_all(self, lexical, topics, m: int, floor: float, kernels, alpha: float):
        """:meth:`_prefix` by scoring every row: the m best allowed rows scoring >= floor."""
        if kernels is not None:
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
        scores = self._blend32(np.where(excluded, np.float32(0), lexical), self._topical(topics, None, kernels), alpha)
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
            _scratch(X.shape[1]),
            _small(q_columns, X.indices.dtype),
            _small(q_weights, np.float32),
            np.float32(threshold - 1e-6),
            limit,
            np.zeros(0, dtype=np.int64) if kept is None else kept,
            start,
        )


class Query(NamedTuple):
    """One query as the index reads it: term ``columns`` (int, ascending) with their ``weights``
    (float32, the query's TF-IDF row), ``topics``, its unit topic vector (k,), float32, and what its
    search part needs (see the module docstring)."""

    columns: np.ndarray
    weights: np.ndarray
    topics: np.ndarray
    share: float = 0.0  # s(q) of the module docstring: 0 for a stored article or a long text
    unknown: float = 0.0  # the number of the query's words outside the search vocabulary
    rare: np.ndarray = np.zeros(0, dtype=np.int64)  # B columns (V and up) of the query's rare words
    forms: tuple = ()  # the query's word forms g: each the B columns (int64, ascending) of its words


_kernels = functools.cache(compiled_kernels)  # looked up once per process


_BINS = 4096  # histogram bins of the lexical cosine for the compiled prefix (a power of two)
_SEEDS = 4  # seeds per row of the prefix asked for
_HEADROOM = 1.5  # a query asks for this times the depth the previous one needed

_QUERIES = itertools.count()
_STARTED = False  # whether a query has used (and so loaded) the compiled loops


def _engine():
    """The loops for this query: :mod:`topics.kernels`, or None for their numpy twins.

    Importing numba and loading the cached machine code costs a process about half a second once,
    more than a whole numpy query on a million articles; so a process's first query runs in numpy
    (a one-shot ``topics similar`` never pays it) and the compiled loops take over from the second.
    ``TOPICS_KERNELS=1`` uses them from the first query (a server warms up with
    :func:`load_kernels`), ``TOPICS_KERNELS=0`` never.
    """
    global _STARTED
    if next(_QUERIES) == 0 and os.environ.get("TOPICS_KERNELS") != "1":
        return None
    _STARTED = True
    return _kernels()


def loaded_kernels():
    """:mod:`topics.kernels` when a query of this process has already loaded it (see :func:`_engine`), else
    None: for steps before the index (placing a text in the topics) that must not load it themselves."""
    return _kernels() if _STARTED else None


def load_kernels() -> bool:
    """Load the compiled loops now (numba's import and machine code), so no query pays for it; True
    when they are in use. For long-running processes such as ``topics serve``."""
    global _STARTED
    next(_QUERIES)
    _STARTED = True
    kernels = _kernels()
    if kernels is not None:
        kernels.warm_up()
    return kernels is not None


_THREAD = threading.local()


def _scratch(n_columns: int) -> np.ndarray:
    """This thread's float32 zeros (2, n_columns) for :func:`topics.kernels.distinct`, which leaves them zero:
    made once per thread and vocabulary size instead of once per query (two arrays of the vocabulary's size
    each query cost more than the comparisons they serve)."""
    scratch = getattr(_THREAD, "scratch", None)
    if scratch is None or scratch.shape[1] != n_columns:
        scratch = _THREAD.scratch = np.zeros((2, n_columns), dtype=np.float32)
    return scratch


def _form_scratch(n_rows: int) -> np.ndarray:
    """This thread's float64 zeros (n_rows,) for :func:`topics.kernels.form_sums`, which leaves them zero."""
    scratch = getattr(_THREAD, "form_scratch", None)
    if scratch is None or scratch.size != n_rows:
        scratch = _THREAD.form_scratch = np.zeros(n_rows)
    return scratch


def _small(array, dtype) -> np.ndarray:
    """A writable contiguous copy of a query-sized array: the compiled loops then meet one array type
    per argument (a memory-mapped model's arrays are read-only, a text query's are not)."""
    return np.array(array, dtype=dtype, order="C", copy=True)


def _largest(values: np.ndarray, m: int) -> np.ndarray:
    """Rows (in no order) of the at most m largest values that are > 0 (0, -inf and NaN never enter)."""
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
    """Rows (ascending) whose value, compared in float64, is >= floor."""
    return np.flatnonzero(values.astype(np.float64) >= floor)


def postings_scores(indptr, rows, values, n_articles: int, columns, weights) -> np.ndarray:
    """Dense float32 scores (n_articles,): ``sum_t weights[t] * M[:, columns[t]]`` for a CSC matrix M
    given as ``(indptr, rows, values)``, touching only the postings of the given columns."""
    scores = np.zeros(n_articles, dtype=np.float32)
    if len(columns) == 0:
        return scores
    # One scatter-add per term over its contiguous postings (a row appears once per term), not a
    # gather of all postings into new arrays: 33 against 53 ms p50, 49 against 133 ms p90, at
    # 1M articles, with the same sums in the same order. Summed in float32, as X is stored and as
    # scipy's X @ x sums: 24 against 28 ms p50 at 1M, the same top 10 as that product.
    for column, weight in zip(
        np.asarray(columns).tolist(), np.asarray(weights, dtype=np.float32).tolist(), strict=True
    ):
        start, end = indptr[column], indptr[column + 1]
        scores[rows[start:end]] += values[start:end] * np.float32(weight)
    return scores


# -- the search matrix B -------------------------------------------------------------------------------
def search_share(n_terms):
    """s(n) of the module docstring: 1 up to SHORT_QUERY_TERMS distinct terms, 0 from LONG_QUERY_TERMS on."""
    span = LONG_QUERY_TERMS - SHORT_QUERY_TERMS
    return np.clip((LONG_QUERY_TERMS - np.asarray(n_terms, dtype=np.float64)) / span, 0.0, 1.0)


def bm25_idf(df: np.ndarray, n_articles: int) -> np.ndarray:
    """idf_t = ln(1 + (N - df_t + 0.5) / (df_t + 0.5)), float64 (V,): Lucene's, never negative."""
    df = np.asarray(df, dtype=np.float64)
    return np.log1p((n_articles - df + 0.5) / (df + 0.5))


def term_counts(rows, idf: np.ndarray, *, extra_columns: int = 0) -> sp.csr_matrix:
    """The raw term counts behind unit TF-IDF rows ``(1 + ln tf) * idf / norm``, float32 CSR, with
    ``extra_columns`` empty columns after the vocabulary's.

    Within a row, ``x / idf`` is ``(1 + ln tf) / norm``; its smallest value is taken to be a term seen once
    (true of any text with a word it uses once), which gives the norm and so every count. Counts are
    rounded to whole numbers. Used for stored articles (whose counts a model does not keep) and queries.
    Rows are read in blocks of about :data:`_BLOCK_ENTRIES` entries, so the float64 work never holds more
    than a block: at a million articles, whole-matrix temporaries took several times X's memory.
    """
    x = sp.csr_matrix(rows)
    if x.nnz and not np.all(x.data):
        x = x.copy()
        x.eliminate_zeros()
    shape = (x.shape[0], x.shape[1] + extra_columns)
    if x.nnz == 0:
        return sp.csr_matrix(shape, dtype=np.float32)
    idf = np.maximum(np.asarray(idf, dtype=np.float64), 1e-12)
    data = np.empty(x.nnz, dtype=np.float32)
    for start, stop in _row_blocks(x.indptr):
        lo, hi = x.indptr[start], x.indptr[stop]
        ratio = x.data[lo:hi].astype(np.float64) / idf[x.indices[lo:hi]]
        lengths = np.diff(x.indptr[start : stop + 1])
        filled = lengths > 0
        smallest = np.zeros(lengths.size)
        smallest[filled] = np.minimum.reduceat(ratio, (x.indptr[start:stop] - lo)[filled])
        data[lo:hi] = np.rint(np.exp(ratio / np.repeat(smallest, lengths) - 1.0))
    return sp.csr_matrix((data, x.indices.copy(), x.indptr.copy()), shape=shape)


_BLOCK_ENTRIES = 1 << 22  # matrix entries worked on at once in float64 by term_counts and search_postings


def _row_blocks(indptr: np.ndarray):
    """(start, stop) row ranges of a compressed matrix, each holding about :data:`_BLOCK_ENTRIES` entries
    (a longer row makes a block of its own); works alike on the columns of a CSC matrix."""
    n = indptr.size - 1
    start = 0
    while start < n:
        stop = int(np.searchsorted(indptr, indptr[start] + _BLOCK_ENTRIES, side="right")) - 1
        stop = min(max(stop, start + 1), n)
        yield start, stop
        start = stop


def search_postings(counts) -> sp.csc_matrix:
    """B of the module docstring, float32 CSC (n_articles, V), from the field-weighted counts f (n, V).

    The weights are computed in float64 a block of columns at a time, into the CSC copy's own float32 data.
    """
    f = sp.csr_matrix(counts, dtype=np.float32)
    n_articles = f.shape[0]
    norm = _length_norms(_row_sums(f))
    b = sp.csc_matrix(f)
    del f
    b.sort_indices()
    idf = bm25_idf(np.diff(b.indptr), n_articles)
    for start, stop in _row_blocks(b.indptr):
        lo, hi = b.indptr[start], b.indptr[stop]
        values = b.data[lo:hi].astype(np.float64)
        columns = np.repeat(np.arange(start, stop), np.diff(b.indptr[start : stop + 1]))
        b.data[lo:hi] = idf[columns] * values * (BM25_K1 + 1.0) / (values + norm[b.indices[lo:hi]])
    return b


def compiled_search_postings(postings, idf: np.ndarray, fields, kernels) -> sp.csc_matrix | None:
    """B as :func:`search_postings` gives it for ``term_counts(X, idf, extra_columns=R) + L``, the same
    bytes, built column by column in compiled loops (:mod:`topics.kernels`) from X's postings P (CSC,
    n_articles x V) and L (``fields``, n_articles x (V + R)): no CSR-to-CSC pass over the counts. None
    when P's rows are not ascending in each column (then use the numpy way)."""
    n_articles = postings.shape[0]
    if postings.nnz and not np.all(postings.data):
        return None
    fields = sp.csc_matrix(fields, dtype=np.float32)
    fields.sort_indices()
    term_idf = np.maximum(np.asarray(idf, dtype=np.float64), 1e-12)
    smallest = kernels.smallest_ratios(postings.indptr, postings.indices, postings.data, term_idf, n_articles)
    room = postings.nnz + fields.nnz
    index_type = np.int32 if max(room, n_articles) < np.iinfo(np.int32).max else np.int64
    indptr = np.empty(fields.shape[1] + 1, dtype=index_type)
    indices, data = np.empty(room, dtype=index_type), np.empty(room, dtype=np.float32)
    ok, lengths = kernels.search_counts(
        postings.indptr, postings.indices, postings.data, term_idf, smallest,
        fields.indptr, fields.indices, fields.data, indptr, indices, data,
    )  # fmt: skip
    if not ok:
        return None
    nnz = int(indptr[-1])  # less than the room by L's entries in articles' text: views, not copies
    indices, data = indices[:nnz], data[:nnz]
    kernels.bm25_weights(indptr, indices, data, bm25_idf(np.diff(indptr), n_articles), _length_norms(lengths), BM25_K1)
    search = sp.csc_matrix((data, indices, indptr), shape=fields.shape, copy=False)
    search.has_sorted_indices = True
    return search


def _length_norms(lengths: np.ndarray) -> np.ndarray:
    """``k1 * (1 - b + b * len_d / mean_len)`` of each article (float64) from its length len_d."""
    mean_length = lengths.mean() if lengths.size and lengths.mean() > 0 else 1.0
    return BM25_K1 * (1.0 - BM25_B + BM25_B * lengths / mean_length)


def _row_sums(f: sp.csr_matrix) -> np.ndarray:
    """Each row's sum in float64, as ``f.sum(axis=1)`` of a float64 copy gives it, a block of rows at a time."""
    sums = np.zeros(f.shape[0])
    for start, stop in _row_blocks(f.indptr):
        block = sp.csr_matrix(f[start:stop], dtype=np.float64)
        sums[start:stop] = np.asarray(block.sum(axis=1)).ravel()
    return sums


def text_search_row(counts, idf: np.ndarray) -> np.ndarray:
    """B's row for a text that is not a stored article (taken to be of mean length), dense float64 (V,)."""
    f = sp.csr_matrix(counts, dtype=np.float64)
    row = np.zeros(f.shape[1])
    row[f.indices] = idf[f.indices] * f.data * (BM25_K1 + 1.0) / (f.data + BM25_K1)
    return row


def stored_search_values(search, row: int, columns: np.ndarray) -> np.ndarray:
    """B[row, columns] read from the CSC matrix B (one binary search per column), float64."""
    values = np.zeros(len(columns))
    for i, column in enumerate(np.asarray(columns).tolist()):
        start, end = search.indptr[column], search.indptr[column + 1]
        at = start + np.searchsorted(search.indices[start:end], row)
        if at < end and search.indices[at] == row:
            values[i] = search.data[at]
    return values


def form_ratios(values: np.ndarray, idf: np.ndarray) -> float:
    """S of the module docstring for one article: sum_t B[d, t] / (idf_t * (k1 + 1) - B[d, t]) over a form's
    words, from their B values (float64); a saturated count (B at its bound in float32) is taken as huge."""
    values = np.asarray(values, dtype=np.float64)
    return float(_ratios(values, np.asarray(idf, dtype=np.float64) * (BM25_K1 + 1.0)).sum())


def form_value(ratio, idf: float):
    """B_g(d) of the module docstring from S (a float or an array)."""
    ratio = np.asarray(ratio, dtype=np.float64)
    return idf * (BM25_K1 + 1.0) * ratio / (1.0 + ratio)


def form_postings(search, idf: np.ndarray, columns, kernels=None) -> tuple[np.ndarray, np.ndarray, float]:
    """``(rows, values, idf_g)`` of one word form g over the CSC matrix B: the articles holding any of its
    words (``columns``), their B_g(d) (float64) and idf_g (module docstring). The rows are ascending in
    numpy; with ``kernels`` (:func:`topics.kernels.form_sums`) a form of several words has them in the
    order first met, with the same values."""
    columns = np.asarray(columns, dtype=np.int64)
    n_articles = search.shape[0]
    starts, ends = search.indptr[columns].astype(np.int64), search.indptr[columns + 1].astype(np.int64)
    tops = idf[columns] * (BM25_K1 + 1.0)
    if kernels is not None and columns.size > 1:
        small = _small(columns, search.indices.dtype), _small(tops, np.float64)
        rows, ratios = kernels.form_sums(search.indptr, search.indices, search.data, *small, _form_scratch(n_articles))
    elif columns.size == 1:  # one word: its own postings, ascending
        rows = search.indices[starts[0] : ends[0]].astype(np.int64)
        ratios = _ratios(search.data[starts[0] : ends[0]], tops[0])
    elif 16 * int((ends - starts).sum()) < n_articles:  # few postings: sort them
        rows = np.concatenate([search.indices[a:b] for a, b in zip(starts, ends, strict=True)]).astype(np.int64)
        parts = [_ratios(search.data[a:b], top) for a, b, top in zip(starts, ends, tops, strict=True)]
        rows, where = np.unique(rows, return_inverse=True)
        ratios = np.bincount(where, weights=np.concatenate(parts), minlength=rows.size)
    else:  # many: add them up in a dense array (the same sums, word by word, in the same order)
        dense = np.zeros(n_articles)
        for a, b, top in zip(starts.tolist(), ends.tolist(), tops.tolist(), strict=True):
            dense[search.indices[a:b]] += _ratios(search.data[a:b], top)
        rows = np.flatnonzero(dense)
        ratios = dense[rows]
    form_idf = float(bm25_idf(rows.size, n_articles))
    return rows, form_value(ratios, form_idf), form_idf


def _ratios(values: np.ndarray, top: float) -> np.ndarray:
    """f_dt / norm_d of the postings of one word from their B values (float64): B / (idf_t (k1 + 1) - B)."""
    values = values.astype(np.float64)
    return values / np.maximum(top - values, 1e-12)


def add_forms(bm25: np.ndarray, forms, bound: float) -> None:
    """Add each word form's B_g(d) / bound to the float32 scores ``bm25`` (n_articles,) in place."""
    for rows, values, _ in forms:
        bm25[rows] += (values / bound).astype(np.float32)


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


def batch_scores(
    index: SimilarityIndex, query_terms, query_topics, stored=None, unknown=None, rare=None, forms=None
) -> np.ndarray:
    """Scores of every article against many queries: float32 array of shape (n_queries, n_articles).

    query_terms : csr_matrix (n_queries, V), unit rows; query_topics : array (n_queries, k); stored :
    boolean array (n_queries,), true for queries that are stored articles (search share 0), or None
    (all are texts); unknown : array (n_queries,) as in :meth:`SimilarityIndex.scores`, or None (zeros);
    rare : a list of arrays (n_queries,), each text's rare-word columns of B, or None (none); forms : a
    list (n_queries,) of each text's word forms (each the B columns of its words), or None (none).
    Sparse products (queries x articles) and one dense product, not a loop over queries.
    """
    query_terms = sp.csr_matrix(query_terms, dtype=np.float32)
    lexical = (query_terms @ index.doc_terms.T).toarray()
    n_rare = np.array([len(r) for r in rare]) if rare is not None else 0
    shares = search_share(np.diff(query_terms.indptr) + n_rare) if index._search is not None else np.zeros(0)
    if stored is not None and shares.size:
        shares = np.where(stored, 0.0, shares)
    short = np.flatnonzero(shares > 0)
    if short.size:
        rows, form_parts = [], []
        for i in short.tolist():
            start, end = query_terms.indptr[i], query_terms.indptr[i + 1]
            columns = np.concatenate([query_terms.indices[start:end], [] if rare is None else rare[i]]).astype(np.int64)
            postings = index.form_postings(() if forms is None else forms[i])
            bound = index.search_bound(columns, 0.0 if unknown is None else float(unknown[i]), postings)
            weights = index.search_weights(columns) / bound if bound > 0 else np.zeros(columns.size)
            row = (weights.astype(np.float32), columns, [0, columns.size])
            rows.append(sp.csr_matrix(row, shape=(1, index.n_search_terms), dtype=np.float32))
            form_parts.append((postings, bound))
        bm25 = (sp.vstack(rows, format="csr") @ index.search.T.tocsr()).toarray()
        for scores, (postings, bound) in zip(bm25, form_parts, strict=True):
            if bound > 0:
                add_forms(scores, postings, bound)
        share = shares[short][:, None]
        lexical[short] = (1.0 - share) * lexical[short] + share * bm25
    units = unit_rows(query_topics)
    topical = units @ index.topic_units.T
    # alpha of each query (SimilarityIndex.alpha_of): 0 for a text scored by search without topic weights
    alpha = (
        np.where((shares > 0) & ~units.any(axis=1), 0.0, index.topic_weight)[:, None]
        if shares.size
        else index.topic_weight
    )
    return blend(lexical, topical, alpha).astype(np.float32)


def pair_parts(
    terms_a, topics_a, terms_b, topics_b, search=None, n_columns: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-term and per-topic products whose sums are the lexical part and the topic cosine of a pair.

    terms_* : sparse rows (1, V), unit length; topics_* : arrays (k,); a is the query. ``search``: None
    (the query is long: lexical is the cosine) or ``(share, values, rare, rare_values, form_values)`` from
    :meth:`SimilarityIndex.search_part`, with ``n_columns``, B's number of columns. Returns ``(columns,
    term_products, topic_products)``: the query's B columns (its terms, then its rare words, then
    ``n_columns + i`` for its i-th word form) that b shares and their parts of lexical(a, b) (summing to
    it), and an array (k,) of topic products (summing to the topic cosine).
    """
    a = sp.csr_matrix(terms_a, dtype=np.float32)
    a.sum_duplicates()
    b = sp.csr_matrix(terms_b, dtype=np.float32)
    products = a.data.astype(np.float64) * b[:, a.indices].toarray().ravel().astype(np.float64)
    columns = a.indices.astype(np.int64)
    if search is not None:
        share, values, rare, rare_values, form_values = search
        products = (1.0 - share) * products + share * np.asarray(values, dtype=np.float64)
        form_columns = n_columns + np.arange(len(form_values), dtype=np.int64)
        columns = np.concatenate([columns, rare, form_columns])
        extra = np.concatenate([np.asarray(rare_values, dtype=np.float64), np.asarray(form_values, dtype=np.float64)])
        products = np.concatenate([products, share * extra])
    keep = products > 0
    ua = unit_rows(np.asarray(topics_a, dtype=np.float32)[None, :])[0]
    ub = unit_rows(np.asarray(topics_b, dtype=np.float32)[None, :])[0]
    return columns[keep], products[keep], (ua * ub).astype(np.float64)
