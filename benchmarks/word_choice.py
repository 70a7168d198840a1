"""Which words should stand for a topic? Rankings of a topic's terms, in-sample and on held-out text.

Two questions. First, relevance (Sievert & Shirley 2014): ranking a topic's terms by
``λ log p(w|t) + (1 - λ) log(p(w|t) / p(w))`` demotes words the whole archive uses; which λ, if any, lifts
NPMI and diversity over the heaviest terms (λ = 1)? The default is :data:`topics.topic_model.RELEVANCE_LAMBDA`.
Second, does choosing each topic's words by their co-occurrence lift NPMI beyond the text it was chosen on?

NPMI rewards top words that share windows of text. A tempting rule is to pick each topic's 10 words,
among its 40 heaviest terms, by how often they co-occur in the archive, the very statistic NPMI counts.
This script measures whether that is better topics or just fitting the metric: split each corpus's
articles in two halves (even and odd rows), choose words on one half, measure NPMI on the other, both
ways round, and compare with the same rule chosen and measured on all the text (in-sample).

Rows, each as the lead in NPMI over the hand-tuned scikit-learn pipeline of ``quality.py`` (b), measured
on the same text and averaged over seeds, with the diversity of the words chosen:
- ``relevance λ``: a topic's most relevant terms for each ``--lambdas`` value (1.0: the heaviest in H);
- ``co-occurrence``: greedy, starting from the heaviest term, each next term maximising its H weight
  (relative to the heaviest) plus its mean NPMI with the terms already chosen (the first experiment);
- ``fitted order``: the rule ``topics fit`` uses (:mod:`topics.word_pairs`: relevance plus half the mean
  NPMI over running text, stop words kept, pairs met in fewer than 3 articles given no credit), learned
  on all the texts in-sample and on the opposite half for "other half".
With ``--k`` the same rows are given for each number of topics, and their mean over the k.

usage: python benchmarks/word_choice.py [--seeds 3] [--candidates 40] [--lambdas 1,0.9,0.8,0.7,0.6]
                                        [--k 4,6,8,10,12,14,16,20,25] [--corpus NAME=FILE.jsonl] [--only-extra]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import add_corpus_options, load_corpora, project_pipeline, sklearn_pipeline

from topics.evaluate import count_windows, evaluate_topics, npmi_matrix, reference_tokens
from topics.summary import topic_sizes, topic_word_columns
from topics.topic_model import RELEVANCE_LAMBDA, term_relevance, top_terms
from topics.word_pairs import order_topic_words


def by_cooccurrence(model, tokens, n_candidates: int, n_words: int = 25) -> list[list[str]]:
    """Each topic's words, chosen greedily by H weight plus mean NPMI (on ``tokens``) with those chosen."""
    H = np.asarray(model.components_, dtype=np.float64)
    chosen_words = []
    for t, columns in enumerate(top_terms(H, n_candidates)):
        terms = model.vectorizer_.terms(columns)
        counts = count_windows(tokens, terms)
        position = {term: i for i, term in enumerate(counts.terms)}
        rows = [position[term] for term in terms]
        npmi = npmi_matrix(counts)[np.ix_(rows, rows)]
        weight = H[t, columns] / H[t, columns[0]]
        chosen, rest = [0], list(range(1, len(terms)))
        while rest and len(chosen) < n_words:
            scores = [weight[r] + npmi[r, chosen].mean() for r in rest]
            chosen.append(rest.pop(int(np.argmax(scores))))
        chosen_words.append([terms[i] for i in chosen])
    return chosen_words


def by_relevance(model, lam: float, n_words: int = 25) -> list[list[str]]:
    """Each topic's ``n_words`` most relevant terms at this λ (1.0: the heaviest in H)."""
    scores = term_relevance(model.components_, model.doc_topics_, lam=lam)
    return [model.vectorizer_.terms(columns) for columns in top_terms(scores, n_words)]


