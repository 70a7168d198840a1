"""Vectorising text: term counts and TF-IDF.

Symbols
-------
V : number of terms in the vocabulary (words and two-word phrases).
X : sparse matrix of shape (n_articles, V), float32, TF-IDF weights with rows of unit L2 norm.

Texts are analysed into terms by :class:`topics.analyzer.Analyzer`; the vectoriser counts them in chunks
(:mod:`topics.term_counts`), chooses the vocabulary (leaving out house formulae and source terms,
:mod:`topics.house_terms`) and weights the counts.

Term weights follow scikit-learn's ``TfidfVectorizer(sublinear_tf=True, smooth_idf=True, norm="l2")``:
``tf = 1 + log(count)``, ``idf = log((1 + n) / (1 + df)) + 1``. Unlike scikit-learn, the fitted state is
plain arrays (a sorted byte-string vocabulary and an idf vector), so a saved model reopens without
pickled estimators and a query process never imports scikit-learn.
"""

from __future__ import annotations

import contextlib
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from .analyzer import Analyzer, build_analyzer, stop_words_for, unspaced_language
from .errors import NotFittedError, ParameterError
from .house_terms import find_formulae, find_source_terms
from .index import unit_rows
from .term_counts import find_sorted, merge_term_stats, stack_counts, to_vocabulary


def make_vectorizer(
    *,
    min_df=2,
    max_df=0.5,
    max_features=None,
    ngram_max: int = 2,
    extra_stop_words=(),
    keep_words=(),
    weighting: str = "tfidf",
    learn_clutter: bool = True,
    languages: Iterable[str] = ("en",),
) -> Vectorizer:
    """The unfitted analyser and vectoriser that ``TopicModel.fit`` uses for these parameters (see
    :class:`topics.TopicModel`): the stop words of ``languages`` (:func:`stop_words_for`; English: its own
    and news stop words) plus ``extra_stop_words``, less ``keep_words`` (compared in lower case), which the
    learned clutter never removes either. With ``learn_clutter`` the
    vectoriser learns house formulae while fitting; repeated spans are learned by the caller
    (``vectorizer.analyzer.learn_spans(texts)``), from the texts it chooses.
    """
    keep = {w.lower() for w in keep_words}
    stop_words = (stop_words_for(languages) | {w.lower() for w in extra_stop_words}) - keep
    analyzer = build_analyzer((), stop_words=stop_words, ngram_max=ngram_max, segment=unspaced_language(languages))
    return Vectorizer(
        analyzer,
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        weighting=weighting,
        learn_formulae=learn_clutter,
        keep_words=keep,
    )


