"""How a search should score the words it counts: word order (proximity) and textbook BM25 variants,
measured as ``benchmarks/search.py`` measures known-item search (news headline -> article, Wikipedia
title -> text; texts only), over the terms of the ``topics`` analyser as ``benchmarks/search_words.py``
counts them, so a variant costs seconds rather than a refit.

Every variant is a score of the form of ``topics/index.py``: parts that each lie in [0, 1), a part being
a BM25 sum divided by the best the query could reach (its terms' idf times k1 + 1, terms no article holds
counting with the largest idf), blended with fixed weights. The base, "words", is what ``topics``
searches today (words and the vocabulary's phrases at a quarter, text plus the lead counted twice more,
k1 1.2, b 0.75, Lucene's idf). Then:

- **word order**: the query's neighbouring word pairs (neighbours within a clause of the analyser, so a
  stop word or punctuation breaks a pair, as it breaks a phrase) counted where they stand side by side
  in the article ("ordered pairs", Indri's ``#1``), and where both words fall within 8 words of each
  other ("window", ``#uw8``), each a BM25 part of its own over the article's length in words. The
  sequential dependence model's weights (Metzler & Croft 2005: words 0.85, ordered 0.1, window 0.05),
  ordered pairs alone at 0.1 and 0.25, and ordered pairs of the lead alone (the stored snippet: all the
  text a model keeps, so the only proximity a re-rank could compute without indexing pairs);
- **BM25 variants**: BM25+ (delta 1, Lv & Zhai 2011), BM25L (delta 0.5), BM25F (each field's length
  normalised on its own, then saturated; Robertson et al. 2004), query likelihood with Dirichlet
  smoothing (mu 2000 and 500, Zhai & Lafferty 2001), query words weighted by their repeats, a Lucene-style
  coordination factor (the score times the share of query words matched);
- **what the analyser leaves out**: numbers (digits, thousands separators dropped) as words; words
  counted also by their Snowball stem as in ``search_words.py``, with numbers;
- **the headline covers the lead**: the idf-weighted share of the lead's words that the query holds,
  blended at 0.1.

Then, for the headlines whose article the base does not rank first, how often the ordered-pair part
scores their article above the article ranked first, and below it.

Needs ``snowballstemmer`` for the stem row (``pip install snowballstemmer``; benchmark only).

usage: python benchmarks/search_scoring.py --news benchmarks/data/news-articles.jsonl
"""

from __future__ import annotations

import argparse
import collections
import itertools
import re
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from search import mrr_hit
from search_words import prepared
from similarity import SHARED, read_jsonl

from topics.table import make_snippet

K1, B, LEAD_WEIGHT, PHRASE_WEIGHT, WINDOW = 1.2, 0.75, 2.0, 0.25, 8
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers(text: str) -> list[str]:
    """The numbers of a text as terms ("#200000" for "200,000")."""
    return ["#" + m.group().replace(",", "") for m in _NUMBER.finditer(text)]


def pairs(runs) -> list[str]:
    """Neighbouring word pairs within each clause."""
    return [a + " " + b for run in runs for a, b in itertools.pairwise(run)]