def by_fitted_order(model, texts, n_words: int = 25) -> list[list[str]]:
    """Each topic's words in the order ``topics fit`` saves (:mod:`topics.word_pairs`), learned on ``texts``."""
    H = np.asarray(model.components_)
    order = order_topic_words(
        term_relevance(H, None, topic_shares=topic_sizes(np.asarray(model.doc_topics_))[0]),
        model.vectorizer_.terms,
        texts,
        np.diff(model.index_.postings.indptr),
    )
    return [model.vectorizer_.terms(c) for c in topic_word_columns(model, n_words, word_order=order)]


def measure(records, k, seeds: int, lambdas, n_candidates: int) -> dict:
    """Rule -> lists of (in-sample lead, held-out lead, diversity), one entry per seed and half."""
    texts = [r["text"] for r in records]
    tokens = [reference_tokens(t) for t in texts]
    halves = (tokens[0::2], tokens[1::2])
    found = {}
    for seed in range(seeds):
        _, _, model = project_pipeline(records, k, seed)
        tuned_words, _ = sklearn_pipeline(texts, model.n_topics_, tuned=True, seed=seed)

        def lead(words, judged_on, tuned_words=tuned_words):
            return evaluate_topics(words, judged_on)["npmi"] - evaluate_topics(tuned_words, judged_on)["npmi"]

        for lam in lambdas:
            words = by_relevance(model, lam)
            held_out = np.mean([lead(words, judged_on) for judged_on in halves])
            found.setdefault(f"relevance λ={lam:g}", []).append(
                (lead(words, tokens), held_out, evaluate_topics(words, tokens)["diversity"])
            )
        words = [model.vectorizer_.terms(c) for c in topic_word_columns(model, 25)]  # as fitted: all texts
        held_out = np.mean([lead(by_fitted_order(model, texts[i::2]), halves[1 - i]) for i in (0, 1)])
        found.setdefault("fitted order (topics.word_pairs)", []).append(
            (lead(words, tokens), held_out, evaluate_topics(words, tokens)["diversity"])
        )
        words = by_cooccurrence(model, tokens, n_candidates)
        held_out = np.mean(
            [
                lead(by_cooccurrence(model, chosen_on, n_candidates), judged_on)
                for chosen_on, judged_on in (halves, halves[::-1])
            ]
        )
        found.setdefault("co-occurrence", []).append(
            (lead(words, tokens), held_out, evaluate_topics(words, tokens)["diversity"])
        )
    return found, model.n_topics_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_options(parser)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=40)
    parser.add_argument("--lambdas", default=f"1,{RELEVANCE_LAMBDA:g}", help="comma-separated λ values")
    parser.add_argument("--k", default="", help="comma-separated numbers of topics (default: each corpus's default k)")
    args = parser.parse_args()
    lambdas = [float(v) for v in args.lambdas.split(",")]
    ks = [int(v) for v in args.k.split(",")] if args.k else [None]
    print("| corpus | k | words by | lead over (b), in-sample | lead over (b), other half | diversity |")
    print("|---|---|---|---|---|---|")
    for corpus, records in load_corpora(args).items():
        over_k = {}
        for k in ks:
            found, fitted_k = measure(records, k, args.seeds, lambdas, args.candidates)
            for rule, runs in found.items():
                means = np.mean(runs, axis=0)
                over_k.setdefault(rule, []).append(means)
                print(
                    f"| {corpus} | {fitted_k} | {rule} | {means[0]:+.3f} | {means[1]:+.3f} | {means[2]:.2f} |",
                    flush=True,
                )
        if len(ks) > 1:
            for rule, means in over_k.items():
                mean = np.mean(means, axis=0)
                print(f"| {corpus} | mean over k | {rule} | {mean[0]:+.3f} | {mean[1]:+.3f} | {mean[2]:.2f} |")


if __name__ == "__main__":
    main()
