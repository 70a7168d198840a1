"""`topics serve` end to end over HTTP: similar-by-id latency with concurrent clients, failed requests while
the model file is replaced, and the web app's first page load; optionally against a baseline source tree.

Starts `topics serve` on a copy of MODEL (the copy is replaced, never MODEL), then:

1. One client, then ``--clients`` threads, each send ``--requests`` GET /api/similar?id=...&k=10 for random
   stored ids, each client on one connection kept open (HTTP/1.1 keep-alive, as a browser or a connection
   pool does; ``--connection close`` opens one per request instead). p50/p99/max latency as the client sees
   it; the server's CPU time per request (its process and any workers, read from /proc) and the cores the
   server and the clients took. The clients are a few lines over a socket, not urllib or http.client, so
   that they take as little as possible of the cores they share with the server.
2. The same load again while `topics label 0 NAME` replaces the file ``--replacements`` times (it saves
   beside it and renames over it); failed requests, latency, and whether the server ended on the last file.
3. With Playwright (pip install playwright; a system Chromium at --chromium), the time from navigation to
   the first view drawn, for #/topics and #/search?q=..., in a fresh browser context (cold cache).

With ``--baseline TREE`` (another commit's source, e.g. ``git archive main | tar -x -C /tmp/base``), every
one of ``--runs`` rounds runs these phases for TREE's `topics serve` and for this one, alternating which
goes first; the report gives each one's medians over the rounds and the ratios baseline / this.
``--server-args`` are passed to this tree's `topics serve` (e.g. ``"--workers 2"``), ``--baseline-args`` to
the baseline's.

``--inprocess`` measures instead what one request costs the server's process, without HTTP: in a new
process per tree and round (run from the tree itself, so its own ``topics`` is imported), the model loaded
and the compiled loops warm, ``--queries`` calls each of ``model.similar(id=ID, k=10)``, ``model.similar(
text=TEXT, k=10)`` (TEXT: the stored snippet of another article, about 30 words) and the `/api/similar?id=`
endpoint function with its JSON body (the server's work for one request less uvicorn and the middleware);
ms per query (p50, p99, and CPU time per query). ``--profile`` prints a cProfile of this tree's
queries by id instead.

usage: python benchmarks/serve.py MODEL.joblib [--clients 8] [--requests 200] [--replacements 2] [--runs 3]
       [--baseline TREE] [--server-args "--workers 2"] [--baseline-args "--workers 2"]
       [--connection keep-alive|close] [--no-pages]
       python benchmarks/serve.py MODEL.joblib --inprocess [--queries 500] [--runs 3] [--baseline TREE]
       python benchmarks/serve.py MODEL.joblib --profile [--queries 500]
"""

import argparse
import json
import os
import random
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np

import topics


class Client:
    """One HTTP/1.1 client connection: GET, then the status line, the headers and Content-Length bytes of body.

    ``keep_alive=False`` sends ``Connection: close`` and connects again for every request. Any failure
    (refused, reset, a malformed answer) is returned as status 0 and the connection is opened anew."""

    def __init__(self, url: str, *, keep_alive: bool = True):
        parts = urllib.parse.urlsplit(url)
        self.address, self.keep_alive, self.sock = (parts.hostname, parts.port), keep_alive, None
        close = b"" if keep_alive else b"Connection: close\r\n"
        self.headers = b" HTTP/1.1\r\nHost: " + parts.netloc.encode() + b"\r\n" + close + b"\r\n"

    def get(self, target: str) -> tuple[int, bytes]:
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.address, timeout=60)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.sendall(b"GET " + target.encode() + self.headers)
            buffer = b""
            while (end := buffer.find(b"\r\n\r\n")) < 0:
                buffer += self._receive()
            head, body = buffer[:end].lower(), buffer[end + 4 :]
            length = int(re.search(rb"\r\ncontent-length: *(\d+)", head).group(1))
            while len(body) < length:
                body += self._receive()
            if not self.keep_alive or b"\r\nconnection: close" in head:
                self.close()
            return int(head[9:12]), body
        except (OSError, ValueError, AttributeError) as exc:  # AttributeError: no Content-Length
            self.close()
            return 0, repr(exc).encode()

    def _receive(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError("the server closed the connection")
        return data

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def get(url: str) -> tuple[int, bytes]:
    """One request on a connection of its own."""
    target = urllib.parse.urlsplit(url)
    return Client(url, keep_alive=False).get(target.path + ("?" + target.query if target.query else ""))


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, s) of process ``pid`` and its descendants (uvicorn's workers); None without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for child in children:
        total += cpu_seconds(int(child)) or 0.0
    return total


def start_server(tree: Path, model: Path, cwd: Path, args=()):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")])}
    log = open(cwd / "server.log", "a")  # noqa: SIM115  (closed in stop_server)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "topics.cli", "serve", "-m", str(model), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=cwd,
        env=env,
    )
    line = proc.stdout.readline()
    url = re.search(r"at (http://\S+/) ", line).group(1)
    while get(url + "api/model")[0] != 200:
        time.sleep(0.05)
    return proc, log, url, time.perf_counter() - started


