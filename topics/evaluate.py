"""How good the topics are: coherence (NPMI), diversity, reconstruction error and stability.

Symbols
-------
k : number of topics.  H : ndarray (k, V) topic-term weights.  W : ndarray (n_articles, k).
tokens : list of token lists, one per article, the *reference stream* co-occurrence is counted on.

**NPMI coherence** follows gensim's ``CoherenceModel(coherence="c_npmi")``, so figures compare with
published ones (OCTIS, the BERTopic paper): every article's token stream is cut into boolean sliding
windows of 10 tokens (an article shorter than the window is one window); p(w) is the share of windows
holding w, p(a, b) the share holding both, and for each pair of a topic's top-10 words
(:func:`coherence_words`: its most relevant terms, :func:`topics.topic_model.term_relevance`, with
phrases split into their words)

    NPMI(a, b) = log((p(a, b) + eps) / (p(a) p(b))) / -log(p(a, b) + eps),  eps = 1e-12

averaged over the pairs (the topic's NPMI) and over the topics (the model's). Two differences from
gensim, both deliberate: a word repeated inside a window is still counted as present when its first
copy slides out (gensim's incremental window forgets it, undercounting; on streams without repeats
inside a window the two agree exactly, which the tests check), and a two-word term ("prime minister")
is present in a window when its words stand next to each other there. A word that never occurs in the
reference stream gives its pairs the minimum, -1.

The reference stream is :func:`reference_tokens`: every lowercase word of two letters or more except
scikit-learn's English stop words, after Usenet headers, quoted replies and signatures are removed. That
is how the text behind published figures is prepared: OCTIS, used by the BERTopic paper, scores topics
against its preprocessed 20 Newsgroups corpus (headers, quotes and footers removed by scikit-learn, stop
words and words outside its vocabulary dropped), so a window of 10 tokens spans about 10 content words.
Only the stop words are dropped here, since a vocabulary would differ between the models compared. With
stop words left in, a window spans 5 or 6 content words (53-57% of the words of the shared corpora) and
NPMI is about half as high for every pipeline. The stream does not depend on the model's own analyser,
so models with different cleaning are compared on the same footing.

**Diversity** is the share of distinct terms among all topics' top-25 terms (1.0: no term repeats).
**Clutter** (:func:`topic_clutter`): clutter co-occurs perfectly, so NPMI rewards it (a share-button strip
scores better than any story). Each topic gets three signals: the share of its top words' occurrences
that stand inside lines the archive repeats verbatim (:class:`topics.clean.RepeatedSpans`, learned from
the texts), the share of its weight from its largest source, and the share of stubs among its top
articles. A topic past any limit (:data:`CLUTTER_LIMITS`) is flagged; ``npmi_clean`` averages NPMI with a
flagged topic counting at most 0, so clutter cannot raise it, and that is the NPMI ``tune`` chooses k by.
**Stability** matches topics of two fits one-to-one (Hungarian assignment on the cosine of H rows) and
averages the matched cosines (1.0: the same topics).

>>> import topics
>>> model = topics.fit("data/sample", n_topics=12)            # doctest: +SKIP
>>> model.evaluate("data/sample")["npmi"]                     # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .clean import RepeatedSpans, clean_news, repair_text
from .summary import topic_word_columns
from .text import stub_rows
from .topic_model import error_from_sums, error_sums, fit_topics, match_topics_by_cosine

WINDOW = 10
N_COHERENCE_WORDS = 10
N_DIVERSITY_WORDS = 25
EPSILON = 1e-12
_REFERENCE_WORD = re.compile(r"[^\W\d_]{2,}")


def reference_tokens(text: str) -> list[str]:
    """The reference stream of one text: its lowercase words of two letters or more, in order, without
    English stop words, after news and Usenet boilerplate is removed (:func:`topics.clean.clean_news`).
    Published 20 Newsgroups figures are computed on text prepared that way (OCTIS)."""
    return _reference_words(clean_news(text))


def _reference_words(cleaned: str) -> list[str]:
    """:func:`reference_tokens` of a text already cleaned."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return [w for w in _REFERENCE_WORD.findall(cleaned.lower()) if w not in ENGLISH_STOP_WORDS]


