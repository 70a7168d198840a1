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
2. **Seeds** (:func:`lexical_histogram`, :func:`ranked_prefix`): one pass counts the rows by L in 4,096
   bins; the rows of the fewest top bins holding 4m rows get their exact score; the m-th best of those,
   c, is a lower bound of the m-th best score of the whole archive (any m real rows are). The rows are
   counted rather than kept in a heap of the 4m largest, whose every step is a chain of unpredictable
   branches.
3. **Reach** (:func:`ranked_prefix`): T_i <= 1, so a row can score >= c only if
   ``(1 - alpha) * L_i >= c - alpha``. Rows under that floor are never scored; this is the only pruning.
   The rows above it get their exact score (the topic product for those rows only; the seeds have theirs
   already), and those scoring >= c are every row of the archive that scores >= c: a prefix of the full
   ranking (score descending, ties to the lower row), holding at least m rows.
4. **Near-duplicates** (:func:`distinct`): a greedy scan in rank order drops a row whose TF-IDF cosine
   with the query article or with a better kept row reaches the threshold. Whether a row is dropped
   depends only on the rows ranked above it, all of them inside the prefix, so the first k rows kept
   from the prefix are the first k kept from the full ranking. When the prefix keeps fewer than k,
   m grows fourfold and steps 2-4 run again (on the same counts); the longer prefix starts with the
   shorter one, so the pass goes on where it stopped. m starts from half as much again as the depth at
   which the previous query found its k-th distinct row (at least 8k + 32), so a second round is rare.

When the floor of step 3 falls to zero (c no more than alpha: rows sharing no word with the query could
still rank), every row is scored in one pass that keeps the m best (:func:`best_of_all`). Filters
(dates, excluded rows) set L to -inf before step 2, so a filtered row is never a seed nor a survivor;
``min_score`` raises c. The topic cosine of a row is always summed the same way (:func:`topic_cosines`),
so a row's score has the same bits whichever rows are scored with it, and the exhaustive path
(:meth:`topics.index.SimilarityIndex.score_all`) gives the same scores.