class Vectorizer:
    """TF-IDF over an :class:`Analyzer`, with fitted state kept as plain arrays.

    Parameters
    ----------
    analyzer : Analyzer
    min_df : int or float, default=2
        Drop terms in fewer articles than this (a float is a share of the articles).
    max_df : float or int, default=0.5
        Drop terms in more articles than this (a float is a share of the articles).
    max_features : int or None, default=None
        Keep only this many terms, the most frequent across the corpus.
    weighting : {"tfidf", "log-entropy"}, default="tfidf"
        The global weight of a term: smoothed idf, ``log((1 + n) / (1 + df)) + 1``, or the log-entropy
        weight ``1 + sum_d p_td log p_td / log n`` with ``p_td = tf_td / sum_d tf_td`` (1 for a term
        concentrated in one article, 0 for one spread evenly over all). Either way the local weight is
        ``1 + log tf`` and rows have unit length; the global weight is kept in ``idf_``, so applying a
        fitted vectorizer does not depend on which one was chosen.

    learn_formulae : bool, default=False
        Drop the archive's house formulae (:func:`find_formulae`): terms that many articles use, about as
        often as their length predicts, whatever they are about.
    keep_words : iterable of str, default=()
        Terms never dropped as formulae.

    Attributes
    ----------
    vocabulary_ : ndarray of bytes, shape (V,)
        UTF-8 terms in sorted order; a term's column is its position.
    idf_ : ndarray of float32, shape (V,)
        The global term weights (idf or entropy weights, see ``weighting``).
    formulae_ : dict of str to int
        The terms dropped as house formulae, with the number of articles that use each.
    source_terms_ : dict of str to str
        The terms dropped as one source's house terms (:func:`find_source_terms`), with the source.
    n_repaired_ : int
        Articles whose text :func:`topics.clean.repair_text` mended.
    """

    WEIGHTINGS = ("tfidf", "log-entropy")

    def __init__(
        self,
        analyzer: Analyzer,
        *,
        min_df=2,
        max_df=0.5,
        max_features=None,
        weighting="tfidf",
        learn_formulae: bool = False,
        keep_words: Iterable[str] = (),
    ):
        self.analyzer = analyzer
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.weighting = weighting
        self.learn_formulae = learn_formulae
        self.keep_words = frozenset(keep_words)

    # -- fitting ------------------------------------------------------------------------------------
    def fit_transform(self, texts: Iterable[str], *, chunk_size: int = 5000, n_jobs: int | None = 1) -> sp.csr_matrix:
        """Learn the vocabulary and idf from ``texts`` and return their TF-IDF matrix X.

        ``texts`` is read as a stream in chunks of ``chunk_size``; see :meth:`fit_transform_chunks`.
        """
        return self.fit_transform_chunks(_chunked(texts, chunk_size), n_jobs=n_jobs)

    def fit_transform_chunks(
        self,
        chunks: Iterable[Sequence[str]],
        *,
        n_jobs: int | None = None,
        sources: Sequence | None = None,
        rare_words: bool = False,
    ):
        """Like :meth:`fit_transform`, over a stream of chunks of texts, analysed in parallel.

        Each chunk is counted by a worker (:func:`topics.parallel.map_chunks`) and dropped, so the raw
        text of the whole archive is never held: memory is bounded by the raw count matrix (the size
        of X) and the distinct-term list. Chunk counts are merged exactly, so the vocabulary, idf and
        X do not depend on the chunking or on ``n_jobs``.

        sources : sequence of str or None, one per text, read once the chunks are counted (so it may be a
            list filled while they stream). With ``learn_formulae``, terms that one source uses in all its
            stories (its name, credits, house style: :func:`find_source_terms`) are dropped too.
        rare_words : bool, default=False
            Also return the words the vocabulary leaves out for being rare (below ``min_df``, so mostly words
            of one article: the names and rare words that identify it, or beyond ``max_features``) and their
            counts, for search only (:class:`topics.state.SearchFields`): ``(X, words, counts)`` with
            ``words`` a sorted ndarray of bytes (R,) and ``counts`` a CSR matrix (n_articles, R) of float32
            raw counts. Phrases are left out, and so are words dropped as too common (above ``max_df``,
            kept in ``common_words_``) or as house formulae.
        """
        from functools import partial

        from .parallel import map_chunks

        if self.weighting not in self.WEIGHTINGS:
            raise ParameterError(
                f"weighting={self.weighting!r} is not allowed; use one of {', '.join(self.WEIGHTINGS)}"
            )
        results = map_chunks(partial(_count_chunk, self.analyzer), chunks, n_jobs=n_jobs)
        parts = [(counts, local_terms) for counts, local_terms, _, _ in results]
        lengths = np.concatenate([length for _, _, _, length in results]) if results else np.zeros(0)
        self.n_repaired_ = sum(repaired for _, _, repaired, _ in results)
        del results
        terms, df, totals, clogc = merge_term_stats(parts)
        n_docs = sum(p[0].shape[0] for p in parts)
        keep = self._select_terms(df, totals, n_docs)
        too_common = df > _as_count(self.max_df, n_docs, "max_df")
        is_word = np.char.find(terms, b" ") < 0 if terms.size else np.zeros(0, dtype=bool)
        self.common_words_ = sorted(t.decode("utf-8") for t in terms[too_common & is_word])
        rare = None
        if rare_words:
            left_out = np.ones(terms.size, dtype=bool)
            left_out[keep] = False
            rare = terms[left_out & is_word & ~too_common]
        self.formulae_ = {}
        if self.learn_formulae:
            formulae = find_formulae(parts, terms[keep], df[keep], totals[keep], lengths, keep_words=self.keep_words)
            self.formulae_ = {terms[keep[i]].decode("utf-8"): int(df[keep[i]]) for i in formulae}
            keep = np.delete(keep, formulae)
        self.source_terms_ = {}
        if self.learn_formulae and sources is not None:
            found = find_source_terms(parts, terms[keep], df[keep], sources, lengths, keep_words=self.keep_words)
            self.source_terms_ = {terms[keep[i]].decode("utf-8"): source for i, source in found.items()}
            keep = np.delete(keep, sorted(found))
        if keep.size == 0:
            frequent_enough = df >= _as_count(self.min_df, n_docs, "min_df")
            if frequent_enough.any() and (too_common | ~frequent_enough).all():
                raise ParameterError(
                    f"no terms are left: every term in at least min_df={self.min_df!r} of the {n_docs} articles is "
                    f"in more than max_df={self.max_df!r} of them; are the articles copies of one text? "
                    "(try a higher --max-df)"
                )
            raise ParameterError(
                f"no terms are left after min_df={self.min_df!r} and max_df={self.max_df!r} on {n_docs} articles; "
                "the articles may be too few, too short or all stop words (try a lower --min-df)"
            )
        keep.sort()  # terms are sorted, so the vocabulary stays sorted
        self.vocabulary_ = terms[keep]
        if self.weighting == "log-entropy":
            self.idf_ = _entropy_from_stats(totals[keep], clogc[keep], n_docs)
        else:
            self.idf_ = (np.log((1.0 + n_docs) / (1.0 + df[keep])) + 1.0).astype(np.float32)
        self.n_documents_ = n_docs
        self.first_unknown_share_ = _unknown_share_of_first(parts, self.vocabulary_, DRIFT_BASELINE_ARTICLES)
        if rare is not None:
            rare = rare, stack_counts(parts, rare)
        X = _stack_weighted(parts, self.vocabulary_, self.idf_)
        del parts, terms, df, totals, clogc
        _return_freed_memory()
        return X if rare is None else (X, *rare)

    def _select_terms(self, df: np.ndarray, totals: np.ndarray, n_docs: int) -> np.ndarray:
        """Positions of the kept terms, given each term's document frequency and total count."""
        min_df = _as_count(self.min_df, n_docs, "min_df")
        max_df = _as_count(self.max_df, n_docs, "max_df")
        keep = np.flatnonzero((df >= min_df) & (df <= max_df))
        if self.max_features is not None and keep.size > self.max_features:
            # Heaviest first; ties go to the earlier (sorted) term, so chunking never changes the choice.
            keep = keep[np.argsort(-totals[keep], kind="stable")[: self.max_features]]
        return keep

    # -- applying -----------------------------------------------------------------------------------
    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        """TF-IDF matrix of shape (n_texts, V) for new texts; unknown terms are ignored."""
        if not hasattr(self, "vocabulary_"):
            raise NotFittedError("this Vectorizer is not fitted yet")
        parts = [self._known_counts(chunk) for chunk in _chunked(texts, _TRANSFORM_CHUNK)]
        if not parts:
            parts = [sp.csr_matrix((0, len(self.vocabulary_)), dtype=np.float32)]
        return _weight(sp.vstack(parts, format="csr", dtype=np.float32), self.idf_)

    def transform_with_counts(self, texts: Sequence[str], terms: np.ndarray, *, new_words: bool = False):
        """:meth:`transform` of ``texts`` and their raw counts (float32 CSR, n_texts x len(terms)) of other
        ``terms`` (sorted bytes, such as the rare words of :meth:`fit_transform_chunks`), analysing each
        text once. With ``new_words``, also the words (not phrases) in neither list, sorted bytes (N,), and
        their counts (n_texts x N)."""
        analysed = [self.analyzer(text) for text in texts]
        known = _counts_of(analysed, self.vocabulary_)
        result = (_weight(known, self.idf_), _counts_of(analysed, terms))
        if not new_words:
            return result
        seen = np.unique(_encode([t for found in analysed for t in found if " " not in t]))
        new = seen[~(find_sorted(self.vocabulary_, seen)[1] | find_sorted(np.asarray(terms), seen)[1])]
        return (*result, new, _counts_of(analysed, new))

    def _known_counts(self, texts: list[str]) -> sp.csr_matrix:
        """Counts (n_texts, V), float32, of the vocabulary's terms in ``texts``: each text is analysed on its
        own, then every term of the chunk is looked up at once (a lookup per text cost more than the
        analysis for short texts such as titles and leads)."""
        return _counts_of([self.analyzer(text) for text in texts], self.vocabulary_)

    def terms(self, columns: Sequence[int]) -> list[str]:
        """The terms of the given columns, as text."""
        return [self.vocabulary_[c].decode("utf-8") for c in columns]


