"""Fit time, peak memory, model size and query latency at 10k / 100k / 1M articles, side by side.

Baseline, measured in the same run on the same JSONL corpus: the pipeline a user assembles by hand
with scikit-learn, as issue 6 describes it: ``TfidfVectorizer`` (English stop words, single words,
min_df=2, max_df=0.5, sublinear tf, float32) + ``MiniBatchNMF(50)`` + ``NearestNeighbors(metric="cosine",
algorithm="brute")``, pickled with joblib; its queries are ``kneighbors`` and, faster, a plain sparse
product ``X @ x.T``. (With `topics`' two-word terms the baseline's MiniBatchNMF takes ten times longer,
587 s at 10k articles, and a 1M run would not finish in hours; the single-word pipeline is the fast,
realistic one to beat.)

Coherence: NPMI (:mod:`topics.evaluate`, gensim's ``c_npmi`` windows) of both models' topics against
the same reference, the first ``--npmi-articles`` articles of the corpus.

Every fit runs in its own process under ``/usr/bin/time -v``: "peak RSS" is the largest resident set of
any one process of the fit (the main process; worker processes hold one chunk each and are smaller).
Warm queries run in one process after loading the model: "similar by id", k=10, over 200 random
articles (p50 / p99; the baseline's brute-force queries over 50 above 100k articles), and a batch of
100 ids (per-query time). "Cold" is a whole new process running
``topics similar ID`` (median of 3). "Exact" checks that `topics` returns the brute-force answer on
its own vectors: for TF-IDF-only queries (the index's inverted-index product against a dense
``X @ x``) and for the full blended score; it counts queries whose top-10 ids are identical.

Corpora are built with ../shared/tools/make_corpus.py into the scratch directory, never into git.

usage: python benchmarks/scale.py [--sizes 10000 100000 1000000] [--work /tmp/topics-scale] [--skip-baseline]
       python benchmarks/scale.py --cold MODEL.joblib [MODEL.joblib ...] [--repeat 5]
       python benchmarks/scale.py --warm MODEL.joblib [MODEL.joblib ...]
       python benchmarks/scale.py --memory CORPUS.jsonl [CORPUS.jsonl ...]
       python benchmarks/scale.py --warm|--cold MODEL.joblib [...] --baseline TREE
The second form only times cold `topics similar` processes on models already fitted, one after another
in the same run (say, one file saved by an older `topics` against the same model saved again). The
third runs the warm queries and the exactness check on fitted models; to compare two versions of the
code on the same model, run it with ``PYTHONPATH`` set to each checkout in turn. The fourth fits each corpus
in a fresh process of this tree and reports its peak resident memory during each stage of the fit (the
stages of ``fit_info["stage_seconds"]``, then the index and search matrix, then the save). With
``--baseline TREE`` (a checkout of another version), ``--warm`` times only the warm queries (p50, p99 and
CPU per query) and ``--cold`` the cold processes (wall and CPU), of this tree and TREE alternately, each
in fresh processes run in its own tree.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cold_start import timed  # the same cold-process timer as the sample benchmark

ROOT = Path(__file__).resolve().parents[1]
MAKE_CORPUS = ROOT.parent.parent / "shared" / "tools" / "make_corpus.py"
if not MAKE_CORPUS.exists():
    MAKE_CORPUS = Path("/work/shared/tools/make_corpus.py")
N_TOPICS = 50

BASELINE_FIT = r"""
import json, sys, time, joblib, numpy as np
from sklearn.decomposition import MiniBatchNMF
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import NearestNeighbors
started = time.perf_counter()
ids, texts = [], []
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        r = json.loads(line); ids.append(r["id"]); texts.append(r["text"])
vec = TfidfVectorizer(stop_words="english", min_df=2, max_df=0.5, sublinear_tf=True, dtype=np.float32)
X = vec.fit_transform(texts); del texts
t_vec = time.perf_counter() - started
nmf = MiniBatchNMF(n_components=int(sys.argv[3]), random_state=0); W = nmf.fit_transform(X)
t_nmf = time.perf_counter() - started - t_vec
nn = NearestNeighbors(metric="cosine", algorithm="brute").fit(X)
joblib.dump((vec, nmf, W, nn, X, ids), sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - started, "vectorise": t_vec, "nmf": t_nmf}))
"""

BASELINE_WARM = r"""
import json, sys, time, joblib, numpy as np
vec, nmf, W, nn, X, ids = joblib.load(sys.argv[1])
rng = np.random.default_rng(1); rows = rng.choice(X.shape[0], size=int(sys.argv[2]), replace=False)
def single(fn):
    t = []
    for r in rows:
        s = time.perf_counter(); fn(r); t.append(time.perf_counter() - s)
    return t