# -- NPMI ---------------------------------------------------------------------------------------------
@dataclass
class WindowCounts:
    """Boolean sliding-window counts of a set of terms over a token stream.

    terms : list of str, shape (R,).  occurrences : ndarray (R,).  co_occurrences : ndarray (R, R).
    n_windows : int.
    """

    terms: list
    occurrences: np.ndarray
    co_occurrences: np.ndarray
    n_windows: int


def count_windows(tokens, terms, *, window: int = WINDOW) -> WindowCounts:
    """Count, for each term and each pair of terms, the sliding windows of ``window`` tokens holding them.

    tokens : iterable of lists of str (one per article); terms : words or two-word phrases.
    """
    terms = list(dict.fromkeys(terms))
    index = {t: i for i, t in enumerate(terms)}
    words = {t for t in terms if " " not in t}
    phrases = {}
    for t in terms:
        if " " in t:
            first, _, second = t.partition(" ")
            phrases.setdefault(first, {})[second] = index[t]
    r = len(terms)
    occurrences = np.zeros(r, dtype=np.int64)
    co = np.zeros((r, r), dtype=np.int64)
    n_windows = 0
    for doc in tokens:
        n_doc_windows = max(1, len(doc) - window + 1)
        n_windows += n_doc_windows
        hits = []  # (term, position)
        for p, w in enumerate(doc):
            if w in words:
                hits.append((index[w], p, p))
            follow = phrases.get(w)
            if follow and p + 1 < len(doc) and doc[p + 1] in follow:
                hits.append((follow[doc[p + 1]], p, p + 1))
        if not hits:
            continue
        # Only the terms this article holds get a column: the work is per hit, not per counted term.
        cols = np.array(sorted({term for term, _, _ in hits}))
        local = {term: i for i, term in enumerate(cols.tolist())}
        present = _windows_holding([(local[t], s, e) for t, s, e in hits], n_doc_windows, window, len(cols))
        held = present.any(axis=0)
        cols, block = cols[held], present[:, held].astype(np.int64)
        occurrences[cols] += block.sum(axis=0)
        co[np.ix_(cols, cols)] += block.T @ block
    return WindowCounts(terms, occurrences, co, n_windows)


def _windows_holding(hits, n_windows: int, window: int, r: int) -> np.ndarray:
    """Boolean (n_windows, r): window j holds term t when some hit of t lies inside [j, j + window)."""
    delta = np.zeros((n_windows + 1, r), dtype=np.int32)
    for term, start, end in hits:
        first = max(0, end - window + 1)  # windows starting here or later reach the hit's last token
        last = min(start, n_windows - 1)  # windows starting after its first token miss it
        if first <= last:
            delta[first, term] += 1
            delta[last + 1, term] -= 1
    return np.cumsum(delta[:-1], axis=0) > 0


def npmi_matrix(counts: WindowCounts) -> np.ndarray:
    """NPMI of every pair of counted terms, gensim's formula: ndarray (R, R); -1 where a term is unseen."""
    n = float(counts.n_windows)
    p = counts.occurrences / n
    p_joint = counts.co_occurrences / n
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log((p_joint + EPSILON) / np.outer(p, p))
        result = pmi / -np.log(p_joint + EPSILON)
    result[~np.isfinite(result)] = -1.0
    return result


def coherence_words(terms, n: int = N_COHERENCE_WORDS) -> list[str]:
    """The first ``n`` distinct words of a topic's terms, in rank order, phrases split into their words.

    NPMI is a measure over words; splitting phrases treats a model with phrase terms ("asylum seekers")
    the same as one whose top terms are the two words ("asylum", "seekers") and changes nothing for a
    model without phrases.
    """
    words = dict.fromkeys(w for term in terms for w in term.split())
    return list(words)[:n]


def topic_npmi(top_words, tokens, *, window: int = WINDOW) -> np.ndarray:
    """NPMI coherence of each topic: ndarray (k,), mean NPMI over the pairs of its words.

    top_words : list of k lists of terms (the top 10 of each topic); tokens : reference token lists.
    """
    counts = count_windows(tokens, [w for words in top_words for w in words], window=window)
    matrix = npmi_matrix(counts)
    position = {t: i for i, t in enumerate(counts.terms)}
    scores = []
    for words in top_words:
        ids = [position[w] for w in dict.fromkeys(words)]
        pairs = [(a, b) for i, a in enumerate(ids) for b in ids[:i]]
        scores.append(float(np.mean([matrix[a, b] for a, b in pairs])) if pairs else 0.0)
    return np.array(scores)