class Terms:
    """Term counts of the articles' fields over one column space, and the queries' terms in it."""

    def __init__(self, fields: list[list[list[str]]], weights: list[float]):
        self.columns: dict[str, int] = {}
        self.n = len(fields[0])
        self.fields = [self._counts(field) for field in fields]
        self.weights = weights

    def _counts(self, field) -> sp.csr_matrix:
        rows, cols, values = [], [], []
        for i, terms in enumerate(field):
            for term, count in collections.Counter(terms).items():
                rows.append(i)
                cols.append(self.columns.setdefault(term, len(self.columns)))
                values.append(count)
        return sp.coo_matrix((np.array(values, dtype=float), (rows, cols)), shape=(self.n, 10**8)).tocsr()

    def counts(self, weights=None) -> sp.csr_matrix:
        m = len(self.columns)
        return sum(w * f[:, :m] for w, f in zip(weights or self.weights, self.fields, strict=True)).tocsr()

    def query_matrix(self, queries, weigher, *, repeats=False):
        """(weights (n_queries, m) CSR, unknown (n_queries,)): each query's term weights and its number of
        words no article holds."""
        rows, cols, values, unknown = [], [], [], np.zeros(len(queries))
        for i, query in enumerate(queries):
            for term, count in collections.Counter(query).items():
                if term in self.columns:
                    rows.append(i)
                    cols.append(self.columns[term])
                    values.append(weigher(term) * (count if repeats else 1.0))
                else:
                    unknown[i] += weigher(term) == 1.0
        shape = (len(queries), len(self.columns))
        return sp.csr_matrix((np.array(values, dtype=float), (rows, cols)), shape=shape), unknown


def bm25_part(terms: Terms, queries, weigher=lambda t: 1.0, *, lengths=None, delta=0.0, kind="bm25", **options):
    """Scores (n_queries, n_articles): the query's BM25 divided by its bound, in [0, 1) (BM25+ and BM25L:
    in [0, 1] with their own bound)."""
    k1, b = options.get("k1", K1), options.get("b", B)
    f = terms.counts(options.get("field_weights")).tocoo()
    n, m = terms.n, len(terms.columns)
    lengths = np.bincount(f.row, weights=f.data, minlength=n) if lengths is None else lengths
    df = np.bincount(f.col, minlength=m)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    norm = 1.0 - b + b * lengths / max(lengths.mean(), 1e-12)
    if kind == "bm25f":
        f = sum(w * _length_normalised(c[:, :m], b) for w, c in zip(terms.weights, terms.fields, strict=True)).tocoo()
        values = f.data * (k1 + 1.0) / (f.data + k1)
    elif kind == "bm25l":
        c = f.data / norm[f.row]
        values = (k1 + 1.0) * (c + delta) / (k1 + c + delta)
    else:
        values = f.data * (k1 + 1.0) / (f.data + k1 * norm[f.row]) + delta
    matrix = sp.csr_matrix((idf[f.col] * values, (f.row, f.col)), shape=(n, m))
    weights, unknown = terms.query_matrix(queries, weigher, repeats=options.get("repeats", False))
    top = k1 + 1.0 + (delta if kind == "bm25" else 0.0)
    bound = (weights @ idf + unknown * np.log1p((n + 0.5) / 0.5)) * top
    scores = (weights @ matrix.T).toarray() / np.maximum(bound, 1e-12)[:, None]
    if options.get("coord"):
        matched = (weights @ (matrix > 0).T.astype(float)).toarray() / np.maximum(weights.sum(axis=1).A, 1e-12)
        scores *= matched
    return scores


def _length_normalised(counts: sp.csr_matrix, b: float) -> sp.csr_matrix:
    """A field's counts divided by its BM25 length norm (BM25F's per-field normalisation)."""
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    return sp.diags(1.0 / (1.0 - b + b * lengths / max(lengths.mean(), 1e-12))) @ counts


def dirichlet_part(terms: Terms, queries, weigher, mu: float) -> np.ndarray:
    """Query likelihood with Dirichlet smoothing, rank-equivalent form (n_queries, n_articles)."""
    f = terms.counts().tocoo()
    n, m = terms.n, len(terms.columns)
    lengths = np.bincount(f.row, weights=f.data, minlength=n)
    collection = np.bincount(f.col, weights=f.data, minlength=m)
    p = collection / collection.sum()
    matrix = sp.csr_matrix((np.log1p(f.data / (mu * p[f.col])), (f.row, f.col)), shape=(n, m))
    weights, _ = terms.query_matrix(queries, weigher)
    length_part = np.asarray(weights.sum(axis=1)) * np.log(mu / (lengths + mu))[None, :]
    return (weights @ matrix.T).toarray() + length_part