knn = single(lambda r: nn.kneighbors(X[r], n_neighbors=11))
def product(r):
    s = (X @ X[r].T).toarray().ravel(); np.argpartition(-s, 11)[:11]
prod = single(product)
batch = X[rows[:100]]
s = time.perf_counter(); nn.kneighbors(batch, n_neighbors=11); knn_batch = (time.perf_counter() - s) / batch.shape[0]
s = time.perf_counter(); (batch @ X.T).toarray(); prod_batch = (time.perf_counter() - s) / batch.shape[0]
q = lambda t, p: float(np.percentile(t, p))
print(json.dumps({"knn_p50": q(knn, 50), "knn_p99": q(knn, 99), "prod_p50": q(prod, 50), "prod_p99": q(prod, 99),
                  "knn_batch": knn_batch, "prod_batch": prod_batch}))
"""

BASELINE_COLD = r"""
import sys, joblib
vec, nmf, W, nn, X, ids = joblib.load(sys.argv[1], mmap_mode="r")
row = ids.index(sys.argv[2])
d, r = nn.kneighbors(X[row], n_neighbors=11)
print([ids[i] for i in r[0] if i != row][:10])
"""

NPMI = r"""
import itertools, json, sys, joblib, numpy as np, topics
from topics.evaluate import coherence_words, reference_tokens, topic_npmi
from topics.summary import topic_word_columns
from topics.topic_model import top_terms
with open(sys.argv[3], encoding="utf-8") as f:
    tokens = [reference_tokens(json.loads(line)["text"]) for line in itertools.islice(f, int(sys.argv[4]))]
model = topics.load(sys.argv[1])
ours = [coherence_words(model.vectorizer_.terms(row)) for row in topic_word_columns(model, 10)]
result = {"ours": float(topic_npmi(ours, tokens).mean())}
if sys.argv[2] != "-":
    vec, nmf = joblib.load(sys.argv[2], mmap_mode="r")[:2]
    names = vec.get_feature_names_out()
    base = [[names[c] for c in row] for row in top_terms(nmf.components_, 10)]
    result["baseline"] = float(topic_npmi(base, tokens).mean())
print(json.dumps(result))
"""

OURS_WARM = r"""
import json, statistics, sys, time, numpy as np, topics
from topics.filters import HitFilter, select
from topics.index import load_kernels, top_k
started = time.perf_counter()
model = topics.load(sys.argv[1])
load = time.perf_counter() - started
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
compiled = load_kernels()
n = len(model.articles_)
index, X, table = model.index_, model.doc_terms_, model.articles_
rng = np.random.default_rng(1)
rows = rng.choice(np.flatnonzero(np.diff(X.indptr) > 0), size=200, replace=False)  # articles with known words
ids = [table.ids[int(r)] for r in rows]
# Text queries: the stored snippets (an article's first ~30 words) of 100 other articles.
texts = [table.snippets[int(r)].rstrip("…") for r in rng.choice(n, size=100, replace=False)]
texts = [t for t in texts if model.vectorizer_.transform([t]).nnz]
alpha = index.topic_weight
stubs = model.stub_rows()

