"""Topic quality on every real corpus in ../shared/data: NPMI, diversity and (labelled corpora) NMI.

Three pipelines, fitted on the same articles with the same number of topics k (the k that
`topics fit` picks by default for that corpus):

(a) scikit-learn bare defaults: ``TfidfVectorizer()`` + ``NMF(k, random_state=0)``;
(b) a hand-tuned scikit-learn pipeline: English stop words, words of >= 3 letters, min_df=2, max_df=0.5,
    sublinear tf, NNDSVD start (the settings a careful user reaches for);
(c) `topics` defaults: ``topics.fit(articles)``.

NPMI is computed identically for all three by :mod:`topics.evaluate`: the same reference token stream
(:func:`topics.evaluate.reference_tokens` of the texts: boilerplate and stop words removed, as published
figures are computed), each topic's first 10 words (phrases split, :func:`topics.evaluate.coherence_words`;
(a) and (b) by weight in H, (c) by relevance as `topics` ranks them), windows of 10. Two more columns score the same topics against
other references: the text with its stop words kept (this project's reference before it followed the
published preparation), and the raw text, headers and all (stop words removed).
Diversity: distinct share of all topics' top-25 terms. NMI: each article's dominant topic against its
label (only for corpora with labels), with scikit-learn's ``normalized_mutual_info_score``.
Similarity: same-label precision@10 of `topics` nearest neighbours (labelled corpora only).

Every figure is the mean over ``--seeds`` seeds (default 5; a seed changes NMF's start, and on a few hundred
articles that alone moves NPMI by up to 0.03), and (c)'s lead over (b) is given per seed as mean and smallest.

usage: python benchmarks/quality.py [--data ../shared/data] [--corpus NAME=FILE.jsonl] [--only-extra]
                                   [--seed 0] [--seeds 5] [--ablation]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import topics
from topics.clean import clean_news
from topics.corpus import Article
from topics.evaluate import _REFERENCE_WORD, coherence_words, evaluate_topics, reference_tokens, topic_npmi
from topics.summary import topic_word_columns

CORPORA = {
    "lee-news": ["lee-news/background.jsonl", "lee-news/test.jsonl"],
    "newsgroups-mini": ["newsgroups-mini/docs.jsonl"],
    "wikipedia-sample": ["wikipedia-sample/docs.jsonl"],
}


def read_records(data: Path, files) -> list[dict]:
    records = []
    for name in files:
        with open(data / name, encoding="utf-8") as f:
            records.extend(json.loads(line) for line in f)
    return records


def add_corpus_options(parser):
    """--data, --corpus NAME=FILE and --only-extra, shared by the quality benchmarks."""
    parser.add_argument(
        "--data",
        type=Path,
        default=next(
            (p for p in (ROOT.parent / "shared" / "data", ROOT.parents[1] / "shared" / "data") if p.is_dir()), None
        ),
    )
    parser.add_argument(
        "--corpus",
        action="append",
        default=[],
        metavar="NAME=FILE.jsonl",
        help="also measure this archive (JSONL records as in ../shared/data), e.g. the held-out "
        "news of benchmarks/heldout_news.py; repeatable",
    )
    parser.add_argument("--only-extra", action="store_true", help="measure only the --corpus archives")


def load_corpora(args) -> dict[str, list[dict]]:
    """Corpus name -> records: the shared corpora (unless --only-extra), then each --corpus."""
    corpora = {} if args.only_extra else {name: read_records(args.data, files) for name, files in CORPORA.items()}
    for spec in args.corpus:
        name, _, path = spec.rpartition("=")
        path = Path(path)
        corpora[name or path.stem] = read_records(path.parent, [path.name])
    return corpora


def sklearn_pipeline(texts, k, *, tuned: bool, seed: int):
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    if tuned:
        vectorizer = TfidfVectorizer(
            stop_words="english", token_pattern=r"(?u)\b[^\W\d_]{3,}\b", min_df=2, max_df=0.5, sublinear_tf=True
        )
        nmf = NMF(k, init="nndsvd", max_iter=500, random_state=seed)
    else:
        vectorizer, nmf = TfidfVectorizer(), NMF(k, random_state=seed)
    X = vectorizer.fit_transform(texts)
    W = nmf.fit_transform(X)
    H = nmf.components_
    vocabulary = vectorizer.get_feature_names_out()
    top = [[str(vocabulary[c]) for c in np.argsort(-row)[:25]] for row in H]
    return top, W


def project_pipeline(records, k, seed: int, **params):
    articles = [Article(id=str(r["id"]), text=r["text"], title=r.get("title"), date=r.get("date")) for r in records]
    model = topics.TopicModel(k, random_state=seed, **params).fit(articles)
    # The most relevant terms, as `topics evaluate` scores them (summaries show them with phrases merged).
    top = [model.vectorizer_.terms(columns) for columns in topic_word_columns(model, 25)]
    return top, np.asarray(model.doc_topics_), model


def same_label_precision(model, labels, n: int = 10) -> float:
    """Mean share of each article's n nearest neighbours that carry its label."""
    hits = []
    for row, article_id in enumerate(model.articles_.ids):
        neighbours = model.similar(article_id, k=n)
        hits.append(np.mean([labels[model.row_of(h.id)] == labels[row] for h in neighbours]))
    return float(np.mean(hits))


