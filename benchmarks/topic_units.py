"""Do topics learned from parts of articles (halves, passages) hold up on text the model never saw?

NPMI counts words that share windows of 10 tokens, so a topic model fitted on shorter units (each
article's halves, or passages of about 60 words) might find words used close together. This script
fits the NMF on such units (with the article vocabulary and idf, as `topics fit` would have to) and
measures NPMI three ways, each as the lead over the hand-tuned scikit-learn pipeline (b) of
``quality.py`` fitted on the same articles:
- on the whole corpus, fitted on it (in-sample, as ``quality.py`` measures);
- fitted on a random half of the articles, measured on that half;
- fitted on that half, measured on the other half (held out), both ways round.

usage: python benchmarks/topic_units.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import re
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import CORPORA, ROOT, read_records, sklearn_pipeline

import topics
from topics.clean import clean_news
from topics.corpus import Article
from topics.evaluate import evaluate_topics, reference_tokens
from topics.topic_model import default_n_topics, fit_topics, nmf_transform, topic_terms

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
PASSAGE_WORDS = 60
MAX_PARTS = 4
UNITS = ("articles", "halves", "passages", "at most 4 parts")


def halves(text: str, min_words: int = 90) -> list[str]:
    """The text cut in two at the sentence end nearest its middle word (short texts stay whole)."""
    sentences = SENTENCE_END.split(text)
    ends = np.cumsum([len(s.split()) for s in sentences])
    if len(sentences) < 2 or ends[-1] < min_words:
        return [text]
    cut = int(np.argmin(np.abs(ends[:-1] - ends[-1] / 2))) + 1
    return [" ".join(sentences[:cut]), " ".join(sentences[cut:])]


def passages(text: str, n_words: int = PASSAGE_WORDS) -> list[str]:
    """Runs of whole sentences of about ``n_words`` words; a short tail joins the passage before it."""
    found, current, size = [], [], 0
    for sentence in SENTENCE_END.split(text):
        current.append(sentence)
        size += len(sentence.split())
        if size >= n_words:
            found.append(" ".join(current))
            current, size = [], 0
    if current and found and size < n_words / 2:
        found[-1] += " " + " ".join(current)
    elif current:
        found.append(" ".join(current))
    return found


def parts(text: str, n_words: int = PASSAGE_WORDS, max_parts: int = MAX_PARTS) -> list[str]:
    """Passages of at least ``n_words`` words, but at most ``max_parts`` (so long articles do not dominate)."""
    sentences = SENTENCE_END.split(text)
    n_parts = max(1, min(max_parts, round(sum(len(s.split()) for s in sentences) / n_words)))
    ends = np.cumsum([len(s.split()) for s in sentences])
    cuts = [int(np.argmin(np.abs(ends - ends[-1] * i / n_parts))) + 1 for i in range(1, n_parts)]
    bounds = sorted(set([0] + [c for c in cuts if 0 < c < len(sentences)] + [len(sentences)]))
    return [" ".join(sentences[a:b]) for a, b in pairwise(bounds)]


def topic_words(records, k: int, seed: int, unit: str) -> list[list[str]]:
    """Each topic's 25 most relevant terms, the NMF fitted on ``unit`` rows of the article vectoriser and
    the articles then placed in those topics whole."""
    model = topics.TopicModel(k, random_state=seed).fit([Article(id=str(r["id"]), text=r["text"]) for r in records])
    if unit == "articles":
        H, W = model.components_, model.doc_topics_
    else:
        split = {"halves": halves, "passages": passages}.get(unit, parts)
        X = model.vectorizer_.transform([part for r in records for part in split(clean_news(r["text"]))])
        H = fit_topics(X[np.asarray(X.getnnz(axis=1)) > 0], k, random_state=seed)
        W = nmf_transform(model.doc_terms_, H)
    return [model.vectorizer_.terms(columns) for columns in topic_terms(H, W, 25)]


def leads(records, tokens, k: int, seed: int) -> dict:
    """Per unit: the lead over (b) on the whole corpus, and per half in-sample and held out."""

    def fit_all(rows):
        """Each unit's topic words and (b)'s, fitted on these rows."""
        chosen = [records[i] for i in rows]
        tuned, _ = sklearn_pipeline([r["text"] for r in chosen], k, tuned=True, seed=seed)
        return {unit: topic_words(chosen, k, seed, unit) for unit in UNITS}, tuned

    def lead(fitted, judged_on):
        """Each unit's NPMI minus (b)'s, both measured on the texts of rows ``judged_on``."""
        words_by_unit, tuned = fitted
        judged = [tokens[i] for i in judged_on]
        base = evaluate_topics(tuned, judged)["npmi"]
        return {unit: evaluate_topics(words, judged)["npmi"] - base for unit, words in words_by_unit.items()}

    everything = np.arange(len(records))
    found = {"whole": [lead(fit_all(everything), everything)], "in": [], "out": []}
    order = np.random.default_rng(seed).permutation(len(records))
    halves_of_rows = (order[: len(order) // 2], order[len(order) // 2 :])
    for fit_on, other in (halves_of_rows, halves_of_rows[::-1]):
        fitted = fit_all(fit_on)
        found["in"].append(lead(fitted, fit_on))
        found["out"].append(lead(fitted, other))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    print(
        "| corpus | topics fitted on | lead, whole corpus (smallest) | lead, half in-sample | lead, other half (smallest) |"
    )
    print("|---|---|---|---|---|")
    for corpus, files in CORPORA.items():
        records = read_records(args.data, files)
        tokens = [reference_tokens(r["text"]) for r in records]
        k = default_n_topics(len(records))
        runs = {"whole": [], "in": [], "out": []}
        for seed in range(args.seeds):
            for where, found in leads(records, tokens, k, seed).items():
                runs[where] += found
        for unit in UNITS:
            whole, inside, out = ([run[unit] for run in runs[w]] for w in ("whole", "in", "out"))
            print(
                f"| {corpus} | {unit} | {np.mean(whole):+.3f} ({np.min(whole):+.3f}) | {np.mean(inside):+.3f} "
                f"| {np.mean(out):+.3f} ({np.min(out):+.3f}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