def old_similar(query_row=None, text=None, keep=False):
    # The numpy path before topics.kernels, as it was: scatter-add and a BLAS topic product over every
    # article, then topics.filters.select (top_k and the blockwise near-duplicate pass).
    if query_row is not None:
        start, end = X.indptr[query_row], X.indptr[query_row + 1]
        lexical = index._lexical(X.indices[start:end], X.data[start:end])
        topical = index.topic_units @ index.topic_units[query_row]
        exclude, query = np.append(stubs, query_row), X[query_row]
    else:
        terms, topics_ = model._vectorise_query(text)
        lexical = index._lexical(terms.indices, terms.data)
        topical = index.topic_units @ index.query(terms, topics_[0]).topics
        exclude, query = stubs, None
    scores = ((1.0 - alpha) * lexical + alpha * topical).astype(np.float32)
    hits = select(scores, 10, HitFilter.build(keep_duplicates=keep), dates=table.dates, doc_terms=X, exclude=exclude, query=query)
    return [model._hit(r, float(scores[r])) for r in hits]

def clock(fn, items):
    t = []
    for item in items:
        s = time.perf_counter(); fn(item); t.append(time.perf_counter() - s)
    return t

model.similar(ids[0], k=10); old_similar(int(rows[0]))
q = lambda v, p: float(np.percentile(v, p))
measures = {}
def add(name, seconds):
    measures.setdefault(name + "_p50", []).append(q(seconds, 50)); measures.setdefault(name + "_p99", []).append(q(seconds, 99))
for _ in range(runs):  # old and new alternate block by block, so both see the same machine
    add("id_old", clock(lambda r: old_similar(int(r)), rows))
    add("id", clock(lambda i: model.similar(i, k=10), ids))
    add("all_old", clock(lambda r: old_similar(int(r), keep=True), rows))
    add("all", clock(lambda i: model.similar(i, k=10, keep_duplicates=True), ids))
    add("text_old", clock(lambda t: old_similar(text=t), texts))
    add("text", clock(lambda t: model.similar(text=t, k=10), texts))
result = {name: statistics.median(v) for name, v in measures.items()}
result["p50"], result["p99"] = result["id_p50"], result["id_p99"]
result["p50_all"], result["p99_all"] = result["all_p50"], result["all_p99"]
s = time.perf_counter()
for i in ids[:100]:
    model.similar(i, k=10)
result["batch"] = (time.perf_counter() - s) / 100
# similar_batch against the one sparse product a batch costs by hand (X_batch @ X.T, made dense), per query
s = time.perf_counter(); model.similar_batch([{"id": i} for i in ids[:100]], k=10)
result["similar_batch"] = (time.perf_counter() - s) / 100
s = time.perf_counter(); (X[rows[:100]] @ X.T).toarray()
result["product_batch"] = (time.perf_counter() - s) / 100
# The fast path against the exhaustive reference (exact=True) and the old numpy path, hit for hit.
pairs = lambda hits: [(h.id, h.score) for h in hits]
result["same_as_exact"] = sum(pairs(model.similar(i, k=10)) == pairs(model.similar(i, k=10, exact=True)) for i in ids[:50])
result["same_as_exact"] += sum(pairs(model.similar(text=t, k=10)) == pairs(model.similar(text=t, k=10, exact=True)) for t in texts[:50])
result["same_ids_as_old"] = sum([h.id for h in model.similar(i, k=10)] == [h.id for h in old_similar(int(r))] for i, r in zip(ids[:50], rows[:50]))
result["exact_checked"] = 50 + min(50, len(texts))
# Exactness against brute force on the model's own vectors (first 50 sampled rows).
U64 = np.asarray(index.topic_units, dtype=np.float64)
lex_ok = full_ok = 0
for r in rows[:50]:
    r = int(r)
    x = X[r].toarray().ravel()
    brute_lex = np.asarray(X @ x).ravel().astype(np.float32)
    start, end = X.indptr[r], X.indptr[r + 1]
    fast_lex = index._lexical(X.indices[start:end], X.data[start:end])
    lex_ok += list(top_k(fast_lex, 10, exclude=[r])) == list(top_k(brute_lex, 10, exclude=[r]))
    brute = ((1 - alpha) * brute_lex + alpha * (U64 @ U64[r])).astype(np.float32)
    brute[stubs] = -np.inf
    fast = [model.row_of(h.id) for h in model.similar(table.ids[r], k=10, keep_duplicates=True)]
    full_ok += fast == list(top_k(brute, 10, exclude=[r]))