def measure(records, seed: int, params=None) -> list[dict]:
    from sklearn.metrics import normalized_mutual_info_score

    texts = [r["text"] for r in records]
    labels = [r.get("label") for r in records]
    labelled = all(label is not None for label in labels)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    tokens = [reference_tokens(t) for t in texts]
    kept_tokens = [_REFERENCE_WORD.findall(clean_news(t).lower()) for t in texts]
    raw_tokens = [[w for w in _REFERENCE_WORD.findall(t.lower()) if w not in ENGLISH_STOP_WORDS] for t in texts]
    params = dict(params or {})
    top_c, W_c, model = project_pipeline(records, params.pop("n_topics", None), seed, **params)
    k = model.n_topics_
    rows = []
    for name, (top, W) in (
        ("(a) sklearn defaults", sklearn_pipeline(texts, k, tuned=False, seed=seed)),
        ("(b) sklearn hand-tuned", sklearn_pipeline(texts, k, tuned=True, seed=seed)),
        ("(c) topics defaults", (top_c, W_c)),
    ):
        scores = evaluate_topics(top, tokens)
        words = [coherence_words(t) for t in top]
        row = {
            "pipeline": name,
            "k": k,
            "npmi": scores["npmi"],
            "diversity": scores["diversity"],
            "npmi_kept": float(topic_npmi(words, kept_tokens).mean()),
            "npmi_raw": float(topic_npmi(words, raw_tokens).mean()),
        }
        if labelled:
            row["nmi"] = round(float(normalized_mutual_info_score(labels, W.argmax(axis=1))), 3)
        rows.append(row)
    if labelled:
        rows[-1]["p@10"] = round(same_label_precision(model, labels), 3)
    rows[-1]["top words"] = [" ".join(t[:6]) for t in top_c[:3]]
    return rows


def _ablation_builders():
    """Analysers for --ablation: each cleaning step switched off or on, the rest as the defaults."""
    import functools

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from topics.analyzer import Analyzer, build_analyzer

    def fixed(n, phrases, clean):
        return lambda texts, *, stop_words, ngram_max: Analyzer(stop_words, n, phrases, clean)

    def no_news_stop(texts, *, stop_words, ngram_max):
        return build_analyzer(texts, stop_words=frozenset(ENGLISH_STOP_WORDS), ngram_max=ngram_max)

    return {
        "no boilerplate removal (the analyser before this change)": fixed(2, None, False),
        "defaults: boilerplate removed, words and every word pair": build_analyzer,
        "boilerplate removed, words only": fixed(1, (), True),
        "defaults without the news stop words": no_news_stop,
        "collocations (>= 10 times, NPMI >= 0.5) as single terms": functools.partial(build_analyzer, collocations=True),
    }


def fold_words(key_of):
    """A text rewrite: every word replaced by the archive's most frequent word of its class, where
    ``key_of(word, frequency)`` names the class (a stem, a singular). Writing the most frequent surface form
    back keeps the topics' words real words that the reference stream can contain."""
    import collections
    import re

    word = re.compile(r"[^\W\d_]+")

    def fold(texts):
        frequency = collections.Counter(w for text in texts for w in word.findall(text.lower()))
        best = {}
        for w, count in frequency.items():
            key = key_of(w, frequency)
            if key not in best or count > frequency[best[key]]:
                best[key] = w

        def replace(match):
            lowered = match.group(0).lower()  # may split ("İ"): such words stay as they are
            return best.get(key_of(lowered, frequency), lowered)

        return [word.sub(replace, text) for text in texts]

    return fold


def _word_folders():
    """Text rewrites for --ablation (:func:`fold_words`): plural folding puts "rates" with "rate" when both
    occur; Snowball stemming (the ``snowballstemmer`` package, measured only when installed) puts "economy"
    with "economic"."""

    def singular(w, frequency):
        return w[:-1] if w.endswith("s") and not w.endswith("ss") and w[:-1] in frequency else w

    folders = {"plural folding (rates -> rate)": fold_words(singular)}
    try:
        import snowballstemmer
    except ImportError:
        print("(Snowball stemming row left out: pip install snowballstemmer to measure it)")
    else:
        stemmer = snowballstemmer.stemmer("english")
        folders["Snowball stemming (economy, economic -> economy)"] = fold_words(lambda w, _: stemmer.stemWord(w))
    return folders


