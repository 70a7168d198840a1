"""Topics of archives in other languages: junk share, NPMI and diversity, before and after language detection.

Archives: the 1,000 Dutch parliamentary speeches of ``../shared/data/parlspeech-nl`` and any ``--corpus
NAME=FILE.jsonl`` (records as in ``../shared/data``), each in one language given as ``--language`` of
the corpus (``NAME:CODE=FILE``; default: the language detected).

Pipelines, at the same k (the k `topics fit` picks for the archive):
(b) a hand-tuned scikit-learn pipeline (words of 3+ letters, min_df=2, max_df=0.5, sublinear tf, NNDSVD)
    given the language's stop list (:func:`topics.language.language_stop_words`), the anchor of the issue;
(m) `topics` as on main: English stop words whatever the language (``language="en"``), plus the house
    formulae it learns;
(c) `topics` defaults: the languages detected, their stop words, the formulae;
(s) (c) on texts whose words are folded by the language's Snowball stemmer to each stem's most frequent
    surface form (``--stem``; words stay readable), to decide whether stemming helps.

Measures, each the mean over ``--seeds`` seeds:
- junk: share of topics with at least JUNK_WORDS of their top 10 words among the language's stop words
  (the union list above) or the archive's house formulae (:func:`topics.house_terms.find_formulae`, as (c)
  learned them): topics of function words and procedure;
- NPMI of the top 10 words, windows of 10, stop words kept in the reference text (the measure of the
  "any archive" issue, :func:`benchmarks.clutter` style);
- diversity of the top 25 terms.

``--mixed`` fits one archive of the Dutch speeches and the Lee news (English) together and reports, for
Dutch and English queries (each article's first sentences, the article itself left out), the share of the
top 10 hits in the query's language, the junk share and each topic's share of weight in its main language
(purity), with the union of both stop lists (the default) and with each list alone.

usage: python benchmarks/languages.py [--seeds 3] [--corpus NAME[:CODE]=FILE.jsonl] [--stem] [--mixed] [--words]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quality import fold_words, read_records

import topics
import topics.analyzer
from topics.clean import clean_news
from topics.evaluate import _REFERENCE_WORD, coherence_words, topic_diversity, topic_npmi
from topics.language import detect_languages, language_stop_words, main_languages
from topics.summary import topic_word_columns

JUNK_WORDS = 5
SHARED = next((p for p in (ROOT.parent / "shared" / "data", ROOT.parents[1] / "shared" / "data") if p.is_dir()), None)


def sklearn_with_stop_list(texts, k, stop_words, seed):
    """Top-25 words per topic of the hand-tuned scikit-learn pipeline given ``stop_words``."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        stop_words=sorted(stop_words),
        token_pattern=r"(?u)\b[^\W\d_]{3,}\b",
        min_df=2,
        max_df=0.5,
        sublinear_tf=True,
    )
    X = vectorizer.fit_transform(texts)
    H = NMF(k, init="nndsvd", max_iter=500, random_state=seed).fit(X).components_
    vocabulary = vectorizer.get_feature_names_out()
    return [[str(vocabulary[c]) for c in np.argsort(-row)[:25]] for row in H]


def topics_pipeline(records, k, seed, **params):
    articles = [topics.Article(id=str(r["id"]), text=r["text"], date=r.get("date")) for r in records]
    model = topics.TopicModel(k, random_state=seed, **params).fit(articles)
    top = [model.vectorizer_.terms(c) for c in topic_word_columns(model, 25)]
    return top, model


def is_junk(terms, junk_words: set) -> bool:
    return sum(w in junk_words for w in coherence_words(terms)[:10]) >= JUNK_WORDS


def stem_folder(language: str):
    import snowballstemmer

    names = {"nl": "dutch", "de": "german", "en": "english", "fr": "french", "es": "spanish", "it": "italian"}
    stemmer = snowballstemmer.stemmer(names[language])
    return fold_words(lambda w, _: stemmer.stemWord(w))


def run(records, language: str, seed: int, *, stem: bool) -> dict:
    texts = [r["text"] for r in records]
    kept_tokens = [_REFERENCE_WORD.findall(clean_news(t).lower()) for t in texts]
    stop = language_stop_words(language)
    rows = {}
    top_c, model = topics_pipeline(records, None, seed)
    k = model.n_topics_
    junk_words = stop | set(model.fit_info_["formulae"])
    rows["(m) topics on main (English stop words)"] = topics_pipeline(records, k, seed, language="en")[0]
    rows["(c) topics, language detected"] = top_c
    if stem:
        folded = stem_folder(language)(texts)
        rows["(s) (c) on Snowball-folded words"] = topics_pipeline(
            [dict(r, text=t) for r, t in zip(records, folded, strict=True)], k, seed
        )[0]
    rows["(b) sklearn hand-tuned + stop list"] = sklearn_with_stop_list(texts, k, stop, seed)
    result = {"k": k, "languages": model.fit_info_["languages"]}
    for name, top in rows.items():
        words = [coherence_words(t) for t in top]
        junk = [is_junk(t, junk_words) for t in top]
        result[name] = {
            "junk": float(np.mean(junk)),
            "npmi_kept": float(topic_npmi(words, kept_tokens).mean()),
            "diversity": topic_diversity([t[:25] for t in top])[0],
            "junk_examples": [" ".join(t[:6]) for t, j in zip(top, junk, strict=True) if j][:3],
            "top": [" ".join(t[:8]) for t in top],
        }
    return result