def _counts_of(analysed: list[list[str]], vocabulary: np.ndarray) -> sp.csr_matrix:
    """Counts (n_texts, len(vocabulary)), float32 CSR with sorted columns, of the terms of ``vocabulary``
    (sorted bytes) in analysed texts; every term of the texts is looked up at once."""
    lengths = np.fromiter((len(terms) for terms in analysed), dtype=np.int64, count=len(analysed))
    shape = (len(analysed), len(vocabulary))
    if lengths.sum() == 0:
        return sp.csr_matrix(shape, dtype=np.float32)
    encoded = _encode([term for terms in analysed for term in terms])
    rows = np.repeat(np.arange(len(analysed)), lengths)
    cols = np.searchsorted(vocabulary, encoded)
    known = cols < len(vocabulary)
    known[known] = vocabulary[cols[known]] == encoded[known]
    ones = np.ones(int(known.sum()), dtype=np.float32)
    counts = sp.csr_matrix(sp.coo_matrix((ones, (rows[known], cols[known])), shape=shape))
    counts.sum_duplicates()  # repeats of a term in a text become its count, with sorted columns
    return counts


_TRANSFORM_CHUNK = 10_000  # texts looked up at once by Vectorizer.transform: bounds the memory of one lookup


def _encode(terms: list[str]) -> np.ndarray:
    return np.array([t.encode("utf-8") for t in terms], dtype=bytes)


