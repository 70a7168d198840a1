"""Growing a fitted model: adding articles without a refit, measuring drift, and refitting.

Symbols as in :mod:`topics.model`: X (n_articles, V) TF-IDF rows, H (k, V) topic-term weights,
W (n_articles, k) article-topic weights.

Adding keeps the vocabulary, the idf and H fixed. New articles are vectorised with them, placed in the
existing topic space by non-negative least squares (:func:`topics.topic_model.nmf_transform`, the same
solver that placed the fitted articles), and appended to X, its postings, W and the article table, so
they are found by ``similar`` and counted by summaries and trends at once. The cost is that of
vectorising and placing the new articles plus copying the arrays, not of a refit.

Drift says how well the fixed topics explain a batch:

- ``error_ratio``: the batch's relative reconstruction error ||X - W H|| / ||X|| over the fitted
  archive's; above :data:`REFIT_ERROR_RATIO` the batch is about something the topics do not cover.
- ``unknown_share``: share of the batch's terms (words and phrases the analyser finds) that are not in
  the vocabulary. Words too rare to enter the vocabulary count too, so it is never near 0 for news:
  it is compared with the same share in the fitted archive (``fitted_unknown_share``, recorded by
  ``fit``); more than :data:`REFIT_UNKNOWN_RATIO` times that means new vocabulary (new stories).
- ``topic_shares``: the batch's share of topic weight per topic, and ``topic_shift``, half the L1
  distance between those shares and the archive's (0 = same mix, 1 = disjoint).

Paths given to :func:`add_articles` and :func:`refit` are read as the fitted archive was (the
``read_corpus`` options the model keeps in ``fit_info_["reading"]``: format, field names,
skip_bad_lines), so a model fitted with ``id_field="url"`` keeps its ids when it grows or is refitted.

Example
-------
>>> import topics
>>> model = topics.load("models/default.joblib")                   # doctest: +SKIP
>>> report = model.add("news/2025-11-01.jsonl")                     # doctest: +SKIP
>>> report.error_ratio, report.refit_advised                         # doctest: +SKIP
>>> model.save("models/default.joblib", force=True)                 # doctest: +SKIP
"""

from __future__ import annotations

import copy
import datetime
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from functools import partial

import numpy as np
import scipy.sparse as sp

from .corpus import READING_OPTIONS, Corpus, read_corpus
from .errors import ParameterError
from .evaluate import relative_error
from .index import SimilarityIndex, unit_rows
from .model import TopicModel, _as_articles, _check_unique_ids, _source_of, stub_rows
from .parallel import map_chunks, row_chunks
from .table import ArticleTable, make_snippet
from .text import unknown_share
from .topic_model import nmf_transform

logger = logging.getLogger(__name__)

REFIT_ERROR_RATIO = 1.25   # batch error / fitted error above which a refit is advised
REFIT_GROWTH = 1.0         # articles added since the fit / articles fitted, above which a refit is advised
MIN_TOPIC_MATCH = 0.5      # cosine of topic-term rows above which a refitted topic keeps an old name
REFIT_UNKNOWN_RATIO = 1.5  # batch unknown_share / the fitted archive's, above which a refit is advised
# A batch is another kind of text than the archive above this unknown-term ratio or with more stubs than
# this share (how they were chosen: docs/decisions.md, "Drift").
DOMAIN_UNKNOWN_RATIO = 1.7
DOMAIN_STUB_SHARE = 0.2


@dataclass(frozen=True)
class AddReport:
    """What one :func:`add_articles` did and how well the fixed topics explain the batch (see module doc)."""

    n_added: int
    n_replaced: int
    n_articles: int
    n_without_known_terms: int
    relative_error: float
    fitted_relative_error: float
    error_ratio: float
    unknown_share: float
    fitted_unknown_share: float | None
    topic_shift: float
    topic_shares: list
    refit_advised: bool
    reasons: list = field(default_factory=list)
    seconds: float = 0.0
    at: str = ""
    skipped: str = ""      # what reading the batch skipped or repaired (ReadStats.describe), '' when nothing
    another_domain: bool = False  # the batch reads like another kind of text than the archive
    n_stubs: int = 0       # added articles with too few known words to weigh in any topic

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RefitReport:
    """What :func:`refit` did: sizes before and after, and which old topics the new ones match."""

    n_articles_before: int
    n_articles: int
    n_missing: int
    matches: list          # [{"old": t, "new": u, "cosine": c, "name": kept name or None}]
    seconds: float
    skipped: str = ""      # what reading the archive skipped or repaired, '' when nothing

    def to_dict(self) -> dict:
        return asdict(self)


