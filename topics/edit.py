"""Editing a fitted model's topics: merging, dropping and reducing them.

Symbols as in :mod:`topics.model`: X (n_articles, V) TF-IDF rows of unit length, H (k, V) topic-term
weights, W (n_articles, k) article-topic weights, ``w_j`` the column of topic j in W and ``h_j`` its row in H.

Merging a group G of topics into one topic g:

- W: g's column is the sum of the group's columns, ``m = sum_j w_j``. Every article keeps its total topic
  weight: what it had in the group's topics it now has in g, so every article stays placed.
- H: g's row is the one row that best stands in for the group's part of W H given that column: the h
  minimising ``||sum_j w_j h_j - m h||``, which is ``h = sum_j (m . w_j / m . m) h_j``. Its weights are
  non-negative and sum to 1, so H keeps its scale, and a topic weighs in as much as its articles do:
  merging a large topic with a small one gives mostly the large one's words. The weights need only
  W's Gram matrix WᵀW (k, k), so merging reads no article twice.

Dropping topic t: its row of H and column of W go, and the articles with weight in t are placed again in
the remaining topics by non-negative least squares (:func:`topics.topic_model.nmf_transform`, the solver
that placed the fitted and the added articles). The other articles stay as they were: their solution had
no weight in t, so it is still the solution without t. An article whose words no remaining topic uses is
left with no topic weight; the report counts such articles (``n_unplaced``).

Reducing to K topics: join the two most similar groups of topics, starting from one topic a group, until
K are left, then merge each group as above (the same result as merging each by hand). Two groups are as
similar as the mean cosine of their topics' H rows: average linkage, as BERTopic's ``reduce_topics``
clusters topic representations. Comparing the merged rows instead (centroid linkage) lets a broad merged
topic swallow the rest: on the Lee news, reducing 20 topics to 8 put 12 of them in one group, where
average linkage gave groups such as sport (cricket, athletics) and asylum (detention centres, Nauru).
Only the (k, k) cosines are needed, so the k - K steps cost nothing per article.

Numbering: topics keep their order. A merged topic takes the place of the lowest id of its group, and the
ids after a topic that went move down to fill the gap; the report's ``mapping[old id]`` is the new id
(None for a dropped topic).

Names: a name given to a topic (:meth:`topics.TopicModel.rename_topic`) moves with it. A topic merged on
request keeps the names of its topics, joined by " / ", unless a name is given for it: the user chose what
went in. A topic that ``reduce_topics`` merged is unnamed, its label generated afresh from its words: a
name kept there would hide what else went in (on the sample, a topic named "Asylum seekers" took in the
larger economy topic). The report lists the labels each merged topic had.

The relative reconstruction error that :mod:`topics.incremental` measures new batches against
(``fit_info["relative_error"]``) is adjusted by the exact change the edit makes on the stored archive, so
``topics add`` after an edit does not advise a refit because of the edit. Each edit is recorded in
``fit_info["edits"]``. The functions here never change the state they are given.

Example
-------
>>> import topics
>>> model = topics.load("models/default.joblib")                       # doctest: +SKIP
>>> model.merge_topics([3, 7]).mapping                                 # doctest: +SKIP
>>> model.save("models/default.joblib", force=True)                    # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np

from .errors import ParameterError
from .index import unit_rows
from .state import NO_SEARCH, FittedState
from .topic_model import error_sums, nmf_transform

logger = logging.getLogger(__name__)

MAX_NAME = 200  # characters of a topic name, as rename allows
_ROWS_PER_THREAD = 2_000  # articles placed again per thread at least: fewer are not worth a thread


@dataclass(frozen=True)
class EditReport:
    """What one merge, drop or reduce did.

    ``groups``: for each merged topic, ``{"topic": new id, "merged": [old ids], "labels": [their labels],
    "label": its label now}`` (labels filled in by :class:`topics.TopicModel`); ``mapping[old id]``: the new
    id, None for the dropped topic; ``n_replaced``: articles placed again (drop); ``n_unplaced``: articles
    with topic weight before and none after.
    """

    action: str
    n_topics_before: int
    n_topics: int
    mapping: list
    groups: list = field(default_factory=list)
    dropped: int | None = None
    dropped_label: str | None = None
    n_replaced: int = 0
    n_unplaced: int = 0
    relative_error_before: float | None = None
    relative_error: float | None = None
    seconds: float = 0.0
    at: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


# -- the three edits ------------------------------------------------------------------------------------
def merge_topics(state: FittedState, topics, *, name: str | None = None) -> tuple[FittedState, EditReport]:
    """A new state in which ``topics`` (two or more distinct ids, checked to exist) are one topic.

    ``name``: the merged topic's name; None keeps the names its topics had, "" leaves it unnamed (its
    label generated from its words).
    """
    started = time.perf_counter()
    members = sorted(set(topics))
    if len(members) < 2:
        raise ParameterError(f"topics={list(topics)!r}: merging needs at least two different topics")
    name = _check_name(name)
    k = state.n_topics
    groups = [[t] for t in range(k) if t not in members]
    groups.insert(sum(t < members[0] for t in range(k) if t not in members), members)
    with _one_blas_thread():
        return _regroup(state, groups, "merge", started, keep_names=True, name_of_merged=name)


def drop_topic(state: FittedState, topic: int) -> tuple[FittedState, EditReport]:
    """A new state without ``topic`` (an id checked to exist), its articles placed in the remaining topics."""
    started = time.perf_counter()
    k = state.n_topics
    if k < 2:
        raise ParameterError(f"topic {topic} is the model's only topic; it cannot be dropped")
    H = np.asarray(state.components)
    W = np.asarray(state.doc_topics)
    H_kept = np.delete(H, topic, axis=0)
    rows = np.flatnonzero(W[:, topic] > 0)
    W_kept = np.delete(W, topic, axis=1)
    error_change = 0.0
    n_unplaced = 0
    if rows.size:
        X_rows, W_rows = state.doc_terms[rows], W[rows]
        H64 = H.astype(np.float64)
        kept = np.delete(np.arange(k), topic)
        with _one_blas_thread():
            XHt, HHt = products_by_rows(X_rows, H64), H64 @ H64.T
            placed = _placed(X_rows, H_kept, XHt[:, kept], HHt[np.ix_(kept, kept)])
            error_change = _error(X_rows, placed, XHt[:, kept], HHt[np.ix_(kept, kept)]) - _error(
                X_rows, W_rows, XHt, HHt
            )
        n_unplaced = int(((W_rows.sum(axis=1) > 0) & (placed.sum(axis=1) == 0)).sum())
        W_kept[rows] = placed
    mapping = [None if t == topic else t - (t > topic) for t in range(k)]
    names = {mapping[t]: n for t, n in state.topic_names.items() if t != topic}
    report = EditReport(
        action="drop",
        n_topics_before=k,
        n_topics=k - 1,
        mapping=mapping,
        dropped=int(topic),
        n_replaced=int(rows.size),
        n_unplaced=n_unplaced,
    )
    return _finish(state, H_kept, W_kept, names, report, error_change, started)


def reduce_topics(state: FittedState, n_topics: int) -> tuple[FittedState, EditReport]:
    """A new state with ``n_topics`` topics, the closest ones merged (see the module docstring)."""
    started = time.perf_counter()
    k = state.n_topics
    if k < 2:
        raise ParameterError("the model has only one topic; there is nothing to reduce")
    if isinstance(n_topics, bool) or not isinstance(n_topics, (int, np.integer)) or not 1 <= n_topics < k:
        raise ParameterError(f"n_topics={n_topics!r} is not allowed; reduce to 1 to {k - 1} topics (the model has {k})")
    groups = closest_groups(state.components, int(n_topics))
    with _one_blas_thread():
        return _regroup(state, groups, "reduce", started)


def closest_groups(H: np.ndarray, n_groups: int) -> list[list[int]]:
    """Topics grouped by joining the two most similar groups until ``n_groups`` are left.

    H : (k, V) topic-term rows. Two groups are as similar as the mean cosine of their topics' rows
    (average linkage, as BERTopic clusters topics to reduce them). Ties go to the lower ids. Returns the
    groups (sorted ids) in order of their lowest id.
    """
    H = np.asarray(H)
    U = unit_rows(H[:, np.flatnonzero(H.any(axis=0))], dtype=np.float64)  # the terms topics use: the same cosines
    sums = U @ U.T  # sums[i, j]: the cosines of all pairs between groups i and j, summed
    sizes = np.ones(len(sums))
    groups = [[t] for t in range(len(sums))]
    while len(groups) > n_groups:
        mean = sums / np.outer(sizes, sizes)
        mean[np.tril_indices(len(groups))] = -np.inf
        i, j = np.unravel_index(int(np.argmax(mean)), mean.shape)  # i < j: groups[i] has the lower ids
        groups[i] = sorted(groups[i] + groups.pop(j))
        sums[i] += sums[j]
        sums[:, i] += sums[:, j]
        sums = np.delete(np.delete(sums, j, axis=0), j, axis=1)
        sizes[i] += sizes[j]
        sizes = np.delete(sizes, j)
    return groups


def merge_weights(WtW: np.ndarray, members) -> np.ndarray:
    """The weights ``m . w_j / m . m`` of the members' H rows in their merged row (summing to 1); equal
    weights when the members have no article weight at all."""
    block = WtW[np.ix_(members, members)]
    dots = block.sum(axis=0)  # m . w_j, with m the sum of the members' columns
    total = dots.sum()  # m . m
    return dots / total if total > 0 else np.full(len(members), 1.0 / len(members))


# -- shared steps ---------------------------------------------------------------------------------------
def _regroup(state: FittedState, groups, action: str, started: float, *, keep_names=False, name_of_merged=None):
    """The state with each group of topics (a partition of 0..k-1, in the new order) made one topic; a
    merged one named ``name_of_merged`` if given, else by its topics' names with ``keep_names``."""
    H = np.asarray(state.components)
    W = np.asarray(state.doc_topics)
    k, V = H.shape
    WtW = _gram(W.T)
    H64 = H.astype(np.float64)
    assign = np.zeros((k, len(groups)), dtype=np.float32)  # W' = W assign: summed columns
    coefficients = np.zeros((len(groups), k))  # H' = coefficients H
    H_new = np.empty((len(groups), V), dtype=H.dtype)
    for g, members in enumerate(groups):
        assign[members, g] = 1.0
        coefficients[g, members] = merge_weights(WtW, members)
        H_new[g] = H[members[0]] if len(members) == 1 else coefficients[g, members] @ H64[members]
    W_new = W @ assign  # a kept topic's column is copied exactly (x * 1 + 0)
    error_change = _regroup_error_change(state.index.postings, W, H64, WtW, groups, assign, coefficients)

    mapping = [0] * k
    names, merged = {}, []
    for g, members in enumerate(groups):
        for t in members:
            mapping[t] = g
        given = [state.topic_names[t] for t in members if t in state.topic_names]
        if len(members) > 1:
            merged.append({"topic": g, "merged": list(members)})
            given = [name_of_merged] if name_of_merged is not None else given if keep_names else []
        if any(given):
            names[g] = _joined(given)
    report = EditReport(action=action, n_topics_before=k, n_topics=len(groups), mapping=mapping, groups=merged)
    return _finish(state, H_new, W_new, names, report, error_change, started)


