"""How well a hit matches its query: ``strong``, ``weak`` or ``none``, against the archive's own scores.

A score (see :mod:`topics.index`) says how close two texts are, but not whether that is close: 0.24 may
be the best an archive has for a story it never covered, or a fair match in an archive of short, varied
articles. So fitting calibrates the score on the archive itself. A seeded sample of up to
``CALIBRATION_ARTICLES`` stored articles (stubs left out) is asked twice, and the best score of another
article is kept each time:

- as stored articles (a query by id, search share 0): how close an article's nearest neighbour is;
- as short texts, each article's title, or the first ``PSEUDO_QUERY_WORDS`` words of its lead when it has
  none (search share about 1): how well a few words about a story the archive holds match it.

The percentiles 0, 5, ..., 100 of each list are kept in the model (``fit_info["match_calibration"]``).
A hit of a query with search share s is then

- ``strong`` when its score reaches the median (percentile ``STRONG_PERCENTILE``): as close as an
  archive article typically is to its nearest neighbour;
- ``weak`` when it reaches percentile ``WEAK_PERCENTILE``;
- ``none`` below that: the archive holds nothing this close.

Each threshold is ``(1 - s) * stored + s * text``, blended as the score itself is, so the levels mean the
same for a query by id, a pasted article and a few typed words. ``benchmarks/search.py`` measures the
levels of known items and of queries from other archives.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError
from .index import batch_scores

CALIBRATION_ARTICLES = 200
PSEUDO_QUERY_WORDS = 8
PERCENTILES = tuple(range(0, 101, 5))
STRONG_PERCENTILE = 50
WEAK_PERCENTILE = 10
LEVELS = ("none", "weak", "strong")
_SEED = 0


def calibrate(index, vectorizer, components, articles, stubs, words=None) -> dict:
    """``{"stored": [...], "text": [...]}``: the percentiles PERCENTILES of the best score of another
    article, for sampled stored articles asked by id and by a few words of their title or lead.

    words : callable(text, n_known) -> (rare, unknown, forms), or None
        What to count of a text beside its vocabulary terms, as :func:`topics.index.batch_scores` takes it
        (the B columns of its rare words, its number of unknown words, the B columns of each word form;
        :meth:`topics.TopicModel._calibration_words`); None: its vocabulary terms only.
    """
    from .topic_model import nmf_transform

    candidates = np.setdiff1d(np.arange(index.n_articles), stubs)
    if candidates.size < 2:
        return {}
    rng = np.random.default_rng(_SEED)
    rows = np.sort(rng.choice(candidates, size=min(CALIBRATION_ARTICLES, candidates.size), replace=False))
    doc_terms, doc_topics = index.doc_terms, np.asarray(index.topic_units)
    texts = [_pseudo_query(articles, r) for r in rows]
    text_terms = vectorizer.transform(texts)
    asked = np.diff(text_terms.indptr) > 0
    best = {"stored": [], "text": []}
    for start in range(0, rows.size, 64):
        block = rows[start : start + 64]
        stored = batch_scores(index, doc_terms[block], doc_topics[block], np.ones(block.size, dtype=bool))
        best["stored"].extend(_best_other(stored, block, stubs))
        keep = block[asked[start : start + 64]]
        if keep.size:
            terms = text_terms[start : start + 64][asked[start : start + 64]]
            extra = {}
            if words is not None:
                texts_asked = [
                    t for t, ok in zip(texts[start : start + 64], asked[start : start + 64], strict=True) if ok
                ]
                found = [words(t, n) for t, n in zip(texts_asked, np.diff(terms.indptr).tolist(), strict=True)]
                rare, unknown, forms = (list(part) for part in zip(*found, strict=True))
                extra = {"rare": rare, "unknown": np.array(unknown, dtype=np.float64), "forms": forms}
            scores = batch_scores(index, terms, nmf_transform(terms, components), **extra)
            best["text"].extend(_best_other(scores, keep, stubs))
    if not best["text"]:
        best["text"] = best["stored"]
    return {kind: [round(float(v), 6) for v in np.percentile(values, PERCENTILES)] for kind, values in best.items()}


def _pseudo_query(articles, row: int) -> str:
    title = articles.titles[row]
    if title and title.strip():
        return title
    return " ".join((articles.snippets[row] or "").split()[:PSEUDO_QUERY_WORDS])


def _best_other(scores: np.ndarray, rows: np.ndarray, stubs: np.ndarray) -> list:
    scores = np.array(scores, dtype=np.float64)
    scores[:, stubs] = -np.inf
    scores[np.arange(rows.size), rows] = -np.inf
    return scores.max(axis=1).tolist()


def is_calibration(value) -> bool:
    """Whether a stored calibration can be used (a file from elsewhere may hold anything)."""
    return (
        isinstance(value, dict)
        and all(
            isinstance(value.get(kind), list) and len(value[kind]) == len(PERCENTILES) for kind in ("stored", "text")
        )
        and all(isinstance(v, (int, float)) and np.isfinite(v) for kind in ("stored", "text") for v in value[kind])
    )


def thresholds(calibration: dict, share: float) -> tuple[float, float]:
    """(weak, strong) score thresholds for a query of search share ``share``."""
    at = {p: i for i, p in enumerate(PERCENTILES)}

    def blended(percentile):
        i = at[percentile]
        return (1.0 - share) * calibration["stored"][i] + share * calibration["text"][i]

    return blended(WEAK_PERCENTILE), blended(STRONG_PERCENTILE)


def level(score: float, bounds: tuple[float, float]) -> str:
    """``strong``, ``weak`` or ``none`` for a score given the (weak, strong) thresholds."""
    weak, strong = bounds
    return "strong" if score >= strong - 1e-9 else "weak" if score >= weak - 1e-9 else "none"


def best_level(hits) -> str:
    """The best match level among hits (objects with ``match``), "none" when there are none."""
    return max((h.match or "none" for h in hits), key=LEVELS.index, default="none")


def check_min_match(value) -> str | None:
    """``min_match`` validated: None, "none", "weak" or "strong"."""
    if value is None or value in LEVELS:
        return value
    raise ParameterError(f"min_match={value!r} is not allowed; use one of {', '.join(LEVELS)}")