def stop_server(proc, log):
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def load(url, ids, *, clients, requests, seed, keep_alive=True, server=None, during=None):
    """Run the clients; ``during(progress)`` runs in this thread meanwhile. Returns (latencies s, failures,
    costs): the server's CPU ms per request and the cores it and the clients (this process) took."""
    latencies, failures, lock = [], [], threading.Lock()
    ready = threading.Barrier(clients + 1)

    def client(i):
        rng = random.Random(seed + i)
        targets = [f"/api/similar?id={urllib.parse.quote(rng.choice(ids))}&k=10" for _ in range(requests)]
        connection = Client(url, keep_alive=keep_alive)
        ready.wait()
        for target in targets:
            t0 = time.perf_counter()
            status, body = connection.get(target)
            elapsed = time.perf_counter() - t0
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    failures.append([status, body[:300].decode("utf-8", "replace")])
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    server_cpu, own_cpu, wall = cpu_seconds(server.pid) if server else None, time.process_time(), time.perf_counter()
    if during is not None:
        during(lambda: len(latencies) + len(failures))
    for t in threads:
        t.join()
    wall, own_cpu = time.perf_counter() - wall, time.process_time() - own_cpu
    costs = {"requests_per_s": round((len(latencies) + len(failures)) / wall), "client_cores": round(own_cpu / wall, 2)}
    if server_cpu is not None and (after := cpu_seconds(server.pid)) is not None:
        costs["server_cpu_ms_per_request"] = round(1000 * (after - server_cpu) / (clients * requests), 2)
        costs["server_cores"] = round((after - server_cpu) / wall, 2)
    return latencies, failures, costs


def quantiles(latencies):
    ms = sorted(x * 1000 for x in latencies)
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 1),
        "max_ms": round(ms[-1], 1),
    }


def page_loads(url, chromium, query):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed"}
    result = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        for name, fragment in (("topics", "#/topics"), ("search", "#/search?" + urllib.parse.urlencode({"q": query}))):
            times = []
            for _ in range(3):
                context = browser.new_context()  # a fresh cache each time
                page = context.new_page()
                errors = []
                page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
                t0 = time.perf_counter()
                page.goto(url + fragment)
                page.wait_for_selector("body[data-ready]", timeout=60000)
                times.append(time.perf_counter() - t0)
                assert not errors, errors
                context.close()
            result[name + "_first_view_ms"] = round(1000 * min(times), 1)
            result[name + "_first_view_ms_runs"] = [round(1000 * t, 1) for t in times]
        browser.close()
    return result


def one_run(tree, server_args, served, work, ids, args, tag):
    """All phases against `topics serve` from source tree ``tree``; ``tag`` makes this run's topic names its own."""
    report = {}
    keep_alive = args.connection == "keep-alive"
    proc, log, url, report["start_s"] = start_server(tree, served, work, server_args)
    try:
        load(url, ids, clients=args.clients, requests=20, seed=args.seed + 1000, keep_alive=keep_alive)  # warm up
        latencies, failures, costs = load(
            url, ids, clients=1, requests=args.requests, seed=args.seed + 2000, keep_alive=keep_alive, server=proc
        )
        report["similar_by_id_one_client"] = {**quantiles(latencies), "failed": len(failures), **costs}
        latencies, failures, costs = load(
            url, ids, clients=args.clients, requests=args.requests, seed=args.seed, keep_alive=keep_alive, server=proc
        )
        report["similar_by_id"] = {**quantiles(latencies), "failed": len(failures), **costs}
        if args.replacements:
            report["similar_by_id_while_replaced"] = while_replaced(tree, served, url, ids, args, proc, tag)
        if args.pages:
            report["page"] = page_loads(url, args.chromium, args.query)
    finally:
        stop_server(proc, log)
    return report


