"""Development benchmark for the similarity score: does it find the same story told in other words,
and does it agree with labels people gave?

The judge of the score is a set of news articles with human similarity ratings that is not shared, so
this benchmark measures what it can on the real corpora in ../shared/data:

- **split-half MRR** (Lee news, 350 articles): each article is cut into its first and second half (by
  sentences) and the model is fitted on the 700 halves, so both halves of a story are archive articles
  as the rated articles are. Each first half is a query, the 350 second halves the candidates. Mean
  reciprocal rank of the true other half: the same story in other words, which people rate as most
  similar. (Fitting on the whole articles instead would favour keeping terms seen in one article only,
  which can never be shared by two different archive articles.)
- **split-half r**: Pearson correlation over all 350 x 350 (first half, second half) pairs between the
  score and "same article" (1/0). Like a human rating it rewards a score that is high for the same story
  and low for everything else, not just a good ranking.
- **newsgroups P@10 / r**: 200 Usenet posts (headers and quoted lines removed), model fitted on them:
  share of the 10 nearest posts from the same newsgroup, and Pearson r between score and same-group
  over all pairs (broad themes, which the topic part should capture).
- **agree@10 TF-IDF / topic**: mean overlap of each data/sample article's 10 nearest neighbours with its
  10 nearest by plain TF-IDF cosine and by plain topic cosine (how much of each view the blend keeps).
- **stable@10**: mean overlap of the 10 nearest neighbours of every article of data/sample between fits
  with seeds 0 and 1 (does the topic part make neighbours depend on the seed?).

Rows: "before" is the old default (tf-idf weighting, topic_weight=0.3, sqrt(n/2) topics); plain TF-IDF
cosine and plain topic cosine are baselines in the same run; the rest vary term weighting, topics and
topic_weight; "after" is the current default of TopicModel.

A last table times `similar_batch` against a loop of single `similar` calls on the same queries.

usage: python benchmarks/similarity.py [--quick] [--archive PATH.jsonl]
"""

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = next(
    (p for p in (ROOT.parent / "shared" / "data", ROOT.parents[1] / "shared" / "data") if p.is_dir()),
    ROOT.parent / "shared" / "data",
)  # a git worktree under wt/ finds it one level further up

import topics
from topics.index import SimilarityIndex, batch_scores
from topics.topic_model import default_n_topics


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def post_body(text: str) -> str:
    """A Usenet post without its headers (which name the newsgroup) and quoted lines."""
    body = text.split("\n\n", 1)[-1]
    return "\n".join(line for line in body.splitlines() if not line.lstrip().startswith(">") and "writes:" not in line)


def halves(text: str) -> tuple[str, str]:
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    if len(sentences) < 2:
        words = text.split()
        return " ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])
    cut = len(sentences) // 2
    return " ".join(sentences[:cut]), " ".join(sentences[cut:])


def score_matrix(model, weight, terms_a, topics_a, terms_b=None, topics_b=None):
    """Scores (n_a, n_b) of the blend with ``weight``; against the stored articles when b is None."""
    if terms_b is None:
        index = SimilarityIndex(model.doc_terms_, model.doc_topics_, weight)
    else:
        index = SimilarityIndex(terms_b, topics_b, weight)
    return batch_scores(index, terms_a, topics_a).astype(np.float64)


def neighbours(scores, k=10):
    scores = scores.copy()
    np.fill_diagonal(scores, -np.inf)
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def overlap(a, b):
    return float(np.mean([len(set(x) & set(y)) / len(x) for x, y in zip(a, b, strict=True)]))


