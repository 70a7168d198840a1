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

from .forms import WordForms
from .index import (
    LEAD_WEIGHT,
    TITLE_WEIGHT,
    SimilarityIndex,
    _kernels,
    compiled_search_postings,
    loaded_kernels,
    search_postings,
    term_counts,
)
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
        The search vocabulary's rare words and L, the term counts that the search matrix B adds to those of
        each article's text (its lead and title, and the rare words of its text); None when the index has
        no B. Kept so that growing a model reads only the new articles.
    word_forms : topics.forms.WordForms or None
        B's word columns grouped by stem, for text queries to count word forms (:mod:`topics.index`); None
        for a model fitted without a stemmer (``fit_info["search_forms"]``) or without B.
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
    word_forms: WordForms | None = None

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
        rare_words=None,
    ) -> FittedState:
        """A state over these arrays, with its neighbour index (``postings``: X in CSC form, ``search``: the
        BM25 matrix B of :mod:`topics.index`, if at hand; B is otherwise built when a query first needs it,
        and never with ``NO_SEARCH``, for a model read from a file saved before search scoring).
        ``search_fields``: a :class:`SearchFields`, or L (its CSR matrix, n_articles x (V + R)) with
        ``rare_words`` (its R rare words, sorted bytes; none in files saved before them), if at hand; else
        computed when needed."""
        fields = None
        if search is NO_SEARCH:
            search = None
        else:
            fields = (
                search_fields
                if isinstance(search_fields, SearchFields)
                else SearchFields(vectorizer, articles, search_fields, rare_words)
            )
            if postings is None:
                postings = sp.csc_matrix(doc_terms)  # as SimilarityIndex builds it; B is built from it too
            if search is None:
                search = partial(build_search, vectorizer, doc_terms, fields, postings)
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
                n_search_terms=len(vectorizer.vocabulary_) + (fields.n_rare if fields is not None else 0),
            ),
            search_fields=fields,
            word_forms=(
                WordForms(vectorizer.vocabulary_, fields.rare_words, fit_info["search_forms"])
                if fields is not None and fit_info.get("search_forms")
                else None
            ),
        )

    @property
    def n_topics(self) -> int:
        return int(self.components.shape[0])


NO_SEARCH = object()  # FittedState.build(search=NO_SEARCH): text queries are scored without B


class SearchFields:
    """The search vocabulary beyond the topic vocabulary, and L: what the BM25 matrix B adds to X's counts.

    B (:mod:`topics.index`) has a column for each of the V vocabulary terms and then one for each of the
    R *rare words*, sorted: words the topic vocabulary leaves out for rarity (below ``min_df``, so mostly
    in one article, or beyond ``max_features``; not those above ``max_df`` or house formulae), and words
    that articles added later bring (:func:`topics.incremental.add_articles`). They are what identifies a
    known item (a name, a place, a rare word of its title) and cost little: each is in few articles.

    L (CSR float32, n_articles x (V + R)) holds, per article, ``LEAD_WEIGHT`` times the term counts of its
    lead (the stored snippet) plus ``TITLE_WEIGHT`` times its title's, over all V + R columns, plus the
    counts of the rare words in its text (the vocabulary terms' text counts are read back from X). Analysing
    every lead and title is most of what building B costs, so L is computed on first use unless given.

    Parameters
    ----------
    vectorizer, articles : the state's (:class:`FittedState`)
    matrix : CSR (n_articles, V + R) or None
        L, when at hand (a model file saves it).
    rare_words : ndarray of bytes (R,), sorted, default none
    rare_counts : CSR (n_articles, R) or None
        Counts of the rare words in each article's text, needed only while L is not at hand.
    """

    def __init__(self, vectorizer, articles, matrix=None, rare_words=None, rare_counts=None):
        self._vectorizer, self._articles, self._matrix = vectorizer, articles, matrix
        self.rare_words = np.zeros(0, dtype="S1") if rare_words is None else np.asarray(rare_words)
        self._rare_counts = rare_counts

    @property
    def n_rare(self) -> int:
        return int(self.rare_words.size)

    def known(self):
        """L if it is at hand (given, or computed already), else None: never computes it."""
        return self._matrix

    def matrix(self):
        if self._matrix is None:
            fields = field_counts(self._vectorizer, self._articles, self.rare_words)
            if self._rare_counts is not None:
                n, v = self._rare_counts.shape[0], len(self._vectorizer.vocabulary_)
                fields = fields + sp.hstack([sp.csr_matrix((n, v), dtype=np.float32), self._rare_counts], format="csr")
            self._matrix, self._rare_counts = sp.csr_matrix(fields, dtype=np.float32), None
        return self._matrix

    def query_words(self, text: str) -> tuple[np.ndarray, np.ndarray, int]:
        """The words of ``text`` outside the vocabulary (phrases left out: a vocabulary keeps only some):
        ``(columns, counts, unknown)``, the B columns (V + position) and counts of its rare words, and the
        number of its distinct words that are not rare words either."""
        vocabulary = self._vectorizer.vocabulary_
        counts: dict[bytes, int] = {}
        for term in self._vectorizer.analyzer(text):
            if " " not in term:
                word = term.encode("utf-8")
                counts[word] = counts.get(word, 0) + 1
        words = np.array(sorted(counts), dtype=bytes) if counts else np.zeros(0, dtype="S1")
        outside = words[~_found(vocabulary, words)]
        rare = _found(self.rare_words, outside)
        columns = len(vocabulary) + np.searchsorted(self.rare_words, outside[rare])
        return (
            columns.astype(np.int64),
            np.array([counts[w] for w in outside[rare]], dtype=np.float64),
            int((~rare).sum()),
        )

    def query_terms(self, text: str) -> list[str]:
        """The words of ``text`` (not phrases) as the analyser gives them."""
        return [term for term in self._vectorizer.analyzer(text) if " " not in term]

    def vocabulary_words(self, text: str) -> list[str]:
        """The words of ``text`` (not phrases) that are in the topic vocabulary."""
        words = self.query_terms(text)
        encoded = np.array([w.encode("utf-8") for w in words], dtype=bytes) if words else np.zeros(0, dtype="S1")
        return [w for w, known in zip(words, _found(self._vectorizer.vocabulary_, encoded), strict=True) if known]

    def term_names(self, columns) -> list[str]:
        """The terms of B's columns, as text: vocabulary terms, then rare words."""
        vocabulary = self._vectorizer.vocabulary_
        v = len(vocabulary)
        return [
            (vocabulary[c] if c < v else self.rare_words[c - v]).decode("utf-8") for c in np.asarray(columns).tolist()
        ]