def _chunked(items: Iterable, size: int):
    """Lists of up to ``size`` consecutive items, produced lazily."""
    if not isinstance(size, int) or size < 1:
        raise ParameterError(f"chunk_size={size!r} is not allowed; use an integer >= 1")
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _count_terms(analyzer: Analyzer, texts: Iterable[str]) -> tuple[sp.csr_matrix, np.ndarray]:
    """Raw term counts of shape (n_texts, n_distinct_terms) and the terms (UTF-8 bytes) of its columns.

    Columns are in sorted term order. Counts are float32, indices int32.
    """
    if analyzer.phrases is None:  # the default: every word and every pair
        return _count_words_and_pairs(analyzer, texts)
    return _count_each_term(analyzer, texts)


def _count_each_term(analyzer: Analyzer, texts: Iterable[str]) -> tuple[sp.csr_matrix, np.ndarray]:
    """:func:`_count_terms` of any analyser, from the terms it returns for each text."""
    # Every term occurrence is looked up in C (a dict whose missing keys get the next column, as
    # scikit-learn's CountVectorizer does) and repeats are summed by scipy: 11% faster than a Counter
    # per text plus a Python loop over its distinct terms.
    ids: defaultdict[str, int] = defaultdict()
    ids.default_factory = ids.__len__
    column_of = ids.__getitem__
    columns = array("q")
    indptr = [0]
    for text in texts:
        columns.extend(map(column_of, analyzer(text)))
        indptr.append(len(columns))
    terms = _encode(list(ids)) if ids else np.zeros(0, dtype="S1")
    order = np.argsort(terms, kind="stable")
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    sorted_columns = rank[np.frombuffer(columns, dtype=np.int64)] if columns else np.zeros(0, dtype=np.int32)
    counts = sp.csr_matrix(
        (np.ones(sorted_columns.size, dtype=np.float32), sorted_columns, np.array(indptr, dtype=np.int64)),
        shape=(len(indptr) - 1, len(ids)),
    )
    counts.sum_duplicates()  # also sorts each row's columns
    return counts, terms[order]