# -- diversity and stability --------------------------------------------------------------------------
def topic_diversity(top_words) -> tuple[float, np.ndarray]:
    """Share of distinct words among all topics' top words, and per topic the share of its words no other
    topic lists: (float, ndarray (k,))."""
    all_words = [w for words in top_words for w in words]
    if not all_words:
        return 0.0, np.zeros(len(top_words))
    seen: dict[str, int] = {}
    for words in top_words:
        for w in set(words):
            seen[w] = seen.get(w, 0) + 1
    own = np.array([np.mean([seen[w] == 1 for w in words]) if words else 0.0 for words in top_words])
    return len(set(all_words)) / len(all_words), own


def topic_stability(H_a: np.ndarray, H_b: np.ndarray) -> tuple[float, np.ndarray]:
    """Match the topics of two fits one-to-one by cosine of their H rows (Hungarian assignment).

    H_a : (k, V), H_b : (k2, V) over the same vocabulary. Returns the mean matched cosine and, for each
    topic of H_a, the cosine of its match (0 when H_b has fewer topics): (float, ndarray (k,)).
    """
    rows, cols, similarity = match_topics_by_cosine(H_a, H_b)
    matched = np.zeros(similarity.shape[0])
    matched[rows] = similarity[rows, cols]
    return float(matched.mean()) if matched.size else 0.0, matched


def relative_error(X, W, H, *, block: int = 10_000) -> float:
    """||X - W H||_F / ||X||_F, computed without forming the dense product.

    ``||X - WH||² = ||X||² - 2 sum(X Hᵀ ∘ W) + sum(WᵀW ∘ HHᵀ)``, the first two over blocks of rows so a
    million-article X is never copied whole (:func:`topics.topic_model.error_sums`).
    """
    return error_from_sums(
        [error_sums(X[start : start + block], W[start : start + block], H) for start in range(0, X.shape[0], block)], H
    )


# -- all metrics of one fit ---------------------------------------------------------------------------
# A topic is clutter past any of these: share of its top words' occurrences inside repeated lines, share of
# its weight from one source (only with two sources or more), share of stubs among its top articles.
CLUTTER_LIMITS = {"span_share": 0.3, "source_share": 0.9, "stub_share": 0.5}
CLUTTER_TOP_ARTICLES = 20


def span_word_shares(texts) -> dict:
    """For each reference word of ``texts`` (:func:`reference_tokens`) found inside lines they repeat
    verbatim, the share of its occurrences that stand there."""
    spans = RepeatedSpans.from_archive(texts)
    if not spans:
        return {}
    total, kept = Counter(), Counter()
    for text in texts:
        cleaned = clean_news(repair_text(text))
        stripped = spans.strip(cleaned)
        if stripped is not cleaned:  # texts are cleaned once here, so the words are read without clean_news
            total.update(_reference_words(cleaned))
            kept.update(_reference_words(stripped))
    return {w: (n - kept[w]) / n for w, n in total.items() if n > kept[w]}


def topic_clutter(top_words, span_shares: dict, *, W=None, sources=None, stubs=None) -> list[dict]:
    """The clutter signals of each topic (see the module docstring) and whether it is flagged.

    top_words : k lists of terms; span_shares : :func:`span_word_shares` of the texts; W : ndarray
    (n_articles, k) or None; sources : each article's source or None; stubs : rows of stub articles.
    """
    from .summary import source_shares

    k = len(top_words)
    by_source = source_shares(W, sources) if W is not None and sources is not None else [[] for _ in range(k)]
    n_sources = len({s for s in sources if s is not None}) if sources is not None else 0
    stub_set = set(np.asarray(stubs).tolist()) if stubs is not None else set()
    result = []
    for t in range(k):
        words = coherence_words(top_words[t])
        signals = {
            "span_share": float(np.mean([span_shares.get(w, 0.0) for w in words])) if words else 0.0,
            "source_share": by_source[t][0][1] if by_source[t] and n_sources >= 2 else 0.0,
            "stub_share": 0.0,
        }
        if W is not None and stub_set:
            top = np.argsort(-W[:, t], kind="stable")[:CLUTTER_TOP_ARTICLES]
            top = top[W[top, t] > 0]
            signals["stub_share"] = float(np.mean([r in stub_set for r in top.tolist()])) if top.size else 0.0
        signals = {name: round(value, 6) for name, value in signals.items()}
        signals["clutter"] = any(signals[name] >= limit for name, limit in CLUTTER_LIMITS.items())
        result.append(signals)
    return result


