"""The exploring commands (issue 22): cold-process times on a model, and the targets on the held-out news.

Times: each command as a fresh `python -m topics.cli` process, median of --runs, next to two baselines
measured in the same run: `topics info` (reads the file's footer, loads nothing: the interpreter and
import cost) and `topics similar --text` (loads the model and answers one query). The machine is shared,
so compare ratios, not seconds.

Targets (with --news, the held-out archive `benchmarks/data/news-articles.jsonl` and a model fitted on it
with defaults): `find_topics("travel ban")` puts the travel-ban topic first, and `topics_by("source")`
covers every outlet of the archive.

usage: python benchmarks/explore.py MODEL [--runs 3] [--news benchmarks/data/news-articles.jsonl --news-model M]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMANDS = {
    "info (baseline: no load)": ["info"],
    "similar --text (baseline: load + query)": ["similar", "--text", "travel ban"],
    "summary -a 0": ["summary", "-a", "0"],
    "trends": ["trends"],
    "trends --topics 1 2 3 --since 2000": ["trends", "--topics", "1", "2", "3", "--since", "2000"],
    "trends --topics 7 --words": ["trends", "--topics", "7", "--words"],
    "find travel ban": ["find", "travel", "ban"],
    "by source": ["by", "source"],
    "tree": ["tree"],
    "map": ["map"],
    "similar --since 2017-03": ["similar", "--text", "travel ban", "--since", "2017-03"],
    "report": ["report", "--out", "REPORT"],
}


def cold_times(model: Path, runs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in COMMANDS.items():
            args = [a.replace("REPORT", str(Path(tmp) / "r.html")) for a in args]
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "topics.cli", *args, "-m", str(model)],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                times.append(time.perf_counter() - started)
                if done.returncode != 0:
                    times = None
                    print(f"{name}: exit {done.returncode}: {done.stderr.strip()[-200:]}", file=sys.stderr)
                    break
            results[name] = statistics.median(times) if times else None
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--news", type=Path, default=None)
    parser.add_argument("--news-model", type=Path, default=None)
    args = parser.parse_args()
    times = cold_times(args.model, args.runs)
    base = times["similar --text (baseline: load + query)"]
    print(f"cold processes on {args.model}, median of {args.runs} runs")
    for name, seconds in times.items():
        shown = "failed" if seconds is None else f"{seconds:5.2f} s  x{seconds / base:.2f} of similar"
        print(f"  {name:42s} {shown}")
    if args.news is not None:
        for key, value in targets(args.news_model, args.news).items():
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
