"""Wall time of cold `topics merge`, `drop` and `reduce` processes on a large model, against `topics label`.

`label` is the baseline: the same locked write path (lock, load, change, save) with a change that costs
nothing, so the ratio says what the edit itself adds. Every run edits a fresh copy of the model (the
original is never written) and the median of --runs is reported.

usage: python benchmarks/edit_speed.py MODEL [--runs 3]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS = {
    "label 3 NAME (baseline)": ["label", "3", "A name"],
    "merge 3 7": ["merge", "3", "7"],
    "drop 5": ["drop", "5"],
    "reduce --to 40": ["reduce", "--to", "40"],
}


def timed_on_copy(model: Path, args: list, work: Path) -> float:
    copy = work / model.name
    shutil.copyfile(model, copy)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "topics.cli", *args, "--model", str(copy)], check=True, capture_output=True, env=env
    )
    return time.perf_counter() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="topics-edit-bench-"))
    try:
        times = {name: [] for name in COMMANDS}
        for _ in range(args.runs):  # interleaved, so a busy spell slows every command alike
            for name, command in COMMANDS.items():
                times[name].append(timed_on_copy(args.model, command, work))
    finally:
        shutil.rmtree(work)
    base = statistics.median(times["label 3 NAME (baseline)"])
    print(
        f"model: {args.model} ({args.model.stat().st_size / 1e6:.0f} MB); median of {args.runs} runs; {os.cpu_count()} cores\n"
    )
    print("| cold process | median | runs | ratio to label |")
    print("|---|---:|---|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"| `topics {name}` | {median:.2f} s | {runs} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
