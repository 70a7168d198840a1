"""The reading commands (issue 22): cold-process times on a model, and the targets on the held-out news.

Times: each command as a fresh `python -m topics.cli` process, median of --runs. Two commands are
baselines measured in the same run: `topics info` (reads the file's footer, loads nothing: the
interpreter and import cost) and `topics similar --text` (loads the model and answers one query). With
--baseline, every command is also run from another source tree (a `git archive` of main, say), each
tree on the model as it saves it (loaded and saved once by each, untimed), interleaved so that a busy
spell slows both alike; the ratio of this tree to the baseline is printed, and each command's CPU
seconds (user + system). The machine is shared, so compare ratios, not seconds. Each tree's modules are
compiled to bytecode first (`compileall`), as an installed package's are: otherwise every process
compiles them again (PYTHONDONTWRITEBYTECODE), which no installed `topics` does.

Targets (with --news, the held-out archive `benchmarks/data/news-articles.jsonl` and a model fitted on it
with defaults): `find_topics("travel ban")` puts the travel-ban topic first, and `topics_by("source")`
covers every outlet of the archive.

usage: python benchmarks/explore.py MODEL [--runs 3] [--baseline SRC] [--only NAME ...]
       python benchmarks/explore.py MODEL --news benchmarks/data/news-articles.jsonl --news-model M
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIMILAR_TEXT = "similar --text (baseline: load + query)"
# FIRST and SECOND stand for the model's first two article ids, WORK for a temporary folder.
COMMANDS = {
    "info (baseline: no load)": ["info"],
    SIMILAR_TEXT: ["similar", "--text", "travel ban"],
    "similar ID": ["similar", "FIRST"],
    "similar ID --explain": ["similar", "FIRST", "--top", "5", "--explain"],
    "similar --since 2017-03": ["similar", "--text", "travel ban", "--since", "2017-03"],
    "show ID": ["show", "FIRST"],
    "compare ID ID": ["compare", "FIRST", "SECOND"],
    "batch (3 queries)": ["batch", "WORK/queries.txt", "--top", "5"],
    "duplicates": ["duplicates"],
    "summary": ["summary"],
    "summary -a 0": ["summary", "-a", "0"],
    "trends": ["trends"],
    "trends --topics 1 2 3 --since 2000": ["trends", "--topics", "1", "2", "3", "--since", "2000"],
    "trends --topics 7 --words": ["trends", "--topics", "7", "--words"],
    "find travel ban": ["find", "travel", "ban"],
    "find --id ID": ["find", "--id", "FIRST"],
    "by source": ["by", "source"],
    "tree": ["tree"],
    "map": ["map"],
    "report": ["report", "--out", "WORK/r.html"],
}
IDS = "import sys, topics; m = topics.load(sys.argv[1]); print(m.articles_.ids[0], m.articles_.ids[1])"
# Over 8 minutes at 100,000 synthetic articles before the prefix filter, 13-14 s after (their 934,000 pairs at
# 0.8): timed only when --only names it.
BATCH_JOBS = {"duplicates"}
RESAVE = "import sys, topics; m = topics.load(sys.argv[1]); m.save(sys.argv[2], force=True); print(m.articles_.ids[0], m.articles_.ids[1])"


def in_tree(tree: Path, args: list, **kwargs):
    """``python ARGS`` with ``tree`` first on the path (`python -m` and `-c` put the working folder first)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, *args], env=env, cwd=tree, capture_output=True, text=True, **kwargs)


