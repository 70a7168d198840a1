"""Analyser speed: `topics`' one-pass analyser against its clause-by-clause path and scikit-learn's.

Times, in one run on the same texts, the three ways of turning articles into terms:
- ``Analyzer.__call__`` (what a fit uses: one regex pass, list comprehensions);
- ``Analyzer.clauses`` + words and pairs (the loop per word the fit used before; the same terms);
- scikit-learn's unigram ``TfidfVectorizer(stop_words="english").build_analyzer()`` (the baseline of
  benchmarks/scale.py, which does less: no boilerplate removal, no two-word terms);
and what a fit's worker does with a chunk of them: analyse and count its terms (``topics.text._count_terms``,
all the articles as one chunk).
It also checks that the first two give the same terms for every text.

``--tree DIR`` times the ``topics`` package of another checkout (say ``git archive`` of an older commit)
with this script, for a ratio against it: run both, alternating, on the same machine.

usage: python benchmarks/analyser.py CORPUS.jsonl [--articles 3000] [--repeat 3] [--tree DIR]
"""

import argparse
import itertools
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path


def best_of(func, texts, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            func(text)
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--articles", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1], help="checkout to time")
    args = ap.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    from sklearn.feature_extraction.text import TfidfVectorizer

    from topics.analyzer import _words_and_pairs, build_analyzer, english_stop_words
    from topics.text import _count_terms

    with open(args.corpus, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in itertools.islice(f, args.articles)]
    analyzer = build_analyzer((), stop_words=english_stop_words(), ngram_max=2)
    same = sum(Counter(analyzer(t)) == Counter(_words_and_pairs(analyzer.clauses(t))) for t in texts)
    one_pass = best_of(analyzer, texts, args.repeat)
    by_clause = best_of(lambda t: _words_and_pairs(analyzer.clauses(t)), texts, args.repeat)
    sklearn = best_of(TfidfVectorizer(stop_words="english").build_analyzer(), texts, args.repeat)
    counting = best_of(lambda chunk: _count_terms(analyzer, chunk), [texts], args.repeat)
    print(
        f"{len(texts):,} articles from {args.corpus}, topics from {args.tree}; best / median of {args.repeat}; "
        f"same terms: {same}/{len(texts)}"
    )
    print("| analyser | seconds | articles/s | ratio to one pass |\n|---|---:|---:|---:|")
    for name, (best, median) in (
        ("topics, one pass (fit default)", one_pass),
        ("topics, clause by clause", by_clause),
        ("scikit-learn unigram", sklearn),
        ("topics, analyse and count (a fit's chunk)", counting),
    ):
        print(f"| {name} | {best:.2f} / {median:.2f} | {len(texts) / best:,.0f} | {best / one_pass[0]:.2f} |")


if __name__ == "__main__":
    main()
