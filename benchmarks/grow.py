"""Adding articles to a fitted model against a full refit, and a Dask fit against the local fit.

Builds a synthetic archive with /work/shared/tools/make_corpus.py (or takes --corpus), fits a model on
the first N articles, then in the same run measures:

- ``add``: load the saved model, add the next M articles (vectorise, place in topic space, append),
  save it atomically; against a full refit on all N + M articles (the baseline).
- ``dask``: fitting the N articles inside ``use_scheduler("local:W")`` (a local Dask cluster of W worker
  processes, its start-up timed separately) against the plain local fit, and whether both give the same
  vocabulary and topics.

usage: python benchmarks/grow.py [--articles 100000] [--add 10000] [--topics K] [--workers 2] [--corpus FILE.jsonl]
       python benchmarks/grow.py --model FITTED.joblib --base BASE.jsonl --new NEW.jsonl [--topics K]

The second form measures ``add`` on a model already fitted on BASE (say, the million-article model
``benchmarks/scale.py`` leaves in its work directory; it is copied, never changed) against a full
refit on BASE + NEW, both in this run.
"""

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MAKE_CORPUS = Path("/work/shared/tools/make_corpus.py")


def split_corpus(source: Path, n: int, m: int, out: Path):
    base, new = out / "base.jsonl", out / "new.jsonl"
    with (
        open(source, encoding="utf-8") as f,
        open(base, "w", encoding="utf-8") as b,
        open(new, "w", encoding="utf-8") as a,
    ):
        for i, line in enumerate(f):
            if i >= n + m:
                break
            (b if i < n else a).write(line)
    return base, new


def timed(func):
    started = time.perf_counter()
    result = func()
    return result, time.perf_counter() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--add", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--topics", type=int, default=None, help="number of topics (default: the fit's default)")
    ap.add_argument("--corpus", type=Path, help="a JSONL archive with at least articles + add records")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--model", type=Path, help="a model fitted on --base: measure add on a copy of it")
    ap.add_argument("--base", type=Path, help="with --model: the archive the model was fitted on")
    ap.add_argument("--new", type=Path, help="with --model: the articles to add")
    args = ap.parse_args()
    if args.model:
        return add_to_fitted(args)

    import numpy as np

    import topics
    from topics.parallel import use_scheduler

    with tempfile.TemporaryDirectory(prefix="topics-grow-") as tmp:
        tmp = Path(tmp)
        source = args.corpus
        if source is None:
            source = tmp / "all.jsonl"
            subprocess.run(
                [sys.executable, MAKE_CORPUS, str(args.articles + args.add), str(source), "--seed", "7"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        base, new = split_corpus(source, args.articles, args.add, tmp)
        model_path = tmp / "model.joblib"

        local, fit_s = timed(lambda: topics.fit(base, args.topics, random_state=0))
        local.save(model_path)
        print(
            f"fit {args.articles:,} articles (local): {fit_s:.1f} s, {local.fit_info_['n_terms']:,} terms, "
            f"{local.n_topics_} topics"
        )

        def add_and_save():
            model = topics.load(model_path)
            report = model.add(new)
            model.save(model_path, force=True)
            return report

        report, add_s = timed(add_and_save)
        print(
            f"add {args.add:,} articles (load + add + atomic save): {add_s:.1f} s "
            f"(add alone {report.seconds:.1f} s); error ratio {report.error_ratio}, "
            f"unknown terms {report.unknown_share:.0%} (fit {report.fitted_unknown_share:.0%}), "
            f"refit advised: {report.refit_advised}"
        )
        _, refit_s = timed(lambda: topics.fit([base, new], args.topics, random_state=0))
        print(
            f"full refit on {args.articles + args.add:,} articles (baseline): {refit_s:.1f} s -> "
            f"add is {refit_s / add_s:.0f}x faster"
        )
        results = {
            "articles": args.articles,
            "add": args.add,
            "fit_s": round(fit_s, 2),
            "add_s": round(add_s, 2),
            "refit_s": round(refit_s, 2),
        }

        if not args.no_dask:
            with contextlib.ExitStack() as stack:
                client, start_s = timed(lambda: stack.enter_context(use_scheduler(f"local:{args.workers}")))
                client.wait_for_workers(args.workers)
                on_dask, dask_s = timed(lambda: topics.fit(base, args.topics, random_state=0))
            same_vocabulary = bool(np.array_equal(on_dask.vectorizer_.vocabulary_, local.vectorizer_.vocabulary_))
            max_w = float(np.abs(np.asarray(on_dask.doc_topics_) - np.asarray(local.doc_topics_)).max())
            print(
                f"fit on a local Dask cluster of {args.workers} workers: {dask_s:.1f} s "
                f"(+{start_s:.1f} s cluster start) vs {fit_s:.1f} s local = {dask_s / fit_s:.2f}x; "
                f"same vocabulary: {same_vocabulary}, max |W difference|: {max_w:.2e}"
            )
            results.update(
                dask_fit_s=round(dask_s, 2),
                dask_start_s=round(start_s, 2),
                same_vocabulary=same_vocabulary,
                max_w_difference=max_w,
            )
        print(json.dumps(results))


def add_to_fitted(args):
    """``add`` of --new to a copy of --model (load + add + atomic save), against a refit on --base + --new."""
    import shutil

    import topics

    with tempfile.TemporaryDirectory(prefix="topics-grow-", dir=args.model.parent) as tmp:
        model_path = Path(tmp) / "model.joblib"
        shutil.copyfile(args.model, model_path)
        with open(args.new, encoding="utf-8") as lines:
            n_new = sum(1 for _ in lines)

        def add_and_save():
            model = topics.load(model_path)
            report = model.add(args.new)
            model.save(model_path, force=True)
            return model, report

        (model, report), add_s = timed(add_and_save)
        n_base = len(model.articles_) - n_new
        print(
            f"add {n_new:,} articles to a {n_base:,}-article model (load + add + atomic save): {add_s:.1f} s "
            f"(add alone {report.seconds:.1f} s); error ratio {report.error_ratio}, "
            f"unknown terms {report.unknown_share:.0%}, refit advised: {report.refit_advised}",
            flush=True,
        )
        del model
        _, refit_s = timed(lambda: topics.fit([args.base, args.new], args.topics, random_state=0))
        print(
            f"full refit on {n_base + n_new:,} articles (baseline): {refit_s:.1f} s -> add is "
            f"{refit_s / add_s:.0f}x faster"
        )
        print(
            json.dumps(
                {
                    "articles": n_base,
                    "add": n_new,
                    "add_s": round(add_s, 2),
                    "add_only_s": report.seconds,
                    "refit_s": round(refit_s, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