def ablation(corpora: dict, seed: int):
    """NPMI, diversity and (newsgroups) NMI and P@10 of `topics` with each analyser step toggled, and with
    inflections folded. NPMI's reference is always the original text."""
    print("| analyser | " + " | ".join(f"{c} NPMI / div" for c in corpora) + " | newsgroups NMI | P@10 |")
    print("|---|" + "---|" * (len(corpora) + 2))
    for name, builder in _ablation_builders().items():
        print(f"| {name} | " + " | ".join(_ablation_cells(corpora, seed, builder=builder)) + " |", flush=True)
    for name, fold in _word_folders().items():
        print(f"| defaults after {name} | " + " | ".join(_ablation_cells(corpora, seed, fold=fold)) + " |", flush=True)


def _ablation_cells(corpora, seed: int, *, builder=None, fold=None) -> list[str]:
    from sklearn.metrics import normalized_mutual_info_score

    import topics.text as text_module  # TopicModel.fit builds its analyser through topics.text.make_vectorizer

    cells, extra = [], ["–", "–"]
    for records in corpora.values():
        fitted_on = records
        if fold is not None:
            fitted_on = [
                dict(r, text=text) for r, text in zip(records, fold([r["text"] for r in records]), strict=True)
            ]
        original = text_module.build_analyzer
        if builder is not None:
            # The fit streams its texts and passes none to the builder; collocations need them.
            texts = [r["text"] for r in fitted_on]
            text_module.build_analyzer = lambda _streamed, texts=texts, **options: builder(texts, **options)
        try:
            top, W, model = project_pipeline(fitted_on, None, seed)
        finally:
            text_module.build_analyzer = original
        scores = evaluate_topics(top, [reference_tokens(r["text"]) for r in records])
        cells.append(f"{scores['npmi']:.3f} / {scores['diversity']:.2f}")
        labels = [r.get("label") for r in records]
        if all(label is not None for label in labels):
            extra = [
                f"{normalized_mutual_info_score(labels, W.argmax(axis=1)):.3f}",
                f"{same_label_precision(model, labels):.3f}",
            ]
    return cells + extra


def summarise_seeds(per_seed: list[list[dict]]) -> list[dict]:
    """One row per pipeline: the mean of every figure over the seeds, the NPMI spread, and for (c) its
    lead over (b) per seed (mean and smallest), since a single seed can move NPMI by +-0.02."""
    rows = []
    for position, first in enumerate(per_seed[0]):
        runs = [seed_rows[position] for seed_rows in per_seed]
        row = {"pipeline": first["pipeline"], "k": first["k"]}
        for key in ("npmi", "npmi_kept", "npmi_raw", "diversity", "nmi", "p@10"):
            if key in first:
                row[key] = float(np.mean([run[key] for run in runs]))
        row["npmi_sd"] = float(np.std([run["npmi"] for run in runs]))
        rows.append(row)
    for key, lead in (("npmi", "lead"), ("npmi_kept", "lead_kept")):
        leads = [seed_rows[-1][key] - seed_rows[1][key] for seed_rows in per_seed]
        rows[-1][lead] = (float(np.mean(leads)), float(np.min(leads)))
    rows[-1]["top words"] = per_seed[0][-1]["top words"]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_options(parser)
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--seeds", type=int, default=5, help="seeds seed, seed+1, ...; figures are their means")
    parser.add_argument("--params", default="{}", help="JSON of TopicModel parameters for (c), for experiments")
    parser.add_argument("--words", action="store_true", help="show the first topics' words of (c)")
    parser.add_argument("--ablation", action="store_true", help="measure each analyser step instead")
    args = parser.parse_args()
    corpora = load_corpora(args)
    if args.ablation:
        return ablation(corpora, args.seed)
    params = json.loads(args.params)
    started = time.perf_counter()
    print(
        "| corpus | pipeline | k | NPMI (sd) | lead over (b): mean / smallest | NPMI, stop words kept in reference "
        "(lead) | NPMI, raw-text reference | diversity | NMI | same-label P@10 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for corpus, records in corpora.items():
        rows = summarise_seeds([measure(records, seed, params) for seed in range(args.seed, args.seed + args.seeds)])
        for row in rows:
            lead = f"{row['lead'][0]:+.3f} / {row['lead'][1]:+.3f}" if "lead" in row else "–"
            kept = f"{row['npmi_kept']:.3f}" + (f" ({row['lead_kept'][0]:+.3f})" if "lead_kept" in row else "")
            extra = [f"{row[key]:.3f}" if key in row else "–" for key in ("nmi", "p@10")]
            print(
                f"| {corpus} ({len(records)}) | {row['pipeline']} | {row['k']} | {row['npmi']:.3f} ({row['npmi_sd']:.3f}) "
                f"| {lead} | {kept} | {row['npmi_raw']:.3f} | {row['diversity']:.2f} | " + " | ".join(extra) + " |"
            )
        if args.words:
            for words in rows[-1]["top words"]:
                print(f"|   | {words} ||||||||")
    print(
        f"\n{time.perf_counter() - started:.0f} s; {args.seeds} seeds from {args.seed}, figures are means; NPMI: "
        "gensim-style c_npmi, windows of 10 over the same reference stream for every pipeline, top-10 words; "
        "diversity over top-25 terms."
    )


if __name__ == "__main__":
    main()