def window_part(text_runs, query_pairs, lengths) -> np.ndarray:
    """BM25 part of the query pairs' unordered windows: per article, the positions of a pair's first word
    with the second within WINDOW - 1 words (either side), over the words the analyser keeps."""
    n = len(text_runs)
    positions = []
    postings = collections.defaultdict(set)
    for d, runs in enumerate(text_runs):
        where = collections.defaultdict(list)
        for i, word in enumerate(word for run in runs for word in run):
            where[word].append(i)
            postings[word].add(d)
        positions.append(where)
    norm = K1 * (1.0 - B + B * lengths / lengths.mean())
    unknown_idf = np.log1p((n + 0.5) / 0.5)
    scores = np.zeros((len(query_pairs), n))
    for q, found in enumerate(query_pairs):
        bound = 0.0
        for pair in set(found):
            a, b = pair.split(" ")
            counts = {}
            for d in postings.get(a, set()) & postings.get(b, set()):
                pb = np.array(positions[d][b])
                tf = sum(bool(np.any(np.abs(pb - i) < WINDOW)) for i in positions[d][a])
                if tf:
                    counts[d] = tf
            idf = np.log1p((n - len(counts) + 0.5) / (len(counts) + 0.5)) if counts else unknown_idf
            bound += idf * (K1 + 1.0)
            for d, tf in counts.items():
                scores[q, d] += idf * tf * (K1 + 1.0) / (tf + norm[d])
        if bound:
            scores[q] /= bound
    return scores


def lead_cover(terms: Terms, leads, queries) -> np.ndarray:
    """Idf-weighted share of each lead's words that each query holds (n_queries, n_articles)."""
    f = terms.counts().tocoo()
    n, m = terms.n, len(terms.columns)
    df = np.bincount(f.col, minlength=m)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))

    def incidence(lists, weight):
        entries = {(i, terms.columns[t]) for i, found in enumerate(lists) for t in found if t in terms.columns}
        rows, cols = zip(*entries, strict=True) if entries else ((), ())
        return sp.csr_matrix((weight(np.array(cols, dtype=int)), (rows, cols)), shape=(len(lists), m))

    lead = incidence([[t for t in found if " " not in t] for found in leads], lambda c: idf[c])
    query = incidence(queries, lambda c: np.ones(c.size))
    totals = np.maximum(np.asarray(lead.sum(axis=1)).ravel(), 1e-12)
    return (query @ lead.T).toarray() / totals[None, :]


def ranks_of_scores(scores: np.ndarray, targets) -> np.ndarray:
    top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    hit = top == np.asarray(targets)[:, None]
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, 0)