# -- adding ---------------------------------------------------------------------------------------------
def add_articles(model: TopicModel, corpus, *, replace: bool = False) -> tuple[TopicModel, AddReport]:
    """A new model with the articles of ``corpus`` appended, and the drift report of the batch.

    ``corpus`` is anything :func:`topics.fit` accepts. Ids already in the model are refused
    (ParameterError naming them) unless ``replace``, which drops the old rows first. ``model`` is not
    changed: every array of the new model is new, so a memory-mapped model stays valid.
    """
    model._check_fitted()
    if not isinstance(replace, bool):
        raise ParameterError(f"replace={replace!r} is not allowed; use True or False")
    started = time.perf_counter()
    source = _as_articles(read_as_fitted(model, corpus))
    articles = [a for a in source if a.text.strip()]
    if not articles:
        raise ParameterError("the corpus has no articles with text to add")
    _check_unique_ids(articles)
    table = model.articles_
    old_rows = [r for r in (table.row_of(a.id) for a in articles) if r is not None]
    if old_rows and not replace:
        shown = ", ".join(repr(table.ids[r]) for r in old_rows[:5])
        raise ParameterError(f"{len(old_rows)} of the {len(articles)} articles are already in the model "
                             f"({shown}{', ...' if len(old_rows) > 5 else ''}); "
                             "use --replace (replace=True) to replace them")

    texts = [a.text for a in articles]
    X_new, W_new = _vectorise_and_place(model, texts)
    new_table = ArticleTable.build([a.id for a in articles], [a.title for a in articles],
                                   [a.date for a in articles], [make_snippet(t) for t in texts],
                                   [_source_of(a, model.source_field) for a in articles])
    X_old, W_old = model.doc_terms_, np.asarray(model.doc_topics_)
    if old_rows:
        keep = np.setdiff1d(np.arange(len(table)), old_rows)
        X_old, W_old, table = X_old[keep], W_old[keep], table.take(keep)
    X = sp.vstack([X_old, X_new], format="csr", dtype=np.float32)
    W = np.vstack([W_old, W_new]).astype(np.float32, copy=False)

    grown = copy.copy(model)
    grown.doc_terms_, grown.doc_topics_ = X, W
    grown.articles_ = table.append(new_table)
    grown.topic_names_ = dict(model.topic_names_)
    grown.index_ = SimilarityIndex(X, W, model.topic_weight, postings=X.tocsc())
    report = _drift(model, X_new, W_new, W_old, texts, n_replaced=len(old_rows), n_articles=X.shape[0],
                    started=started, skipped=source.stats.describe() if isinstance(source, Corpus) else "")
    grown.fit_info_ = {**model.fit_info_, "adds": [*model.fit_info_.get("adds", []), report.to_dict()]}
    logger.info("added %d articles (%d replaced); error ratio %.2f", report.n_added, report.n_replaced,
                report.error_ratio)
    return grown, report


def _vectorise_and_place(model: TopicModel, texts: list[str]):
    """X (n, V) and W (n, k) of new texts, computed in chunks through :func:`map_chunks`."""
    chunks = [texts[start:stop] for start, stop in row_chunks(len(texts), min_rows=5_000)]
    parts = map_chunks(partial(_place_chunk, model.vectorizer_, np.asarray(model.components_)), chunks)
    return sp.vstack([x for x, _ in parts], format="csr"), np.vstack([w for _, w in parts])


def _place_chunk(vectorizer, H, texts):
    X = vectorizer.transform(texts)
    return X, nmf_transform(X, H)


def _drift(model, X_new, W_new, W_old, texts, *, n_replaced, n_articles, started, skipped="") -> AddReport:
    fitted_error = float(model.fit_info_.get("relative_error") or 0.0)
    error = round(relative_error(X_new, W_new, model.components_), 6)
    ratio = error / fitted_error if fitted_error > 0 else 1.0
    batch, archive = _shares(W_new), _shares(W_old)
    added_since_fit = sum(a["n_added"] for a in model.fit_info_.get("adds", [])) + len(texts)
    fitted = int(model.fit_info_.get("n_articles") or len(model.articles_))
    reasons = []
    if ratio > REFIT_ERROR_RATIO:
        reasons.append(f"the topics explain the new articles {ratio:.2f}x worse than the fitted archive "
                       f"(refit above {REFIT_ERROR_RATIO})")
    unknown, fitted_unknown = unknown_share(model.vectorizer_, texts), model.fit_info_.get("unknown_share")
    new_words = bool(fitted_unknown) and unknown > REFIT_UNKNOWN_RATIO * fitted_unknown
    if new_words:
        reasons.append(f"{unknown:.0%} of the new articles' terms are outside the vocabulary, against "
                       f"{fitted_unknown:.0%} for the fitted archive (refit above {REFIT_UNKNOWN_RATIO}x)")
    n_stubs = int(stub_rows(X_new, model.vectorizer_.vocabulary_, model.min_words).size)
    # Far more new words than new stories bring, or many articles this model cannot read at all: not news
    # of the same archive but another kind of text (speeches or forum posts added to news).
    another_domain = (bool(fitted_unknown) and unknown > DOMAIN_UNKNOWN_RATIO * fitted_unknown) \
        or n_stubs > DOMAIN_STUB_SHARE * len(texts)
    if another_domain:
        reasons.insert(0, "the new articles read like another kind of text than the archive (their words are "
                          "largely new to it): its topics cannot describe them, so they will hardly show in "
                          "topics or trends until the model is refitted on the whole archive")
    if added_since_fit > REFIT_GROWTH * fitted:
        reasons.append(f"{added_since_fit:,} articles were added since the fit on {fitted:,}: "
                       "the vocabulary and idf no longer describe the archive")
    return AddReport(
        n_added=len(texts), n_replaced=n_replaced, n_articles=n_articles,
        n_without_known_terms=int((np.diff(X_new.indptr) == 0).sum()),
        relative_error=error, fitted_relative_error=fitted_error, error_ratio=round(ratio, 4),
        unknown_share=unknown, fitted_unknown_share=fitted_unknown, topic_shift=round(0.5 * float(np.abs(batch - archive).sum()), 4),
        topic_shares=[round(float(s), 4) for s in batch], refit_advised=bool(reasons), reasons=reasons,
        seconds=round(time.perf_counter() - started, 3),
        at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), skipped=skipped,
        another_domain=bool(another_domain), n_stubs=n_stubs)


