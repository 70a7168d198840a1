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

Paths given to :func:`add_articles` and :meth:`topics.TopicModel.refit` are read as the fitted archive was (the
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

import datetime
import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from functools import partial

import numpy as np
import scipy.sparse as sp

from .corpus import READING_OPTIONS, Corpus, as_articles, check_unique_ids, read_corpus, source_of
from .errors import ParameterError
from .evaluate import relative_error
from .parallel import map_chunks, row_chunks
from .state import FittedState, SearchFields, field_counts
from .table import ArticleTable, make_snippet
from .text import saved_stub_rows, stub_rows, stubs_record, unknown_share
from .topic_model import match_topics_by_cosine, nmf_transform

logger = logging.getLogger(__name__)

REFIT_ERROR_RATIO = 1.25  # batch error / fitted error above which a refit is advised
REFIT_GROWTH = 1.0  # articles added since the fit / articles fitted, above which a refit is advised
MIN_TOPIC_MATCH = 0.5  # cosine of topic-term rows above which a refitted topic keeps an old name
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
    skipped: str = ""  # what reading the batch skipped or repaired (ReadStats.describe), '' when nothing
    another_domain: bool = False  # the batch reads like another kind of text than the archive
    n_stubs: int = 0  # added articles with too few known words to weigh in any topic

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RefitReport:
    """What :meth:`topics.TopicModel.refit` did: sizes before and after, and which old topics the new ones match."""

    n_articles_before: int
    n_articles: int
    n_missing: int
    matches: list  # [{"old": t, "new": u, "cosine": c, "name": kept name or None}]
    seconds: float
    skipped: str = ""  # what reading the archive skipped or repaired, '' when nothing

    def to_dict(self) -> dict:
        return asdict(self)


# -- adding ---------------------------------------------------------------------------------------------
def add_articles(state: FittedState, corpus, params: dict, *, replace: bool = False) -> tuple[FittedState, AddReport]:
    """A new state with the articles of ``corpus`` appended, and the drift report of the batch.

    ``params``: the model's parameters (``TopicModel.get_params()``; ``min_words``, ``source_field`` and
    ``topic_weight`` are used). ``corpus`` is anything :func:`topics.fit` accepts. Ids already in the model
    are refused (ParameterError naming them) unless ``replace``, which drops the old rows first. ``state``
    is not changed: every array of the new state is new, so a memory-mapped model stays valid.
    """
    if not isinstance(replace, bool):
        raise ParameterError(f"replace={replace!r} is not allowed; use True or False")
    started = time.perf_counter()
    source = as_articles(read_as_fitted(state.fit_info, corpus))
    articles = [a for a in source if a.text.strip()]
    if not articles:
        raise ParameterError("the corpus has no articles with text to add")
    check_unique_ids(articles)
    table = state.articles
    old_rows = [r for r in (table.row_of(a.id) for a in articles) if r is not None]
    if old_rows and not replace:
        shown = ", ".join(repr(table.ids[r]) for r in old_rows[:5])
        raise ParameterError(
            f"{len(old_rows)} of the {len(articles)} articles are already in the model "
            f"({shown}{', ...' if len(old_rows) > 5 else ''}); "
            "use --replace (replace=True) to replace them"
        )

    texts = [a.text for a in articles]
    X_new, W_new, rare_new, new_words, new_counts = _vectorise_and_place(state, texts)
    new_table = ArticleTable.build(
        [a.id for a in articles],
        [a.title for a in articles],
        [a.date for a in articles],
        [make_snippet(t) for t in texts],
        [source_of(a, params["source_field"]) for a in articles],
    )
    X_old, W_old = state.doc_terms, np.asarray(state.doc_topics)
    if old_rows:
        keep = np.setdiff1d(np.arange(len(table)), old_rows)
        X_old, W_old, table = X_old[keep], W_old[keep], table.take(keep)
    X = sp.vstack([X_old, X_new], format="csr", dtype=np.float32)
    W = np.vstack([W_old, W_new]).astype(np.float32, copy=False)
    fields = None  # L of the grown archive: the kept rows' and the new articles' alone (topics.state)
    if state.index.search is not None and state.search_fields is not None:
        fields_old, rare_old = state.search_fields.matrix(), state.search_fields.rare_words
        if old_rows:
            fields_old = fields_old[keep]
        # Words met first in the new articles join the rare words, unless the fit dropped them on purpose.
        new_words, new_counts = _learnable(state.fit_info, new_words, new_counts)
        rare_words = np.union1d(rare_old, new_words) if new_words.size else rare_old
        v = X.shape[1]
        fields_old = _widen(fields_old, v, np.searchsorted(rare_words, rare_old), rare_words.size)
        text_counts = _widen(rare_new, 0, np.searchsorted(rare_words, rare_old), rare_words.size)
        text_counts = text_counts + _widen(new_counts, 0, np.searchsorted(rare_words, new_words), rare_words.size)
        fields_new = field_counts(state.vectorizer, new_table, rare_words) + sp.hstack(
            [sp.csr_matrix((len(texts), v), dtype=np.float32), text_counts], format="csr"
        )
        fields = SearchFields(
            state.vectorizer,
            None,  # L is at hand, so the article table is never read
            sp.vstack([fields_old, fields_new], format="csr", dtype=np.float32),
            rare_words,
        )

    new_stubs = stub_rows(X_new, state.vectorizer.vocabulary_, params["min_words"])
    report = _drift(
        state,
        X_new,
        W_new,
        W_old,
        texts,
        n_replaced=len(old_rows),
        n_articles=X.shape[0],
        started=started,
        skipped=source.stats.describe() if isinstance(source, Corpus) else "",
        n_stubs=new_stubs.size,
    )
    fit_info = {**state.fit_info, "adds": [*state.fit_info.get("adds", []), report.to_dict()]}
    stubs = _grown_stubs(state, params["min_words"], keep if old_rows else None, new_stubs, X.shape[0] - X_new.shape[0])
    if stubs is not None:
        fit_info["stubs"] = stubs_record(params["min_words"], len(fit_info["adds"]), stubs)
    else:
        fit_info.pop("stubs", None)
    grown = FittedState.build(
        vectorizer=state.vectorizer,
        components=state.components,
        doc_topics=W,
        doc_terms=X,
        articles=table.append(new_table),
        topic_names=state.topic_names,
        topic_weight=params["topic_weight"],
        fit_info=fit_info,
        postings=X.tocsc() if old_rows else _appended_postings(state.index.postings, X_new, X.indices.dtype),
        search_fields=fields,
    )
    logger.info(
        "added %d articles (%d replaced); error ratio %.2f", report.n_added, report.n_replaced, report.error_ratio
    )
    return grown, report


def _appended_postings(postings, rows, index_type) -> sp.csc_matrix:
    """X's postings (CSC, rows ascending in each column) with ``rows`` (CSR, the new articles) appended
    below: the CSC form of the grown X, as ``tocsc`` gives it (indices of ``index_type``, the grown X's).
    The old entries are copied in runs between the columns the new rows use, each followed by its new
    entries, rather than converting the whole grown matrix."""
    new = sp.csc_matrix(rows, dtype=postings.dtype)
    new.sort_indices()
    n_old, old_indptr = postings.shape[0], postings.indptr.astype(np.int64)
    indices = np.empty(postings.nnz + new.nnz, dtype=index_type)
    data = np.empty(postings.nnz + new.nnz, dtype=postings.dtype)
    copied = 0  # old entries copied so far; the output is ahead of them by the new entries placed
    for column in np.flatnonzero(np.diff(new.indptr)).tolist():
        end, start, stop = int(old_indptr[column + 1]), int(new.indptr[column]), int(new.indptr[column + 1])
        at = copied + start
        indices[at : at + end - copied] = postings.indices[copied:end]
        data[at : at + end - copied] = postings.data[copied:end]
        at += end - copied
        indices[at : at + stop - start] = new.indices[start:stop] + n_old
        data[at : at + stop - start] = new.data[start:stop]
        copied = end
    indices[copied + new.nnz :] = postings.indices[copied:]
    data[copied + new.nnz :] = postings.data[copied:]
    indptr = (old_indptr + new.indptr).astype(index_type)
    return sp.csc_matrix((data, indices, indptr), shape=(n_old + new.shape[0], postings.shape[1]), copy=False)


def _grown_stubs(state: FittedState, min_words: int, keep, new_stubs: np.ndarray, n_kept: int) -> np.ndarray | None:
    """The stub rows of the grown archive (kept rows first, in order, then the new ones: ``new_stubs``, rows
    of the added articles), or None when the model holds no valid saved rows to grow (they are then found
    again from X when needed)."""
    old = saved_stub_rows(state.fit_info, min_words, state.doc_terms.shape[0])
    if old is None:
        return None
    if keep is not None:  # replaced rows left; the others moved up to their place among those kept
        old = np.searchsorted(keep, old[np.isin(old, keep)])
    return np.concatenate([old, new_stubs + n_kept])


def _vectorise_and_place(state: FittedState, texts: list[str]):
    """X (n, V), W (n, k), the raw counts (n, R) of the search's rare words (topics.state.SearchFields) in new
    texts, and the words in neither list (sorted bytes, N) with their counts (n, N), computed in chunks
    through :func:`map_chunks`."""
    chunks = [texts[start:stop] for start, stop in row_chunks(len(texts), min_rows=5_000)]
    rare_words = state.search_fields.rare_words if state.search_fields is not None else np.zeros(0, dtype="S1")
    parts = map_chunks(partial(_place_chunk, state.vectorizer, np.asarray(state.components), rare_words), chunks)
    new_words = np.unique(np.concatenate([part[3] for part in parts])) if parts else np.zeros(0, dtype="S1")
    new_counts = sp.vstack(
        [_widen(counts, 0, np.searchsorted(new_words, words), new_words.size) for *_, words, counts in parts],
        format="csr",
        dtype=np.float32,
    )
    stacked = (sp.vstack([p[0] for p in parts], format="csr"), np.vstack([p[1] for p in parts]))
    return *stacked, sp.vstack([p[2] for p in parts], format="csr", dtype=np.float32), new_words, new_counts


def _place_chunk(vectorizer, H, rare_words, texts):
    X, rare, new_words, new_counts = vectorizer.transform_with_counts(texts, rare_words, new_words=True)
    return X, nmf_transform(X, H), rare, new_words, new_counts


def _widen(counts, offset: int, columns: np.ndarray, width: int) -> sp.csr_matrix:
    """``counts`` (n, offset + m) with its last m columns moved to ``offset + columns`` of ``width`` such
    columns: the rare-word part of L or of a text's counts, re-indexed to a larger sorted list of rare words."""
    counts = sp.csr_matrix(counts, dtype=np.float32)
    indices = counts.indices.astype(np.int64)
    rare = indices >= offset
    indices[rare] = offset + np.asarray(columns, dtype=np.int64)[indices[rare] - offset]
    return sp.csr_matrix((counts.data, indices, counts.indptr), shape=(counts.shape[0], offset + width))


def _learnable(fit_info: dict, words: np.ndarray, counts) -> tuple[np.ndarray, sp.csr_matrix]:
    """The new words an added batch may teach search (and their counts' columns): not those the fit dropped
    as too common (``common_words``) or as house formulae and source terms, which are not rare. A model
    fitted before ``common_words`` were recorded learns none (it cannot tell)."""
    if "common_words" not in fit_info or words.size == 0:
        return np.zeros(0, dtype="S1"), sp.csr_matrix((counts.shape[0], 0), dtype=np.float32)
    dropped = {*fit_info["common_words"], *fit_info.get("formulae", {}), *fit_info.get("source_terms", {})}
    keep = np.array([w.decode("utf-8") not in dropped for w in words], dtype=bool)
    return words[keep], sp.csr_matrix(counts)[:, np.flatnonzero(keep)]


def _drift(
    state: FittedState, X_new, W_new, W_old, texts, *, n_replaced, n_articles, started, skipped="", n_stubs=0
) -> AddReport:
    info = state.fit_info
    fitted_error = float(info.get("relative_error") or 0.0)
    error = round(relative_error(X_new, W_new, state.components), 6)
    ratio = error / fitted_error if fitted_error > 0 else 1.0
    batch, archive = _shares(W_new), _shares(W_old)
    added_since_fit = sum(a["n_added"] for a in info.get("adds", [])) + len(texts)
    fitted = int(info.get("n_articles") or len(state.articles))
    reasons = []
    if ratio > REFIT_ERROR_RATIO:
        reasons.append(
            f"the topics explain the new articles {ratio:.2f}x worse than the fitted archive "
            f"(refit above {REFIT_ERROR_RATIO})"
        )
    unknown, fitted_unknown = unknown_share(state.vectorizer, texts), info.get("unknown_share")
    new_words = bool(fitted_unknown) and unknown > REFIT_UNKNOWN_RATIO * fitted_unknown
    if new_words:
        reasons.append(
            f"{unknown:.0%} of the new articles' terms are outside the vocabulary, against "
            f"{fitted_unknown:.0%} for the fitted archive (refit above {REFIT_UNKNOWN_RATIO}x)"
        )
    # Far more new words than new stories bring, or many articles this model cannot read at all: not news
    # of the same archive but another kind of text (speeches or forum posts added to news).
    another_domain = (
        bool(fitted_unknown) and unknown > DOMAIN_UNKNOWN_RATIO * fitted_unknown
    ) or n_stubs > DOMAIN_STUB_SHARE * len(texts)
    if another_domain:
        reasons.insert(
            0,
            "the new articles read like another kind of text than the archive (their words are "
            "largely new to it): its topics cannot describe them, so they will hardly show in "
            "topics or trends until the model is refitted on the whole archive",
        )
    if added_since_fit > REFIT_GROWTH * fitted:
        reasons.append(
            f"{added_since_fit:,} articles were added since the fit on {fitted:,}: "
            "the vocabulary and idf no longer describe the archive"
        )
    return AddReport(
        n_added=len(texts),
        n_replaced=n_replaced,
        n_articles=n_articles,
        n_without_known_terms=int((np.diff(X_new.indptr) == 0).sum()),
        relative_error=error,
        fitted_relative_error=fitted_error,
        error_ratio=round(ratio, 4),
        unknown_share=unknown,
        fitted_unknown_share=fitted_unknown,
        topic_shift=round(0.5 * float(np.abs(batch - archive).sum()), 4),
        topic_shares=[round(float(s), 4) for s in batch],
        refit_advised=bool(reasons),
        reasons=reasons,
        seconds=round(time.perf_counter() - started, 3),
        at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        skipped=skipped,
        another_domain=bool(another_domain),
        n_stubs=int(n_stubs),
    )


def _shares(W: np.ndarray) -> np.ndarray:
    totals = np.asarray(W, dtype=np.float64).sum(axis=0)
    return totals / totals.sum() if totals.sum() > 0 else totals


# -- refitting ------------------------------------------------------------------------------------------
def carry_over(old: FittedState, fresh: FittedState, *, started: float) -> tuple[FittedState, RefitReport]:
    """``fresh`` (a fit afresh on the whole archive with the old model's parameters, see
    :meth:`topics.TopicModel.refit`) with the old topic names that match, and the report.

    New topics are matched one-to-one with old ones by the cosine of their topic-term rows over the shared
    vocabulary (Hungarian assignment); an old name moves to its match when the cosine is at least
    :data:`MIN_TOPIC_MATCH`. ``n_missing`` counts stored ids the new archive lacks. ``started``: the
    ``time.perf_counter()`` of the refit's start. Neither state is changed.
    """
    fit_info = dict(fresh.fit_info)
    if not fit_info.get("reading"):  # refitted on in-memory articles: keep how the files were read
        fit_info["reading"] = dict(old.fit_info.get("reading") or {})
    matches = match_topics(old.components, old.vectorizer.vocabulary_, fresh.components, fresh.vectorizer.vocabulary_)
    names = dict(fresh.topic_names)
    for match in matches:
        name = old.topic_names.get(match["old"]) if match["cosine"] >= MIN_TOPIC_MATCH else None
        if name:
            names[match["new"]] = name
        match["name"] = name
    missing = sum(fresh.articles.row_of(i) is None for i in old.articles.ids)
    report = RefitReport(
        n_articles_before=len(old.articles),
        n_articles=len(fresh.articles),
        n_missing=int(missing),
        matches=matches,
        seconds=round(time.perf_counter() - started, 3),
        skipped=fit_info.get("skipped", ""),
    )
    fit_info["refit"] = {k: v for k, v in report.to_dict().items() if k != "matches"}
    return replace(fresh, topic_names=names, fit_info=fit_info), report


def reading_of(fit_info: dict) -> dict:
    """The ``read_corpus`` keywords a model's archive was read with, from its ``fit_info`` (``{}``: the
    defaults, for models fitted on in-memory articles or saved before models kept them)."""
    stored = fit_info.get("reading") or {}
    return {name: stored[name] for name in READING_OPTIONS if name in stored}


def read_as_fitted(fit_info: dict, corpus, **overrides):
    """``corpus`` as a :class:`Corpus` read like the archive of the model with this ``fit_info`` when it is a
    path or a list of paths (``overrides``: read_corpus keywords that differ); anything else (a Corpus,
    Articles, texts) as it is."""
    if isinstance(corpus, (str, os.PathLike)):
        corpus = [corpus]
    elif not (isinstance(corpus, (list, tuple)) and corpus and all(isinstance(p, os.PathLike) for p in corpus)):
        return corpus
    return read_corpus(corpus, **{**reading_of(fit_info), **overrides})


def match_topics(H_old, vocabulary_old, H_new, vocabulary_new) -> list[dict]:
    """Pairs ``{"old", "new", "cosine"}`` matching topics one-to-one, best total cosine first.

    H_old : (k_old, V_old) and H_new : (k_new, V_new) with sorted byte-string vocabularies; the cosine is
    taken over the terms both vocabularies share.
    """
    _, cols_old, cols_new = np.intersect1d(vocabulary_old, vocabulary_new, assume_unique=True, return_indices=True)
    rows, cols, similarity = match_topics_by_cosine(np.asarray(H_old)[:, cols_old], np.asarray(H_new)[:, cols_new])
    pairs = [
        {"old": int(r), "new": int(c), "cosine": round(float(similarity[r, c]), 4)}
        for r, c in zip(rows, cols, strict=True)
    ]
    return sorted(pairs, key=lambda p: -p["cosine"])
