"""Serving beyond one machine, simulated: a model's index cut into row shards, their exact lists merged.

usage: python benchmarks/shards.py MODEL [--shards 10] [--queries 200] [--k 10] [--dask]

The design it tests is in docs/large-archives.md ("Serving tens of millions of articles"). Every shard holds
the rows of some articles (their TF-IDF rows, postings and topic rows) and scores a query exactly as the
whole index would: a score depends on the query and the article alone, given the shared vocabulary, idf
and topics. A query goes to every shard; each returns its best ``m`` rows *without* dropping
near-duplicates; the coordinator merges the lists, keeps the part of the merged ranking that no shard can
still change (scores above the highest last score of a shard that returned all ``m``), and drops
near-duplicates over that ranking, greedily, as the single index does. Too few distinct hits: it asks
again with 4m. Dropping near-duplicates inside a shard would not be exact: a row kept by its shard can be
a copy of a better row of another shard, and the row it hid would then have been a hit.

For each of ``--queries`` random stored articles this checks the merged hits against ``model.similar``
on the whole model (ids and scores) and times each shard's search and the merge. Latency with every
shard on its own worker is the slowest shard plus the merge; one machine doing them in turn pays the sum.
With ``--dask`` the shards also run on a local Dask cluster (one worker per core, each shard an actor on
a worker) to measure what a real fan-out adds.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import topics
from topics.duplicates import DEFAULT_THRESHOLD
from topics.index import Query, SimilarityIndex, _engine, load_kernels


class Shard:
    """The rows [start, stop) of a model's index, searched exactly (no near-duplicate filtering)."""

    def __init__(self, doc_terms, doc_topics, topic_weight: float, start: int, excluded: np.ndarray):
        self.start = start
        self.index = SimilarityIndex(doc_terms, doc_topics, topic_weight)
        self.excluded = excluded - start

    def top(self, query: Query, m: int, exclude_row: int | None = None) -> tuple[np.ndarray, np.ndarray, float]:
        """Global rows and scores of the shard's m best for ``query``, and the seconds it took."""
        started = time.perf_counter()
        exclude = self.excluded
        if exclude_row is not None and self.start <= exclude_row < self.start + self.index.n_articles:
            exclude = np.append(exclude, exclude_row - self.start)
        rows, scores = self.index.best(query, m, exclude=exclude)
        return rows + self.start, scores, time.perf_counter() - started


def cut(model, n_shards: int) -> list[Shard]:
    """The model's index in ``n_shards`` shards of consecutive rows."""
    X, W = model.doc_terms_, np.asarray(model.doc_topics_)
    bounds = np.linspace(0, X.shape[0], n_shards + 1).astype(int)
    stubs = model.stub_rows()
    alpha = model.index_.topic_weight
    shards = []
    for start, stop in itertools.pairwise(bounds.tolist()):
        inside = stubs[(stubs >= start) & (stubs < stop)]
        shards.append(Shard(X[start:stop], W[start:stop], alpha, int(start), inside))
    return shards


def merged(ask, query: Query, coordinator: SimilarityIndex, k: int, threshold: float, m: int):
    """The k best distinct rows over all shards: (rows, scores, rounds, seconds per round's slowest shard,
    summed shard seconds, merge seconds, depth of the k-th distinct row in the merged ranking). ``ask(m)`` returns each shard's (rows, scores, seconds).
    ``coordinator``: an index over the archive's TF-IDF rows, of which only the candidates' rows are read
    (the near-duplicate pass; shards would send them with their lists)."""
    rounds, slowest, total, merge_seconds = 0, 0.0, 0.0, 0.0
    while True:
        rounds += 1
        answers = ask(m)
        slowest += max(a[2] for a in answers)
        total += sum(a[2] for a in answers)
        started = time.perf_counter()
        rows = np.concatenate([a[0] for a in answers])
        scores = np.concatenate([a[1] for a in answers])
        order = np.lexsort((rows, -scores))  # best first, ties to the lower row, as the single index
        rows, scores = rows[order], scores[order]
        cut_lists = [a[1][-1] for a in answers if a[0].size == m]
        if cut_lists:  # below the highest last score of a full list, a shard may hold better rows unseen
            settled = scores > max(cut_lists)
            rows, scores = rows[settled], scores[settled]
        kept = coordinator._distinct(rows, threshold, query, k, _engine())
        merge_seconds += time.perf_counter() - started
        if kept.size >= k or not cut_lists:
            depth = int(kept[min(k, kept.size) - 1]) + 1 if kept.size else rows.size
            return rows[kept[:k]], scores[kept[:k]], rounds, slowest, total, merge_seconds, depth
        m *= 4


