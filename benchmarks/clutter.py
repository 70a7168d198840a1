"""Clutter in topics: how many topics are page furniture, formulae or broken text, on real and hazard archives.

Archives:
- ``news``: the held-out news of ``benchmarks/heldout_news.py`` (3,757 articles from 9 outlets, 2017), as
  published, with its share strips, credit lines, promos, appeals and broken characters;
- ``hazard-lee``, ``hazard-newsgroups``, ``hazard-wikipedia``: the shared corpora with the clutter of
  real archives injected (a share strip glued to the last sentence, a credit line glued without a space,
  a police appeal with its phone number written three ways, a promo, mojibake, HTML entities, an outlet
  name in every story of one source, and caption stubs);
- ``hazard-posts``: short posts cut from the held-out news with a feed's clutter (:func:`posts`).
  ``--formulae-by-evenness`` learns house formulae without the cross-section test, for comparison.

Pipelines, at the same k (the k `topics fit` picks for the archive):
(b) a hand-tuned scikit-learn pipeline (stop words, words of 3+ letters, min_df=2, max_df=0.5, sublinear
    tf, NNDSVD): the anchor of the "any archive" issue;
(c) `topics` defaults (clutter learned and left out);
(k) `topics` with ``learn_clutter=False`` (``--keep-clutter``), for the effect of the step alone.

Measures, each the mean over ``--seeds`` seeds:
- clutter rate: share of topics with at least CLUTTER_WORDS of their top 10 words in the archive's clutter
  vocabulary (for hazard archives the words of what was injected that the original texts never use; for
  the news a list read off its topics: outlet names, credit, share-strip and promo words, broken-text
  debris). A proxy for judging topics by eye, stated with its rule;
- NPMI of the top 10 words, windows of 10, stop words kept in the reference text (the issue's measure),
  and diversity of the top 25;
- fit seconds of (c) and (k) (ratio in the last column).

``--timing FILE.jsonl`` instead times whole fits of an archive with the clutter steps on and off,
alternating, ``--runs`` times each (fixed k, so NMF does the same work), and reports the medians and
their ratio, with the "read and vectorise" stage (where the steps run) on its own.

usage: python benchmarks/clutter.py [--news benchmarks/data/news-articles.jsonl] [--seeds 3] [--only NAME] [--formulae-by-evenness]
       python benchmarks/clutter.py --timing ARCHIVE.jsonl [--runs 3] [--k 20] [--baseline DIR]
       python benchmarks/clutter.py --drift | --stubs [--seeds 10]

``--drift`` fits 2,500 held-out news articles and adds, each to a fresh copy, 500 more of them, 300 Lee
news articles of 2001, 200 Usenet posts and 300 Dutch speeches: the unknown-term ratio, error ratio, stub
share and verdict of `add` for each (how the thresholds of "another kind of text" were chosen).
``--stubs`` measures same-newsgroup P@10 of the similarity benchmark's 10-topic newsgroup model with
``min_words`` 0, 2 and 3 over ``--seeds`` seeds (the cost of leaving stubs out of the fit).

``--baseline DIR`` (a checkout of an earlier commit, e.g. ``git worktree add /tmp/base REV``) also times
``topics fit`` processes of that checkout against this one, alternating: the cost of everything that
changed since, repair included.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quality import read_records, sklearn_pipeline

import topics
import topics.house_terms
from topics.clean import clean_news
from topics.evaluate import _REFERENCE_WORD, coherence_words, topic_diversity, topic_npmi
from topics.summary import topic_word_columns

CLUTTER_WORDS = 3
SHARED = next(
    (p for p in (ROOT.parent / "shared" / "data", ROOT.parents[1] / "shared" / "data") if p.is_dir()),
    ROOT.parent / "shared" / "data",
)

SHARE_STRIP = "Send Facebook Twitter Google+ Whatsapp Tumblr linkedin stumble Digg reddit Newsvine Permalink"
CREDIT = "(Planetary Herald Weekly {date} page{page})"
APPEAL = (
    "Anyone with information is asked to contact Kilbarry Garda Station on {phone}, the Garda Confidential "
    "Line on {phone2} or any garda station."
)
PROMO = "Do you have a story you want to share with the Planetary Herald? Here's how to reach us."
OUTLET = "(Zorblax)"
STUBS = [" March 20", "View Comments", "Like the poll tax.", "Photo gallery", "Watch the video"]

NEWS_CLUTTER = set(
    """
