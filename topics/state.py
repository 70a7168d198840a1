"""What fitting learns, in one plain object: :class:`FittedState`.

Symbols as in :mod:`topics.model`: X (n_articles, V) TF-IDF rows of unit length, H (k, V) topic-term
weights, W (n_articles, k) article-topic weights.

A state is built in one place, :meth:`FittedState.build`, by fitting (:meth:`topics.TopicModel.fit`),
loading (:mod:`topics.store`) and growing (:mod:`topics.incremental`, which returns a new state and never
changes the one it was given). :class:`topics.TopicModel` holds one as ``state_`` and shows its fields as
``vectorizer_``, ``components_``, ``doc_topics_``, ``doc_terms_``, ``articles_``, ``topic_names_``,
``index_`` and ``fit_info_``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse as sp

from .index import LEAD_WEIGHT, TITLE_WEIGHT, SimilarityIndex, search_postings, term_counts
from .parallel import map_chunks, row_chunks


@dataclass(frozen=True, eq=False)  # compared by identity: its fields are large arrays
class FittedState:
    """The learned arrays of a model and their metadata.

    Attributes
    ----------
    vectorizer : topics.text.Vectorizer
        The fitted analyser, vocabulary (V,) and term weights.
    components : ndarray of shape (k, V), float32 — H
    doc_topics : ndarray of shape (n_articles, k), float32 — W
    doc_terms : csr_matrix of shape (n_articles, V), float32 — X
    articles : topics.table.ArticleTable
        Ids, titles, dates, snippets and sources of the n_articles rows.
    topic_names : dict of int to str
        Names given to topics (:meth:`topics.TopicModel.rename_topic`); the one field changed in place.
    fit_info : dict
        Counts, timings, the corpus fingerprint and history (adds, refit) of the fit.
    index : topics.index.SimilarityIndex
        The neighbour index over X and W.
    search_fields : SearchFields or None
        L, the weighted term counts of each article's lead and title that the search matrix B adds to its
        text's (None when the index has no B). Kept so that growing a model reads only the new articles.
    """

    vectorizer: object
    components: np.ndarray
    doc_topics: np.ndarray
    doc_terms: object
    articles: object
    topic_names: dict
    fit_info: dict
    index: SimilarityIndex
    search_fields: SearchFields | None = None

    @classmethod
    def build(
        cls,
        *,
        vectorizer,
        components,
        doc_topics,
        doc_terms,
        articles,
        fit_info: dict,
        topic_weight: float,
        topic_names: dict | None = None,
        postings=None,
        search=None,
        search_fields=None,
    ) -> FittedState:
        """A state over these arrays, with its neighbour index (``postings``: X in CSC form, ``search``: the
        BM25 matrix B of :mod:`topics.index`, if at hand; B is otherwise built when a query first needs it,
        and never with ``NO_SEARCH``, for a model read from a file saved before search scoring).
        ``search_fields``: L (a :class:`SearchFields` or its CSR matrix), if at hand; else computed when needed."""
        fields = None
        if search is NO_SEARCH:
            search = None
        else:
            fields = (
                search_fields
                if isinstance(search_fields, SearchFields)
                else SearchFields(vectorizer, articles, search_fields)
            )
            if search is None:
                search = partial(build_search, vectorizer, doc_terms, fields)
        return cls(
            vectorizer=vectorizer,
            components=components,
            doc_topics=doc_topics,
            doc_terms=doc_terms,
            articles=articles,
            topic_names=dict(topic_names or {}),
            fit_info=fit_info,
            index=SimilarityIndex(
                doc_terms,
                doc_topics,
                topic_weight,
                postings=postings,
                search=search,
                phrases=partial(phrase_columns, vectorizer.vocabulary_),
            ),
            search_fields=fields,
        )

    @property
    def n_topics(self) -> int:
        return int(self.components.shape[0])


NO_SEARCH = object()  # FittedState.build(search=NO_SEARCH): text queries are scored without B


class SearchFields:
    """L (CSR float32, n_articles x V): ``LEAD_WEIGHT`` times the term counts of each article's lead (the
    stored snippet) plus ``TITLE_WEIGHT`` times its title's, as the fitted vectoriser analyses them; computed
    on first use unless given. Analysing every lead and title is most of what building B costs."""

    def __init__(self, vectorizer, articles, matrix=None):
        self._vectorizer, self._articles, self._matrix = vectorizer, articles, matrix

    def known(self):
        """L if it is at hand (given, or computed already), else None: never computes it."""
        return self._matrix

    def matrix(self):
        if self._matrix is None:
            self._matrix = field_counts(self._vectorizer, self._articles)
        return self._matrix


def field_counts(vectorizer, articles):
    """L of :class:`SearchFields` for the rows of ``articles`` (an ArticleTable), analysed in chunks on
    every core (:func:`topics.parallel.map_chunks`)."""
    chunks = [
        ([articles.snippets[r] for r in range(start, stop)], [articles.titles[r] or "" for r in range(start, stop)])
        for start, stop in row_chunks(len(articles))
    ]
    parts = map_chunks(partial(_field_chunk, vectorizer), chunks)
    if not parts:
        return sp.csr_matrix((0, len(vectorizer.vocabulary_)), dtype=np.float32)
    return sp.vstack(parts, format="csr", dtype=np.float32)


def _field_chunk(vectorizer, chunk) -> sp.csr_matrix:
    snippets, titles = chunk
    fields = None
    for texts, weight in ((snippets, LEAD_WEIGHT), (titles, TITLE_WEIGHT)):
        counts = weight * term_counts(vectorizer.transform(texts), vectorizer.idf_)
        fields = counts if fields is None else fields + counts
    return sp.csr_matrix(fields, dtype=np.float32)


def build_search(vectorizer, doc_terms, fields: SearchFields):
    """B of :mod:`topics.index` (CSC, n_articles x V): counts of each article's text (read back from X),
    plus its lead and title counts (``fields``, L)."""
    return search_postings(term_counts(doc_terms, vectorizer.idf_) + fields.matrix())


def phrase_columns(vocabulary: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Whether each column's term is a phrase (holds a space), as a boolean array."""
    return np.array([b" " in vocabulary[c] for c in np.asarray(columns).tolist()], dtype=bool)