def next_depth(depth: int, least: int, n_shards: int) -> int:
    """Rows each shard returns first for the next query: its share of half as much again as the depth at
    which this query found its k-th distinct row (as the single index's hint), at least ``least``."""
    return max(least, -(-3 * depth // (2 * n_shards)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--m", type=int, default=40, help="rows each shard returns in the first round")
    parser.add_argument("--fixed-m", action="store_true", help="always start from --m rows a shard (no depth hint)")
    parser.add_argument("--dask", action="store_true", help="also run the shards as actors on a local Dask cluster")
    args = parser.parse_args()

    model = topics.load(args.model)
    load_kernels()
    X = model.doc_terms_
    threshold = DEFAULT_THRESHOLD
    rng = np.random.default_rng(0)
    stubs = set(model.stub_rows().tolist())
    rows = [int(r) for r in rng.choice(X.shape[0], size=args.queries * 2, replace=False) if int(r) not in stubs]
    rows = rows[: args.queries]
    ids = [model.articles_.ids[r] for r in rows]

    started = time.perf_counter()
    shards = cut(model, args.shards)
    print(f"{X.shape[0]:,} articles in {args.shards} shards, cut in {time.perf_counter() - started:.1f} s")
    for shard in shards:  # compile and warm each shard's kernels and caches
        shard.top(model.index_.article_query(rows[0]), args.m)

    whole, equal, rounds_needed = [], 0, []
    slowest, total, merge = [], [], []
    m = args.m
    for row, article_id in zip(rows, ids, strict=True):
        started = time.perf_counter()
        expected = model.similar(article_id, k=args.k)
        whole.append(time.perf_counter() - started)
        query = model.index_.article_query(row)
        got = merged(
            lambda m, q=query, r=row: [s.top(q, m, r) for s in shards], query, model.index_, args.k, threshold, m
        )
        m = args.m if args.fixed_m else next_depth(got[6], args.m, len(shards))
        got_ids = [model.articles_.ids[r] for r in got[0]]
        same = got_ids == [h.id for h in expected] and np.allclose(got[1], [h.score for h in expected], atol=1e-6)
        equal += same
        rounds_needed.append(got[2])
        slowest.append(got[3])
        total.append(got[4])
        merge.append(got[5])

    def ms(values, q):
        return 1000 * float(np.percentile(values, q))

    print(f"merged hits equal to the whole model's (ids and scores): {equal}/{len(rows)}")
    print(f"queries needing a second round: {sum(r > 1 for r in rounds_needed)}/{len(rows)}")
    print("| measure | p50 ms | p99 ms |")
    print("|---|---:|---:|")
    print(f"| whole model, `model.similar(id)` | {ms(whole, 50):.2f} | {ms(whole, 99):.2f} |")
    print(f"| slowest shard per query (each shard on its own worker) | {ms(slowest, 50):.2f} | {ms(slowest, 99):.2f} |")
    print(f"| merge and near-duplicates at the coordinator | {ms(merge, 50):.2f} | {ms(merge, 99):.2f} |")
    parallel = np.add(slowest, merge)
    print(f"| sharded, in parallel: slowest shard + merge | {ms(parallel, 50):.2f} | {ms(parallel, 99):.2f} |")
    serial = np.add(total, merge)
    print(f"| sharded, shards in turn on one core | {ms(serial, 50):.2f} | {ms(serial, 99):.2f} |")
    if args.dask:
        dask_fanout(model, shards, rows, args, threshold)


def dask_fanout(model, shards, rows, args, threshold) -> None:
    """The same queries with each shard an actor on a local Dask cluster: the fan-out's own cost."""
    from dask.distributed import Client, LocalCluster

    warnings.filterwarnings("ignore", message="Sending large graph")  # each shard's arrays, sent once
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        actors = [client.submit(Shard, *_parts(shard), actor=True).result() for shard in shards]
        for actor in actors:
            actor.top(model.index_.article_query(rows[0]), args.m).result()
        seconds, equal, m = [], 0, args.m
        for row in rows:
            query = model.index_.article_query(row)

            def ask(m, q=query, r=row):
                futures = [actor.top(q, m, r) for actor in actors]
                return [f.result() for f in futures]

            started = time.perf_counter()
            got = merged(ask, query, model.index_, args.k, threshold, m)
            m = args.m if args.fixed_m else next_depth(got[6], args.m, len(actors))
            seconds.append(time.perf_counter() - started)
            expected = model.similar(model.articles_.ids[row], k=args.k)
            equal += [model.articles_.ids[r] for r in got[0]] == [h.id for h in expected]
        print(
            f"| Dask, {len(actors)} shard actors on 2 worker processes, end to end | "
            f"{1000 * np.percentile(seconds, 50):.2f} | {1000 * np.percentile(seconds, 99):.2f} |"
        )
        print(f"Dask hits equal to the whole model's: {equal}/{len(rows)}")


def _parts(shard: Shard):
    index = shard.index
    return index.doc_terms, index.topic_units, index.topic_weight, shard.start, shard.excluded + shard.start


if __name__ == "__main__":
    main()