tass jazeera aljazeera huffington huffpost slide slides learn subscribe permalink newsvine digg reddit whatsapp
tumblr linkedin stumble dpa afp reuters agencies weekly european page daily chinadaily china_daily rte
source sources il rt amp http https www com dw bbc cnn abc getinspired inbox newsletter sign
january february april june july august september october november december
""".split()
)


def hazard(records: list[dict], seed: int = 0) -> tuple[list[dict], set]:
    """``records`` with the clutter of real archives injected, and the clutter vocabulary."""
    rng = np.random.default_rng(seed)
    out = []
    for i, r in enumerate(records):
        text = r["text"].rstrip()
        source = ("zorblax", "herald", "courier")[i % 3]
        if i % 4 == 0:
            text += SHARE_STRIP + f" http://news.example/p/{i:05d}"  # glued to the last sentence
        if i % 5 == 1:
            text += CREDIT.format(date=f"0{1 + i % 9}/1{i % 10}/2017", page=i % 40)  # glued, numbers vary
        if i % 6 == 2:
            phone = ("1800 666 111", "1800-666-111", "1800 666111")[i % 3]
            text += " " + APPEAL.format(phone=f"0{i % 9}{i % 7}-{1000 + i}", phone2=phone)
        if i % 7 == 3:
            text += "\n" + PROMO
        if i % 8 == 4:
            text = text.replace("'", "\u00e2\u20ac\u2122").replace(" - ", " \u00e2\u20ac\u201d ")  # mojibake
        if i % 9 == 5:
            text = text.replace(" and ", " &amp; ")
        if source == "zorblax":
            words = text.split(" ")
            at = int(rng.integers(0, len(words) + 1))
            words[at:at] = [OUTLET]
            text = " ".join(words)
        out.append({**r, "id": str(r["id"]), "text": text, "source": source})
    out += [{"id": f"stub-{i}", "text": STUBS[i % len(STUBS)], "source": "courier"} for i in range(len(records) // 20)]
    original = {w for r in records for w in _REFERENCE_WORD.findall(r["text"].lower())}
    injected = {
        w
        for s in (SHARE_STRIP, CREDIT, APPEAL, PROMO, OUTLET, " ".join(STUBS), "http news example amp")
        for w in _REFERENCE_WORD.findall(s.lower())
    }
    debris = {"â", "ã", "amp"}
    return out, (injected - original) | debris


ACCOUNTS = ["HealthNewsDaily", "kaiserhealth", "bbchealth", "NYTHealth", "cnnhealth", "foxnewshealth", "gdnhealth"]


def posts(records: list[dict], seed: int = 0) -> tuple[list[dict], set]:
    """Short posts cut from news ``records`` (one to five sentences of each, at most 140 characters each),
    with the clutter of a feed: "RT @account:" on 30%, a short link on half, an entity, an account hashtag
    and "#health" on 15% whatever the post says, "via @account"; and the clutter vocabulary."""
    rng = np.random.default_rng(seed)
    out = []
    for r in records:
        for sentence in re.split(r"(?<=[.!?])\s+", r["text"])[: int(rng.integers(1, 6))]:
            if len(sentence) < 20:
                continue
            account = ACCOUNTS[len(out) % len(ACCOUNTS)]
            text = sentence[:140]
            if rng.random() < 0.3:
                text = f"RT @{ACCOUNTS[int(rng.integers(0, len(ACCOUNTS)))]}: " + text
            if rng.random() < 0.5:
                text += f" http://bit.ly/{int(rng.integers(1_000_000)):x}"
            if rng.random() < 0.2:
                text = text.replace(" and ", " &amp; ")
            if rng.random() < 0.15:
                text += f" #{account} #health"
            if rng.random() < 0.1:
                text += " via @" + account
            out.append({"id": f"p{len(out)}", "text": text, "source": account, "date": r.get("date")})
    clutter = {"rt", "http", "bit", "ly", "amp", "via", "health"} | {a.lower() for a in ACCOUNTS}
    return out, clutter


def clutter_rate(top_words, clutter: set) -> float:
    flagged = [sum(w in clutter for w in coherence_words(t)[:10]) >= CLUTTER_WORDS for t in top_words]
    return float(np.mean(flagged)) if flagged else 0.0


def run(records, clutter: set, seed: int) -> dict:
    texts = [r["text"] for r in records]
    kept_tokens = [_REFERENCE_WORD.findall(clean_news(t).lower()) for t in texts]
    articles = [
        topics.Article(
            id=str(r["id"]), text=r["text"], date=r.get("date"), meta={"source": r["source"]} if r.get("source") else {}
        )
        for r in records
    ]
    rows = {}
    timings = {}
    k = None
    for name, params in (("(c) topics", {}), ("(k) topics, keep clutter", {"learn_clutter": False})):
        started = time.perf_counter()
        model = topics.TopicModel(k, random_state=seed, **params).fit(articles)
        timings[name] = time.perf_counter() - started
        k = model.fit_info_["n_topics"]
        rows[name] = [model.vectorizer_.terms(c) for c in topic_word_columns(model, 25)]
    rows["(b) sklearn hand-tuned"] = sklearn_pipeline(texts, k, tuned=True, seed=seed)[0]
    result = {"k": k}
    for name, top in rows.items():
        words = [coherence_words(t) for t in top]
        result[name] = {
            "clutter": clutter_rate(top, clutter),
            "npmi_kept": float(topic_npmi(words, kept_tokens).mean()),
            "diversity": topic_diversity([t[:25] for t in top])[0],
            "seconds": timings.get(name),
            "examples": [
                " ".join(t[:6]) for t in top if sum(w in clutter for w in coherence_words(t)[:10]) >= CLUTTER_WORDS
            ][:3],
        }
    return result


def timing(path: Path, runs: int, k: int) -> None:
    """Median fit seconds with the clutter steps on and off, alternating runs."""
    records = read_records(path.parent, [path.name])
    articles = [
        topics.Article(
            id=str(r["id"]), text=r["text"], date=r.get("date"), meta={"source": r["source"]} if r.get("source") else {}
        )
        for r in records
    ]
    topics.TopicModel(5, max_iter=20).fit(articles[:500])  # imports and caches, untimed
    seconds = {True: [], False: []}
    stage = {True: [], False: []}
    for _ in range(runs):
        for learn in (True, False):
            started = time.perf_counter()
            model = topics.TopicModel(k, learn_clutter=learn).fit(articles)
            seconds[learn].append(time.perf_counter() - started)
            stage[learn].append(model.fit_info_["stage_seconds"]["read and vectorise"])
    on, off = np.median(seconds[True]), np.median(seconds[False])
    print(
        f"| {path.name} ({len(records):,}) | k={k} | clutter steps on {on:.1f} s, off {off:.1f} s: ratio {on / off:.3f} "
        f"| read and vectorise on {np.median(stage[True]):.2f} s, off {np.median(stage[False]):.2f} s | "
        f"{runs} runs each, alternating |"
    )


def baseline_timing(path: Path, runs: int, k: int, baseline: Path) -> None:
    """Median seconds of `topics fit` processes of the baseline checkout and of this one, alternating."""
    import os
    import subprocess
    import tempfile

    def fit(tree: Path) -> float:
        with tempfile.TemporaryDirectory() as folder:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            command = [
                sys.executable,
                "-m",
                "topics.cli",
                "fit",
                str(path.resolve()),
                "--topics",
                str(k),
                "-q",
                "--model",
                str(Path(folder) / "m.joblib"),
            ]
            started = time.perf_counter()
            subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
            return time.perf_counter() - started

    seconds = {"baseline": [], "this": []}
    for _ in range(runs):
        seconds["baseline"].append(fit(baseline))
        seconds["this"].append(fit(ROOT))
    before, after = np.median(seconds["baseline"]), np.median(seconds["this"])
    print(
        f"| {path.name} | k={k} | `topics fit` baseline {before:.1f} s, this {after:.1f} s: ratio {after / before:.3f} "
        f"| {runs} runs each, alternating |"
    )


def drift(news: Path) -> None:
    """What `add` reports for batches of the same news and of other kinds of text."""
    import tempfile

    records = read_records(news.parent, [news.name])
    model_path = Path(tempfile.mkdtemp()) / "news.joblib"
    articles = [topics.Article(id=r["id"], text=r["text"]) for r in records]
    topics.TopicModel(20).fit(articles[:2500]).save(model_path)
    batches = {
        "500 more held-out news": articles[2500:3000],
        "300 Lee news of 2001": [
            topics.Article(id=f"lee{r['id']}", text=r["text"])
            for r in read_records(SHARED, ["lee-news/background.jsonl"])
        ][:300],
        "200 Usenet posts": [
            topics.Article(id=f"ng{r['id']}", text=r["text"])
            for r in read_records(SHARED, ["newsgroups-mini/docs.jsonl"])
        ],
        "300 Dutch speeches": [
            topics.Article(id=f"nl{r['id']}", text=r["text"])
            for r in read_records(SHARED, ["parlspeech-nl/docs.jsonl"])
        ][:300],
    }
    print("| batch added to 2,500 news | unknown-term ratio | error ratio | stubs | another kind of text |")
    print("|---|---:|---:|---:|---|")
    for name, batch in batches.items():
        report = topics.load(model_path).add(batch)
        ratio = report.unknown_share / report.fitted_unknown_share
        print(
            f"| {name} | {ratio:.2f} | {report.error_ratio:.2f} | {report.n_stubs / report.n_added:.0%} | "
            f"{report.another_domain} |",
            flush=True,
        )


def stub_precision(seeds: int) -> None:
    """Same-newsgroup P@10 of the similarity benchmark's newsgroup model by min_words."""
    import similarity

    bench = similarity.Bench()
    print("| min_words | stubs | P@10 per seed | mean |")
    print("|---:|---:|---|---:|")
    for min_words in (0, 2, 3):
        figures, n_stubs = [], 0
        for seed in range(seeds):
            model = topics.fit(bench.posts, n_topics=10, random_state=seed, min_words=min_words)
            scores = similarity.score_matrix(model, 0.1, model.doc_terms_, model.doc_topics_)
            top = similarity.neighbours(scores)
            figures.append(float(np.mean(bench.same_group[np.arange(len(scores))[:, None], top])))
            n_stubs = model.fit_info_["n_stubs"]
        print(
            f"| {min_words} | {n_stubs} | {' '.join(f'{f:.3f}' for f in figures)} | {np.mean(figures):.3f} |",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drift", action="store_true", help="what add says of other kinds of text")
    parser.add_argument("--stubs", action="store_true", help="newsgroup P@10 by min_words")
    parser.add_argument("--timing", type=Path, help="time fits of this archive instead")
    parser.add_argument("--baseline", type=Path, help="with --timing: a checkout to time against")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--news", type=Path, default=ROOT / "benchmarks" / "data" / "news-articles.jsonl")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", action="append", default=[], help="measure only these archives")
    parser.add_argument(
        "--formulae-by-evenness",
        action="store_true",
        help="house formulae by evenness alone, without the cross-section test (the rule before 2026-11-30)",
    )
    args = parser.parse_args()
    if args.formulae_by_evenness:
        topics.house_terms.FORMULA_CROSS_SECTION = 0.0
    if args.drift:
        return drift(args.news)
    if args.stubs:
        return stub_precision(args.seeds)
    if args.timing:
        timing(args.timing, args.runs, args.k)
        if args.baseline:
            baseline_timing(args.timing, args.runs, args.k, args.baseline)
        return
    archives = {}
    if args.news.exists():
        archives["news"] = (read_records(args.news.parent, [args.news.name]), NEWS_CLUTTER)
    else:
        print(f"({args.news} not found: python benchmarks/heldout_news.py writes it)")
    for name, files in (
        ("lee", ["lee-news/background.jsonl", "lee-news/test.jsonl"]),
        ("newsgroups", ["newsgroups-mini/docs.jsonl"]),
        ("wikipedia", ["wikipedia-sample/docs.jsonl"]),
    ):
        archives[f"hazard-{name}"] = hazard(read_records(SHARED, files))
    if "news" in archives:
        archives["hazard-posts"] = posts(archives["news"][0])
    if args.only:
        archives = {name: value for name, value in archives.items() if name in args.only}
    topics.fit([r["text"] for r in archives[next(iter(archives))][0][:300]], n_topics=5)  # imports, caches: untimed
    started = time.perf_counter()
    print(
        "| archive | k | pipeline | clutter rate | NPMI (stop words kept) | diversity | fit s | clutter topics (seed 0) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (records, clutter) in archives.items():
        runs = [run(records, clutter, seed) for seed in range(args.seeds)]
        for pipeline in ("(b) sklearn hand-tuned", "(k) topics, keep clutter", "(c) topics"):
            figures = {key: np.mean([r[pipeline][key] for r in runs]) for key in ("clutter", "npmi_kept", "diversity")}
            seconds = [r[pipeline]["seconds"] for r in runs if r[pipeline]["seconds"] is not None]
            fit = f"{np.median(seconds):.1f}" if seconds else "–"
            print(
                f"| {name} ({len(records)}) | {runs[0]['k']} | {pipeline} | {figures['clutter']:.2f} | "
                f"{figures['npmi_kept']:.3f} | {figures['diversity']:.2f} | {fit} | "
                + "; ".join(runs[0][pipeline]["examples"])
                + " |",
                flush=True,
            )
        lead = [r["(c) topics"]["npmi_kept"] - r["(b) sklearn hand-tuned"]["npmi_kept"] for r in runs]
        ratio = np.median([r["(c) topics"]["seconds"] / r["(k) topics, keep clutter"]["seconds"] for r in runs])
        print(
            f"| {name} | | (c) - (b) NPMI: mean {np.mean(lead):+.3f}, smallest {np.min(lead):+.3f}; "
            f"fit time (c) / (k): {ratio:.2f} | | | | | |",
            flush=True,
        )
    print(
        f"\n{time.perf_counter() - started:.0f} s; {args.seeds} seeds; a topic is clutter when >= {CLUTTER_WORDS} "
        "of its top 10 words are clutter words; NPMI: c_npmi, top 10 words, windows of 10, stop words kept."
    )


if __name__ == "__main__":
    main()
