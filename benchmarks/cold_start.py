"""Fit time on the bundled sample and the wall time of a cold `topics similar` process.

Baseline, measured in the same run: the pipeline a user assembles by hand with scikit-learn
(TfidfVectorizer + NMF + NearestNeighbors(metric="cosine", algorithm="brute"), pickled with joblib),
fitted on the same articles and queried by a fresh Python process that loads the pickle.

The second form times cold `topics similar ID` and `similar --text` processes on fitted models, for this
tree and another source tree (a `git archive` of main, say) in the same run, interleaved: each tree
queries the model as that tree saves it (loaded and saved once by each, untimed), since what a cold
process pays is mostly reading and checking its own file.

usage: python benchmarks/cold_start.py [--repeat 5] [--corpus data/sample]
       python benchmarks/cold_start.py --models MODEL.joblib [...] --baseline SRC [--repeat 3] [--work DIR]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASELINE_QUERY = """
import sys, joblib
vectorizer, nmf, nn, ids = joblib.load(sys.argv[1])
row = ids.index(sys.argv[2])
x = vectorizer.transform([sys.argv[3]])
distances, rows = nn.kneighbors(x, n_neighbors=6)
print([ids[r] for r in rows[0] if r != row][:5])
"""


def fit_baseline(texts, ids, n_topics, path):
    import joblib
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import NearestNeighbors

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(stop_words="english", min_df=2, max_df=0.5, sublinear_tf=True, ngram_range=(1, 2))
    X = vectorizer.fit_transform(texts)
    nmf = NMF(n_components=n_topics, init="nndsvda", random_state=0, max_iter=400).fit(X)
    nn = NearestNeighbors(metric="cosine", algorithm="brute").fit(X)
    joblib.dump((vectorizer, nmf, nn, ids), path)
    return time.perf_counter() - started


def timed(cmd, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


RESAVE = "import sys, topics; m = topics.load(sys.argv[1]); m.save(sys.argv[2], force=True); print(m.articles_.ids[0])"


def in_tree(tree: Path, args: list, **kwargs):
    """``python ARGS`` with ``tree`` first on the path (`python -m` and `-c` put the working folder first)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, *args], check=True, capture_output=True, env=env, cwd=tree, **kwargs)


def cold_queries(models, baseline: Path, repeat: int, work: Path):
    trees = {"baseline": baseline, "this tree": ROOT}
    work = Path(tempfile.mkdtemp(prefix="topics-cold-", dir=work))
    print(f"median of {repeat} runs; {os.cpu_count()} cores\n")
    print("| model | cold process | baseline | this tree | ratio |")
    print("|---|---|---:|---:|---:|")
    try:
        for model in models:
            copies, first = {}, None
            for name, tree in trees.items():
                copies[name] = work / f"{name.replace(' ', '-')}-{model.name}"
                first = in_tree(tree, ["-c", RESAVE, str(model), str(copies[name])], text=True).stdout.strip()
            commands = {
                "`similar ID`": ["similar", first, "--top", "10"],
                "`similar --text`": ["similar", "--text", "election results and the new government", "--top", "10"],
            }
            for label, command in commands.items():
                times = {name: [] for name in trees}
                for _ in range(repeat):  # interleaved, so a busy spell slows both alike
                    for name, tree in trees.items():
                        started = time.perf_counter()
                        in_tree(tree, ["-m", "topics.cli", *command, "--model", str(copies[name])])
                        times[name].append(time.perf_counter() - started)
                base, ours = (statistics.median(times[name]) for name in trees)
                print(
                    f"| {model.name} ({model.stat().st_size / 1e6:.0f} MB) | {label} | {base:.2f} s | {ours:.2f} s | "
                    f"{ours / base:.2f} |",
                    flush=True,
                )
            for copy in copies.values():
                copy.unlink()
    finally:
        for leftover in work.iterdir():
            leftover.unlink()
        work.rmdir()
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--corpus", default=str(ROOT / "data" / "sample"))
    ap.add_argument("--models", type=Path, nargs="+", help="time cold queries on these fitted models instead")
    ap.add_argument("--baseline", type=Path, help="with --models: the other source tree (holding topics/)")
    ap.add_argument("--work", type=Path, help="with --models: where to put the copies (default: a temporary folder)")
    args = ap.parse_args()
    if args.models:
        if args.baseline is None:
            ap.error("--models needs --baseline SRC")
        return cold_queries(args.models, args.baseline, args.repeat, args.work)

    import topics

    articles = list(topics.read_corpus(args.corpus))
    texts, ids = [a.text for a in articles], [a.id for a in articles]
    work = Path(tempfile.mkdtemp(prefix="topics-bench-"))
    model_path, baseline_path = work / "model.joblib", work / "baseline.joblib"

    fit_times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        model = topics.fit(articles, random_state=0)
        model.save(model_path, force=True)
        fit_times.append(time.perf_counter() - started)
    k = model.n_topics_
    base_fit = statistics.median(fit_baseline(texts, ids, k, baseline_path) for _ in range(args.repeat))
    ours_fit = statistics.median(fit_times)

    query_id = ids[0]
    topics_bin = [sys.executable, "-m", "topics.cli"]
    ours_cold = timed([*topics_bin, "similar", query_id, "--model", str(model_path), "--top", "5"], args.repeat)
    ours_text = timed(
        [*topics_bin, "similar", "--text", texts[1], "--model", str(model_path), "--top", "5"], args.repeat
    )
    base_cold = timed([sys.executable, "-c", BASELINE_QUERY, str(baseline_path), query_id, texts[0]], args.repeat)
    python_only = timed([sys.executable, "-c", "pass"], args.repeat)

    print(
        f"corpus: {args.corpus} ({len(texts)} articles, {k} topics); median of {args.repeat} runs; "
        f"{os.cpu_count()} cores\n"
    )
    print("| measure | topics | hand-built scikit-learn | ratio (topics / baseline) |")
    print("|---|---:|---:|---:|")
    print(f"| fit + save | {ours_fit:.2f} s | {base_fit:.2f} s | {ours_fit / base_fit:.2f} |")
    print(f"| cold `similar ID` process | {ours_cold:.3f} s | {base_cold:.3f} s | {ours_cold / base_cold:.2f} |")
    print(f"| cold `similar --text` process | {ours_text:.3f} s | {base_cold:.3f} s | {ours_text / base_cold:.2f} |")
    print(f"| bare `python -c pass` | {python_only:.3f} s | | |")


if __name__ == "__main__":
    main()