def measure(name, records, language, seeds, *, stem: bool, words: bool) -> None:
    runs = [run(records, language, seed, stem=stem) for seed in range(seeds)]
    first = runs[0]
    languages = ", ".join(f"{c} {s:.0%}" for c, s in first["languages"].items())
    for pipeline in (key for key in first if key.startswith("(")):
        cells = [np.mean([r[pipeline][m] for r in runs]) for m in ("junk", "npmi_kept", "diversity")]
        print(
            f"| {name} ({len(records)}, {languages}) | {pipeline} | {first['k']} | {cells[0]:.2f} | {cells[1]:.3f} "
            f"| {cells[2]:.2f} | {'; '.join(first[pipeline]['junk_examples']) or '–'} |",
            flush=True,
        )
        if words:
            for line in first[pipeline]["top"]:
                print(f"|   |   {line} ||||||")


def mixed(seed: int) -> None:
    """Dutch and English articles in one archive: hits in the query's language, per stop-word choice."""
    import re

    dutch = [dict(r, lang="nl") for r in read_records(SHARED, ["parlspeech-nl/docs.jsonl"]) if len(r["text"]) > 300]
    english = [dict(r, lang="en") for r in read_records(SHARED, ["lee-news/background.jsonl", "lee-news/test.jsonl"])]
    records = dutch[:600] + english
    language_of = {str(r["id"]): r["lang"] for r in records}
    shares = detect_languages([r["text"] for r in records])
    print(f"mixed archive: {len(records)} articles, detected {shares}, stop lists of {main_languages(shares)}")
    print("| stop words | queries | hits in the query's language (top 10) | junk share | topic purity | k |")
    print("|---|---|---|---|---|---|")
    both = language_stop_words("nl") | topics.analyzer.english_stop_words()
    for label, language in (("union nl + en (default)", None), ("nl only", "nl"), ("en only", "en")):
        top, model = topics_pipeline(records, None, seed, language=language)
        junk = np.mean([is_junk(t, both | set(model.fit_info_["formulae"])) for t in top])
        # each topic's share of its article weight in its main language, averaged over the topics
        dutch_rows = np.array([language_of[i] == "nl" for i in model.articles_.ids])
        W = np.asarray(model.doc_topics_)
        dutch_share = W[dutch_rows].sum(axis=0) / np.maximum(W.sum(axis=0), 1e-12)
        purity = float(np.maximum(dutch_share, 1 - dutch_share).mean())
        for query_language in ("nl", "en"):
            queries = [r for r in records if r["lang"] == query_language][::10]
            shares_in = []
            for r in queries:
                query = " ".join(re.split(r"(?<=[.!?])\s+", r["text"])[:2])
                try:
                    hits = model.similar(text=query, k=11)
                except topics.QueryError:
                    continue
                hits = [h for h in hits if h.id != str(r["id"])][:10]
                shares_in.append(np.mean([language_of[h.id] == query_language for h in hits]) if hits else 0.0)
            print(
                f"| {label} | {query_language} ({len(shares_in)}) | {np.mean(shares_in):.3f} | {junk:.2f} | {purity:.3f} | "
                f"{model.n_topics_} |",
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", default=[], metavar="NAME[:CODE]=FILE.jsonl")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--stem", action="store_true", help="also (s): Snowball-folded words")
    parser.add_argument("--words", action="store_true", help="print every topic's top words")
    parser.add_argument("--mixed", action="store_true", help="measure a Dutch + English archive instead")
    parser.add_argument("--only-extra", action="store_true", help="only the --corpus archives")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.mixed:
        mixed(0)
        return
    corpora = [] if args.only_extra else [("parlspeech-nl", "nl", read_records(SHARED, ["parlspeech-nl/docs.jsonl"]))]
    for spec in args.corpus:
        name, _, path = spec.partition("=")
        name, _, code = name.partition(":")
        path = Path(path)
        records = read_records(path.parent, [path.name])
        code = code or main_languages(detect_languages([r["text"] for r in records]))[0]
        corpora.append((name, code, records))
    print("| archive | pipeline | k | junk | NPMI (stop words kept) | diversity | junk examples |")
    print("|---|---|---|---|---|---|---|")
    for name, code, records in corpora:
        measure(name, records, code, args.seeds, stem=args.stem, words=args.words)
    print(
        f"\n{time.perf_counter() - started:.0f} s; means over {args.seeds} seeds; junk: >= {JUNK_WORDS} of the "
        "top 10 words are stop words of the language or learned house formulae; NPMI: top 10 words, windows "
        "of 10, stop words kept in the reference; diversity over the top 25 terms."
    )


if __name__ == "__main__":
    main()
