"""Terms an archive uses everywhere, or one source uses in all its stories, learned at fit time.

- House formulae (:func:`find_formulae`, :func:`cross_section`): terms many articles use about as often as
  their length predicts, in articles on every subject: a parliament's "hon. gentleman", a feed's "rt", a
  paper's credit words; in a language without a stop list, its function words.
- Source terms (:func:`find_source_terms`): terms one source uses across its unrelated stories: its name,
  bylines, house style.

Both read the raw chunk counts of :mod:`topics.term_counts`; the vectoriser leaves what they find out of its
vocabulary and reports it (``topics info``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .term_counts import find_sorted, to_vocabulary

SOURCE_SHARE = 0.9
SOURCE_COVERAGE = 0.1
SOURCE_MIN_ARTICLES = 20


# A term is a house formula when at least FORMULA_MIN_SHARE of the articles use it and it is in at least
# FORMULA_EVENNESS of the articles a term of its frequency would be in if it were spread evenly (in
# proportion to each article's length): "hon gentleman" in speeches, "rt" in posts, a paper's credit words,
# and, in a language without a stop list, its function words. Topic words cluster in the articles about
# their topic and reach a smaller share. Archives under FORMULA_MIN_ARTICLES are too small to tell.
FORMULA_MIN_SHARE = 0.05
FORMULA_EVENNESS = 0.9
FORMULA_MIN_ARTICLES = 500
# In short texts (posts) nearly every word is used once per article, so evenness alone takes frequent topic
# words ("trump", "ebola") for formulae. A formula's articles are also a cross-section of the archive: the
# other words they use are those of the archive as a whole, about as closely as a random sample of as many
# articles (:func:`cross_section`: 0.89-1.01 for the evenly used terms of the held-out news, "afp" and
# "donald trump" included, 1.03-1.28 for the Dutch speeches'), while a topic word's articles lean toward its
# topic (0.70-0.78 for "trump", "president" and "health" in short posts cut from the news; "rt" 0.99).
FORMULA_CROSS_SECTION = 0.85
CROSS_SECTION_SAMPLE = 5000
CROSS_SECTION_TERMS = 5000
CROSS_SECTION_DRAWS = 3


def find_source_terms(
    parts, terms: np.ndarray, df: np.ndarray, sources: Sequence, lengths: np.ndarray, *, keep_words=frozenset()
) -> dict:
    """The source terms (:data:`SOURCE_SHARE`) among ``terms``, as ``{position in terms: source}``.

    parts : the raw chunk counts ``[(counts, local_terms), ...]`` in article order; terms, df : the kept
    terms (sorted) and their article counts; sources : each article's source (None when unknown);
    lengths : each article's length in words.
    """
    names, codes = np.unique(
        np.array(["" if s is None else str(s) for s in sources], dtype=object), return_inverse=True
    )
    per_source = np.bincount(codes, minlength=len(names))
    large = (per_source >= SOURCE_MIN_ARTICLES) & (names != "")
    if large.sum() < 2:
        return {}
    codes = np.where(large[codes], codes, -1)
    candidates = np.flatnonzero(df >= SOURCE_COVERAGE * SOURCE_MIN_ARTICLES)
    if keep_words:
        candidates = np.array([c for c in candidates if terms[c].decode("utf-8") not in keep_words], dtype=np.int64)
    if candidates.size == 0:
        return {}
    n_sources, n_candidates = len(names), candidates.size
    source_df = np.zeros(n_sources * n_candidates)
    source_totals = np.zeros(n_sources * n_candidates)
    row = 0
    for counts, local_terms in parts:
        position, found = find_sorted(terms[candidates], local_terms)
        column = np.where(found, position, -1)[counts.indices]
        rows = np.repeat(np.arange(row, row + counts.shape[0]), np.diff(counts.indptr))
        take = (column >= 0) & (codes[rows] >= 0)
        key = codes[rows[take]] * n_candidates + column[take]
        source_df += np.bincount(key, minlength=source_df.size)
        source_totals += np.bincount(key, weights=counts.data[take], minlength=source_df.size)
        row += counts.shape[0]
    source_df = source_df.reshape(n_sources, n_candidates)
    source_totals = source_totals.reshape(n_sources, n_candidates)
    top = source_df.argmax(axis=0)
    top_df = source_df[top, np.arange(n_candidates)]
    chosen = (top_df >= SOURCE_SHARE * df[candidates]) & (top_df >= SOURCE_COVERAGE * per_source[top])
    found = {}
    for source in np.unique(top[chosen]):
        at = np.flatnonzero(chosen & (top == source))
        length_values, length_counts = np.unique(lengths[codes == source], return_counts=True)
        rates = source_totals[source, at, None] * (length_values[None, :] / max(length_values @ length_counts, 1))
        expected = (-np.expm1(-rates) * length_counts[None, :]).sum(axis=1)
        for i in at[top_df[at] >= FORMULA_EVENNESS * expected]:
            found[int(candidates[i])] = str(names[source])
    return found


def find_formulae(
    parts, terms: np.ndarray, df: np.ndarray, totals: np.ndarray, lengths: np.ndarray, *, keep_words=frozenset()
) -> np.ndarray:
    """Positions (into ``terms``) of the house formulae of an archive: terms used evenly
    (:func:`used_evenly`) by articles that are a cross-section of the archive (:func:`cross_section`).

    parts : the raw chunk counts (:mod:`topics.term_counts`) in article order; terms : ndarray of bytes,
    shape (V,), sorted; df, totals : ndarray of shape (V,), each term's number of articles and of
    occurrences; lengths : ndarray of shape (n_articles,), each article's length in words.
    """
    even = used_evenly(terms, df, totals, lengths, keep_words=keep_words)
    if even.size == 0:
        return even
    return even[cross_section(parts, terms, even) >= FORMULA_CROSS_SECTION]


def used_evenly(
    terms: np.ndarray, df: np.ndarray, totals: np.ndarray, lengths: np.ndarray, *, keep_words=frozenset()
) -> np.ndarray:
    """Positions (into ``terms``) of the terms at least :data:`FORMULA_MIN_SHARE` of the articles use, in at
    least :data:`FORMULA_EVENNESS` of the articles they would reach if spread evenly (arguments as
    :func:`find_formulae`).

    The even spread of a term with ``totals`` occurrences is a Poisson model with rates proportional to
    article length; the share of articles it would then reach is ``mean(1 - exp(-totals * length / sum
    of lengths))`` (the length-aware form of Church & Gale's residual IDF).
    """
    n_docs = lengths.size
    if n_docs < FORMULA_MIN_ARTICLES or lengths.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    candidates = np.flatnonzero(df >= FORMULA_MIN_SHARE * n_docs)
    if keep_words:
        kept = np.array([t.decode("utf-8") in keep_words for t in terms[candidates]], dtype=bool)
        candidates = candidates[~kept]
    if candidates.size == 0:
        return candidates
    length_values, length_counts = np.unique(lengths, return_counts=True)
    rates = totals[candidates, None] * (length_values[None, :] / lengths.sum())
    expected = (-np.expm1(-rates) * length_counts[None, :]).sum(axis=1)
    return candidates[df[candidates] >= FORMULA_EVENNESS * expected]


def cross_section(parts, terms: np.ndarray, columns: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """How closely the articles holding each of ``columns`` (positions in ``terms``, sorted bytes) use the
    archive's other words, against random samples of as many articles: float array (len(columns),), about
    1 for a term used by a cross-section of the archive, lower the more its articles share a subject.

    parts : the raw chunk counts ``[(counts, local_terms), ...]`` in article order, of which at most
    :data:`CROSS_SECTION_SAMPLE` evenly spaced articles are read. Each group of articles is described by
    the share of them holding each term, times the term's idf; the figure is the cosine of that profile with
    the whole sample's (the term itself left out), divided by the mean cosine of
    :data:`CROSS_SECTION_DRAWS` random groups of the same size (seeded by ``seed``).
    """
    n_docs = sum(counts.shape[0] for counts, _ in parts)
    step = max(1, -(-n_docs // CROSS_SECTION_SAMPLE))
    blocks, start = [], 0
    for counts, local_terms in parts:
        rows = np.arange((-start) % step, counts.shape[0], step)
        blocks.append(to_vocabulary(counts[rows], local_terms, terms))
        start += counts.shape[0]
    held = sp.vstack(blocks, format="csc")
    held.data[:] = 1.0
    n = held.shape[0]
    own = held[:, columns]
    df = np.diff(held.indptr)
    # The profiles are read over the sample's most used terms, which carry nearly all of their weight.
    common = np.union1d(np.argsort(-df, kind="stable")[:CROSS_SECTION_TERMS], columns)
    held, df = held[:, common].tocsr(), df[common]
    columns = np.searchsorted(common, columns)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    sizes = np.diff(own.indptr)
    rng = np.random.default_rng(seed)
    draws = [rng.choice(n, size, replace=False) for _ in range(CROSS_SECTION_DRAWS) for size in sizes]
    groups = sp.hstack([own, _membership(draws, n)], format="csc")
    members = np.diff(groups.indptr)
    left_out = np.tile(columns, 1 + CROSS_SECTION_DRAWS)
    cosines = _profile_cosines(groups.T @ held, members, idf, df / max(n, 1) * idf, left_out)
    observed, random = cosines[: columns.size], cosines[columns.size :].reshape(CROSS_SECTION_DRAWS, -1)
    return observed / np.maximum(random.mean(axis=0), 1e-12)


def _membership(groups: list[np.ndarray], n_rows: int) -> sp.csc_matrix:
    """A 0/1 matrix (n_rows, len(groups)) with column j marking the rows of ``groups[j]``."""
    lengths = [len(g) for g in groups]
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    rows = np.concatenate(groups).astype(np.int32) if groups else np.zeros(0, dtype=np.int32)
    return sp.csc_matrix((np.ones(rows.size), rows, indptr), shape=(n_rows, len(groups)))


def _profile_cosines(counts, members: np.ndarray, idf: np.ndarray, overall: np.ndarray, left_out: np.ndarray):
    """Cosine of each group's profile with ``overall``, the term ``left_out[g]`` of group g left out of both.

    counts : (n_groups, V), how many of a group's ``members`` hold each term; a group's profile is
    ``counts / members * idf``."""
    profile = np.asarray(counts.todense() if sp.issparse(counts) else counts, dtype=np.float64)
    profile *= idf[None, :] / np.maximum(members, 1)[:, None]
    own = profile[np.arange(profile.shape[0]), left_out]
    dot = profile @ overall - own * overall[left_out]
    norms = np.sqrt(np.maximum(np.einsum("ij,ij->i", profile, profile) - own**2, 0.0))
    overall_norms = np.sqrt(np.maximum(overall @ overall - overall[left_out] ** 2, 0.0))
    return dot / np.maximum(norms * overall_norms, 1e-300)