Every step has a numpy twin in :mod:`topics.index` and :mod:`topics.duplicates`, used when numba is
missing (there the seeds are the 4m rows of largest L, and the reach a second pass); the tests check
both against brute force. Compiled code is cached on disk
(``cache=True``): beside this file when it is writable, otherwise in numba's user cache directory
(``NUMBA_CACHE_DIR`` when set). ``nogil=True`` lets a threaded server run two queries at once. Row and
column numbers read from arrays index as unsigned (``np.uint64(i)``, never negative here): numba then
skips the test for a negative index (Python's wrap-around) that it would otherwise make at every posting.
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
            scores[np.uint64(indices[p])] += data[p] * weight
    return scores


@njit(inline="always")
def _bin(value, scale, top):  # pragma: no cover - compiled
    """The histogram bin of a lexical cosine: ``floor(value * n_bins)`` held to [0, n_bins - 1] (``scale`` is
    n_bins, ``top`` n_bins - 1, both float32); 0 for values <= 0, -inf and NaN. n_bins is a power of two, so
    the product is exact and a value >= x always lies in a bin >= ``floor(x * n_bins)``."""
    x = value * scale
    x = x if x > 0 else np.float32(0.0)
    x = x if x < top else top
    return np.int64(x)


@njit(**_JIT)
def lexical_histogram(lexical, n_bins):  # pragma: no cover - compiled
    """How many rows (int64, (n_bins,)) have their lexical cosine in each bin of width 1 / n_bins (see
    :func:`_bin`); one pass without branches. Four rows at a time, each into a histogram of its own: most
    rows fall in bin 0, and one histogram's every increment would wait for the one before (half the time)."""
    c0, c1 = np.zeros(n_bins, dtype=np.int64), np.zeros(n_bins, dtype=np.int64)
    c2, c3 = np.zeros(n_bins, dtype=np.int64), np.zeros(n_bins, dtype=np.int64)
    scale, top = np.float32(n_bins), np.float32(n_bins - 1)
    stop = lexical.size - lexical.size % 4
    for row in range(0, stop, 4):
        c0[np.uint64(_bin(lexical[row], scale, top))] += 1
        c1[np.uint64(_bin(lexical[row + 1], scale, top))] += 1
        c2[np.uint64(_bin(lexical[row + 2], scale, top))] += 1
        c3[np.uint64(_bin(lexical[row + 3], scale, top))] += 1
    for row in range(stop, lexical.size):
        c0[np.uint64(_bin(lexical[row], scale, top))] += 1
    return c0 + c1 + c2 + c3


@njit(**_JIT)
def _blended(lexical, units, topics, rows, lexical_weight, topic_weight):  # pragma: no cover - compiled
    """Scores (float32) of ``rows``: ``lexical_weight * L + topic_weight * T``, T as :func:`topic_cosines` sums it."""
    scores = topic_cosines(units, topics, rows)
    for i in range(rows.size):
        scores[i] = lexical_weight * lexical[np.uint64(rows[i])] + topic_weight * scores[i]
    return scores


@njit(**_JIT)
def ranked_prefix(
    lexical, counts, units, topics, lexical_weight, topic_weight, alpha, floor, m, n_seeds
):  # pragma: no cover - compiled
    """Steps 2 and 3 of the module docstring: rows (int64) and float32 scores, in no order, of every row scoring
    >= some c, at least m of them; and a state: 0, 1 when they are every row scoring >= ``floor`` (c is
    below it), or -1 when the pruning cannot work (no rows are returned; every row must be scored).

    lexical : float32 (n_rows,), -inf for rows that are not allowed; counts : its
    :func:`lexical_histogram`; alpha : the topic weight (float64, < 1) whose float32 values are
    ``lexical_weight`` (1 - alpha) and ``topic_weight``. The seeds are the rows of the fewest top bins that
    hold ``n_seeds`` rows (bin 0, of rows at or near 0, never); c is the m-th best of their scores.
    """
    n_bins = counts.size
    scale, top = np.float32(n_bins), np.float32(n_bins - 1)
    no_rows, no_scores = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    edge, n = n_bins, 0
    while edge > 1 and n < n_seeds:
        edge -= 1
        n += counts[edge]
    if n < m:
        return no_rows, no_scores, -1
    if n > 2 * n_seeds and n - counts[edge] >= m:  # one bin holds a crowd: the bins above it are enough
        n -= counts[edge]
        edge += 1
    seeds = np.empty(n, dtype=np.int64)
    j = 0
    for row in range(lexical.size):
        if _bin(lexical[row], scale, top) >= edge:
            seeds[j] = row
            j += 1
    seed_scores = _blended(lexical, units, topics, seeds, lexical_weight, topic_weight)
    c = np.float64(np.partition(seed_scores, n - m)[n - m])
    state = 1 if c < floor else 0
    cut = max(c, floor)
    # T <= 1 (a little more in float32 products): a row below this lexical floor cannot reach cut.
    lexical_floor = (cut - alpha * (1.0 + 1e-5) - 1e-6) / (1.0 - alpha) - 1e-6
    if lexical_floor <= 0:
        return no_rows, no_scores, -1
    # Rows below the seed bins that may still reach cut lie in bins floor(lexical_floor * n_bins) to edge - 1.
    low = min(np.int64(lexical_floor * n_bins), edge)
    extra = np.empty(counts[low:edge].sum(), dtype=np.int64)
    j = 0
    if extra.size:
        for row in range(lexical.size):
            value = lexical[row]
            if np.float64(value) >= lexical_floor and _bin(value, scale, top) < edge:
                extra[j] = row
                j += 1
    extra = extra[:j]
    extra_scores = _blended(lexical, units, topics, extra, lexical_weight, topic_weight)
    rows, scores = np.empty(n + j, dtype=np.int64), np.empty(n + j, dtype=np.float32)
    kept = _reaching(seeds, seed_scores, cut, rows, scores, 0)
    kept = _reaching(extra, extra_scores, cut, rows, scores, kept)
    return rows[:kept], scores[:kept], state


@njit(inline="always")
def _reaching(rows, scores, cut, out_rows, out_scores, kept):  # pragma: no cover - compiled
    """Append the rows whose score (compared in float64) is >= cut to ``out_*`` from position ``kept``; the new end."""
    for i in range(rows.size):
        if np.float64(scores[i]) >= cut:
            out_rows[kept], out_scores[kept] = rows[i], scores[i]
            kept += 1
    return kept


@njit(**_JIT)
def topic_cosines(units, topics, rows):  # pragma: no cover - compiled
    """``units[rows] @ topics`` as float32 (rows.size,), each row summed in float32 in topic order.

    One fixed order per row, whichever rows are asked for, so a row's score never depends on which
    other rows were scored with it (a BLAS product's does: its blocking depends on the row count).
    Four rows at a time, so that their four sums (each a chain of dependent additions) overlap.
    """
    out = np.empty(rows.size, dtype=np.float32)
    stop = rows.size - rows.size % 4
    for i in range(0, stop, 4):
        r0, r1, r2, r3 = np.uint64(rows[i]), np.uint64(rows[i + 1]), np.uint64(rows[i + 2]), np.uint64(rows[i + 3])
        a = b = c = d = np.float32(0.0)
        for t in range(topics.size):
            w = topics[t]
            a += units[r0, t] * w
            b += units[r1, t] * w
            c += units[r2, t] * w
            d += units[r3, t] * w
        out[i], out[i + 1], out[i + 2], out[i + 3] = a, b, c, d
    for i in range(stop, rows.size):
        row = np.uint64(rows[i])
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


@njit(inline="always")
def _offer(heap_scores, heap_rows, size, score, row):  # pragma: no cover - compiled
    """Put (score, row) into the bounded min-heap keyed on (score, -row) of capacity ``heap_scores.size``
    holding ``size`` entries, if it ranks above the heap's worst; the new size."""
    m = heap_scores.size
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
        return size
    heap_scores[i] = score
    heap_rows[i] = row
    return size


@njit(inline="always")
def _offer_row(
    heap_scores, heap_rows, size, lexical, row, total, lexical_weight, topic_weight, floor
):  # pragma: no cover
    """:func:`_offer` the score of ``row`` (topic cosine ``total``) unless its lexical cosine is not finite or
    its score (compared in float64) is below ``floor``; the new size."""
    value = lexical[row]
    if not np.isfinite(value):
        return size
    score = lexical_weight * value + topic_weight * total
    if np.float64(score) < floor:
        return size
    return _offer(heap_scores, heap_rows, size, score, row)


@njit(**_JIT)
def best_of_all(lexical, units, topics, lexical_weight, topic_weight, floor, m):  # pragma: no cover - compiled
    """Rows (int64) and float32 scores, in no order, of the m best rows by blended score among rows whose
    lexical cosine is finite and whose score (compared in float64) is >= floor: every row is scored.

    The score is ``lexical_weight * L + topic_weight * T`` in float32 (both weights float32), T summed
    as :func:`topic_cosines` sums it (four rows at a time, in registers); a bounded min-heap keyed on
    (score, -row) keeps the m best.
    """
    heap_scores = np.empty(m, dtype=np.float32)
    heap_rows = np.empty(m, dtype=np.int64)
    size = 0
    n = units.shape[0]
    stop = n - n % 4
    for row in range(0, stop, 4):
        a = b = c = d = np.float32(0.0)
        for t in range(topics.size):
            w = topics[t]
            a += units[row, t] * w
            b += units[row + 1, t] * w
            c += units[row + 2, t] * w
            d += units[row + 3, t] * w
        size = _offer_row(heap_scores, heap_rows, size, lexical, row, a, lexical_weight, topic_weight, floor)
        size = _offer_row(heap_scores, heap_rows, size, lexical, row + 1, b, lexical_weight, topic_weight, floor)
        size = _offer_row(heap_scores, heap_rows, size, lexical, row + 2, c, lexical_weight, topic_weight, floor)
        size = _offer_row(heap_scores, heap_rows, size, lexical, row + 3, d, lexical_weight, topic_weight, floor)
    for row in range(stop, n):
        total = np.float32(0.0)
        for t in range(topics.size):
            total += units[row, t] * topics[t]
        size = _offer_row(heap_scores, heap_rows, size, lexical, row, total, lexical_weight, topic_weight, floor)
    return heap_rows[:size].copy(), heap_scores[:size].copy()


@njit(inline="always")
def _dot(indices, data, start, end, dense):  # pragma: no cover - compiled
    """Product of a sparse row with a dense one, summed in float32 in the sparse row's storage order
    (the order of scipy's ``A @ B.T`` for a row of A)."""
    total = np.float32(0.0)
    for p in range(start, end):
        total += data[p] * dense[np.uint64(indices[p])]
    return total


@njit(inline="always")
def _spread(indices, data, start, end, dense, sign):  # pragma: no cover - compiled
    """Write a sparse row into ``dense`` (sign 1) or clear it again (sign 0)."""
    for p in range(start, end):
        dense[np.uint64(indices[p])] = data[p] * sign


@njit(**_JIT)
def distinct(
    candidates, indptr, indices, data, scratch, query_indices, query_data, threshold, limit, kept_before, start
):  # pragma: no cover
    """Positions (into ``candidates``, ascending) of the first ``limit`` candidates that are no near-duplicate.

    candidates : int array of rows of X (``indptr``, ``indices``, ``data``: X in CSR form, non-negative),
    best first; scratch : float32 array (2, n_columns of X), all zeros, and zeros again on return;
    query_indices, query_data : the query's row (empty: no query to compare with). A candidate is dropped
    when its cosine with the query or with a kept candidate is >= ``threshold``, compared in float32 like
    :func:`topics.duplicates.distinct_positions`, whose sums this repeats: a cosine is summed over the
    shared columns in column order (the products of other columns are zeros, which change no sum), from
    the candidate's side for the query and from the kept row's side for a kept row, the same bits.
    ``kept_before``: positions kept among ``candidates[:start]``, decided by an earlier call on a shorter
    ranking that this one extends; the pass goes on from ``start``.
    """
    query, candidate = scratch[0], scratch[1]
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
        if not copy and n_kept > 0:  # the candidate spread once, each kept row read against it
            _spread(indices, data, start, end, candidate, np.float32(1.0))
            j = 0
            while not copy and j < n_kept:
                kept_row = candidates[kept[j]]
                copy = _dot(indices, data, indptr[kept_row], indptr[kept_row + 1], candidate) >= threshold
                j += 1
            _spread(indices, data, start, end, candidate, np.float32(0.0))
        if not copy:
            kept[n_kept] = position
            n_kept += 1
    for p in range(query_indices.size):
        query[query_indices[p]] = 0.0
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
            counts = lexical_histogram(lexical, 4)
            rows, _, _ = ranked_prefix(
                lexical, counts, units, np.ones(2, np.float32), np.float32(0.5), np.float32(0.5), 0.5, 0.0, 1, 4
            )
            topic_cosines(units, np.ones(2, dtype=np.float32), rows)
            all_topic_cosines(units, np.ones(2, dtype=np.float32))
            best_of_all(lexical, units, np.ones(2, dtype=np.float32), np.float32(0.5), np.float32(0.5), 0.0, 1)
            scratch = np.zeros((2, 2), dtype=np.float32)
            distinct(
                rows, indptr, indices, data, scratch, columns, weights, np.float32(0.8), 1, np.zeros(0, np.int64), 0
            )
    place_row(np.ones(2), np.eye(2), 200, 1e-4)


@njit(**_JIT)
def form_sums(indptr, indices, data, columns, tops, scratch):  # pragma: no cover - compiled
    """S of :mod:`topics.index` for every row holding a word of one word form: ``(rows, sums)``, the rows
    (int64) in the order first met and ``sum_j B[row, columns[j]] / (tops[j] - B[row, columns[j]])``
    (float64).

    indptr, indices, data : the search matrix B (CSC); columns : int array of the form's words; tops :
    float64 array of their ``idf_t * (k1 + 1)``; scratch : float64 zeros (n_rows,), left zero. Each sum
    runs word by word in the order given, from 0.0, in float64: the sums of the numpy twin
    (:func:`topics.index.form_postings`), which gives the rows ascending.
    """
    total = 0
    for j in range(columns.size):
        total += indptr[columns[j] + 1] - indptr[columns[j]]
    rows = np.empty(total, dtype=np.int64)
    count = 0
    for j in range(columns.size):
        column = columns[j]
        top = tops[j]
        for p in range(indptr[column], indptr[column + 1]):
            row = indices[p]
            value = np.float64(data[p])
            room = top - value
            if room < 1e-12:
                room = 1e-12
            if scratch[row] == 0.0:  # every ratio is > 0: a row is 0 until its first posting
                rows[count] = row
                count += 1
            scratch[row] += value / room
    sums = np.empty(count)
    for i in range(count):
        sums[i] = scratch[rows[i]]
        scratch[rows[i]] = 0.0
    return rows[:count], sums


# -- near-duplicate pairs (topics.duplicates) ----------------------------------------------------------
@njit(**_JIT)
def rank_order(indptr, indices, data, rank, bound):  # pragma: no cover - compiled
    """Each row's entries in ``rank`` order (rarest column first) and where its *prefix* ends.

    Returns ``order`` (int64, nnz: positions into ``indices``, row by row, each row's by rank), ``tails``
    (float64, nnz: the squared norm of the row's entries from that one to its end, in rank order) and
    ``lengths`` (int64, n_rows: the prefix's entries, the fewest leading ones after which the rest, the
    suffix, has a norm below ``bound``).
    """
    n = indptr.size - 1
    order = np.empty(indices.size, dtype=np.int64)
    tails = np.empty(indices.size, dtype=np.float64)
    lengths = np.zeros(n, dtype=np.int64)
    limit = bound * bound
    for row in range(n):
        start, end = indptr[row], indptr[row + 1]
        keys = np.empty(end - start, dtype=np.int64)
        for p in range(start, end):
            keys[p - start] = rank[indices[p]]
        by_rank = np.argsort(keys)
        tail = 0.0
        length = 0
        for q in range(end - start - 1, -1, -1):
            p = start + by_rank[q]
            order[start + q] = p
            value = np.float64(data[p])
            tail += value * value
            tails[start + q] = tail
            if length == 0 and tail >= limit:
                length = q + 1
        lengths[row] = length
    return order, tails, lengths


@njit(inline="always")
def _tail(indptr, indices, order, tails, rank, row, cut):  # pragma: no cover - compiled
    """The norm of ``row``'s entries whose column's rank is >= cut (binary search in its rank order)."""
    lo, hi = indptr[row], indptr[row + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        if rank[indices[order[mid]]] < cut:
            lo = mid + 1
        else:
            hi = mid
    return np.sqrt(tails[lo]) if lo < indptr[row + 1] else 0.0


@njit(**_JIT)
def prefix_postings(indptr, indices, data, order, lengths, rank):  # pragma: no cover - compiled
    """The postings of the rows' prefixes (:func:`rank_order`): ``(starts, posted, values, first_suffix)``,
    for column c the rows ``posted[starts[c]:starts[c + 1]]`` (ascending) holding it in their prefix and
    their values (float64), and each row's first suffix rank (the number of columns when it has none)."""
    n = indptr.size - 1
    n_columns = rank.size
    counts = np.zeros(n_columns + 1, dtype=np.int64)
    for row in range(n):
        for q in range(lengths[row]):
            counts[indices[order[indptr[row] + q]] + 1] += 1
    starts = np.cumsum(counts)
    fill = starts[:-1].copy()
    posted = np.empty(starts[-1], dtype=np.int64)
    values = np.empty(starts[-1], dtype=np.float64)
    for row in range(n):
        for q in range(lengths[row]):
            p = order[indptr[row] + q]
            column = indices[p]
            posted[fill[column]] = row
            values[fill[column]] = data[p]
            fill[column] += 1
    first_suffix = np.empty(n, dtype=np.int64)
    for row in range(n):
        at = indptr[row] + lengths[row]
        first_suffix[row] = rank[indices[order[at]]] if at < indptr[row + 1] else n_columns
    return starts, posted, values, first_suffix


@njit(**_JIT)
def similar_pairs(
    indptr,
    indices,
    data,
    order,
    tails,
    lengths,
    rank,
    starts,
    posted,
    values,
    first_suffix,
    threshold,
    floor,
    longest,
    first,
    last,
):  # pragma: no cover - compiled
    """Pairs (i < j, j in ``first:last``) of rows of X (CSR, non-negative) whose cosine, summed in float32, is
    >= ``threshold`` (float32): ``(rows_i, rows_j, cosines)``, in no order; ``longest``: the largest row norm.

    ``order``, ``tails``, ``lengths``: :func:`rank_order`'s, cut so that a pair that reaches ``floor`` (a
    little under the threshold, for rounding) shares a column in both prefixes (:mod:`topics.duplicates`);
    ``starts``, ``posted``, ``values``, ``first_suffix``: :func:`prefix_postings`'. Rows meet in the
    postings of their prefixes, which also sum A, their product over the columns where both prefixes hold
    it. Every other column they share ranks at or after b, the earlier of their two suffixes' first ranks,
    so the cosine is at most ``A + tail_i(b) tail_j(b)`` (Cauchy-Schwarz over those columns); pairs whose
    bound is under ``floor`` are dropped. The rest are summed exactly: over row i's entries in storage
    order against row j spread out densely, as scipy sums ``X[i] @ X.T`` (products of columns j lacks
    are zeros), so the same bits. Calls on disjoint ranges of j share nothing they write (threads).
    """
    n = indptr.size - 1
    seen = np.full(n, -1, dtype=np.int64)
    shared = np.zeros(n, dtype=np.float64)
    dense = np.zeros(rank.size, dtype=np.float32)
    candidates = np.empty(n, dtype=np.int64)
    size = 1024
    out_i = np.empty(size, dtype=np.int64)
    out_j = np.empty(size, dtype=np.int64)
    out_c = np.empty(size, dtype=np.float32)
    found = 0
    for j in range(first, last):
        start, end = indptr[j], indptr[j + 1]
        m = 0
        for q in range(lengths[j]):
            p = order[start + q]
            column = indices[p]
            value = np.float64(data[p])
            for k in range(starts[column], starts[column + 1]):
                i = posted[k]
                if i >= j:
                    break
                if seen[i] != j:
                    seen[i] = j
                    shared[i] = 0.0
                    candidates[m] = i
                    m += 1
                shared[i] += value * values[k]
        if m == 0:
            continue
        candidates[:m].sort()  # rows of X read in storage order: fewer cache misses than the sort costs
        spread = False
        suffix_j = np.sqrt(tails[start + lengths[j]]) if lengths[j] < end - start else 0.0
        for c in range(m):
            i = candidates[c]
            # The columns left lie in the earlier-starting suffix, whose norm bounds their sum (the other
            # row's norm being 1); only if that does not rule the pair out, the two tails from there.
            if first_suffix[i] < first_suffix[j]:
                at = indptr[i] + lengths[i]
                b, rest = first_suffix[i], np.sqrt(tails[at]) if at < indptr[i + 1] else 0.0
            else:
                b, rest = first_suffix[j], suffix_j
            if shared[i] + rest * longest < floor:
                continue
            rest = _tail(indptr, indices, order, tails, rank, i, b) * _tail(indptr, indices, order, tails, rank, j, b)
            if shared[i] + rest < floor:
                continue
            if not spread:
                for p in range(start, end):
                    dense[indices[p]] = data[p]
                spread = True
            total = np.float32(0.0)
            for p in range(indptr[i], indptr[i + 1]):
                total += data[p] * dense[indices[p]]
            if total >= threshold:
                if found == size:
                    size *= 2
                    out_i, out_j, out_c = _grown(out_i, size), _grown(out_j, size), _grown(out_c, size)
                out_i[found], out_j[found], out_c[found] = i, j, total
                found += 1
        if spread:
            for p in range(start, end):
                dense[indices[p]] = 0.0
    return out_i[:found].copy(), out_j[:found].copy(), out_c[:found].copy()


@njit(inline="always")
def _grown(array, size):  # pragma: no cover - compiled
    bigger = np.empty(size, dtype=array.dtype)
    bigger[: array.size] = array
    return bigger


# -- the search matrix B (topics.index.search_postings, topics.state.build_search) -----------------------
@njit(**_JIT)
def smallest_ratios(indptr, indices, data, idf, n_rows):  # pragma: no cover - compiled
    """Each row's smallest ``x / idf_t`` over its non-zero entries, read from X's postings (CSC), float64
    (n_rows,), 0 for an empty row: the ratio of a term seen once, as :func:`topics.index.term_counts`
    takes it (a minimum, so the order it is read in does not matter)."""
    smallest = np.full(n_rows, np.inf)
    for column in range(indptr.size - 1):
        for p in range(indptr[column], indptr[column + 1]):
            if data[p] != 0:
                ratio = np.float64(data[p]) / idf[column]
                if ratio < smallest[indices[p]]:
                    smallest[indices[p]] = ratio
    for row in range(n_rows):
        if smallest[row] == np.inf:
            smallest[row] = 0.0
    return smallest


@njit(inline="always")
def _count(value, idf, smallest):  # pragma: no cover - compiled
    """A term's count from its TF-IDF value, :func:`topics.index.term_counts`' ``rint(exp(ratio / smallest - 1))``.
    exp rises, so a log count (>= 0) under 0.2 rounds to 1 (exp(0.2) = 1.22): most terms need no exp."""
    log_count = np.float64(value) / idf / smallest - 1.0
    return np.float32(1.0) if log_count < 0.2 else np.float32(np.rint(np.exp(log_count)))


@njit(**_JIT)
def search_counts(
    p_indptr, p_indices, p_data, idf, smallest, l_indptr, l_indices, l_data, indptr, indices, data
):  # pragma: no cover - compiled
    """f of :func:`topics.index.search_postings` in CSC form, column by column, into ``indptr``,
    ``indices``, ``data`` (room for every entry of both inputs): the text counts read back from X's
    postings P (CSC, non-zero values, rows ascending in each column; :func:`topics.index.term_counts`'
    counts) plus L (CSC, rows ascending; :class:`topics.state.SearchFields`), summed in float32 as scipy
    adds the two CSR matrices. Returns ``(ok, lengths)``: ok is False when a column's rows were not
    ascending (the arrays are then not f: go the numpy way); lengths, each row's sum (float64; the counts
    are whole numbers, so any order gives the same sums)."""
    n_rows = smallest.size
    n_columns = l_indptr.size - 1
    n_terms = p_indptr.size - 1
    lengths = np.zeros(n_rows)
    at = 0
    indptr[0] = 0
    for column in range(n_columns):
        p, p_end = (p_indptr[column], p_indptr[column + 1]) if column < n_terms else (0, 0)
        q, q_end = l_indptr[column], l_indptr[column + 1]
        previous = -1
        if q == q_end:  # most columns: the text's counts alone
            weight = idf[column]
            for k in range(p, p_end):
                row = p_indices[k]
                if row <= previous:
                    return False, lengths
                previous = row
                value = _count(p_data[k], weight, smallest[row])
                indices[at] = row
                data[at] = value
                lengths[row] += value
                at += 1
        else:
            while p < p_end or q < q_end:
                row_p = p_indices[p] if p < p_end else n_rows
                row_q = l_indices[q] if q < q_end else n_rows
                row = min(row_p, row_q)
                if row <= previous:
                    return False, lengths
                previous = row
                value = np.float32(0.0)
                if row_p == row:
                    value = _count(p_data[p], idf[column], smallest[row])
                    p += 1
                if row_q == row:
                    value = value + l_data[q]
                    q += 1
                if value != 0:
                    indices[at] = row
                    data[at] = value
                    lengths[row] += value
                    at += 1
        indptr[column + 1] = at
    return True, lengths


@njit(**_JIT)
def bm25_weights(indptr, indices, data, idf, norm, k1):  # pragma: no cover - compiled
    """B's values from the counts f (CSC, float32, in place): ``idf_t * f * (k1 + 1) / (f + norm_d)`` in
    float64, the operations of :func:`topics.index.search_postings` in its order, so the same bits."""
    for column in range(indptr.size - 1):
        weight = idf[column]
        for p in range(indptr[column], indptr[column + 1]):
            value = np.float64(data[p])
            data[p] = weight * value * (k1 + 1.0) / (value + norm[indices[p]])
