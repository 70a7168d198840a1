"""The NMF topic model: fitting, placing texts in topic space, and describing topics.

Symbols
-------
X : sparse (n_articles, V)  TF-IDF matrix from :mod:`topics.text`.
H : ndarray (k, V)           topic-term weights; row t is topic t ("components" in scikit-learn).
W : ndarray (n_articles, k)  article-topic weights, so that X ≈ W H with W, H ≥ 0.

H is learned by scikit-learn's :class:`~sklearn.decomposition.NMF` (coordinate descent, NNDSVDa start,
so the same data and ``random_state`` give the same topics). W for any text, stored article or new
query alike, is the non-negative least-squares solution of ``min ||x - w H||² , w ≥ 0`` found by
:func:`nmf_transform`, a numpy port of scikit-learn's coordinate-descent update: queries then never
import scikit-learn, and a stored article and the same text given as a query get the same W.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ParameterError
from .index import unit_rows

MAX_DEFAULT_TOPICS = 50
# Above this many articles, topics are learned on a seeded sample of this size (see fit_topics_on_sample).
LARGE_ARCHIVE_ARTICLES = 50_000
_TRANSFORM_BLOCK = 20_000
# Placing texts in topics (nmf_transform): sweeps at most, and the stopping tolerance.
TRANSFORM_MAX_ITER = 200
TRANSFORM_TOL = 1e-4
# Topics are learned over at most this many terms, those in the most articles (see fit_topics).
TOPIC_TERMS = 20_000
# Measured on the shared corpora (README, "Topic quality"): NNDSVD, L1/L2 penalties on H and the
# Kullback-Leibler loss gave no better NPMI or diversity than this plain fit.
NMF_SETTINGS = {"init": "nndsvda", "solver": "cd", "beta_loss": "frobenius"}


def default_n_topics(n_articles: int) -> int:
    """A number of topics that suits an archive of this size: sqrt(n / 2), between 2 and 50.

    About 13 for 350 articles, 22 for 1,000, 50 from 5,000 up.
    """
    return int(min(MAX_DEFAULT_TOPICS, max(2, round(math.sqrt(n_articles / 2)))))


def fit_topics(
    X, n_topics: int, *, random_state=0, max_iter: int = 400, tol: float = 1e-4, max_terms: int | None = TOPIC_TERMS
) -> np.ndarray:
    """Learn H, the topic-term matrix of shape (n_topics, V), float32, from the TF-IDF matrix X.

    Only the ``max_terms`` columns found in the most rows of X (ties: the lower column) take part;
    the others get zero weight in every topic. A topic's heavy terms are shared by many articles, so
    the long tail of rare terms (most of a large archive's vocabulary once two-word terms are in it)
    hardly changes the topics' top terms but dominates the cost of coordinate descent. Measured on a
    10,000-article synthetic archive (99,514 terms, 50 topics): 27 s with the 20,000 most common terms
    against 110 s with all of them, NPMI 0.184 against 0.175 (stop words kept in the NPMI reference
    then); at 100,000 articles the fit on the 50,000-article sample went from over 10 minutes to 25 s.
    """
    from sklearn.decomposition import NMF  # import cost only paid by fitting

    n_articles, n_terms = X.shape
    if n_topics > n_articles:
        raise ParameterError(f"n_topics={n_topics} is more than the {n_articles} articles; ask for fewer topics")
    if n_topics > n_terms:
        raise ParameterError(
            f"n_topics={n_topics} is more than the {n_terms} terms in the vocabulary; ask for fewer topics"
        )
    nmf = NMF(n_components=n_topics, max_iter=max_iter, tol=tol, random_state=random_state, **NMF_SETTINGS)
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    # float32 as X is stored: the same iterations and topics as float64 on the shared corpora and a
    # 100,000-article archive, 26% less time (32 against 43 s on a 50,000 x 20,000 sample, 50 topics).
    # scikit-learn's own reconstruction_err_ can then round to the square root of a tiny negative number;
    # it is not used (fit_info_ reports our relative_error), so that warning is silenced with the other.
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        # Not converging to 1e-4 within max_iter still gives usable topics; we report the error instead.
        warnings.simplefilter("ignore", ConvergenceWarning)
        columns = common_columns(X, max_terms)
        nmf.fit(X[:, columns].astype(np.float32) if columns is not None else X.astype(np.float32))
    if columns is None:
        return nmf.components_.astype(np.float32)
    H = np.zeros((n_topics, n_terms), dtype=np.float32)
    H[:, columns] = nmf.components_
    return H


def common_columns(X, max_terms: int | None) -> np.ndarray | None:
    """The sorted columns of the ``max_terms`` terms in the most rows of X, or None for all of them."""
    if max_terms is not None and (not isinstance(max_terms, int) or max_terms < 1):
        raise ParameterError(f"max_terms={max_terms!r} is not allowed; use an integer >= 1 or None")
    if max_terms is None or X.shape[1] <= max_terms:
        return None
    import scipy.sparse as sp

    df = np.bincount(sp.csr_matrix(X).indices, minlength=X.shape[1])
    return np.sort(np.argsort(-df, kind="stable")[:max_terms])


def nmf_transform(
    X,
    H: np.ndarray,
    *,
    max_iter: int = TRANSFORM_MAX_ITER,
    tol: float = TRANSFORM_TOL,
    XHt=None,
    gram=None,
    kernels=None,
) -> np.ndarray:
    """W of shape (n_texts, k), float32: each row solves ``min ||x - w H||²`` subject to ``w ≥ 0``.

    Coordinate descent over the k topics, all rows at once, starting from zero (as scikit-learn's
    ``NMF.transform``); a row stops changing once its projected-gradient norm falls below ``tol``
    times its first one, so a row's answer does not depend on which other rows share the batch.
    ``XHt``: X Hᵀ (n_texts, k) if already computed, the costly part for many texts; ``gram``: H Hᵀ (k, k)
    float64 when at hand (it depends on H alone, so a model keeps it); ``kernels``: :mod:`topics.kernels`, to
    place a single text with its compiled loop (:func:`topics.kernels.place_row`), or None.
    """
    if XHt is None:
        XHt, gram = _products(X, H, gram=gram)
    elif gram is None:
        H64 = np.asarray(H, dtype=np.float64)
        gram = H64 @ H64.T
    XHt = np.asarray(XHt, dtype=np.float64)
    if kernels is not None and XHt.shape[0] == 1:
        return kernels.place_row(np.ascontiguousarray(XHt[0]), np.ascontiguousarray(gram), max_iter, tol)[None, :]
    return _solve_w(XHt, gram, max_iter=max_iter, tol=tol)


def _products(X, H: np.ndarray, *, gram=None) -> tuple[np.ndarray, np.ndarray]:
    """X Hᵀ (n, k) and H Hᵀ (k, k) in float64: all that placing rows of X needs from X and H.

    A few texts (a query) use few of the V terms: then only those columns of H are read and widened to
    float64, not all of H, with the same sums in the same order.
    """
    import scipy.sparse as sp

    if gram is None:
        H64 = np.asarray(H, dtype=np.float64)
        gram = H64 @ H64.T
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        columns = np.unique(X.indices)
        if columns.size * 4 < H.shape[1]:
            used = sp.csr_matrix(
                (X.data, np.searchsorted(columns, X.indices), X.indptr), shape=(X.shape[0], columns.size)
            )
            return np.asarray(used @ np.asarray(H[:, columns], dtype=np.float64).T, dtype=np.float64), gram
    return np.asarray(X @ np.asarray(H, dtype=np.float64).T, dtype=np.float64), gram


def _solve_w(XHt: np.ndarray, HHt: np.ndarray, *, max_iter: int, tol: float) -> np.ndarray:
    """The coordinate descent of :func:`nmf_transform`, given X Hᵀ (n, k) and H Hᵀ (k, k)."""
    k = HHt.shape[0]
    W = np.zeros_like(XHt)
    active = np.ones(W.shape[0], dtype=bool)
    first = None
    for _ in range(max_iter):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        Wa, XHa = W[rows], XHt[rows]
        violation = np.zeros(rows.size)
        for t in range(k):
            grad = Wa @ HHt[:, t] - XHa[:, t]
            violation += np.abs(np.where(Wa[:, t] == 0, np.minimum(grad, 0.0), grad))
            if HHt[t, t] > 0:
                Wa[:, t] = np.maximum(Wa[:, t] - grad / HHt[t, t], 0.0)
        W[rows] = Wa
        if first is None:  # every row is active in the first sweep
            first = np.where(violation > 0, violation, np.inf)
        active[rows] = violation > tol * first[rows]
    return W.astype(np.float32)


# -- reconstruction error ----------------------------------------------------------------------------
def error_sums(X, W, H, *, XHt=None) -> tuple[float, float, np.ndarray]:
    """The row sums behind ``||X - WH||² = ||X||² - 2 sum(X Hᵀ ∘ W) + sum(WᵀW ∘ HHᵀ)``:
    (``||X||²``, ``sum(X Hᵀ ∘ W)``, ``WᵀW``) over the rows of X, so blocks of rows can be measured
    apart and added (:func:`error_from_sums`). ``XHt``: X Hᵀ if already computed."""
    if XHt is None:
        XHt = X @ np.asarray(H, dtype=np.float64).T
    W = np.asarray(W, dtype=np.float64)
    values = np.asarray(X.data, dtype=np.float64)
    return float(values @ values), float((np.asarray(XHt) * W).sum()), W.T @ W


def error_from_sums(sums, H) -> float:
    """``||X - W H||_F / ||X||_F`` from the :func:`error_sums` of X's blocks."""
    H = np.asarray(H, dtype=np.float64)
    norm_x = sum(s[0] for s in sums)
    cross = sum(s[1] for s in sums)
    gram_w = sum((s[2] for s in sums), np.zeros((H.shape[0], H.shape[0])))
    wh = float((gram_w * (H @ H.T)).sum())
    return float(np.sqrt(max(norm_x - 2 * cross + wh, 0.0) / norm_x)) if norm_x > 0 else 0.0


# -- large archives ----------------------------------------------------------------------------------
def fit_topics_on_sample(X, n_topics: int, *, sample_size: int, random_state=0, max_iter: int = 400) -> np.ndarray:
    """H of shape (n_topics, V), learned by :func:`fit_topics` on ``sample_size`` rows of X drawn
    without replacement with ``random_state``.

    Topics are corpus-wide patterns, so a random sample of tens of thousands of articles finds the
    same ones as the whole archive at a fraction of the cost; every article is then placed in them
    by :func:`place_articles`.
    """
    n = X.shape[0]
    if n <= sample_size:
        return fit_topics(X, n_topics, random_state=random_state, max_iter=max_iter)
    rows = np.sort(np.random.default_rng(random_state).choice(n, size=sample_size, replace=False))
    return fit_topics(X[rows], n_topics, random_state=random_state, max_iter=max_iter)


def place_articles(X, H: np.ndarray, *, n_jobs: int | None = None, block: int = _TRANSFORM_BLOCK):
    """W of shape (n_texts, k), float32: :func:`nmf_transform` over blocks of rows on ``n_jobs`` workers
    (each row's answer does not depend on its batch, so it equals ``nmf_transform(X, H)``), and the relative
    reconstruction error ``||X - WH|| / ||X||``.

    The error reuses each block's X Hᵀ, the costly product of both, so it comes nearly free: measured
    apart it took 19 s of a million-article fit.
    """
    from functools import partial

    from .parallel import map_chunks

    H32 = np.asarray(H, dtype=np.float32)
    blocks = (X[start : start + block] for start in range(0, X.shape[0], block))
    parts = map_chunks(partial(_place_block, H32), blocks, n_jobs=n_jobs)
    W = np.vstack([w for w, _ in parts]) if parts else np.zeros((0, H.shape[0]), dtype=np.float32)
    return W, error_from_sums([sums for _, sums in parts], H32)


def _place_block(H: np.ndarray, X_block):
    XHt, HHt = _products(X_block, H)
    W = _solve_w(XHt, HHt, max_iter=TRANSFORM_MAX_ITER, tol=TRANSFORM_TOL)
    return W, error_sums(X_block, W, H, XHt=XHt)


def match_topics_by_cosine(H_a, H_b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match the topics of two fits one-to-one by the cosine of their term rows (Hungarian assignment).

    H_a : (k_a, V), H_b : (k_b, V) over the same terms. Returns ``(rows, cols, cosines)``: topic
    ``rows[i]`` of H_a matches topic ``cols[i]`` of H_b, min(k_a, k_b) pairs with the highest total cosine,
    and ``cosines``, the float64 (k_a, k_b) matrix of all pairs.
    """
    from scipy.optimize import linear_sum_assignment

    cosines = unit_rows(H_a, dtype=np.float64) @ unit_rows(H_b, dtype=np.float64).T
    rows, cols = linear_sum_assignment(-cosines)
    return rows, cols, cosines


def top_terms(H: np.ndarray, n: int) -> np.ndarray:
    """Columns of the n heaviest terms of each topic, heaviest first: int array of shape (k, n)."""
    n = min(n, H.shape[1])
    part = np.argpartition(-H, n - 1, axis=1)[:, :n]
    rows = np.arange(H.shape[0])[:, None]
    order = np.lexsort((part, -H[rows, part]), axis=1)
    return part[rows, order]


# Topic words are ranked by relevance (Sievert & Shirley 2014, the ranking LDAvis shows):
# λ log p(w|t) + (1 - λ) log(p(w|t) / p(w)), which demotes words the whole archive uses ("australia",
# "south", "new") below words that say what the topic is about. λ = 1 is the heaviest terms of H.
# Measured at the default k against λ = 1 (README, "Topic quality"): λ = 0.8 raised NPMI by 0.010 to
# 0.015 on Lee news, Wikipedia and 3,757 held-out news articles (newsgroup posts -0.008) and diversity by
# up to 0.07 (0.86 to 0.93 on the held-out news). Over k = 4-25 it cost Wikipedia 0.005; 0.9 gained less
# diversity, 0.6 and 0.7 cost Wikipedia more at larger k.
RELEVANCE_LAMBDA = 0.8
# A topic's first HEAD_WORDS words (what a summary shows by default, the words NPMI judges) are its fitted
# word order (topics.word_pairs) or its most relevant terms at RELEVANCE_LAMBDA; the words after them are
# ranked at TAIL_LAMBDA, the value LDAvis's user study found best for telling what a topic is about
# (Sievert & Shirley 2014), so that words many topics share stop filling every topic's longer list
# (diversity of the top 25 words: benchmarks/RESULTS.md, "Clutter").
HEAD_WORDS = 10
TAIL_LAMBDA = 0.6


def term_relevance(
    H: np.ndarray, W: np.ndarray | None, lam: float = RELEVANCE_LAMBDA, *, topic_shares: np.ndarray | None = None
) -> np.ndarray:
    """Scores of shape (k, V), float32, ordering each topic's terms by relevance (highest first).

    p(w|t) is row t of H normalised; p(w) is the term's share of the model's reconstruction W H of the
    archive (W: the articles' topic weights, shape (n, k)). Within a row, relevance is
    ``log H_tw + (λ - 1) log p(w)`` plus a constant, so ``H_tw * p(w) ** (λ - 1)`` has the same order
    and needs no logarithm. A term no topic with articles uses (p(w) = 0) counts as the rarest term.
    topic_shares : W's column sums (or any multiple, such as the shares of :func:`topics.summary.topic_sizes`)
    when already computed; W is then not read (at a million articles each pass over it costs 0.1 s).
    """
    H = np.asarray(H, dtype=np.float32)
    if lam == 1:
        return H
    if topic_shares is None:  # summed in place: a float64 copy of W would be 400 MB at a million articles
        topic_shares = np.asarray(W).sum(axis=0, dtype=np.float64)
    return H * relevance_scale(H, topic_shares, lam).astype(np.float32)


def relevance_scale(H: np.ndarray, topic_shares: np.ndarray, lam: float = RELEVANCE_LAMBDA) -> np.ndarray:
    """``p(w) ** (λ - 1)``, float64 array (V,): the factor by which :func:`term_relevance` scales every
    topic's term weights, so that any term-weight vector (a group of topics, a topic in one period) can be
    ranked the same way. p(w) as in term_relevance; a term no topic uses gets the largest factor."""
    mass = np.asarray(topic_shares, dtype=np.float64) @ np.asarray(H, dtype=np.float64)
    p = mass / mass.sum() if mass.sum() > 0 else np.ones(H.shape[1])
    used = p > 0
    scale = np.empty_like(p)
    scale[used] = p[used] ** (lam - 1)
    scale[~used] = scale[used].max() if used.any() else 1.0
    return scale


def topic_terms(H: np.ndarray, W: np.ndarray, n: int) -> np.ndarray:
    """Columns of each topic's n most relevant terms (:func:`term_relevance`): int array of shape (k, n)."""
    return top_terms(term_relevance(H, W), n)


# A phrase stands for a word shown before it when at least this share of the articles using the word
# use the phrase: "bin laden" replaces "bin" (1.0), "al qaeda" replaces "al" (0.72), while "palestinian"
# stays beside "palestinian leader" (0.59) and "union" beside "energy union" (0.15). Shares from the Lee
# news sample's topics; the rule needs nothing but article counts.
PHRASE_ABSORBS = 0.7


def readable_terms(terms: list[str], n: int, article_counts=None, *, look_ahead_counts=None) -> list[int]:
    """Positions in ``terms`` (a topic's terms, in rank order) of up to n terms a reader needs, in order.

    Two-word terms sit in the vocabulary beside their words, so the raw top terms of a topic about a
    name repeat it two or three times. A term whose words are all shown already is left out (unless
    each of them is shown alone and it absorbs them all: "putin, vladimir, vladimir putin" reads "vladimir
    putin"), and a phrase replaces a word shown before it when the phrase is in at least ``PHRASE_ABSORBS``
    of the articles holding the word (``article_counts``: each term's number of articles; None: always):
    "bin, bin laden, laden, al, al qaeda" reads "bin laden, al qaeda". With ``look_ahead_counts`` (each
    term's number of articles), once n terms are chosen the next n may still put a phrase in the place of
    a word it absorbs by the article-count rule (for labels: "al" -> "al qaeda" when the phrase comes fourth).
    """
    chosen: list[int] = []
    covered: set[str] = set()
    full_at = 0  # the position after the n-th chosen term
    for position, term in enumerate(terms):
        words = set(term.split())
        if len(chosen) >= n:
            if look_ahead_counts is None or position >= full_at + n:
                break
            if len(words) > 1 and not words <= covered and _absorb_in_place(chosen, terms, position, look_ahead_counts):
                covered |= words
            elif len(words) > 1 and words <= covered:
                chosen = _join_shown_words(chosen, terms, position, look_ahead_counts)
            continue
        if words <= covered:
            if len(words) > 1:
                chosen = _join_shown_words(chosen, terms, position, article_counts)
            continue
        if len(words) > 1:
            chosen = [
                c
                for c in chosen
                if not (
                    terms[c] in words
                    and (article_counts is None or article_counts[position] >= PHRASE_ABSORBS * article_counts[c])
                )
            ]
        chosen.append(position)
        covered |= words
        if len(chosen) == n:
            full_at = position + 1
    return chosen


def shown_alone(chosen: list[int], terms, position: int, article_counts) -> list[int]:
    """Indices into ``chosen`` of the words of phrase ``terms[position]`` when every one of its words is
    chosen on its own and the phrase absorbs each by the count rule of :func:`readable_terms` (None: always),
    else []: "putin", "vladimir" then "vladimir putin" reads "vladimir putin"."""
    words = terms[position].split()
    at = [i for i, c in enumerate(chosen) if terms[c] in words]
    if len(at) != len(set(words)):
        return []
    if article_counts is not None and any(
        article_counts[position] < PHRASE_ABSORBS * article_counts[chosen[i]] for i in at
    ):
        return []
    return at


def _join_shown_words(chosen: list[int], terms, position: int, article_counts) -> list[int]:
    """``chosen`` with phrase ``terms[position]`` in the place of its words (:func:`shown_alone`), if it may."""
    at = shown_alone(chosen, terms, position, article_counts)
    if not at:
        return chosen
    joined = list(chosen)
    joined[at[0]] = position
    return [c for i, c in enumerate(joined) if i not in at[1:]]


def _absorb_in_place(chosen: list[int], terms, position: int, article_counts) -> bool:
    """Put phrase ``terms[position]`` in the place of the first chosen word it absorbs (see readable_terms);
    False when it absorbs none."""
    words = terms[position].split()
    for i, c in enumerate(chosen):
        if terms[c] in words and article_counts[position] >= PHRASE_ABSORBS * article_counts[c]:
            chosen[i] = position
            return True
    return False


def label_from_terms(terms: list[str], n_parts: int = 3, article_counts=None) -> str:
    """A short topic label: the first terms whose words are not already in the label.

    Phrases win over their own words ("prime minister" makes "prime" and "minister" redundant): among
    a topic's first few terms a phrase and its words nearly always name one thing. With ``article_counts``
    (each term's number of articles), a phrase among the next ``n_parts`` terms may still take the place
    of a word it absorbs by the count rule of :func:`readable_terms` ("iraq / russia / united states").
    """
    return " / ".join(terms[i] for i in readable_terms(terms, n_parts, look_ahead_counts=article_counts))