def compiled(tree: Path) -> None:
    """Compile the tree's modules to bytecode, as installing a package does."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "topics")], check=True, capture_output=True)


def timed(tree: Path, args: list) -> tuple:
    """``(completed process, wall seconds, CPU seconds)`` of ``python ARGS`` run from ``tree``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = in_tree(tree, args)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cold_times(model: Path, runs: int, trees: dict, only=None, work=None) -> dict:
    """``{command: {tree name: [(wall, CPU seconds) of each run] or None (failed)}}``."""
    commands = (
        {name: args for name, args in COMMANDS.items() if name in only}
        if only
        else {name: args for name, args in COMMANDS.items() if name not in BATCH_JOBS}
    )
    results = {name: {tree: [] for tree in trees} for name in commands}
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        tmp = Path(tmp)
        copies, ids = {}, None
        for name, tree in trees.items():
            compiled(tree)
            if len(trees) == 1:  # the model as given
                copies[name] = model
                ids = in_tree(tree, ["-c", IDS, str(model)], check=True)
            else:
                copies[name] = tmp / f"{name.replace(' ', '-')}.joblib"
                ids = in_tree(tree, ["-c", RESAVE, str(model), str(copies[name])], check=True)
        first, second = ids.stdout.split()
        (tmp / "queries.txt").write_text(f"{first}\n{second}\nelection results and the new government\n")
        for _ in range(runs):  # interleaved, so a busy spell slows every command alike
            for name, args in commands.items():
                args = [
                    first if a == "FIRST" else second if a == "SECOND" else a.replace("WORK", str(tmp)) for a in args
                ]
                for tree_name, tree in trees.items():
                    if results[name][tree_name] is None:
                        continue
                    done, wall, cpu = timed(tree, ["-m", "topics.cli", *args, "-m", str(copies[tree_name])])
                    if done.returncode != 0:
                        print(
                            f"{name} ({tree_name}): exit {done.returncode}: {done.stderr.strip()[-200:]}",
                            file=sys.stderr,
                        )
                        results[name][tree_name] = None
                    else:
                        results[name][tree_name].append((wall, cpu))
    return results


def targets(news_model: Path, news: Path) -> dict:
    import topics

    model = topics.load(news_model)
    outlets = {json.loads(line).get("source") for line in news.open(encoding="utf-8")} - {None}
    found = model.find_topics("travel ban", k=3)
    by = model.topics_by("source")
    return {
        "find travel ban": [(t.id, t.label, round(score, 3)) for t, score in found],
        "first topic is the travel-ban topic": "ban" in found[0][0].words[:3],
        "outlets in the archive": len(outlets),
        "outlets in topics_by": len(by.values),
        "topics_by covers every outlet": set(by.values) == outlets,
    }


def report(model: Path, runs: int, results: dict, trees: dict) -> None:
    names = list(trees)
    print(
        f"cold processes on {model} ({model.stat().st_size / 1e6:.0f} MB), median of {runs} runs; {os.cpu_count()} cores"
    )
    header = " | ".join(f"{n}: wall (runs) | {n}: CPU" for n in names)
    print(f"\n| command | {header} |" + (" ratio wall | ratio CPU |" if len(names) == 2 else ""))
    print("|---|" + "---:|---:|" * len(names) + ("---:|---:|" if len(names) == 2 else ""))
    for command, by_tree in results.items():
        cells, medians = [], []
        for name in names:
            times = by_tree[name]
            if not times:
                cells += ["failed", ""]
                medians.append(None)
                continue
            medians.append((statistics.median(w for w, _ in times), statistics.median(c for _, c in times)))
            runs_shown = ", ".join(f"{w:.2f}" for w, _ in times)
            cells += [f"{medians[-1][0]:.2f} s ({runs_shown})", f"{medians[-1][1]:.2f} s"]
        if len(names) == 2:
            both = None not in medians
            cells += [f"{medians[1][i] / medians[0][i]:.2f}" if both else "" for i in (0, 1)]
        over = " **> 2 s**" if medians[-1] is not None and medians[-1][0] > 2 else ""
        print(f"| `{command}`{over} | " + " | ".join(cells) + " |")
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another source tree (holding topics/) to time in the same run")
    parser.add_argument(
        "--only", nargs="+", choices=list(COMMANDS), help="time only these commands (default: all but duplicates)"
    )
    parser.add_argument("--work", type=Path, help="where to put the copies (default: a temporary folder)")
    parser.add_argument("--news", type=Path, default=None)
    parser.add_argument("--news-model", type=Path, default=None)
    args = parser.parse_args()
    trees = {"this tree": ROOT} if args.baseline is None else {"baseline": args.baseline, "this tree": ROOT}
    results = cold_times(args.model, args.runs, trees, args.only, args.work)
    report(args.model, args.runs, results, trees)
    if args.news is not None:
        for key, value in targets(args.news_model, args.news).items():
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
