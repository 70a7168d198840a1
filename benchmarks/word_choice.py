"""Does choosing each topic's words by their co-occurrence lift NPMI beyond the text it was chosen on?

NPMI rewards top words that share windows of text. A tempting rule is to pick each topic's 10 words,
among its 40 heaviest terms, by how often they co-occur in the archive, the very statistic NPMI counts.
This script measures whether that is better topics or just fitting the metric: split each corpus's
articles in two halves (even and odd rows), choose words on one half, measure NPMI on the other, both
ways round, and compare with the same rule chosen and measured on all the text (in-sample).

Rows, each as the lead in NPMI over the hand-tuned scikit-learn pipeline of ``quality.py`` (b), measured
on the same text and averaged over seeds:
- ``weight``: the default, a topic's heaviest terms in H;
- ``co-occurrence``: greedy, starting from the heaviest term, each next term maximising its H weight
  (relative to the heaviest) plus its mean NPMI with the terms already chosen.

usage: python benchmarks/word_choice.py [--seeds 3] [--candidates 40]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import CORPORA, ROOT, project_pipeline, read_records, sklearn_pipeline  # noqa: E402

from topics.evaluate import count_windows, evaluate_topics, npmi_matrix, reference_tokens  # noqa: E402
from topics.topic_model import top_terms  # noqa: E402


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=40)
    args = parser.parse_args()
    print("| corpus | words by | lead over (b), in-sample | lead over (b), other half |")
    print("|---|---|---|---|")
    for corpus, files in CORPORA.items():
        records = read_records(args.data, files)
        texts = [r["text"] for r in records]
        tokens = [reference_tokens(t) for t in texts]
        halves = (tokens[0::2], tokens[1::2])
        leads = {"weight": ([], []), "co-occurrence": ([], [])}
        for seed in range(args.seeds):
            default_words, _, model = project_pipeline(records, None, seed)
            tuned_words, _ = sklearn_pipeline(texts, model.n_topics_, tuned=True, seed=seed)

            def lead(words, judged_on):
                return evaluate_topics(words, judged_on)["npmi"] - evaluate_topics(tuned_words, judged_on)["npmi"]

            leads["weight"][0].append(lead(default_words, tokens))
            leads["co-occurrence"][0].append(lead(by_cooccurrence(model, tokens, args.candidates), tokens))
            for chosen_on, judged_on in (halves, halves[::-1]):
                leads["weight"][1].append(lead(default_words, judged_on))
                leads["co-occurrence"][1].append(lead(by_cooccurrence(model, chosen_on, args.candidates), judged_on))
        for rule, (in_sample, held_out) in leads.items():
            print(f"| {corpus} | {rule} | {np.mean(in_sample):+.3f} | {np.mean(held_out):+.3f} |", flush=True)


if __name__ == "__main__":
    main()