def while_replaced(tree, served, url, ids, args, proc, tag):
    total = args.clients * args.requests
    staged_times = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")])}
    names = [f"renamed {tag} {i}" for i in range(args.replacements)]

    def replace_file(progress):
        for i, name in enumerate(names):
            while progress() < total * (i + 1) / (args.replacements + 1):
                time.sleep(0.01)
            t0 = time.perf_counter()  # in its own process, as a user would: this one's GIL is the clients'
            subprocess.run(
                [sys.executable, "-m", "topics.cli", "label", "0", name, "-m", str(served)],
                check=True,
                capture_output=True,
                env=env,
            )
            staged_times.append(round(time.perf_counter() - t0, 2))

    latencies, failures, costs = load(
        url,
        ids,
        clients=args.clients,
        requests=args.requests,
        seed=args.seed + 1,
        keep_alive=args.connection == "keep-alive",
        server=proc,
        during=replace_file,
    )
    deadline = time.monotonic() + 120
    label = None
    while time.monotonic() < deadline:
        label = json.loads(get(url + "api/topics/0?articles=0")[1])["label"]
        if label == names[-1]:
            break
        time.sleep(0.2)
    result = {
        **quantiles(latencies),
        "failed": len(failures),
        **costs,
        "replacements": args.replacements,
        "topics_label_s": staged_times,
        "serves_last_file": label == names[-1],
    }
    if failures:
        result["failures"] = failures[:5]
    return result


IN_PROCESS = r"""
import json, random, statistics, sys, time
import numpy as np
import topics
from topics.index import load_kernels
import topics.serve
from topics.serve import create_app
from starlette.requests import Request

path, n, seed, profile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
app = create_app(path)  # loads the model as the server does, and the compiled loops
load_kernels()
model = app.state.live.get().model
known = np.flatnonzero(np.diff(model.doc_terms_.indptr) > 0)
rows = random.Random(seed).sample(list(known), min(2 * n + 100, len(known)))
ids = [model.articles_.ids[r] for r in rows[: n + 50]]
texts = [model.articles_.snippets[r].rstrip("…") for r in rows[n + 50 :]]
texts = [t for t in texts if model.vectorizer_.transform([t]).nnz][:n]

similar = getattr(topics.serve, "_similar", topics.serve.similar)


def request(article_id):
    query = f"id={article_id}&k=10".encode()
    return Request({"type": "http", "method": "GET", "path": "/api/similar", "query_string": query, "headers": [], "app": app})

kinds = {
    "id": (lambda i: model.similar(id=i, k=10), ids[50:]),
    "text": (lambda t: model.similar(text=t, k=10), texts),
    "endpoint": (lambda i: similar(request(i)).body, ids[50:]),  # the endpoint's synchronous part
}
for i in ids[:50]:  # warm: the first queries load what the model caches
    kinds["endpoint"][0](i)
if profile:
    import cProfile, pstats
    cProfile.run("for i in ids[50:]: model.similar(id=i, k=10)", sys.argv[5])
    pstats.Stats(sys.argv[5], stream=sys.stderr).sort_stats("tottime").print_stats(30)
    sys.exit()
report = {}
for name, (call, items) in kinds.items():
    times, cpu = [], time.process_time()
    for item in items:
        t0 = time.perf_counter()
        call(item)
        times.append(time.perf_counter() - t0)
    ms = sorted(1000 * t for t in times)
    report[name] = {
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 3),
        "cpu_ms": round(1000 * (time.process_time() - cpu) / len(items), 3),
        "n": len(items),
    }
print(json.dumps(report))
"""