class _WordIdsOfTokens(dict):
    """A chunk's cache from token (:meth:`Analyzer._split`) to the id of the word it gives (0: none), so a
    token seen before costs one dict lookup in C. A token that gives no word or several is not kept; it
    sets ``several`` and gets -1."""

    def __init__(self, terms_of_tokens: dict, word_ids: dict):
        super().__init__()
        self.terms_of_tokens = terms_of_tokens
        self.word_ids = word_ids
        self.several = False

    def __missing__(self, token: str) -> int:
        term = self.terms_of_tokens[token]
        if term is None:
            self.several = True
            return -1
        self[token] = word_id = self.word_ids[term]
        return word_id


def _count_words_and_pairs(analyzer: Analyzer, texts: Iterable[str]) -> tuple[sp.csr_matrix, np.ndarray]:
    """:func:`_count_terms` for an analyser without learned phrases, whose terms are the words of
    ``analyzer._tokens`` and (with ``ngram_max=2``) each pair of neighbouring words: the same counts and
    terms, but each word is looked up once and the pairs are found by numpy over the whole chunk's word
    ids, so no pair string is built or looked up per occurrence, only once per distinct pair.
    """
    word_ids: defaultdict[str, int] = defaultdict()
    word_ids.default_factory = word_ids.__len__
    word_ids[""]  # id 0: no word (a stop word, a clause end); pairs never span it
    id_of = word_ids.__getitem__
    id_of_token = _WordIdsOfTokens(analyzer._token_terms(), word_ids)
    ids = array("q")
    ends = [0]
    for text in texts:
        tokens = analyzer._split(text)
        id_of_token.several = False
        ids.extend(map(id_of_token.__getitem__, tokens))
        if id_of_token.several:  # rare: a token the word pattern cuts into no words or several
            del ids[ends[-1] :]
            ids.extend(map(id_of, analyzer._terms_of(tokens)))
        ids.append(0)  # no pair spans two texts
        ends.append(len(ids))
    tokens = np.frombuffer(ids, dtype=np.int64) if ids else np.zeros(0, dtype=np.int64)
    n_texts = len(ends) - 1
    row = np.repeat(np.arange(n_texts, dtype=np.int64), np.diff(ends))
    words = _encode(list(word_ids)[1:])
    is_word = tokens > 0
    rows, columns = [row[is_word]], [tokens[is_word] - 1]
    terms = [words]
    if analyzer.ngram_max == 2 and tokens.size:
        left, right = tokens[:-1], tokens[1:]
        is_pair = (left > 0) & (right > 0)
        codes, column = np.unique(left[is_pair] * len(word_ids) + right[is_pair], return_inverse=True)
        first, second = np.divmod(codes, len(word_ids))
        terms.append(np.strings.add(np.strings.add(words[first - 1], b" "), words[second - 1]))
        rows.append(row[:-1][is_pair])
        columns.append(column.ravel() + words.size)
    terms = np.concatenate(terms) if words.size else np.zeros(0, dtype="S1")
    if terms.size:  # as wide as the longest term, as _encode makes it
        terms = terms.astype(f"S{np.strings.str_len(terms).max()}")
    order = np.argsort(terms, kind="stable")
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    rows, columns = np.concatenate(rows), np.concatenate(columns)
    by_row = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_texts + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_texts), out=indptr[1:])
    counts = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), rank[columns[by_row]], indptr), shape=(n_texts, terms.size)
    )
    counts.sum_duplicates()  # also sorts each row's columns
    return counts, terms[order]


# A term is a source's house term when at least SOURCE_SHARE of the articles using it come from one source,
# it is in at least SOURCE_COVERAGE of that source's articles, and within the source it is spread as evenly
# as FORMULA_EVENNESS asks: an outlet's name, its credit line, its share buttons. A source's own subjects
# ("taoiseach" at an Irish broadcaster) cluster in some of its stories and stay. Only sources with
# SOURCE_MIN_ARTICLES articles count, and only when two or more sources have that many.