class Bench:
    def __init__(self):
        lee = read_jsonl(SHARED / "lee-news" / "background.jsonl") + read_jsonl(SHARED / "lee-news" / "test.jsonl")
        split = [halves(r["text"]) for r in lee]
        self.halves = [
            topics.Article(id=f"{r['id']}/{part}", text=pair[part])
            for part in (0, 1)
            for r, pair in zip(lee, split, strict=True)
        ]
        news = read_jsonl(SHARED / "newsgroups-mini" / "docs.jsonl")
        self.posts = [topics.Article(id=r["id"], text=post_body(r["text"])) for r in news]
        labels = np.array([r["label"] for r in news])
        self.same_group = labels[:, None] == labels[None, :]
        self.cache = {}

    def fitted(self, corpus, weighting, topics_per_root, seed=0):
        """A model on "sample" (data/sample, 351 articles), "halves" (700 half articles) or "news" (200
        posts) with round(topics_per_root * sqrt(n)) topics (None: the default)."""
        key = (corpus, weighting, topics_per_root, seed)
        if key not in self.cache:
            data = {"sample": ROOT / "data" / "sample", "halves": self.halves, "news": self.posts}[corpus]
            n = {"sample": 351, "halves": len(self.halves), "news": len(self.posts)}[corpus]
            k = None if topics_per_root is None else round(topics_per_root * n**0.5)
            self.cache[key] = topics.fit(data, n_topics=k, random_state=seed, term_weighting=weighting)
        return self.cache[key]

    def row(self, weighting, n_topics, weight):
        split = self.fitted("halves", weighting, n_topics)
        n = len(self.halves) // 2
        X, W = split.doc_terms_, np.asarray(split.doc_topics_)
        S = score_matrix(split, weight, X[:n], W[:n], X[n:], W[n:])
        ranks = (np.diag(S)[:, None] < S).sum(axis=1) + 1
        same = np.eye(len(S), dtype=bool)
        lee = self.fitted("sample", weighting, n_topics)
        stored = score_matrix(lee, weight, lee.doc_terms_, lee.doc_topics_)
        lexical_only = score_matrix(lee, 0.0, lee.doc_terms_, lee.doc_topics_)
        topical_only = score_matrix(lee, 1.0, lee.doc_terms_, lee.doc_topics_)
        reseeded = self.fitted("sample", weighting, n_topics, seed=1)
        stored_1 = score_matrix(reseeded, weight, reseeded.doc_terms_, reseeded.doc_topics_)
        news = self.fitted("news", weighting, n_topics)
        k_news = news.n_topics_
        N = score_matrix(news, weight, news.doc_terms_, news.doc_topics_)
        upper = np.triu_indices(len(N), 1)
        top = neighbours(N)
        return {
            "mrr": float(np.mean(1.0 / ranks)),
            "r_split": float(np.corrcoef(S.ravel(), same.ravel())[0, 1]),
            "p10": float(np.mean(self.same_group[np.arange(len(N))[:, None], top])),
            "r_news": float(np.corrcoef(N[upper], self.same_group[upper])[0, 1]),
            "agree_lexical": overlap(neighbours(stored), neighbours(lexical_only)),
            "agree_topical": overlap(neighbours(stored), neighbours(topical_only)),
            "stable": overlap(neighbours(stored), neighbours(stored_1)),
            "k": f"{split.n_topics_} / {lee.n_topics_} / {k_news}",
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Only the baselines, before and after.")
    ap.add_argument(
        "--archive",
        default=None,
        help="Archive for the batch timing (default: data/sample); e.g. one made by "
        "../shared/tools/make_corpus.py 20000 /tmp/news.jsonl",
    )
    args = ap.parse_args()
    bench = Bench()
    defaults = topics.TopicModel()
    old_k = 0.5**0.5  # the old default, sqrt(n / 2) topics
    rows = [
        ("before: tf-idf, 0.3 topic, sqrt(n/2) topics", "tfidf", old_k, 0.3),
        ("baseline: plain TF-IDF cosine", "tfidf", old_k, 0.0),
        ("baseline: plain topic cosine", "tfidf", old_k, 1.0),
    ]
    if not args.quick:
        for weighting in ("tfidf", "log-entropy"):
            for k, rule in ((old_k, "sqrt(n/2)"), (1.0, "sqrt(n)"), (2**0.5, "sqrt(2n)")):
                for weight in (0.05, 0.1, 0.15, 0.2, 0.3):
                    rows.append((f"{weighting}, {weight} topic, {rule} topics", weighting, k, weight))
        rows.append(("log-entropy, plain TF-IDF cosine", "log-entropy", old_k, 0.0))
        rows.append(("log-entropy, plain topic cosine, sqrt(n/2) topics", "log-entropy", old_k, 1.0))
    after = (
        f"after (defaults): {defaults.term_weighting}, {defaults.topic_weight} topic, "
        f"{default_n_topics(351)} topics on data/sample"
    )
    rows.append((after, defaults.term_weighting, None, defaults.topic_weight))
    print(
        "| setting | topics (halves / sample / news) | split-half MRR | split-half r | newsgroups P@10 | newsgroups r "
        "| agree@10 TF-IDF / topic | stable@10 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, weighting, k, weight in rows:
        m = bench.row(weighting, k, weight)
        print(
            f"| {name} | {m['k']} | {m['mrr']:.3f} | {m['r_split']:.3f} | {m['p10']:.3f} | {m['r_news']:.3f} "
            f"| {m['agree_lexical']:.2f} / {m['agree_topical']:.2f} | {m['stable']:.2f} |",
            flush=True,
        )
    time_batch(bench, args.archive)


def time_batch(bench, archive):
    """similar_batch against a loop of similar() on 500 id and 500 text queries, best of 3 runs."""
    import time

    model = topics.fit(archive or ROOT / "data" / "sample", random_state=0)
    ids = list(model.articles_.ids)
    texts = [a.text for a in bench.halves[:500]]
    queries = [{"id": ids[i % len(ids)]} for i in range(500)] + texts

    def loop():
        return [model.similar(text=q, k=10) if isinstance(q, str) else model.similar(**q, k=10) for q in queries]

    timings = {}
    for name, run in (("loop of similar()", loop), ("similar_batch()", lambda: model.similar_batch(queries, k=10))):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            answer = run()
            best = min(best, time.perf_counter() - started)
        timings[name] = (best, answer)
    (t_loop, a_loop), (_, a_batch) = timings.values()
    same = [[h.id for h in x] for x in a_loop] == [[h.id for h in x] for x in a_batch]
    print(f"\n{len(queries)} queries (500 ids, 500 texts) on {len(ids):,} articles; same answers: {same}\n")
    print("| method | seconds | queries/s | ratio to loop |\n|---|---:|---:|---:|")
    for name, (t, _) in timings.items():
        print(f"| {name} | {t:.3f} | {len(queries) / t:,.0f} | {t / t_loop:.2f} |")


if __name__ == "__main__":
    main()
