"""Compiled loops (numba) behind exact top-k queries: scatter-add, bounded selection, near-duplicates.

Symbols as in :mod:`topics.index`: X (n_articles, V) TF-IDF rows of unit length, its postings P (X in
CSC form: ``indptr`` (V + 1,), ``indices`` (nnz,) rows, ``data`` (nnz,) weights), U (n_articles, k)
unit topic rows, alpha the topic weight; a query is its term columns and weights (q_x) and its unit
topic vector (q_w). The score of row i is ``s_i = (1 - alpha) * L_i + alpha * T_i`` with the lexical
cosine ``L_i = x_i . q_x`` and the topical cosine ``T_i = u_i . q_w``, both in [0, 1].

How :meth:`topics.index.SimilarityIndex.best` answers a query exactly while scoring few rows:

1. **Scatter-add** (:func:`scatter_add`): L for every row from the postings of the query's terms, summed
   in float32 in the query's term order, the same sums in the same order as the numpy path, so the
   same bits.
2. **Seeds** (:func:`largest`): the 4m rows with the largest L get their exact score; the m-th best of
   those, c, is a lower bound of the m-th best score of the whole archive (any m real rows are).
3. **Reach** (:func:`at_least`): T_i <= 1, so a row can score >= c only if
   ``(1 - alpha) * L_i >= c - alpha``. Rows under that floor are never scored; this is the only pruning.
   The rows above it get their exact score (the topic product for those rows only), and those scoring
   >= c are every row of the archive that scores >= c: a prefix of the full ranking (score descending,
   ties to the lower row), holding at least m rows.
4. **Near-duplicates** (:func:`distinct`): a greedy scan in rank order drops a row whose TF-IDF cosine
   with the query article or with a better kept row reaches the threshold. Whether a row is dropped
   depends only on the rows ranked above it, all of them inside the prefix, so the first k rows kept
   from the prefix are the first k kept from the full ranking. When the prefix keeps fewer than k,
   m grows fourfold and steps 2-4 run again; the longer prefix starts with the shorter one, so the pass
   goes on where it stopped.

When the floor of step 3 falls to zero (c no more than alpha: rows sharing no word with the query could
still rank), every row is scored in one pass that keeps the m best (:func:`best_of_all`). Filters
(dates, excluded rows) set L to -inf before step 2, so a filtered row is never a seed nor a survivor;
``min_score`` raises c. The topic cosine of a row is always summed the same way (:func:`topic_cosines`),
so a row's score has the same bits whichever rows are scored with it, and the exhaustive path
(:meth:`topics.index.SimilarityIndex.score_all`) gives the same scores.

Every function here has a numpy twin in :mod:`topics.index` and :mod:`topics.duplicates`, used when
numba is missing; the tests check both against brute force. Compiled code is cached on disk
(``cache=True``): beside this file when it is writable, otherwise in numba's user cache directory
(``NUMBA_CACHE_DIR`` when set). ``nogil=True`` lets a threaded server run two queries at once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = {"cache": True, "nogil": True}


@njit(**_JIT)
def scatter_add(indptr, indices, data, columns, weights, n_rows):  # pragma: no cover - compiled
    """Lexical cosine of every row: float32 array (n_rows,), ``sum_j weights[j] * P[row, columns[j]]``.

    indptr, indices, data : postings (CSC) of X; columns : int array of the query's terms; weights :
    float32 array of their query weights. Summed in float32, term by term in the order given.
    """
    scores = np.zeros(n_rows, dtype=np.float32)
    for j in range(columns.size):
        column = columns[j]
        weight = weights[j]
        for p in range(indptr[column], indptr[column + 1]):
            scores[indices[p]] += data[p] * weight
    return scores


@njit(**_JIT)
def largest(values, m):  # pragma: no cover - compiled
    """Rows (int64, in no order) of the at most m largest values that are > 0 (0, -inf and NaN never enter).

    A bounded min-heap over one pass; once it is full, a row costs one comparison with its smallest value.
    """
    heap_values = np.empty(m, dtype=np.float32)
    heap_rows = np.empty(m, dtype=np.int64)
    size = 0
    lowest = np.float32(0.0)  # a value must beat this to enter: 0 until the heap is full, then its root
    for row in range(values.size):
        value = values[row]
        if not value > lowest:
            continue
        if size < m:
            i = size
            size += 1
            while i > 0:  # sift up
                parent = (i - 1) // 2
                if heap_values[parent] <= value:
                    break
                heap_values[i] = heap_values[parent]
                heap_rows[i] = heap_rows[parent]
                i = parent
        else:
            i = 0
            while True:  # sift down from the root, which the new value replaces
                child = 2 * i + 1
                if child >= m:
                    break
                if child + 1 < m and heap_values[child + 1] < heap_values[child]:
                    child += 1
                if heap_values[child] >= value:
                    break
                heap_values[i] = heap_values[child]
                heap_rows[i] = heap_rows[child]
                i = child
        heap_values[i] = value
        heap_rows[i] = row
        if size == m:
            lowest = heap_values[0]
    return heap_rows[:size].copy()


@njit(**_JIT)
def at_least(values, floor):  # pragma: no cover - compiled
    """Rows (int64, ascending) whose value, compared in float64, is >= floor."""
    count = 0
    for row in range(values.size):
        if np.float64(values[row]) >= floor:
            count += 1
    rows = np.empty(count, dtype=np.int64)
    count = 0
    for row in range(values.size):
        if np.float64(values[row]) >= floor:
            rows[count] = row
            count += 1
    return rows


@njit(**_JIT)
def topic_cosines(units, topics, rows):  # pragma: no cover - compiled
    """``units[rows] @ topics`` as float32 (rows.size,), each row summed in float32 in topic order.

    One fixed order per row, whichever rows are asked for, so a row's score never depends on which
    other rows were scored with it (a BLAS product's does: its blocking depends on the row count).
    """
    out = np.empty(rows.size, dtype=np.float32)
    for i in range(rows.size):
        row = rows[i]
        total = np.float32(0.0)
        for t in range(topics.size):
            total += units[row, t] * topics[t]
        out[i] = total
    return out


@njit(**_JIT)
def all_topic_cosines(units, topics):  # pragma: no cover - compiled
    """``units @ topics`` as float32 (n_rows,), the same sums as :func:`topic_cosines`; four rows at a
    time, so the four sums overlap (each row's own order is unchanged)."""
    n = units.shape[0]
    out = np.empty(n, dtype=np.float32)
    stop = n - n % 4
    for row in range(0, stop, 4):
        a = b = c = d = np.float32(0.0)
        for t in range(topics.size):
            w = topics[t]
            a += units[row, t] * w
            b += units[row + 1, t] * w
            c += units[row + 2, t] * w
            d += units[row + 3, t] * w
        out[row], out[row + 1], out[row + 2], out[row + 3] = a, b, c, d
    for row in range(stop, n):
        total = np.float32(0.0)
        for t in range(topics.size):
            total += units[row, t] * topics[t]
        out[row] = total
    return out


@njit(inline="always")
def _worse(score_a, row_a, score_b, row_b):  # pragma: no cover - compiled
    """Whether (score_a, row_a) ranks below (score_b, row_b): a lower score, or a tie and a higher row."""
    return score_a < score_b or (score_a == score_b and row_a > row_b)


@njit(**_JIT)
def best_of_all(lexical, units, topics, lexical_weight, topic_weight, floor, m):  # pragma: no cover - compiled
    """Rows (int64) and float32 scores, in no order, of the m best rows by blended score among rows whose
    lexical cosine is finite and whose score (compared in float64) is >= floor: every row is scored.

    The score is ``lexical_weight * L + topic_weight * T`` in float32 (both weights float32), T summed
    as :func:`topic_cosines` sums it; a bounded min-heap keyed on (score, -row) keeps the m best.
    """
    heap_scores = np.empty(m, dtype=np.float32)
    heap_rows = np.empty(m, dtype=np.int64)
    size = 0
    n = units.shape[0]
    sums = np.zeros(4, dtype=np.float32)
    for block in range(0, n, 4):
        width = min(4, n - block)
        for j in range(4):
            sums[j] = 0.0
        for t in range(topics.size):  # four rows at once, each still summed in topic order
            w = topics[t]
            for j in range(width):
                sums[j] += units[block + j, t] * w
        for j in range(width):
            row = block + j
            value = lexical[row]
            if not np.isfinite(value):
                continue
            score = lexical_weight * value + topic_weight * sums[j]
            if np.float64(score) < floor:
                continue
            if size < m:
                i = size
                size += 1
                while i > 0:  # sift up past better parents
                    parent = (i - 1) // 2
                    if not _worse(score, row, heap_scores[parent], heap_rows[parent]):
                        break
                    heap_scores[i] = heap_scores[parent]
                    heap_rows[i] = heap_rows[parent]
                    i = parent
            elif _worse(heap_scores[0], heap_rows[0], score, row):
                i = 0
                while True:
                    child = 2 * i + 1
                    if child >= m:
                        break
                    if child + 1 < m and _worse(
                        heap_scores[child + 1], heap_rows[child + 1], heap_scores[child], heap_rows[child]
                    ):
                        child += 1
                    if not _worse(heap_scores[child], heap_rows[child], score, row):
                        break
                    heap_scores[i] = heap_scores[child]
                    heap_rows[i] = heap_rows[child]
                    i = child
            else:
                continue
            heap_scores[i] = score
            heap_rows[i] = row
    return heap_rows[:size].copy(), heap_scores[:size].copy()


@njit(inline="always")
def _dot(indices, data, start, end, dense):  # pragma: no cover - compiled
    """Product of a sparse row with a dense one, summed in float32 in the sparse row's storage order
    (the order of scipy's ``A @ B.T`` for a row of A)."""
    total = np.float32(0.0)
    for p in range(start, end):
        total += data[p] * dense[indices[p]]
    return total


@njit(inline="always")
def _spread(indices, data, start, end, dense, sign):  # pragma: no cover - compiled
    """Write a sparse row into ``dense`` (sign 1) or clear it again (sign 0)."""
    for p in range(start, end):
        dense[indices[p]] = data[p] * sign


@njit(**_JIT)
def distinct(
    candidates, indptr, indices, data, n_columns, query_indices, query_data, threshold, limit, kept_before, start
):  # pragma: no cover
    """Positions (into ``candidates``, ascending) of the first ``limit`` candidates that are no near-duplicate.

    candidates : int array of rows of X (``indptr``, ``indices``, ``data``: X in CSR form with
    ``n_columns`` columns), best first; query_indices, query_data : the query's row (empty: no query to
    compare with). A candidate is dropped when its cosine with the query or with a kept candidate is
    >= ``threshold``, compared in float32 like :func:`topics.duplicates.distinct_positions`, whose
    sums this repeats in the same order. ``kept_before``: positions kept among ``candidates[:start]``,
    decided by an earlier call on a shorter ranking that this one extends; the pass goes on from ``start``.
    """
    query = np.zeros(n_columns, dtype=np.float32)
    other = np.zeros(n_columns, dtype=np.float32)
    for p in range(query_indices.size):
        query[query_indices[p]] = query_data[p]
    kept = np.empty(max(min(limit, candidates.size), kept_before.size), dtype=np.int64)
    n_kept = kept_before.size
    kept[:n_kept] = kept_before
    for position in range(start, candidates.size):
        if n_kept >= limit:
            break
        row = candidates[position]
        start, end = indptr[row], indptr[row + 1]
        copy = query_indices.size > 0 and _dot(indices, data, start, end, query) >= threshold
        j = 0
        while not copy and j < n_kept:
            kept_row = candidates[kept[j]]
            _spread(indices, data, indptr[kept_row], indptr[kept_row + 1], other, np.float32(1.0))
            copy = _dot(indices, data, start, end, other) >= threshold
            _spread(indices, data, indptr[kept_row], indptr[kept_row + 1], other, np.float32(0.0))
            j += 1
        if not copy:
            kept[n_kept] = position
            n_kept += 1
    return kept[:n_kept].copy()


@njit(**_JIT)
def place_row(xht, gram, max_iter, tol):  # pragma: no cover - compiled
    """One text's topic weights w (float32, k): the coordinate descent of
    :func:`topics.topic_model.nmf_transform` for a single row, step for step, given x Hᵀ (k,) and H Hᵀ
    (k, k) in float64. The numpy loop pays a call per topic per sweep, most of a text query's time."""
    k = xht.size
    w = np.zeros(k)
    first = np.inf
    for sweep in range(max_iter):
        violation = 0.0
        for t in range(k):
            grad = 0.0
            for j in range(k):
                grad += w[j] * gram[j, t]
            grad -= xht[t]
            violation += abs(min(grad, 0.0) if w[t] == 0 else grad)
            if gram[t, t] > 0:
                w[t] = max(w[t] - grad / gram[t, t], 0.0)
        if sweep == 0:
            first = violation if violation > 0 else np.inf
        if not violation > tol * first:
            break
    return w.astype(np.float32)


def warm_up() -> None:
    """Load (or compile, the first time) every loop for the argument types models bring: int32 or int64
    indices, in writable (just fitted) or read-only (memory-mapped) arrays; query-sized arrays are
    always writable copies (:func:`topics.index._small`)."""
    units = np.eye(2, dtype=np.float32)
    for index_type in (np.int32, np.int64):
        model = [np.array([0, 1, 2], dtype=index_type), np.array([0, 1], dtype=index_type), np.ones(2, np.float32)]
        for writable in (True, False):
            for a in model:
                a.flags.writeable = writable
            indptr, indices, data = model
            columns, weights = np.zeros(1, dtype=index_type), np.ones(1, dtype=np.float32)
            lexical = scatter_add(indptr, indices, data, columns, weights, 2)
            rows = at_least(lexical, 0.5)
            largest(lexical, 1)
            topic_cosines(units, np.ones(2, dtype=np.float32), rows)
            all_topic_cosines(units, np.ones(2, dtype=np.float32))
            best_of_all(lexical, units, np.ones(2, dtype=np.float32), np.float32(0.5), np.float32(0.5), 0.0, 1)
            distinct(rows, indptr, indices, data, 2, columns, weights, np.float32(0.8), 1, np.zeros(0, np.int64), 0)
    place_row(np.ones(2), np.eye(2), 200, 1e-4)