def _found(sorted_terms: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """Whether each of ``terms`` is in ``sorted_terms`` (both arrays of bytes), as a boolean array."""
    if sorted_terms.size == 0 or terms.size == 0:
        return np.zeros(terms.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_terms, terms), sorted_terms.size - 1)
    return sorted_terms[at] == terms


def field_counts(vectorizer, articles, rare_words=None):
    """The lead and title part of L (:class:`SearchFields`) for the rows of ``articles`` (an ArticleTable),
    over the V vocabulary terms and then ``rare_words``, analysed in chunks on every core
    (:func:`topics.parallel.map_chunks`)."""
    rare_words = np.zeros(0, dtype="S1") if rare_words is None else rare_words
    chunks = [
        ([articles.snippets[r] for r in range(start, stop)], [articles.titles[r] or "" for r in range(start, stop)])
        for start, stop in row_chunks(len(articles))
    ]
    parts = map_chunks(partial(_field_chunk, vectorizer, rare_words), chunks)
    if not parts:
        return sp.csr_matrix((0, len(vectorizer.vocabulary_) + rare_words.size), dtype=np.float32)
    return sp.vstack(parts, format="csr", dtype=np.float32)


def _field_chunk(vectorizer, rare_words, chunk) -> sp.csr_matrix:
    snippets, titles = chunk
    fields = None
    for texts, weight in ((snippets, LEAD_WEIGHT), (titles, TITLE_WEIGHT)):
        terms, rare = vectorizer.transform_with_counts(texts, rare_words)
        counts = weight * sp.hstack([term_counts(terms, vectorizer.idf_), rare], format="csr")
        fields = counts if fields is None else fields + counts
    return sp.csr_matrix(fields, dtype=np.float32)


# From about this many entries of X the compiled build of B saves more than importing numba and loading its
# loops costs a cold process (0.4-0.6 s; the numpy build takes about 70 ns an entry, the compiled one 15).
COMPILED_SEARCH_ENTRIES = 5_000_000


def build_search(vectorizer, doc_terms, fields: SearchFields, postings=None):
    """B of :mod:`topics.index` (CSC, n_articles x (V + R)): counts of each article's text (read back from
    X), plus L (``fields``: lead and title counts, and the rare words' text counts). With X's postings
    (CSC) and numba, in compiled loops from them (:func:`topics.index.compiled_search_postings`, the same
    bytes) when X holds at least :data:`COMPILED_SEARCH_ENTRIES` or the loops are loaded already;
    otherwise in numpy from X."""
    kernels = _kernels() if postings is not None and postings.nnz >= COMPILED_SEARCH_ENTRIES else loaded_kernels()
    if postings is not None and kernels is not None:
        search = compiled_search_postings(postings, vectorizer.idf_, fields.matrix(), kernels)
        if search is not None:
            return search
    counts = term_counts(doc_terms, vectorizer.idf_, extra_columns=fields.n_rare)
    counts += fields.matrix()
    return search_postings(counts)


def phrase_columns(vocabulary: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Whether each column's term is a phrase (holds a space), as a boolean array."""
    return np.array([b" " in vocabulary[c] for c in np.asarray(columns).tolist()], dtype=bool)