def variants(data):
    """(label, scores) for every variant of the module docstring, computed lazily."""
    import snowballstemmer

    stem = snowballstemmer.stemmer("english").stemWord
    vocabulary = data["vocabulary"]
    analyse, records = data["analyser"], data["records"]

    def kept(found):
        return [t for t in found if " " not in t or t in vocabulary]

    def weigher(term):
        return PHRASE_WEIGHT if " " in term else 1.0

    texts, leads, queries = map(lambda lists: [kept(f) for f in lists], (data["texts"], data["leads"], data["queries"]))
    words = Terms([texts, leads], [1.0, LEAD_WEIGHT])
    lengths = np.asarray(words.counts().sum(axis=1)).ravel()
    base = bm25_part(words, queries, weigher)
    yield "words (topics today)", base
    text_runs = [analyse.clauses(r["text"]) for r in records]
    lead_runs = [analyse.clauses(make_snippet(r["text"])) for r in records]
    query_pairs = [pairs(analyse.clauses(q)) for q in data["query_texts"]]
    ordered = bm25_part(
        Terms([list(map(pairs, text_runs)), list(map(pairs, lead_runs))], [1.0, LEAD_WEIGHT]),
        query_pairs,
        lengths=lengths,
    )
    lead_ordered = bm25_part(Terms([list(map(pairs, lead_runs))], [1.0]), query_pairs, lengths=lengths)
    window = window_part(text_runs, query_pairs, lengths)
    yield "+ ordered pairs 0.1", 0.9 * base + 0.1 * ordered
    yield "+ ordered pairs 0.25", 0.75 * base + 0.25 * ordered
    yield "+ ordered 0.1 + window 0.05 (SDM)", 0.85 * base + 0.1 * ordered + 0.05 * window
    yield "+ ordered pairs of the lead only 0.1", 0.9 * base + 0.1 * lead_ordered
    data["pair_scores"] = (base, ordered)
    yield "BM25+ (delta 1)", bm25_part(words, queries, weigher, delta=1.0)
    yield "BM25L (delta 0.5)", bm25_part(words, queries, weigher, delta=0.5, kind="bm25l")
    yield "BM25F (per-field length)", bm25_part(words, queries, weigher, kind="bm25f")
    yield "Dirichlet LM, mu 2000", dirichlet_part(words, queries, weigher, 2000.0)
    yield "Dirichlet LM, mu 500", dirichlet_part(words, queries, weigher, 500.0)
    yield "query repeats as weights", bm25_part(words, queries, weigher, repeats=True)
    yield "coordination factor", bm25_part(words, queries, weigher, coord=True)
    yield "lead covered by the query 0.1", 0.9 * base + 0.1 * lead_cover(words, leads, queries)
    text_numbers = [numbers(r["text"]) for r in records]
    lead_numbers = [numbers(make_snippet(r["text"])) for r in records]
    query_numbers = [numbers(q) for q in data["query_texts"]]
    texts_n = [t + x for t, x in zip(texts, text_numbers, strict=True)]
    leads_n = [t + x for t, x in zip(leads, lead_numbers, strict=True)]
    queries_n = [t + x for t, x in zip(queries, query_numbers, strict=True)]
    yield "numbers as words", bm25_part(Terms([texts_n, leads_n], [1.0, LEAD_WEIGHT]), queries_n, weigher)

    def both(found):
        return found + ["~" + stem(t) for t in found if " " not in t and not t.startswith("#")]

    stems = Terms([list(map(both, texts_n)), list(map(both, leads_n))], [1.0, LEAD_WEIGHT])
    yield "words+stems, numbers", bm25_part(stems, list(map(both, queries_n)), weigher)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--news", default=str(ROOT / "data" / "news-articles.jsonl"), help="held-out news JSONL")
    args = ap.parse_args()
    archives = {"news": read_jsonl(args.news), "wikipedia": read_jsonl(SHARED / "wikipedia-sample" / "docs.jsonl")}
    data = {name: prepared(records) for name, records in archives.items()}
    results: dict[str, list[str]] = {}
    for d in data.values():
        for label, scores in variants(d):
            mrr, hit = mrr_hit(ranks_of_scores(scores, d["targets"]))
            results.setdefault(label, []).append(f"{mrr:.3f} | {hit:.3f}")
    print("| variant | " + " | ".join(f"{name} MRR@10 | {name} hit@1" for name in data) + " |")
    print("|---|" + "---:|---:|" * len(data))
    for label, cells in results.items():
        print(f"| {label} | " + " | ".join(cells) + " |")
    for name, d in data.items():
        base, ordered = d["pair_scores"]
        first = np.argmax(base, axis=1)  # ties to the lower row, as the ranking's stable sort
        targets = np.asarray(d["targets"])
        missed = np.flatnonzero(first != targets)
        rows = np.arange(len(targets))[missed]
        above = int(np.sum(ordered[rows, targets[missed]] > ordered[rows, first[missed]]))
        below = int(np.sum(ordered[rows, targets[missed]] < ordered[rows, first[missed]]))
        print(
            f"\n{name}: {missed.size} queries whose article is not first; the ordered pairs score their article "
            f"above the first article for {above}, below it for {below}, the same for {missed.size - above - below}"
        )


if __name__ == "__main__":
    main()
