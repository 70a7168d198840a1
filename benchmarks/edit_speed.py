"""Wall and CPU time of cold `topics label`, `merge`, `drop`, `reduce` and `add` processes on a large model,
for this tree and, with --baseline, another source tree (a checkout or `git archive` of main) in the same run.

Each tree edits a fresh copy of the model as that tree saves it (the model is loaded and saved once by
each tree first, untimed: a tree's own file format, e.g. its checksums, is what its commands read). The
copy is synced to disk before the command starts, so a command waits only for its own writes. Commands
and trees are interleaved, so a busy spell slows both alike; medians of --runs are reported, and the
ratio of this tree to the baseline. Each tree's modules are compiled to bytecode first, as an installed
package's are (otherwise every process compiles them again under PYTHONDONTWRITEBYTECODE). `label` is
the cost of the locked write path alone (lock, load, change a name, save). `add` adds --add articles
(`/work/shared/tools/make_corpus.py` text, with ids of their own; 0 leaves it out); each tree runs it once
untimed first, so numba compiles and caches its loops there, as it does once per installation.
--only times only the commands named (their first word: add, label, merge, drop, reduce).

usage: python benchmarks/edit_speed.py MODEL [--runs 3] [--baseline SRC] [--work DIR] [--add 10] [--only add ...]
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAKE_CORPUS = Path("/work/shared/tools/make_corpus.py")  # as benchmarks/grow.py

COMMANDS = {
    "label 3 NAME": ["label", "3", "A name"],
    "merge 3 7": ["merge", "3", "7"],
    "drop 5": ["drop", "5"],
    "reduce --to 40": ["reduce", "--to", "40"],
}
ADD = "add"
RESAVE = "import sys, topics; topics.load(sys.argv[1]).save(sys.argv[2], force=True)"


def run(tree: Path, args: list) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of ``python -m topics.cli ARGS`` run from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # cwd: `python -m` puts the working folder first on the path, before PYTHONPATH
    subprocess.run([sys.executable, "-m", "topics.cli", *args], check=True, capture_output=True, env=env, cwd=tree)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed_on_copy(tree: Path, model: Path, args: list, work: Path) -> tuple[float, float]:
    copy = work / "edited.joblib"
    shutil.copyfile(model, copy)
    os.sync()  # the copy's own writes are not the command's
    try:
        return run(tree, [*args, "--model", str(copy)])
    finally:
        copy.unlink()


def new_articles(n: int, path: Path) -> None:
    """``n`` synthetic articles (JSON Lines) with ids no model of ``make_corpus.py`` text has."""
    subprocess.run([sys.executable, str(MAKE_CORPUS), str(n), str(path)], check=True, capture_output=True)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with path.open("w", encoding="utf-8") as f:
        for i, record in enumerate(records):
            f.write(json.dumps({**record, "id": f"added-{i:05d}"}) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", type=Path, help="another source tree (holding topics/) to time in the same run")
    ap.add_argument("--work", type=Path, help="where to put the copies (default: a new temporary folder)")
    ap.add_argument("--add", type=int, default=10, help="articles that `topics add` adds (0: no add)")
    ap.add_argument("--only", nargs="+", help="time only these commands (first words: add, label, merge, ...)")
    args = ap.parse_args()
    trees = {"this tree": ROOT} if args.baseline is None else {"baseline": args.baseline, "this tree": ROOT}
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="topics-edit-bench-", dir=args.work))
    commands = dict(COMMANDS)
    try:
        if args.add:
            new_articles(args.add, work / "new.jsonl")
            commands[f"{ADD} ({args.add} articles)"] = [ADD, str(work / "new.jsonl")]
        if args.only:
            commands = {c: argv for c, argv in commands.items() if c.split()[0] in args.only}
        models = {}
        for name, tree in trees.items():
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(tree / "topics")], check=True, capture_output=True
            )
            models[name] = work / f"{name.replace(' ', '-')}.joblib"
            subprocess.run(
                [sys.executable, "-c", RESAVE, str(args.model), str(models[name])],
                check=True,
                env={**os.environ, "PYTHONPATH": str(tree)},
                cwd=tree,
            )
        if args.add and any(c.startswith(ADD) for c in commands):
            for name, tree in trees.items():  # numba compiles the loops of add once per tree
                timed_on_copy(tree, models[name], [ADD, str(work / "new.jsonl")], work)
        times = {(c, t): [] for c in commands for t in trees}
        for _ in range(args.runs):  # interleaved, so a busy spell slows every command alike
            for command, argv in commands.items():
                for name, tree in trees.items():
                    times[(command, name)].append(timed_on_copy(tree, models[name], argv, work))
    finally:
        shutil.rmtree(work)
    size = args.model.stat().st_size / 1e6
    print(f"model: {args.model} ({size:.0f} MB); median of {args.runs} runs; {os.cpu_count()} cores; ")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    names = list(trees)
    header = " | ".join(f"{n}: wall (runs) | {n}: CPU" for n in names)
    print(f"| cold process | {header} |" + (" ratio wall | ratio CPU |" if len(names) == 2 else ""))
    print("|---|" + "---:|---:|" * len(names) + ("---:|---:|" if len(names) == 2 else ""))
    for command in commands:
        cells, medians = [], []
        for name in names:
            walls = [w for w, _ in times[(command, name)]]
            cpus = [c for _, c in times[(command, name)]]
            medians.append((statistics.median(walls), statistics.median(cpus)))
            runs = ", ".join(f"{w:.2f}" for w in walls)
            cells += [f"{medians[-1][0]:.2f} s ({runs})", f"{medians[-1][1]:.2f} s"]
        if len(names) == 2:
            cells += [f"{medians[1][0] / medians[0][0]:.2f}", f"{medians[1][1] / medians[0][1]:.2f}"]
        print(f"| `topics {command}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
