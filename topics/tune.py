"""Choosing the number of topics k: fit a range of k, measure each fit, pick one by a stated rule.

For each k the TF-IDF matrix X (of shape (n_articles, V)) is factorised as X ≈ W H and measured with
:mod:`topics.evaluate`: NPMI coherence of the 10 most relevant terms, diversity of the top 25, the relative
reconstruction error and, optionally, stability against a fit on 80% of the articles. The fits run in
parallel through :func:`topics.parallel.map_chunks`; archives of more than ``max_articles`` are tuned
on a random sample of that many articles (the vocabulary still comes from the whole archive).

**The rule** (:func:`choose_k`): among the k whose diversity is at least 0.85 (topics that do not
repeat each other's words), take the k with the highest NPMI; a larger k must beat a smaller one by
more than 0.01 NPMI, the noise between neighbouring fits, so ties go to fewer, broader topics. The NPMI
is ``npmi_clean`` (:func:`topics.evaluate.clean_npmi`): a topic made of lines the archive repeats counts
at most 0, since clutter co-occurs perfectly and would otherwise steer the choice toward it.
``topics fit --topics auto`` and ``TopicModel(n_topics="auto")`` apply the same rule over
:func:`auto_range`.
"""

from __future__ import annotations

import functools

import numpy as np

from .errors import ParameterError
from .evaluate import N_DIVERSITY_WORDS, evaluate_topics, reference_tokens, refit_on_sample, span_word_shares
from .topic_model import fit_topics, nmf_transform, topic_terms

MIN_DIVERSITY = 0.85
NPMI_MARGIN = 0.01
MAX_TUNE_ARTICLES = 3000