result.update({"load": load, "compiled": compiled, "runs": runs, "lex_exact": lex_ok, "full_exact": full_ok, "checked": 50})
print(json.dumps(result))
"""


def run_timed(cmd, log: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes) and stdout of ``cmd`` run under /usr/bin/time -v."""
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", "-o", str(log), *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {proc.stderr[-2000:]}")
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", log.read_text()).group(1)) * 1024
    return wall, peak, proc.stdout


def first_id(corpus: Path) -> str:
    with open(corpus, encoding="utf-8") as f:
        return json.loads(f.readline())["id"]


def bench(n: int, work: Path, skip_baseline: bool, npmi_articles: int, runs: int) -> dict:
    py = sys.executable
    corpus = work / f"corpus-{n}.jsonl"
    if not corpus.exists():
        subprocess.run([py, str(MAKE_CORPUS), str(n), str(corpus)], check=True, capture_output=True)
    model, base = work / f"model-{n}.joblib", work / f"baseline-{n}.joblib"
    r = {"n": n, "corpus_bytes": corpus.stat().st_size}
    r["fit"], r["rss"], out = run_timed(
        [
            py,
            "-m",
            "topics.cli",
            "fit",
            str(corpus),
            "--model",
            str(model),
            "--topics",
            str(N_TOPICS),
            "--force",
            "--quiet",
        ],
        work / f"time-ours-{n}.txt",
    )
    r["fit_report"] = out.strip()  # "Fitted ... (read and vectorise X s, topics Y s, ...)": where the time went
    r["size"] = model.stat().st_size
    r["warm"] = json.loads(
        subprocess.run([py, "-c", OURS_WARM, str(model), str(runs)], check=True, capture_output=True, text=True).stdout
    )
    qid = first_id(corpus)
    r["cold"] = timed([py, "-m", "topics.cli", "similar", qid, "--model", str(model), "--top", "10"], 3)
    if not skip_baseline:
        r["b_fit"], r["b_rss"], out = run_timed(
            [py, "-c", BASELINE_FIT, str(corpus), str(base), str(N_TOPICS)], work / f"time-base-{n}.txt"
        )
        r["b_parts"] = json.loads(out)
        r["b_size"] = base.stat().st_size
        # Brute-force queries take seconds each at 1M articles: fewer of them there (p99 is then the
        # second-largest of 50).
        n_queries = "200" if n <= 100_000 else "50"
        r["b_warm"] = json.loads(
            subprocess.run(
                [py, "-c", BASELINE_WARM, str(base), n_queries], check=True, capture_output=True, text=True
            ).stdout
        )
        r["b_cold"] = timed([py, "-c", BASELINE_COLD, str(base), qid], 3)
    r["npmi"] = json.loads(
        subprocess.run(
            [py, "-c", NPMI, str(model), "-" if skip_baseline else str(base), str(corpus), str(npmi_articles)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    print(json.dumps(r), file=sys.stderr, flush=True)
    return r


def mib(b):
    return f"{b / 2**20:,.0f} MiB"


def ms(s):
    return f"{s * 1000:.1f} ms"


def table(results) -> str:
    lines = ["| articles | measure | topics | scikit-learn by hand | ratio |", "|---:|---|---:|---:|---:|"]
    for r in results:
        n = f"{r['n']:,}"
        b = r.get("b_warm")

        def row(name, ours, base, fmt, ratio=True, n=n):
            cell = fmt(base) if base is not None else "–"
            rat = f"{ours / base:.2f}" if base and ratio else ""
            lines.append(f"| {n} | {name} | {fmt(ours)} | {cell} | {rat} |")

        row("fit end to end (read, vectorise, topics, index, save)", r["fit"], r.get("b_fit"), lambda s: f"{s:.1f} s")
        row("peak RSS (largest process)", r["rss"], r.get("b_rss"), mib)
        row("model file", r["size"], r.get("b_size"), mib)
        w = r["warm"]
        row("warm similar-by-id p50 (baseline: kneighbors)", w["p50"], b and b["knn_p50"], ms)
        row("warm similar-by-id p50 (baseline: sparse product)", w["p50"], b and b["prod_p50"], ms)
        row("warm similar-by-id p99 (baseline: kneighbors)", w["p99"], b and b["knn_p99"], ms)
        row("warm similar-by-id p99 (baseline: sparse product)", w["p99"], b and b["prod_p99"], ms)
        row(
            "warm similar-by-id p50, near-duplicates kept (baseline: sparse product)",
            w["p50_all"],
            b and b["prod_p50"],
            ms,
        )
        row(
            "warm similar-by-id p99, near-duplicates kept (baseline: sparse product)",
            w["p99_all"],
            b and b["prod_p99"],
            ms,
        )
        row("warm batch of 100, per query (baseline: sparse product)", w["batch"], b and b["prod_batch"], ms)
        row("cold `topics similar ID` process", r["cold"], r.get("b_cold"), lambda s: f"{s:.2f} s")
        row(
            "topic coherence, NPMI (higher is better)",
            r["npmi"]["ours"],
            r["npmi"].get("baseline"),
            lambda v: f"{v:.3f}",
            ratio=False,
        )
        lines.append(
            f"| {n} | top-10 equal to brute force (TF-IDF / blended) | {w['lex_exact']}/{w['checked']} "
            f"/ {w['full_exact']}/{w['checked']} | | |"
        )
    return "\n".join(lines)


# The warm queries alone (no old path, no exactness checks), for one tree against another (--baseline).
PAIR_WARM = r"""
import json, statistics, sys, time, numpy as np, topics
from topics.index import load_kernels
model = topics.load(sys.argv[1])
load_kernels()
n, X, table = len(model.articles_), model.doc_terms_, model.articles_
rng = np.random.default_rng(1)
rows = rng.choice(np.flatnonzero(np.diff(X.indptr) > 0), size=200, replace=False)
ids = [table.ids[int(r)] for r in rows]
texts = [table.snippets[int(r)].rstrip("…") for r in rng.choice(n, size=100, replace=False)]
texts = [t for t in texts if model.vectorizer_.transform([t]).nnz]
for i in ids[:20]:
    model.similar(i, k=10)
def clock(fn, items):
    wall, cpu = [], 0.0
    for item in items:
        s, c = time.perf_counter(), time.thread_time(); fn(item); wall.append(time.perf_counter() - s); cpu += time.thread_time() - c
    return {"p50": float(np.percentile(wall, 50)), "p99": float(np.percentile(wall, 99)), "cpu": cpu / len(items)}
print(json.dumps({
    "id": clock(lambda i: model.similar(i, k=10), ids),
    "all": clock(lambda i: model.similar(i, k=10, keep_duplicates=True), ids),
    "text": clock(lambda t: model.similar(text=t, k=10), texts),
}))
"""


def in_tree(tree: Path, args: list) -> str:
    """The output of ``python ARGS`` run in ``tree`` with it first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True, env=env, cwd=tree).stdout


def warm_against(models, baseline: Path, runs: int) -> None:
    """Warm query times of this tree and ``baseline`` on each model, a fresh process per tree and run, the
    trees alternating which goes first; medians of the runs."""
    trees = {"baseline": baseline, "this tree": ROOT}
    for model in models:
        seen = {name: [] for name in trees}
        for run in range(runs):
            for name in list(trees)[:: 1 if run % 2 == 0 else -1]:
                seen[name].append(json.loads(in_tree(trees[name], ["-c", PAIR_WARM, str(model)])))
        print(f"{model}: medians of {runs} runs (load average {os.getloadavg()[0]:.1f} at the end)")
        for query in ("id", "all", "text"):
            for measure in ("p50", "p99", "cpu"):
                base, ours = (statistics.median(r[query][measure] for r in seen[name]) for name in trees)
                label = {"id": "similar by id", "all": "by id, near-duplicates kept", "text": "by text"}[query]
                print(
                    f"  {label} {measure}: baseline {base * 1e3:.2f} ms, this tree {ours * 1e3:.2f} ms, ratio {ours / base:.2f}"
                )


def cold_against(models, baseline: Path, repeat: int) -> None:
    """Cold `topics similar ID` processes of this tree and ``baseline``, alternating; medians of wall time and
    of the process's CPU time (user + system)."""
    import resource

    trees = {"baseline": baseline, "this tree": ROOT}
    for model in models:
        first = json.loads(
            in_tree(
                ROOT, ["-c", f"import json, topics; print(json.dumps(topics.load({str(model)!r}).articles_.ids[0]))"]
            )
        )
        seen = {name: ([], []) for name in trees}
        for run in range(repeat):
            for name in list(trees)[:: 1 if run % 2 == 0 else -1]:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                in_tree(trees[name], ["-m", "topics.cli", "similar", first, "--model", str(model), "--top", "10"])
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                seen[name][0].append(time.perf_counter() - started)
                seen[name][1].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        (bw, bc), (ow, oc) = ([statistics.median(v) for v in seen[name]] for name in trees)
        print(
            f"{model}: cold `topics similar ID`, medians of {repeat}: wall baseline {bw:.2f} s, this tree {ow:.2f} s "
            f"(ratio {ow / bw:.2f}); CPU baseline {bc:.2f} s, this tree {oc:.2f} s (ratio {oc / bc:.2f}); "
            f"load average {os.getloadavg()[0]:.1f}"
        )


def warm_lines(r) -> list[str]:
    """The warm measures of one model: the kernel path against the old numpy path, as ratios."""

    def pair(name, label):
        new, old = r[name + "_p50"], r[name + "_p99"]
        old50, old99 = r[name + "_old_p50"], r[name + "_old_p99"]
        return (
            f"  {label}: p50 {new * 1e3:.2f} ms (old numpy path {old50 * 1e3:.1f} ms, ratio {new / old50:.3f}), "
            f"p99 {old * 1e3:.2f} ms (old {old99 * 1e3:.1f} ms, ratio {old / old99:.3f})"
        )

    return [
        pair("id", "similar by id, near-duplicates dropped (default)"),
        pair("all", "similar by id, near-duplicates kept"),
        pair("text", "similar by text (snippet of another article), default"),
        f"  batch of 100 ids one by one: {r['batch'] * 1e3:.2f} ms per query; similar_batch of the same: "
        f"{r['similar_batch'] * 1e3:.2f} ms per query against one sparse product X_batch @ X.T: "
        f"{r['product_batch'] * 1e3:.2f} ms (ratio {r['similar_batch'] / r['product_batch']:.2f})",
        f"  hits equal to exact=True (ids and scores): {r['same_as_exact']}/{r['exact_checked']}; top-10 ids equal to the old "
        f"path: {r['same_ids_as_old']}/50; brute force top-10 equal {r['lex_exact']}/{r['checked']} (TF-IDF), "
        f"{r['full_exact']}/{r['checked']} (blended); compiled kernels: {r['compiled']}; medians of {r['runs']} runs",
    ]


def warm_only(models, runs: int):
    for model in models:
        r = json.loads(
            subprocess.run(
                [sys.executable, "-c", OURS_WARM, str(model), str(runs)], check=True, capture_output=True, text=True
            ).stdout
        )
        print(f"{model}:", *warm_lines(r), sep="\n", flush=True)


def cold_only(models, repeat: int):
    import topics

    for model in models:
        first = topics.load(model).articles_.ids[0]  # also brings the file into the page cache
        seconds = timed(
            [sys.executable, "-m", "topics.cli", "similar", first, "--model", str(model), "--top", "10"], repeat
        )
        print(f"{model}: cold `topics similar ID` process, median of {repeat}: {seconds:.2f} s", flush=True)


def fit_memory(corpus: Path) -> dict:
    """Fit ``corpus`` in this process and sample its resident set every 0.1 s: the peak (MiB) during each
    stage of ``fit_info["stage_seconds"]``, then while the index and search matrix are built, and while the
    model is saved (to a temporary file)."""
    import tempfile
    import threading

    sys.path.insert(0, str(ROOT))
    import topics

    def rss_mib() -> float:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))

    samples, done = [], threading.Event()

    def sample():
        while not done.is_set():
            samples.append((time.perf_counter(), rss_mib()))
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()
    started = time.perf_counter()
    model = topics.TopicModel(None, random_state=0).fit(str(corpus))
    fitted = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "m.joblib")
        saved = time.perf_counter()
    done.set()
    bounds, at = [], started
    for stage, seconds in model.fit_info_["stage_seconds"].items():
        at += seconds
        bounds.append((stage, at))
    bounds += [("index and search matrix", fitted), ("save", saved)]
    peaks, begin = {}, started
    for stage, end in bounds:
        peaks[stage] = round(max((r for t, r in samples if begin <= t <= end), default=0.0))
        begin = end
    return {"corpus": str(corpus), "n_articles": model.fit_info_["n_articles"], "peak_mib": peaks}


