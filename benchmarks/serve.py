"""`topics serve` end to end over HTTP: similar-by-id latency with concurrent clients, failed requests while
the model file is replaced, and the web app's first page load.

Starts `topics serve` on a copy of MODEL (the copy is replaced, never MODEL), then:

1. One client, then ``--clients`` threads, each send ``--requests`` GET /api/similar?id=...&k=10 for random stored ids;
   p50/p99/max latency as the client sees it (connection, server, JSON).
2. The same load again while `topics label 0 NAME` replaces the file ``--replacements`` times (it saves
   beside it and renames over it); failed requests, latency, and whether the server ended on the last file.
3. With Playwright (pip install playwright; a system Chromium at --chromium), the time from navigation to
   the first view drawn, for #/topics and #/search?q=..., in a fresh browser context (cold cache).

usage: python benchmarks/serve.py MODEL.joblib [--clients 8] [--requests 200] [--replacements 2]
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np

import topics

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url):
    try:
        with OPENER.open(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:
        return 0, str(exc).encode()


def start_server(model, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    log = open(Path(cwd) / "server.log", "w")  # noqa: SIM115  (closed in stop_server)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "topics.cli", "serve", "-m", str(model), "--port", "0"],
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
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def load(url, ids, *, clients, requests, seed, during=None):
    """Run the clients; ``during(progress)`` runs in this thread meanwhile. Returns (latencies s, failures)."""
    latencies, failures, lock = [], [], threading.Lock()

    def client(i):
        rng = random.Random(seed + i)
        for _ in range(requests):
            target = url + "api/similar?" + urllib.parse.urlencode({"id": rng.choice(ids), "k": 10})
            t0 = time.perf_counter()
            status, body = get(target)
            elapsed = time.perf_counter() - t0
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    failures.append([status, body[:300].decode("utf-8", "replace")])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    if during is not None:
        during(lambda: len(latencies) + len(failures))
    for t in threads:
        t.join()
    return latencies, failures


def quantiles(latencies):
    ms = sorted(x * 1000 for x in latencies)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=200, help="requests per client and phase")
    ap.add_argument("--replacements", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--query", default="interest rates and inflation")
    args = ap.parse_args()

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
    }
    del model
    proc, log, url, report["start_s"] = start_server(served, work)
    try:
        load(url, ids, clients=args.clients, requests=20, seed=args.seed + 1000)  # warm up
        latencies, failures = load(url, ids, clients=1, requests=args.requests, seed=args.seed + 2000)
        report["similar_by_id_one_client"] = {**quantiles(latencies), "failed": len(failures)}
        latencies, failures = load(url, ids, clients=args.clients, requests=args.requests, seed=args.seed)
        report["similar_by_id"] = {**quantiles(latencies), "failed": len(failures)}

        total = args.clients * args.requests
        staged_times = []
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

        def replace_file(progress):
            for i in range(args.replacements):
                while progress() < total * (i + 1) / (args.replacements + 1):
                    time.sleep(0.01)
                t0 = time.perf_counter()  # in its own process, as a user would: this one's GIL is the clients'
                subprocess.run(
                    [sys.executable, "-m", "topics.cli", "label", "0", f"renamed {i}", "-m", str(served)],
                    check=True,
                    capture_output=True,
                    env=env,
                )
                staged_times.append(round(time.perf_counter() - t0, 2))

        latencies, failures = load(
            url, ids, clients=args.clients, requests=args.requests, seed=args.seed + 1, during=replace_file
        )
        deadline = time.monotonic() + 120
        label = None
        while time.monotonic() < deadline:
            label = json.loads(get(url + "api/topics/0?articles=0")[1])["label"]
            if label == f"renamed {args.replacements - 1}":
                break
            time.sleep(0.2)
        report["similar_by_id_while_replaced"] = {
            **quantiles(latencies),
            "failed": len(failures),
            "replacements": args.replacements,
            "topics_label_s": staged_times,
            "serves_last_file": label == f"renamed {args.replacements - 1}",
        }
        if failures:
            report["failures"] = failures[:5]
        report["page"] = page_loads(url, args.chromium, args.query)
    finally:
        stop_server(proc, log)
        server_log = (work / "server.log").read_text()
        report["server_log_reloads"] = server_log.count("reloaded")
        if "Traceback" in server_log or "ERROR" in server_log:
            report["server_log"] = server_log[-3000:]
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