def parse_k_range(spec: str) -> list[int]:
    """``"5:80:5"`` (start:stop:step, stop included), ``"5:20"`` (step 1) or ``"5,10,20"`` as a list of k."""
    try:
        if ":" in spec:
            parts = [int(p) for p in spec.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            start, stop, step = [*parts, 1][:3]
            values = list(range(start, stop + 1, step)) if step > 0 else []
        else:
            values = [int(p) for p in spec.split(",") if p.strip()]
    except ValueError:
        raise ParameterError(
            f"topics={spec!r} is not a range; use START:STOP:STEP such as 5:80:5, or 5,10,20"
        ) from None
    if not values or min(values) < 2:
        raise ParameterError(f"topics={spec!r} gives no number of topics >= 2; use START:STOP:STEP such as 5:80:5")
    return sorted(set(values))


def auto_range(n_articles: int) -> list[int]:
    """The k tried by ``n_topics="auto"``: about 8 values spread geometrically from 3 to min(50, n/8)."""
    upper = int(min(50, max(4, n_articles // 8)))
    return sorted({int(k) for k in np.rint(np.geomspace(3, upper, 8))})


def choose_k(rows: list[dict]) -> tuple[int, str]:
    """The chosen k and why, from rows with "k", "npmi" (or "npmi_clean", preferred) and "diversity" (see
    the module docstring)."""
    rows = sorted(rows, key=lambda r: r["k"])
    diverse = [r for r in rows if r["diversity"] >= MIN_DIVERSITY]
    pool = diverse or rows

    def score(row):
        return row.get("npmi_clean", row["npmi"])

    best = pool[0]
    for row in pool[1:]:
        if score(row) > score(best) + NPMI_MARGIN:
            best = row
    clutter = "; topics of repeated lines count at most 0" if "npmi_clean" in best else ""
    why = (
        f"highest NPMI ({score(best):.3f}{clutter})"
        + (f" among k with diversity >= {MIN_DIVERSITY}" if diverse else f"; no k reached diversity {MIN_DIVERSITY}")
        + f"; a larger k must gain > {NPMI_MARGIN} NPMI"
    )
    return best["k"], why


def tune_topics(
    X,
    vocabulary,
    texts,
    k_values,
    *,
    random_state=0,
    max_iter: int = 400,
    stability: bool = False,
    n_jobs=None,
    max_articles: int = MAX_TUNE_ARTICLES,
) -> dict:
    """Fit and measure every k in ``k_values`` and choose one.

    X : csr_matrix (n_articles, V); vocabulary : ndarray of UTF-8 bytes (V,); texts : the articles' texts,
    the reference for NPMI (:func:`topics.evaluate.reference_tokens`). Returns
    ``{"rows": [{"k", "npmi", "diversity", "relative_error"[, "stability"]}, ...], "chosen": k,
    "reason": str, "n_articles": int}``.
    """
    from .parallel import map_chunks

    k_values = sorted(set(k_values))
    rows = np.arange(X.shape[0])
    if rows.size > max_articles:
        rows = np.sort(np.random.default_rng(random_state).choice(rows.size, size=max_articles, replace=False))
        X = X[rows]
    tokens = [reference_tokens(texts[r]) for r in rows]
    span_shares = span_word_shares([texts[r] for r in rows])
    too_many = [k for k in k_values if k > X.shape[0] or k > X.shape[1]]
    if too_many:
        raise ParameterError(
            f"topics={too_many[0]} is more than the {X.shape[0]} articles or {X.shape[1]} terms; ask for fewer topics"
        )
    work = functools.partial(
        _measure_k,
        X=X,
        vocabulary=vocabulary,
        tokens=tokens,
        random_state=random_state,
        max_iter=max_iter,
        stability=stability,
        span_shares=span_shares,
    )
    rows = map_chunks(work, k_values, n_jobs=n_jobs)
    chosen, reason = choose_k(rows)
    return {"rows": rows, "chosen": chosen, "reason": reason, "n_articles": int(X.shape[0])}


def tune_texts(
    texts,
    k_values=None,
    *,
    min_df=2,
    max_df=0.5,
    ngram_max=2,
    extra_stop_words=(),
    random_state=0,
    max_iter: int = 400,
    stability: bool = False,
    n_jobs=None,
) -> dict:
    """:func:`tune_topics` on raw texts, vectorised as ``TopicModel.fit`` does with the same parameters.

    k_values : list of int or None (None: :func:`auto_range` of the number of texts).
    """
    X, vocabulary = vectorise(
        texts, min_df=min_df, max_df=max_df, ngram_max=ngram_max, extra_stop_words=extra_stop_words
    )
    return tune_topics(
        X,
        vocabulary,
        texts,
        k_values or auto_range(len(texts)),
        random_state=random_state,
        max_iter=max_iter,
        stability=stability,
        n_jobs=n_jobs,
    )


def vectorise(texts, *, min_df=2, max_df=0.5, ngram_max=2, extra_stop_words=()):
    """The TF-IDF matrix (n_texts, V) and vocabulary (V,) that ``TopicModel.fit`` learns from ``texts``."""
    from .language import archive_languages
    from .text import make_vectorizer

    _, languages = archive_languages(texts)  # the stop words of the languages TopicModel.fit detects
    vectorizer = make_vectorizer(
        min_df=min_df, max_df=max_df, ngram_max=ngram_max, extra_stop_words=extra_stop_words, languages=languages
    )
    vectorizer.analyzer.learn_spans(texts)  # the clutter TopicModel.fit learns
    return vectorizer.fit_transform(texts), vectorizer.vocabulary_


def _measure_k(k: int, *, X, vocabulary, tokens, random_state, max_iter, stability, span_shares=None) -> dict:
    H = fit_topics(X, k, random_state=random_state, max_iter=max_iter)
    W = nmf_transform(X, H)
    top_words = [[vocabulary[c].decode("utf-8") for c in row] for row in topic_terms(H, W, N_DIVERSITY_WORDS)]
    H_other = refit_on_sample(X, k, seed=(random_state or 0) + 1, max_iter=max_iter) if stability else None
    scores = evaluate_topics(top_words, tokens, X=X, W=W, H=H, H_other=H_other, span_shares=span_shares)
    scores.pop("topics")
    scores["k"] = scores.pop("n_topics")
    return scores
