"""Which words a search should count: BM25 variants over the terms of the ``topics`` analyser, measured as
``benchmarks/search.py`` measures known-item search (news headline -> article, Wikipedia title -> text;
texts only), without the rest of the model, so a variant costs seconds rather than a refit.

Each archive is fitted once (defaults) for its analyser; then every article's text and lead (the stored
200-character snippet) and every query are cut into the analyser's terms, and BM25 (Lucene's idf, the
normalised score of ``topics/index.py``) is computed over them as each variant says:

- ``vocabulary``: the model's vocabulary only (``min_df=2``: search before rare words);
- ``words``: plus every word of the archive (what ``topics`` searches since rare words); phrases stay
  those of the vocabulary;
- ``stems``: each word replaced by its Snowball stem (the analyser's language, English here);
- ``words+stems``: each word counted once as written and once more by its stem;
- lead weight, k1, b, phrase weight and a topic blend, each varied alone.

MRR@10 and hit@1 per archive. Needs ``snowballstemmer`` (``pip install snowballstemmer``; benchmark only).

usage: python benchmarks/search_words.py --news benchmarks/data/news-articles.jsonl
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from search import known_items, mrr_hit
from similarity import SHARED, read_jsonl

import topics
from topics.table import make_snippet
from topics.topic_model import nmf_transform

VARIANTS = [
    ("vocabulary (before)", {"words": "vocabulary"}),
    ("words (now)", {}),
    ("stems", {"forms": "stems"}),
    ("words+stems", {"forms": "both"}),
    ("words, lead weight 0", {"lead_weight": 0.0}),
    ("words, lead weight 4", {"lead_weight": 4.0}),
    ("words, k1 0.9 b 0.4", {"k1": 0.9, "b": 0.4}),
    ("words, k1 2.0 b 0.9", {"k1": 2.0, "b": 0.9}),
    ("words, phrases weight 0", {"phrase_weight": 0.0}),
    ("words, phrases weight 0.5", {"phrase_weight": 0.5}),
    ("words, topic blend 0.1 (as topics)", {"topic_weight": 0.1}),
    ("words+stems, topic blend 0.1", {"forms": "both", "topic_weight": 0.1}),
]


def prepared(records):
    """The analysed archive: texts, leads and queries as term lists, targets, the vocabulary, the topic
    weights of the articles and of the queries."""
    model = topics.fit([topics.Article(id=str(i), text=r["text"]) for i, r in enumerate(records)], random_state=0)
    analyse = model.vectorizer_.analyzer
    queries, targets = known_items(records)
    units = np.asarray(model.doc_topics_, dtype=np.float64)
    query_topics = nmf_transform(model.vectorizer_.transform(queries), model.components_)
    return {
        "records": records,
        "texts": [analyse(r["text"]) for r in records],
        "leads": [analyse(make_snippet(r["text"])) for r in records],
        "queries": [analyse(q) for q in queries],
        "targets": targets,
        "vocabulary": {t.decode("utf-8") for t in model.vectorizer_.vocabulary_},
        "topics": units / np.maximum(np.linalg.norm(units, axis=1, keepdims=True), 1e-12),
        "query_topics": query_topics / np.maximum(np.linalg.norm(query_topics, axis=1, keepdims=True), 1e-12),
        "analyser": analyse,
        "query_texts": queries,
    }


def ranks(
    data, stem, *, words="all", forms="words", lead_weight=2.0, k1=1.2, b=0.75, phrase_weight=0.25, topic_weight=0.0
):
    """1-based rank of each query's article among the 10 best by the variant's score, 0 below."""

    def terms(found):
        kept = [t for t in found if " " not in t or t in data["vocabulary"]]
        if words == "vocabulary":
            kept = [t for t in kept if t in data["vocabulary"]]
        if forms == "stems":
            return [t if " " in t else "~" + stem(t) for t in kept]
        if forms == "both":
            return kept + ["~" + stem(t) for t in kept if " " not in t]
        return kept

    columns: dict[str, int] = {}

    def counts(lists):
        return [
            (i, columns.setdefault(t, len(columns)), n)
            for i, found in enumerate(lists)
            for t, n in collections.Counter(terms(found)).items()
        ]

    text, lead = counts(data["texts"]), counts(data["leads"])
    n = len(data["texts"])
    f = sum(
        weight
        * sp.csr_matrix(([c for _, _, c in e], ([r for r, _, _ in e], [t for _, t, _ in e])), shape=(n, len(columns)))
        for weight, e in ((1.0, text), (lead_weight, lead))
        if e
    ).tocoo()
    length = np.bincount(f.row, weights=f.data, minlength=n)
    df = np.bincount(f.col, minlength=len(columns))
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    norm = k1 * (1.0 - b + b * length / length.mean())
    B = sp.csc_matrix(
        (idf[f.col] * f.data * (k1 + 1.0) / (f.data + norm[f.row]), (f.row, f.col)), shape=(n, len(columns))
    )
    unknown_idf = float(np.log1p((n + 0.5) / 0.5))
    result = []
    for i, found in enumerate(data["queries"]):
        query = sorted(set(terms(found)))
        known = [t for t in query if t in columns]
        weights = np.array([phrase_weight if " " in t else 1.0 for t in known])
        # words no article holds count against the query (their stems too, unless counted as written)
        unknown = sum(1 for t in query if t not in columns and " " not in t and not (forms == "both" and t[0] == "~"))
        bound = (weights @ idf[[columns[t] for t in known]] + unknown * unknown_idf) * (k1 + 1.0) if known else 0.0
        if bound <= 0:
            result.append(0)
            continue
        scores = np.asarray(B[:, [columns[t] for t in known]] @ weights).ravel() / bound
        if topic_weight:
            scores = (1.0 - topic_weight) * scores + topic_weight * (data["topics"] @ data["query_topics"][i])
        top = np.argsort(-scores, kind="stable")[:10]
        hit = np.flatnonzero(top == data["targets"][i])
        result.append(int(hit[0]) + 1 if hit.size else 0)
    return np.array(result)


def main():
    import snowballstemmer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--news", default=str(ROOT / "data" / "news-articles.jsonl"), help="held-out news JSONL")
    args = ap.parse_args()
    stemmer = snowballstemmer.stemmer("english")
    stem = stemmer.stemWord
    archives = {"news": read_jsonl(args.news), "wikipedia": read_jsonl(SHARED / "wikipedia-sample" / "docs.jsonl")}
    data = {name: prepared(records) for name, records in archives.items()}
    print("| variant | " + " | ".join(f"{name} MRR@10 | {name} hit@1" for name in data) + " |")
    print("|---|" + "---:|---:|" * len(data))
    for label, options in VARIANTS:
        cells = [f"{m:.3f} | {h:.3f}" for m, h in (mrr_hit(ranks(d, stem, **options)) for d in data.values())]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