def clean_npmi(npmi: np.ndarray, clutter: list[dict]) -> float:
    """Mean NPMI with each flagged topic counting at most 0: a score clutter cannot raise."""
    if npmi.size == 0:
        return 0.0
    flagged = np.array([c["clutter"] for c in clutter], dtype=bool)
    return float(np.where(flagged, np.minimum(npmi, 0.0), npmi).mean())


def evaluate_topics(
    top_words, tokens, *, X=None, W=None, H=None, H_other=None, span_shares=None, sources=None, stubs=None
) -> dict:
    """Every metric of one fit, overall and per topic, as plain data.

    top_words : list of k lists of at least 25 terms, in rank order; tokens : reference token lists;
    X, W, H : the fit's matrices (for the reconstruction error); H_other : H of a second fit (stability);
    span_shares, sources, stubs : for the clutter signals (:func:`topic_clutter`).
    """
    npmi = topic_npmi([coherence_words(w) for w in top_words], tokens)
    diversity, own = topic_diversity([w[:N_DIVERSITY_WORDS] for w in top_words])
    clutter = topic_clutter(top_words, span_shares or {}, W=W, sources=sources, stubs=stubs)
    n_clutter = sum(c["clutter"] for c in clutter)
    result = {
        "n_topics": len(top_words),
        "npmi": round(float(npmi.mean()), 6) if npmi.size else 0.0,
        "npmi_clean": round(clean_npmi(npmi, clutter), 6),
        "diversity": round(diversity, 6),
        "n_clutter": n_clutter,
        "clutter_rate": round(n_clutter / len(top_words), 6) if top_words else 0.0,
    }
    if X is not None:
        result["relative_error"] = round(relative_error(X, W, H), 6)
    matched = None
    if H_other is not None:
        stability, matched = topic_stability(H, H_other)
        result["stability"] = round(stability, 6)
    result["topics"] = [
        {
            "id": t,
            "words": coherence_words(top_words[t]),
            "npmi": round(float(npmi[t]), 6),
            "unique_words": round(float(own[t]), 6),
            **({"stability": round(float(matched[t]), 6)} if matched is not None else {}),
            **clutter[t],
        }
        for t in range(len(top_words))
    ]
    return result


def evaluate_model(model, texts, *, stability: bool = True, sample_share: float = 0.8) -> dict:
    """Every metric of a fitted :class:`~topics.TopicModel`, overall and per topic, as plain data.

    texts : the articles' texts (the reference stream for NPMI). Stability refits the model's
    TF-IDF matrix on a random ``sample_share`` of its articles (seed ``random_state + 1``) and matches
    the topics of that fit to the model's.
    """
    H, W, X = model.components_, np.asarray(model.doc_topics_), model.doc_terms_
    columns = topic_word_columns(model, N_DIVERSITY_WORDS)  # the words summaries show, in their order
    top_words = [model.vectorizer_.terms(row) for row in columns]
    tokens = [reference_tokens(t) for t in texts]
    H_other = (
        refit_on_sample(X, H.shape[0], seed=(model.random_state or 0) + 1, share=sample_share, max_iter=model.max_iter)
        if stability
        else None
    )
    # Stubs by the default rule even for models fitted without it (they may stand for a topic there).
    stubs = stub_rows(X, model.vectorizer_.vocabulary_, max(model.min_words, STUB_WORDS))
    return evaluate_topics(
        top_words,
        tokens,
        X=X,
        W=W,
        H=H,
        H_other=H_other,
        span_shares=span_word_shares(texts),
        sources=model.articles_.sources,
        stubs=stubs,
    )


STUB_WORDS = 3


def refit_on_sample(X, n_topics: int, *, seed: int, share: float = 0.8, max_iter: int = 400) -> np.ndarray:
    """H of shape (n_topics, V) fitted on a random ``share`` of the rows of X."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    rows = np.sort(rng.choice(n, size=max(n_topics, round(share * n)), replace=False))
    return fit_topics(X[rows], n_topics, random_state=seed, max_iter=max_iter)
