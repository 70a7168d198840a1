"""Near-duplicate articles: syndicated copies, reprints under a new headline, updated versions.

Two articles are near-duplicates when the cosine of their TF-IDF rows is at least a threshold
(default 0.8): a reprint with a changed headline and a few edited words stays well above it, while two
different reports on the same event rarely pass 0.6. Groups are the connected components of the
near-duplicate pairs, so a chain of successive updates forms one group.

The pairs are found exactly by prefix filtering (:func:`near_duplicate_pairs`): only rows that share one
of their rarest columns are compared, so the work follows the number of such candidates rather than the
square of the archive. Memory: twice X's (each row's entries by rank, int64, and their tail norms, float64).
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from .compiled import compiled_kernels

DEFAULT_THRESHOLD = 0.8
_CHUNK_CELLS = 2**24  # a chunk's product has at most this many entries (rows x articles)


def check_threshold(threshold) -> float:
    from .errors import ParameterError

    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 < threshold <= 1.0:
        raise ParameterError(f"threshold={threshold!r} is not allowed; use a number in (0.0, 1.0]")
    return float(threshold)


def near_duplicate_pairs(doc_terms, threshold: float = DEFAULT_THRESHOLD, *, compiled: bool = True) -> sp.coo_matrix:
    """Pairs (i < j) of rows whose TF-IDF cosine is >= threshold, as a sparse (n, n) matrix of cosines.

    doc_terms : csr_matrix (n_articles, V) with unit rows (non-negative). Each cosine is summed in float32
    as scipy's ``X @ X.T`` sums it (in the order X stores each row's entries) and kept when it is
    ``>= threshold - 1e-6`` in float32 (products of identical rows can fall a hair below 1).

    With numba (``compiled``, the default), only pairs that can reach the threshold are compared
    (:func:`_prefix_pairs`); otherwise every pair sharing a term is, a chunk of rows at a time
    (:func:`_product_pairs`, the reference). Both give the same pairs and cosines, in the same order.
    """
    X = sp.csr_matrix(doc_terms, dtype=np.float32)
    kernels = compiled_kernels() if compiled else None
    cut = np.float32(threshold - 1e-6)
    rows, cols, values = _product_pairs(X, cut) if kernels is None else _prefix_pairs(X, cut, kernels)
    order = np.lexsort((cols, rows))
    n = X.shape[0]
    return sp.coo_matrix((values[order], (rows[order], cols[order])), shape=(n, n))


def _product_pairs(X: sp.csr_matrix, cut: np.float32):
    """(rows, cols, cosines) of the pairs i < j with ``X[i] @ X[j] >= cut``, from chunks of ``X @ X.T``: every
    pair sharing a term is scored, so the work grows with the square of the archive."""
    Xt = X.T.tocsc()
    n = X.shape[0]
    step = int(min(2048, max(16, _CHUNK_CELLS // max(n, 1))))
    rows, cols, values = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.float32)]
    for start in range(0, n, step):
        block = sp.coo_matrix(X[start : start + step] @ Xt)
        keep = (block.data >= cut) & (block.col > block.row + start)
        rows.append(block.row[keep].astype(np.int64) + start)
        cols.append(block.col[keep].astype(np.int64))
        values.append(block.data[keep])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(values)


def _prefix_pairs(X: sp.csr_matrix, cut: np.float32, kernels):
    """The pairs of :func:`_product_pairs` by prefix filtering (Bayardo, Ma and Srikant 2007, "Scaling up
    all pairs similarity search"), compiled (:func:`topics.kernels.similar_pairs`).

    Order the columns once, rarest first. A row's *suffix* is its longest run of last columns in that order
    whose norm is below ``t`` (a little under ``cut``, for rounding), its *prefix* the rest. If rows x and y
    shared no column in both prefixes, every column they share would lie in the suffix of one of them
    (the one whose suffix starts first), so ``x . y <= |suffix| |other row| < t``. Only rows meeting in the
    prefixes' postings are compared, exactly; with the rarest columns in front, those postings are short.
    """
    n_columns = X.shape[1]
    if X.nnz == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    df = np.bincount(X.indices, minlength=n_columns)
    rank = np.empty(n_columns, dtype=np.int64)
    rank[np.argsort(df, kind="stable")] = np.arange(n_columns)
    longest = float(np.sqrt(_row_squares(X).max()))
    floor = float(cut) - 1e-4  # under the float32 threshold by more than any rounding of a sum
    bound = max(floor, 0.0) / max(longest, 1e-12)  # |suffix| < bound: |suffix| |other row| < floor
    order, tails, lengths = kernels.rank_order(X.indptr, X.indices, X.data, rank, bound)
    prefixes = kernels.prefix_postings(X.indptr, X.indices, X.data, order, lengths, rank)
    arrays = (X.indptr, X.indices, X.data, order, tails, lengths, rank, *prefixes, cut, floor, longest)
    # Row j is compared with the rows before it, so later rows cost more: cut the rows where half the pairs lie.
    n = X.shape[0]
    ranges = [(start, stop) for start, stop in _balanced_ranges(n, os.cpu_count() or 1) if stop > start]
    with ThreadPoolExecutor(len(ranges)) as pool:  # the loops let go of the GIL
        parts = list(pool.map(lambda r: kernels.similar_pairs(*arrays, *r), ranges))
    return tuple(np.concatenate([part[k] for part in parts]) for k in range(3))


def _balanced_ranges(n: int, n_parts: int) -> list[tuple[int, int]]:
    """``n_parts`` ranges of rows covering 0..n with about as many earlier rows to compare in each
    (row j has j): cuts at ``n * sqrt(k / n_parts)``."""
    cuts = [0, *(int(n * np.sqrt(k / n_parts)) for k in range(1, n_parts)), n]
    return list(itertools.pairwise(cuts))


def _row_squares(X: sp.csr_matrix) -> np.ndarray:
    """Each row's squared norm in float64."""
    squares = X.data.astype(np.float64) ** 2
    sums = np.zeros(X.shape[0])
    filled = np.diff(X.indptr) > 0
    sums[filled] = np.add.reduceat(squares, X.indptr[:-1][filled]) if squares.size else 0.0
    return sums


def duplicate_groups(doc_terms, threshold: float = DEFAULT_THRESHOLD) -> list[np.ndarray]:
    """Rows of each group of two or more near-duplicates, largest group first, rows ascending."""
    from scipy.sparse.csgraph import connected_components

    pairs = near_duplicate_pairs(doc_terms, threshold)
    if pairs.nnz == 0:
        return []
    _, labels = connected_components(pairs, directed=False)
    sizes = np.bincount(labels)
    members = np.argsort(labels, kind="stable")
    groups = np.split(members, np.cumsum(sizes)[:-1])
    groups = [g for g in groups if g.size > 1]
    return sorted(groups, key=lambda g: (-g.size, g[0]))


def distinct_rows(
    candidates: np.ndarray, doc_terms, threshold: float, query=None, limit: int | None = None, block: int = 32
) -> np.ndarray:
    """The candidates (in rank order) left after dropping near-duplicates of the query and of each other.

    See :func:`distinct_positions`; this returns the kept rows rather than their positions.
    """
    return candidates[distinct_positions(candidates, doc_terms, threshold, query=query, limit=limit, block=block)]


def distinct_positions(
    candidates: np.ndarray, doc_terms, threshold: float, query=None, limit: int | None = None, block: int = 32
) -> np.ndarray:
    """Positions (ascending) in ``candidates`` of those left after dropping near-duplicates of the query
    and of each other (numpy; :func:`topics.kernels.distinct` is its compiled twin).

    candidates : int array of rows, best first; query : sparse row (1, V) or None. A candidate is dropped
    when its cosine with the query, or with a better candidate already kept, is >= threshold. With
    ``limit``, stops once that many are kept (the rest are not read).

    Candidates are read in blocks and compared with what is kept so far (at most ``limit`` rows) and
    with each other, never all pairs at once: a query whose best few hundred rows are copies of one
    story costs a few small products, not one of hundreds by hundreds.
    """
    limit = candidates.size if limit is None else limit
    kept: list[int] = []
    kept_vectors = query  # the query first, then each kept candidate
    for start in range(0, candidates.size, block):
        if len(kept) >= limit:
            break
        vectors = doc_terms[candidates[start : start + block]]
        # Rows that copy the query or an earlier kept row go first, with one small product; only the
        # rest are compared with each other (on a million articles: 12 against 21 ms per query).
        rows = np.arange(vectors.shape[0])
        if kept_vectors is not None:
            rows = rows[(vectors @ kept_vectors.T).max(axis=1).toarray().ravel() < threshold - 1e-6]
        if rows.size == 0:
            continue
        vectors = vectors[rows]
        mutual = (vectors @ vectors.T).toarray()
        kept_here: list[int] = []
        for i in range(rows.size):
            if kept_here and mutual[i, kept_here].max() >= threshold - 1e-6:
                continue
            kept_here.append(i)
            kept.append(start + int(rows[i]))
            if len(kept) >= limit:
                break
        new = vectors[kept_here]
        kept_vectors = new if kept_vectors is None else sp.vstack([kept_vectors, new], format="csr")
    return np.array(kept, dtype=np.int64)