def memory_only(corpora: list[Path]) -> None:
    """Peak resident memory of a fit by stage, each corpus in a fresh process run from this tree."""
    for corpus in corpora:
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--memory-child", str(corpus)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        stages = ", ".join(f"{stage} {mib:,} MiB" for stage, mib in result["peak_mib"].items())
        print(f"{corpus} ({result['n_articles']:,} articles): peak RSS by stage: {stages}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--work", type=Path, default=Path("/tmp/topics-scale"))
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--npmi-articles", type=int, default=10_000, help="reference articles for NPMI")
    ap.add_argument("--cold", type=Path, nargs="+", help="only time cold queries on these fitted models")
    ap.add_argument("--repeat", type=int, default=5, help="with --cold: processes per model (median)")
    ap.add_argument("--warm", type=Path, nargs="+", help="only time warm queries on these fitted models")
    ap.add_argument("--runs", type=int, default=3, help="warm query runs (old and new paths alternate); medians")
    ap.add_argument("--memory", type=Path, nargs="+", help="only measure a fit's peak memory by stage on these corpora")
    ap.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--baseline", type=Path, help="with --warm or --cold: compare with the code in this tree")
    args = ap.parse_args()
    if args.memory_child:
        return print(json.dumps(fit_memory(args.memory_child)))
    if args.memory:
        return memory_only(args.memory)
    if args.cold:
        return (
            cold_against(args.cold, args.baseline, args.repeat) if args.baseline else cold_only(args.cold, args.repeat)
        )
    if args.warm:
        return warm_against(args.warm, args.baseline, args.runs) if args.baseline else warm_only(args.warm, args.runs)
    args.work.mkdir(parents=True, exist_ok=True)
    results = [bench(n, args.work, args.skip_baseline, args.npmi_articles, args.runs) for n in args.sizes]
    print(f"{os.cpu_count()} cores; {N_TOPICS} topics; corpora from make_corpus.py in {args.work}\n")
    print(table(results))
    for r in results:
        print(f"\n{r['n']:,} articles, warm queries, the kernel path against the old numpy path in the same process:")
        print(*warm_lines(r["warm"]), sep="\n")


if __name__ == "__main__":
    main()