def _regroup_error_change(postings, W, H64, WtW, groups, assign, coefficients) -> float:
    """The change of ``||X - W H||²`` when the groups are merged (see :func:`_regroup`); ``postings``: X
    in CSC form.

    ``||X - WH||² = ||X||² - 2 sum_t (X h_t) . w_t + sum(WᵀW ∘ HHᵀ)``. The last term comes from the
    (k, k) Gram matrices; the middle one changes only for merged topics, by
    ``sum_j c_j (X h_j) . m - sum_j (X h_j) . w_j``, which needs X h_j for those topics only.
    """
    HHt = H64 @ H64.T
    quadratic_old = float((WtW * HHt).sum())
    quadratic_new = float(((assign.T @ WtW @ assign) * (coefficients @ HHt @ coefficients.T)).sum())
    merged = [members for members in groups if len(members) > 1]
    columns = [t for members in merged for t in members]
    XH = products_by_terms(postings, H64[columns])  # (n, topics merged)
    cross_change, start = 0.0, 0
    for g, members in ((g, m) for g, m in enumerate(groups) if len(m) > 1):
        parts = XH[:, start : start + len(members)].T @ W[:, members].astype(np.float64)  # (X h_j) . w_l
        cross_change += float(coefficients[g, members] @ parts.sum(axis=1)) - float(np.trace(parts))
        start += len(members)
    return quadratic_new - quadratic_old - 2.0 * cross_change