def in_process(tree: Path, model: Path, args, profile: bool = False) -> dict:
    """Run IN_PROCESS from ``tree`` (its cwd, so `python -c` imports that tree's topics first)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "TOPICS_KERNELS": "1"}
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-c", IN_PROCESS, str(model), str(args.queries), str(args.seed), str(int(profile))]
        done = subprocess.run(
            [*command, str(Path(scratch) / "profile.out")],
            cwd=tree,
            env=env,
            capture_output=not profile,
            text=True,
        )
    if done.returncode:
        sys.exit(f"the in-process run from {tree} failed:\n{done.stderr}")
    return {} if profile else json.loads(done.stdout)


def in_process_report(args) -> dict:
    """--inprocess: every tree once per round, alternating which goes first; medians and ratios."""
    trees = {"this": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline is not None else {})
    runs = {name: [] for name in trees}
    load_before = round(os.getloadavg()[0], 1)
    for r in range(args.runs):
        for name in list(trees) if r % 2 == 0 else list(reversed(trees)):
            runs[name].append(in_process(trees[name], args.model, args))
            print(f"run {r + 1} {name}: {json.dumps(runs[name][-1])}", file=sys.stderr)
    report = {"model": str(args.model), "queries": args.queries, "runs": args.runs, "load_average_before": load_before}
    report["load_average_after"] = round(os.getloadavg()[0], 1)
    for name, tree in trees.items():
        report[name] = {"source": str(tree), **medians(runs[name])}
    if args.baseline is not None:
        report["ratios_baseline_over_this"] = {
            f"{kind}.{key}": round(report["baseline"][kind][key] / report["this"][kind][key], 2)
            for kind in runs["this"][0]
            for key in ("p50_ms", "p99_ms", "cpu_ms")
        }
    return report


def medians(runs: list[dict]) -> dict:
    """The median of every number over the runs (all runs have the same keys); flags: true when all are."""
    out = {}
    for key, value in runs[0].items():
        values = [run[key] for run in runs if key in run]
        if isinstance(value, dict):
            out[key] = medians(values)
        elif isinstance(value, bool):
            out[key] = all(values)
        elif isinstance(value, (int, float)):
            out[key] = round(statistics.median(values), 2)
    return out


def ratios(baseline: dict, this: dict) -> dict:
    """baseline / this for the latencies and costs of every load phase (above 1: this tree is faster)."""
    out = {}
    for phase, figures in this.items():
        if phase.startswith("similar_by_id"):
            for key in ("p50_ms", "p99_ms", "server_cpu_ms_per_request"):
                if figures.get(key) and baseline.get(phase, {}).get(key):
                    out[f"{phase}.{key}"] = round(baseline[phase][key] / figures[key], 2)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=200, help="requests per client and phase")
    ap.add_argument("--replacements", type=int, default=2)
    ap.add_argument("--runs", type=int, default=1, help="rounds; the report gives medians")
    ap.add_argument("--baseline", type=Path, help="another source tree whose topics serve runs in each round too")
    ap.add_argument("--server-args", default="", help="more options for this tree's topics serve")
    ap.add_argument("--baseline-args", default="", help="more options for the baseline's topics serve")
    ap.add_argument("--connection", choices=("keep-alive", "close"), default="keep-alive")
    ap.add_argument("--no-pages", dest="pages", action="store_false", help="skip the browser page loads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--query", default="interest rates and inflation")
    ap.add_argument("--inprocess", action="store_true", help="time the queries in process, without HTTP")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of this tree's queries by id")
    ap.add_argument("--queries", type=int, default=500, help="with --inprocess or --profile: queries of each kind")
    args = ap.parse_args()
    if args.profile:
        return in_process(ROOT, args.model, args, profile=True)
    if args.inprocess:
        return print(json.dumps(in_process_report(args), indent=2))

    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    served = work / "model.joblib"
    shutil.copyfile(args.model, served)
    model = topics.load(served)
    # articles with words the model knows: the others are answered 400 ("nothing to compare it by")
    known = np.flatnonzero(np.diff(model.doc_terms_.indptr) > 0)
    rows = random.Random(args.seed).sample(list(known), min(5000, len(known)))
    ids = [model.articles_.ids[r] for r in rows]
    report = {
        "model": str(args.model),
        "n_articles": len(model.articles_),
        "n_topics": model.n_topics_,
        "clients": args.clients,
        "requests": args.requests,
        "connection": args.connection,
        "runs": args.runs,
        "load_average_before": round(os.getloadavg()[0], 1),
    }
    del model
    trees = {"this": (ROOT, shlex.split(args.server_args))}
    if args.baseline is not None:
        trees["baseline"] = (args.baseline.resolve(), shlex.split(args.baseline_args))
    runs = {name: [] for name in trees}
    try:
        for r in range(args.runs):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for name in order:
                tree, server_args = trees[name]
                runs[name].append(one_run(tree, server_args, served, work, ids, args, tag=f"{name} {r}"))
                print(f"run {r + 1} {name}: {json.dumps(runs[name][-1]['similar_by_id'])}", file=sys.stderr)
    finally:
        server_log = (work / "server.log").read_text() if (work / "server.log").exists() else ""
        shutil.rmtree(work, ignore_errors=True)
    report["load_average_after"] = round(os.getloadavg()[0], 1)
    for name, (tree, server_args) in trees.items():
        report[name] = {"source": str(tree), "server_args": server_args, **medians(runs[name])}
        if args.runs > 1:
            report[name]["runs"] = runs[name]
    if args.baseline is not None:
        report["ratios_baseline_over_this"] = ratios(report["baseline"], report["this"])
    report["server_log_reloads"] = server_log.count("reloaded")
    if "Traceback" in server_log or "ERROR" in server_log:
        report["server_log"] = server_log[-3000:]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