def _count_chunk(analyzer: Analyzer, texts: Sequence[str]):
    """One worker's share: counts of a chunk of texts (see :func:`_count_terms`), how many of them the
    analyser repaired, and each text's length in words (for :func:`find_formulae`)."""
    analyzer.repaired_count = 0
    counts, terms = _count_terms(analyzer, texts)
    words = np.char.find(terms, b" ") < 0 if terms.size else np.zeros(0, dtype=bool)
    lengths = np.asarray(counts @ words.astype(np.float32)).ravel() if terms.size else np.zeros(counts.shape[0])
    return counts, terms, analyzer.repaired_count, lengths.astype(np.float32)


def _return_freed_memory() -> None:
    """Hand the heap memory freed by the raw chunk counts back to the OS (glibc's ``malloc_trim``; a no-op
    elsewhere).

    The chunks arrive unpickled from the workers into the heap, and glibc keeps freed heap memory for
    reuse: a million-article fit held about 3 GB it no longer used through the rest of the fit, and
    peaked when the index's column copy of X was built on top of it.
    """
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _stack_weighted(parts: list, vocabulary: np.ndarray, idf: np.ndarray) -> sp.csr_matrix:
    """X: every chunk's counts re-indexed to ``vocabulary`` and weighted, stacked into one CSR matrix.

    X's arrays are allocated once at their final size and each raw chunk is freed as soon as it is
    copied in, so the peak is the raw chunks plus X, never two copies of X (as ``sp.vstack`` needs).
    """
    sizes = [int(find_sorted(vocabulary, terms)[1][counts.indices].sum()) for counts, terms in parts]
    n_rows = sum(counts.shape[0] for counts, _ in parts)
    data = np.empty(sum(sizes), dtype=np.float32)
    indices = np.empty(sum(sizes), dtype=np.int32)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    row = entry = 0
    for i, size in enumerate(sizes):
        block = _weight(to_vocabulary(*parts[i], vocabulary), idf)
        parts[i] = None  # free each raw chunk as soon as it is weighted
        data[entry : entry + size], indices[entry : entry + size] = block.data, block.indices
        indptr[row + 1 : row + 1 + block.shape[0]] = block.indptr[1:] + entry
        row, entry = row + block.shape[0], entry + size
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, vocabulary.size))


def _entropy_from_stats(totals: np.ndarray, clogc: np.ndarray, n_docs: int) -> np.ndarray:
    """Log-entropy global weights ``1 + sum_d p log p / log n`` in [0, 1] from per-term totals T and sums of c log c:
    sum_d p log p = (sum_d c log c) / T - log T with p = c / T."""
    if n_docs < 2:
        return np.ones(totals.size, dtype=np.float32)
    safe = np.where(totals > 0, totals, 1.0)
    plogp = clogc / safe - np.log(safe)
    return np.clip(1.0 + plogp / np.log(n_docs), 0.0, 1.0).astype(np.float32)