def _error(X, W, XHt, HHt) -> float:
    """``||X - W H||²`` of some rows, given their X Hᵀ and H Hᵀ."""
    squares, cross, WtW = error_sums(X, W, None, XHt=XHt)
    return squares - 2.0 * cross + float((WtW * HHt).sum())


def _finish(state, H, W, names, report: EditReport, error_change: float, started: float):
    """The new state over H and W, with the report (timed, and the adjusted error) added to its history."""
    before = state.fit_info.get("relative_error")
    after = None
    if isinstance(before, (int, float)):
        X = state.doc_terms
        squares = float(np.einsum("i,i->", X.data, X.data, dtype=np.float64))  # ||X||², without a float64 copy
        after = float(np.sqrt(max(before**2 + error_change / squares, 0.0))) if squares > 0 else before
        after = round(after, 6)
    report = EditReport(
        **{
            **report.to_dict(),
            "relative_error_before": before,
            "relative_error": after,
            "seconds": round(time.perf_counter() - started, 3),
            "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
    )
    fit_info = {**state.fit_info, "edits": [*state.fit_info.get("edits", []), report.to_dict()]}
    if after is not None:
        fit_info["relative_error"] = after
    if isinstance(state.fit_info.get("word_order"), list):
        fit_info["word_order"] = _moved_word_order(state.fit_info["word_order"], report.mapping, report.n_topics)
    edited = FittedState.build(
        vectorizer=state.vectorizer,
        components=H,
        doc_topics=np.ascontiguousarray(W, dtype=np.float32),
        doc_terms=state.doc_terms,
        articles=state.articles,
        fit_info=fit_info,
        topic_weight=state.index.topic_weight,
        topic_names=names,
        postings=state.index.postings,
        search=state.index.search if state.index.search is not None else NO_SEARCH,  # B holds no topics
        search_fields=state.search_fields,
    )
    logger.info("%s: %d topics -> %d", report.action, report.n_topics_before, report.n_topics)
    return edited, report


def _moved_word_order(word_order: list, mapping: list, n_topics: int) -> list:
    """Each new topic's word order (:mod:`topics.word_pairs`): that of the one topic it was, None for a merge
    (its words are then ranked by relevance)."""
    sources: dict = {}
    for old, new in enumerate(mapping):
        if new is not None:
            sources.setdefault(new, []).append(old)
    return [word_order[sources[t][0]] if len(sources.get(t, [])) == 1 else None for t in range(n_topics)]


def with_labels(report: EditReport, before: list, after: list) -> EditReport:
    """The report with the labels of the topics it names: ``before`` the edit and ``after`` it, by id."""
    groups = [{**g, "labels": [before[t] for t in g["merged"]], "label": after[g["topic"]]} for g in report.groups]
    dropped = before[report.dropped] if report.dropped is not None else None
    return EditReport(**{**report.to_dict(), "groups": groups, "dropped_label": dropped})


def products_by_rows(X, H64: np.ndarray) -> np.ndarray:
    """X Hᵀ (n, m) in float64 for X (CSR, n x V) and H64 (m, V): the same sums as ``X @ H64.T``, over the
    terms some row of H uses only (a topic uses a few percent of a large archive's terms; the others
    add zeros), so the part of H the product reads stays in cache. Blocks of rows go to a thread per
    core (scipy lets go of the GIL in its products; each row's sums are the same)."""
    used = np.flatnonzero(H64.any(axis=0))
    Ht = np.ascontiguousarray(H64[:, used].T)
    blocks = _parts(X.shape[0], _ROWS_PER_THREAD)
    return _joined_parts(lambda r: np.asarray(X[_as_slice(r)][:, used] @ Ht), blocks, axis=0)


def products_by_terms(postings, H64: np.ndarray) -> np.ndarray:
    """X Hᵀ (n, m) in float64 from X's postings (CSC, n x V) and H64 (m, V): only the postings of the
    terms some row of H uses are read (a topic uses a few percent of the terms). The m topics are split
    over a thread per core (each column's sums are the same)."""
    used = np.flatnonzero(H64.any(axis=0))
    columns = postings[:, used]
    Ht = np.ascontiguousarray(H64[:, used].T)
    return _joined_parts(lambda t: np.asarray(columns @ np.ascontiguousarray(Ht[:, t])), _parts(len(H64), 1), axis=1)


def _parts(n: int, at_least: int) -> list:
    """0..n-1 split into consecutive parts, one per core, each of at least ``at_least`` (one part if fewer)."""
    return np.array_split(np.arange(n), max(1, min(os.cpu_count() or 1, n // at_least)))


def _as_slice(part: np.ndarray) -> slice:
    return slice(int(part[0]), int(part[-1]) + 1) if part.size else slice(0, 0)


def _joined_parts(compute, parts: list, *, axis: int) -> np.ndarray:
    """``compute(part)`` of each part, on a thread each when there are several, joined along ``axis``."""
    if len(parts) == 1:
        return compute(parts[0])
    with ThreadPoolExecutor(len(parts)) as pool:
        return np.concatenate(list(pool.map(compute, parts)), axis=axis)


def _placed(X, H: np.ndarray, XHt: np.ndarray, gram: np.ndarray) -> np.ndarray:
    """``nmf_transform(X, H)`` given X Hᵀ and H Hᵀ, its rows split over a thread per core: numpy lets go
    of the GIL in its loops, and a row's answer does not depend on the rows placed with it (the same W)."""
    return _joined_parts(
        lambda r: nmf_transform(X[r], H, XHt=XHt[r], gram=gram), _parts(X.shape[0], _ROWS_PER_THREAD), axis=0
    )


@contextmanager
def _one_blas_thread():
    """BLAS on one thread for the block: an edit's products are small (k x k, n x k), and a BLAS
    thread per core only waits for the others; on a busy machine a sweep of the placement took 25
    times as long with two threads as with one."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _gram(M) -> np.ndarray:
    """M Mᵀ in float64: for W.T, the (k, k) dot products of W's columns."""
    M = np.asarray(M, dtype=np.float64)
    return M @ M.T


def _check_name(name):
    if name is not None and not isinstance(name, str):
        raise ParameterError(f"name={name!r} is not allowed; use a string")
    if name is None:
        return None
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise ParameterError(f"name of {len(name)} characters is too long; use at most {MAX_NAME}")
    return name


def _joined(names) -> str:
    """Names joined by " / ", as many whole ones as fit in MAX_NAME characters (at least the first)."""
    kept = [n for n in names if n]
    text = kept[0]
    for n in kept[1:]:
        if len(text) + 3 + len(n) > MAX_NAME:
            break
        text = f"{text} / {n}"
    return text[:MAX_NAME]


__all__ = [
    "EditReport",
    "merge_topics",
    "drop_topic",
    "reduce_topics",
    "closest_groups",
    "merge_weights",
    "with_labels",
]
