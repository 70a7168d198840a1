"""Raw term counts of chunks of an archive, before any term is chosen.

An archive is counted in chunks (:func:`topics.text.Vectorizer.fit_transform_chunks`), each a pair
``(counts, local_terms)``: a CSR matrix of raw counts, float32 (n_texts, T), over the chunk's own sorted
byte-string terms (T,). These functions merge the chunks' statistics, find terms in sorted term lists and
re-index a chunk's counts to another list of terms (a vocabulary).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def merge_term_stats(parts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sorted distinct terms over all chunks with their document frequencies, total counts and sums
    of ``count * log(count)`` over articles (for entropy weights).

    Merged one chunk at a time, so the peak is the running list plus one chunk's terms.
    """
    terms = np.zeros(0, dtype="S1")
    df = np.zeros(0, dtype=np.float64)
    totals = np.zeros(0, dtype=np.float64)
    clogc = np.zeros(0, dtype=np.float64)
    for counts, local_terms in parts:
        c = counts.data.astype(np.float64)
        local = [
            np.bincount(counts.indices, weights=w, minlength=local_terms.size)
            for w in (np.ones_like(c), c, c * np.log(c))
        ]
        # Both term lists are sorted and distinct: insert the chunk's new terms in place (a linear
        # merge, not a re-sort of everything seen so far, which dominated at a million articles).
        position, found = find_sorted(terms, local_terms)
        if not found.all():
            at, new_terms = position[~found], local_terms[~found]
            terms = np.insert(terms.astype(np.promote_types(terms.dtype, local_terms.dtype)), at, new_terms)
            df, totals, clogc = (np.insert(stat, at, 0.0) for stat in (df, totals, clogc))
            position = np.searchsorted(terms, local_terms)
        for stat, add in zip((df, totals, clogc), local, strict=True):
            stat[position] += add  # positions are distinct: the chunk's terms are
    return terms, df, totals, clogc


def find_sorted(sorted_terms: np.ndarray, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``terms`` is (or would be inserted) in ``sorted_terms``, and whether it is there."""
    position = np.searchsorted(sorted_terms, terms)
    found = position < sorted_terms.size
    found[found] = sorted_terms[position[found]] == terms[found]
    return position, found


def stack_counts(parts: list, terms: np.ndarray) -> sp.csr_matrix:
    """Every chunk's raw counts of ``terms`` (sorted bytes), stacked: float32 CSR (n_texts, len(terms))."""
    if not parts:
        return sp.csr_matrix((0, terms.size), dtype=np.float32)
    return sp.vstack([to_vocabulary(counts, local, terms) for counts, local in parts], format="csr", dtype=np.float32)


def to_vocabulary(counts: sp.csr_matrix, local_terms: np.ndarray, vocabulary: np.ndarray) -> sp.csr_matrix:
    """A chunk's raw counts re-indexed to ``vocabulary`` columns; terms outside it are dropped."""
    cols, known = find_sorted(vocabulary, local_terms)
    keep_entry = known[counts.indices]
    new_indices = cols[counts.indices[keep_entry]].astype(np.int32)
    kept_before = np.concatenate([[0], np.cumsum(keep_entry)])  # kept entries before each position
    indptr = kept_before[counts.indptr].astype(np.int64)
    out = sp.csr_matrix((counts.data[keep_entry], new_indices, indptr), shape=(counts.shape[0], vocabulary.size))
    out.sort_indices()
    return out