def _weight(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf times idf, rows scaled to unit L2 norm; float32."""
    x = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    np.log(x.data, out=x.data)
    x.data += 1.0
    x.data *= np.asarray(idf, dtype=np.float32)[x.indices]
    # The entries as scipy's x @ diag(idf) left them, which built the V x V diagonal for every text (most of
    # vectorising a one-line query): each row's entries in reverse order, zeros dropped. The order is kept
    # so that every sum over a row (its norm, its cosines) has the bits it had.
    lengths = np.diff(x.indptr)
    starts = np.repeat(x.indptr[:-1], lengths)
    reverse = 2 * starts + np.repeat(lengths, lengths) - 1 - np.arange(x.nnz, dtype=starts.dtype)
    x = sp.csr_matrix((x.data[reverse], x.indices[reverse], x.indptr), shape=x.shape)
    x.eliminate_zeros()
    return unit_rows(x)


def _as_count(value, n_docs: int, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name}={value!r} must be a number: an article count or a share between 0 and 1")
    if isinstance(value, (float, np.floating)):
        if not 0.0 <= value <= 1.0:
            raise ParameterError(f"{name}={value!r} as a share must be between 0.0 and 1.0")
        return value * n_docs
    if value < 1:
        raise ParameterError(f"{name}={value!r} as an article count must be at least 1")
    return value


# The fit's unknown-term share (the baseline `add` compares new articles with) is read off its first articles.
DRIFT_BASELINE_ARTICLES = 2000


def _unknown_share_of_first(parts, vocabulary: np.ndarray, n: int) -> float:
    """:func:`unknown_share` of the first ``n`` counted texts, from their raw counts (no second analysis)."""
    total = unknown = 0.0
    for counts, local_terms in parts:
        if n <= 0:
            break
        rows = counts[:n]
        known = find_sorted(vocabulary, local_terms)[1]
        total += float(rows.sum())
        unknown += float(rows.data[~known[rows.indices]].sum())
        n -= rows.shape[0]
    return round(unknown / total, 4) if total else 0.0


def unknown_share(vectorizer, texts: list[str], *, sample: int = 2_000) -> float:
    """Share of the terms the analyser finds in ``texts`` that are not in the vocabulary, in [0, 1].

    Estimated on at most ``sample`` evenly spaced texts (default=2,000); 0.0 for texts without terms.
    """
    step = max(1, len(texts) // sample)
    vocabulary, total, unknown = vectorizer.vocabulary_, 0, 0
    for text in texts[::step]:
        terms = _encode(vectorizer.analyzer(text))
        if terms.size == 0:
            continue
        cols = np.minimum(np.searchsorted(vocabulary, terms), len(vocabulary) - 1)
        total += terms.size
        unknown += int((vocabulary[cols] != terms).sum())
    return round(unknown / total, 4) if total else 0.0


def stub_rows(X, vocabulary: np.ndarray, min_words: int) -> np.ndarray:
    """Rows of X with fewer than ``min_words`` distinct known words (two-word terms not counted).

    X : csr_matrix of shape (n_articles, V); vocabulary : ndarray of UTF-8 bytes (V,). Returns the rows
    as a sorted int64 array.
    """
    if min_words <= 0:
        return np.zeros(0, dtype=np.int64)
    is_word = np.char.find(vocabulary, b" ") < 0
    indptr, indices = X.indptr, X.indices  # read only (a loaded model's arrays are memory-mapped)
    stubs = []
    for start in range(0, X.shape[0], _STUB_BLOCK_ROWS):  # blocks bound the temporary to a few MB
        bounds = indptr[start : start + _STUB_BLOCK_ROWS + 1]
        words = np.concatenate([[0], np.cumsum(is_word[indices[bounds[0] : bounds[-1]]], dtype=np.int64)])
        n_words = words[bounds[1:] - bounds[0]] - words[bounds[:-1] - bounds[0]]
        stubs.append(np.flatnonzero(n_words < min_words) + start)
    return np.concatenate(stubs) if stubs else np.zeros(0, dtype=np.int64)


_STUB_BLOCK_ROWS = 65536


def saved_stub_rows(fit_info: dict, min_words: int, n_articles: int) -> np.ndarray | None:
    """The stub rows a model file keeps (``fit_info["stubs"]``, written by fit and kept up by add) when they
    still hold: the same ``min_words``, every add since counted, rows within the archive; else None."""
    saved = fit_info.get("stubs")
    if not isinstance(saved, dict) or saved.get("min_words") != min_words:
        return None
    if saved.get("n_adds") != len(fit_info.get("adds", [])):
        return None
    rows = np.asarray(saved.get("rows", []), dtype=np.int64)
    return rows if rows.size == 0 or (rows.min() >= 0 and rows.max() < n_articles) else None


def stubs_record(min_words: int, n_adds: int, rows: np.ndarray) -> dict:
    """``fit_info["stubs"]``: the stub rows for ``min_words`` after ``n_adds`` adds."""
    return {"min_words": int(min_words), "n_adds": int(n_adds), "rows": np.asarray(rows, dtype=np.int64).tolist()}