def _shares(W: np.ndarray) -> np.ndarray:
    totals = np.asarray(W, dtype=np.float64).sum(axis=0)
    return totals / totals.sum() if totals.sum() > 0 else totals


# -- refitting ------------------------------------------------------------------------------------------
def refit(model: TopicModel, corpus, *, progress: bool = False) -> tuple[TopicModel, RefitReport]:
    """A model fitted afresh on ``corpus`` with ``model``'s parameters, keeping topic names that match.

    A model stores only snippets, so ``corpus`` must be the whole archive again (the fitted sources and
    every added batch). New topics are matched one-to-one with old ones by the cosine of their
    topic-term rows over the shared vocabulary (Hungarian assignment); an old name moves to its match
    when the cosine is at least :data:`MIN_TOPIC_MATCH`. ``n_missing`` counts stored ids the corpus lacks.
    """
    model._check_fitted()
    started = time.perf_counter()
    fresh = TopicModel(**model.get_params()).fit(read_as_fitted(model, corpus), progress=progress)
    if not fresh.fit_info_.get("reading"):  # refitted on in-memory articles: keep how the files were read
        fresh.fit_info_["reading"] = dict(model.fit_info_.get("reading") or {})
    matches = match_topics(model.components_, model.vectorizer_.vocabulary_, fresh.components_,
                           fresh.vectorizer_.vocabulary_)
    for match in matches:
        name = model.topic_names_.get(match["old"]) if match["cosine"] >= MIN_TOPIC_MATCH else None
        if name:
            fresh.topic_names_[match["new"]] = name
        match["name"] = name
    missing = sum(fresh.articles_.row_of(i) is None for i in model.articles_.ids)
    report = RefitReport(n_articles_before=len(model.articles_), n_articles=len(fresh.articles_),
                         n_missing=int(missing), matches=matches, seconds=round(time.perf_counter() - started, 3),
                         skipped=fresh.fit_info_.get("skipped", ""))
    fresh.fit_info_["refit"] = {k: v for k, v in report.to_dict().items() if k != "matches"}
    return fresh, report


def reading_of(model: TopicModel) -> dict:
    """The ``read_corpus`` keywords the model's archive was read with (``{}``: the defaults, for models
    fitted on in-memory articles or saved before models kept them)."""
    stored = model.fit_info_.get("reading") or {}
    return {name: stored[name] for name in READING_OPTIONS if name in stored}


def read_as_fitted(model: TopicModel, corpus, **overrides):
    """``corpus`` as a :class:`Corpus` read like the model's archive when it is a path or a list of paths
    (``overrides``: read_corpus keywords that differ); anything else (a Corpus, Articles, texts) as it is."""
    if isinstance(corpus, (str, os.PathLike)):
        corpus = [corpus]
    elif not (isinstance(corpus, (list, tuple)) and corpus and all(isinstance(p, os.PathLike) for p in corpus)):
        return corpus
    return read_corpus(corpus, **{**reading_of(model), **overrides})


def match_topics(H_old, vocabulary_old, H_new, vocabulary_new) -> list[dict]:
    """Pairs ``{"old", "new", "cosine"}`` matching topics one-to-one, best total cosine first.

    H_old : (k_old, V_old) and H_new : (k_new, V_new) with sorted byte-string vocabularies; the cosine is
    taken over the terms both vocabularies share.
    """
    from scipy.optimize import linear_sum_assignment

    _, cols_old, cols_new = np.intersect1d(vocabulary_old, vocabulary_new, assume_unique=True, return_indices=True)
    similarity = unit_rows(np.asarray(H_old)[:, cols_old]) @ unit_rows(np.asarray(H_new)[:, cols_new]).T
    rows, cols = linear_sum_assignment(-similarity)
    pairs = [{"old": int(r), "new": int(c), "cosine": round(float(similarity[r, c]), 4)} for r, c in zip(rows, cols)]
    return sorted(pairs, key=lambda p: -p["cosine"])
