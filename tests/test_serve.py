"""`topics serve`: the JSON API against a real server process, the live model, the guards, and the web app
in real headless Chromium."""

import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ROOT

import topics

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

# Only loopback: never through a proxy the environment may name.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextmanager
def server(model_path, *args, cwd):
    """Run `topics serve --port 0 ARGS` in its own process; yields its base URL; always stops it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    with open(Path(cwd) / "server.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "topics.cli", "serve", "-m", str(model_path), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=cwd,
            env=env,
        )
    try:
        first = []
        reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(60)
        match = re.search(r"at (http://\S+/) ", first[0] if first else "")
        assert match, f"no address from topics serve: {first!r}; log: {(Path(cwd) / 'server.log').read_text()}"
        url = match.group(1)
        for _ in range(100):  # listening already; wait until the app answers
            try:
                get(url + "static/style.css")
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()


def get(url, *, data=None, headers=None, method=None):
    """(status, parsed JSON or text) of one request; HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with OPENER.open(request, timeout=30) as response:
            status, body, kind = response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        status, body, kind = exc.code, exc.read(), exc.headers.get_content_type()
    return status, (json.loads(body) if kind == "application/json" else body.decode())


def call(app, target, *, headers=(), host="127.0.0.1"):
    """(status, headers, body) of one GET to the ASGI ``app`` in this process, as a server would make it."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", host.encode()), *[(k.lower().encode(), v.encode()) for k, v in headers]],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    sent, requests = [], [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():  # the request once, then a disconnect once the response is complete
        if requests:
            return requests.pop()
        while not (sent and sent[-1]["type"] == "http.response.body" and not sent[-1].get("more_body")):
            await asyncio.sleep(0.01)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], {k.decode(): v.decode() for k, v in sent[0]["headers"]}, body


def call_json(app, target, **kwargs):
    status, _, body = call(app, target, **kwargs)
    return status, json.loads(body)


def post_json(url, doc, **headers):
    return get(
        url, data=json.dumps(doc).encode(), headers={"Content-Type": "application/json", **headers}, method="POST"
    )


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory, sample_model_file):
    path = tmp_path_factory.mktemp("served") / "sample.joblib"
    shutil.copyfile(sample_model_file, path)
    return path


@pytest.fixture(scope="module")
def api(model_copy):
    with server(model_copy, cwd=model_copy.parent) as url:
        yield url


def _hits(doc):
    return [{k: v for k, v in hit.items() if k != "snippet"} for hit in doc["results"]]


# -- the API: the same records as the CLI's JSON --------------------------------------------------------
@pytest.mark.slow
def test_similar_answers_as_topics_similar_does(api, model_copy, run_cli):
    cases = [
        (["lee-bg-000"], {"id": "lee-bg-000"}),
        (
            ["--text", "bushfire near Sydney", "--top", "4", "--explain"],
            {"text": "bushfire near Sydney", "k": "4", "explain": "true"},
        ),
        (
            ["lee-bg-013", "--top", "20", "--min-score", "0.1", "--keep-duplicates"],
            {"id": "lee-bg-013", "k": "20", "min_score": "0.1", "keep_duplicates": "1"},
        ),
    ]
    model = topics.load(model_copy)
    for args, params in cases:
        cli = run_cli("similar", *args, "-m", model_copy, "--format", "json").json()
        status, doc = get(api + "api/similar?" + urllib.parse.urlencode(params))
        assert status == 200
        assert doc["query"] == cli["query"] and doc["model"] == str(model_copy)
        assert _hits(doc) == cli["results"] and cli["results"]
        query = {"id": params["id"]} if "id" in params else {"text": params["text"]}
        assert [h["snippet"] for h in doc["results"]] == [
            h.snippet
            for h in model.similar(
                **query,
                k=int(params.get("k", 10)),
                min_score=float(params.get("min_score", 0)),
                keep_duplicates="keep_duplicates" in params,
            )
        ]


@pytest.mark.slow
def test_topics_articles_and_trends_answer_as_the_cli_does(api, model_copy, run_cli):
    summary = run_cli("summary", "-m", model_copy, "--words", "5", "--articles", "2", "--format", "json").json()
    assert get(api + "api/topics?words=5&articles=2") == (200, summary)
    full = topics.load(model_copy).summary(n_words=10, n_articles=10)
    assert get(api + "api/topics/3") == (200, full[3].to_dict())
    show = run_cli("show", "lee-bg-000", "-m", model_copy, "--top", "3", "--format", "json").json()
    assert get(api + "api/articles/lee-bg-000?k=3") == (200, show)
    trends = run_cli(
        "trends", "-m", model_copy, "--by", "year", "--topics", "1", "--topics", "4", "--format", "json"
    ).json()
    assert get(api + "api/trends?by=year&topic=1&topic=4") == (200, trends)
    topic_map = run_cli("map", "-m", model_copy, "--format", "json").json()
    assert get(api + "api/map") == (200, topic_map)
    status, info = get(api + "api/model")
    assert status == 200 and info["n_articles"] == 351 and info["n_topics"] == 10 and info["allow_edits"] is False


@pytest.mark.slow
def test_errors_are_one_line_json_with_the_right_status(api):
    cases = [
        ("api/similar?id=no-such-article", 404, "no article with id 'no-such-article'"),
        ("api/articles/no-such-article", 404, "no article with id 'no-such-article'"),
        ("api/topics/10", 404, "no topic '10'; this model has topics 0 to 9"),
        ("api/trends?topic=12", 404, "no topic '12'"),
        ("api/nothing-here", 404, "nothing at /api/nothing-here"),
        ("api/similar?text=", 400, "the query text is empty"),
        ("api/similar?text=%20%20", 400, "the query text is empty"),
        ("api/similar?text=zzzxq%20qqxzz", 400, "no words the model knows"),
        ("api/similar", 400, "give exactly one of id or text"),
        ("api/similar?id=lee-bg-000&text=fire", 400, "give exactly one of id or text"),
        ("api/similar?id=lee-bg-000&k=0", 400, "k='0' is not allowed; use an integer from 1 to 1000"),
        ("api/similar?id=lee-bg-000&k=ten", 400, "k='ten' is not allowed"),
        ("api/similar?id=lee-bg-000&min_score=2", 400, "min_score=2.0 is not allowed"),
        ("api/similar?id=lee-bg-000&min_score=high", 400, "min_score='high' is not a number"),
        ("api/similar?id=lee-bg-000&since=2025-02-30", 400, "since='2025-02-30'"),
        ("api/similar?id=lee-bg-000&explain=maybe", 400, "explain='maybe' is not allowed; use true or false"),
        ("api/similar?id=lee-bg-000&top=3", 400, "unknown parameter 'top'; this endpoint takes explain, id, k,"),
        ("api/similar?id=a&id=b", 400, "parameter 'id' is given more than once"),
        ("api/similar?text=" + "word%20" * 4001, 400, "use at most 20,000"),
        ("api/trends?by=decade", 400, "by='decade' is not allowed"),
        ("api/trends?compare=2025", 400, "give compare twice"),
        ("api/map?since=2025-13", 400, "since='2025-13' is not allowed"),
    ]
    for path, status, message in cases:
        got_status, doc = get(api + path)
        assert (got_status, list(doc)) == (status, ["error"]), path[:80]
        assert message in doc["error"] and "\n" not in doc["error"], (path[:80], doc)
    assert post_json(api + "api/topics/1/label", {"name": "Fires"}) == (
        403,
        {"error": "this server is read-only; start it with --allow-edits to rename topics"},
    )
    assert get(api + "api/topics", method="DELETE")[0] == 405


@pytest.mark.slow
def test_the_web_app_and_the_api_description_are_served(api):
    status, page = get(api)
    assert status == 200 and '<script src="/static/app.js"' in page and 'role="search"' in page
    for asset in ("static/app.js", "static/style.css"):
        assert get(api + asset)[0] == 200
    status, spec = get(api + "api/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    assert {
        "/api/similar",
        "/api/topics",
        "/api/topics/{id}",
        "/api/topics/{id}/label",
        "/api/articles/{id}",
        "/api/trends",
        "/api/map",
        "/api/model",
    } == set(spec["paths"])


# -- edits, the token and the Host check ----------------------------------------------------------------
@pytest.mark.slow
def test_edits_go_through_the_locked_write_path_and_need_the_token(sample_model_file, tmp_path):
    path = tmp_path / "m.joblib"
    shutil.copyfile(sample_model_file, path)
    (tmp_path / "token").write_text("s3cret-token\n")
    with server(path, "--allow-edits", "--token-file", "token", cwd=tmp_path) as url:
        auth = {"Authorization": "Bearer s3cret-token"}
        assert get(url + "api/model")[0] == 401
        assert get(url + "api/model", headers={"Authorization": "Bearer wrong"}) == (
            401,
            {"error": "this server needs its token: send Authorization: Bearer <token>"},
        )
        assert get(url)[0] == 200  # the page holds no data; it asks for the token
        status, topic = post_json(url + "api/topics/2/label", {"name": "  Terror   and war "}, **auth)
        assert status == 200 and topic["id"] == 2 and topic["label"] == "Terror and war" and topic["named"]
        assert get(url + "api/topics/2", headers=auth)[1]["label"] == "Terror and war"  # read after write
        assert topics.load(path).summary()[2].label == "Terror and war"  # in the file
        assert not list(tmp_path.glob("*.tmp"))
        for body, headers, message in [
            ({"name": "x" * 201}, {}, "use at most 200"),
            ({"label": "x"}, {}, 'send {"name": "..."}'),
            ("x", {"Content-Type": "text/plain"}, "Content-Type: application/json"),
        ]:
            status, doc = get(
                url + "api/topics/2/label",
                data=json.dumps(body).encode(),
                method="POST",
                headers={"Content-Type": "application/json", **auth, **headers},
            )
            assert status == 400 and message in doc["error"], doc
        assert post_json(url + "api/topics/99/label", {"name": "x"}, **auth)[0] == 404
        status, topic = post_json(url + "api/topics/2/label", {"name": ""}, **auth)
        assert status == 200 and not topic["named"] and topic["label"] == topic["auto_label"]
        # a loopback server answers only to loopback names: a page on another name (DNS rebinding) gets nothing
        status, doc = get(url + "api/model", headers={**auth, "Host": "attacker.example:8000"})
        assert status == 403 and "answers only to localhost" in doc["error"]
        assert get(url.replace("127.0.0.1", "localhost") + "api/model", headers=auth)[0] == 200


def test_serve_refuses_other_addresses_without_a_token_and_needs_its_extra(run_cli, sample_model_file, monkeypatch):
    out = run_cli("serve", "-m", sample_model_file, "--host", "0.0.0.0")
    assert out.exit_code == 2
    assert out.stderr == (
        "topics: error: --host 0.0.0.0 is reachable from other machines: give --token-file too "
        "(or keep the default, 127.0.0.1)\n"
    )
    open("empty", "w").close()
    out = run_cli("serve", "-m", sample_model_file, "--host", "0.0.0.0", "--token-file", "empty")
    assert out.exit_code == 2 and out.stderr == "topics: error: the token file empty must hold one token (no spaces)\n"
    out = run_cli("serve", "-m", "missing.joblib")
    assert out.exit_code == 2 and out.stderr.startswith("topics: error: ") and "missing.joblib" in out.stderr
    for module in ("starlette.applications", "uvicorn"):
        with monkeypatch.context() as patch:
            patch.setitem(sys.modules, module, None)  # import fails as if not installed
            out = run_cli("serve", "-m", sample_model_file)
        assert out.exit_code == 2
        assert out.stderr == "topics: error: topics serve needs Starlette and uvicorn: pip install 'topics[serve]'\n"


def test_connections_to_the_server_send_without_waiting_for_acknowledgements():
    """The listening socket is TCP by protocol number, so asyncio (which uvicorn runs on) turns Nagle's
    algorithm off on each connection: a response's body is not held back until a client that keeps its
    connection open acknowledges the headers (40 ms on Linux)."""
    import socket

    from topics.cli.serve import listening_socket

    async def accepted_nodelay(sock):
        loop = asyncio.get_running_loop()
        seen = loop.create_future()

        class Note(asyncio.Protocol):
            def connection_made(self, transport):
                seen.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await loop.create_server(Note, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname())
            nodelay = await asyncio.wait_for(seen, 10)
            writer.close()
        return nodelay

    assert asyncio.run(accepted_nodelay(listening_socket("127.0.0.1", 0))) != 0


# -- the live model (in process) ------------------------------------------------------------------------
def _renamed_copy(source, target, topic, name):
    """Save a copy of the model at ``source`` with ``topic`` renamed, then move it over ``target`` atomically."""
    model = topics.load(source)
    model.rename_topic(topic, name)
    staged = Path(target).with_name("staged.joblib")
    model.save(staged, force=True)
    os.replace(staged, target)


def test_a_replaced_model_file_is_served_without_a_restart(sample_model_file, tmp_path, caplog):
    from topics.serve import create_app

    path = tmp_path / "m.joblib"
    shutil.copyfile(sample_model_file, path)
    app = create_app(path, check_interval=0)
    live = app.state.live
    before = live.get()

    def label_once(done):
        """Topic 0's label once ``done(label)`` (bounded); the first request notices the file, a thread loads it."""
        for _ in range(500):
            label = call_json(app, "/api/topics/0")[1]["label"]
            if done(label):
                return label
            time.sleep(0.01)
        return label

    assert call_json(app, "/api/topics/0")[1]["named"] is False
    old_label = before.model.summary()[0].label
    for target in ("/api/map", "/api/trends?by=month"):  # computed once per model, and kept with it
        assert call_json(app, target)[1]["topics"][0]["label"] == old_label
    _renamed_copy(path, path, 0, "Bushfires")
    assert label_once(lambda label: label == "Bushfires") == "Bushfires"
    assert before.model.summary()[0].label != "Bushfires"  # a request holding the old model keeps it
    for target in ("/api/map", "/api/trends?by=month"):  # the new model's, not the old one's kept
        assert call_json(app, target)[1]["topics"][0]["label"] == "Bushfires"
    # a file that cannot be loaded is logged and skipped: the last good model goes on answering
    (tmp_path / "bad").write_bytes(b"not a model")
    os.replace(tmp_path / "bad", path)
    with caplog.at_level(logging.ERROR, logger="topics.serve"):
        assert label_once(lambda label: caplog.records) == "Bushfires"
        for _ in range(20):
            assert call_json(app, "/api/topics/0")[1]["label"] == "Bushfires"
    assert len(caplog.records) == 1 and "kept the previous model" in caplog.records[0].message  # once per file
    shutil.copyfile(sample_model_file, tmp_path / "good")
    os.replace(tmp_path / "good", path)
    assert label_once(lambda label: label != "Bushfires") == before.model.summary()[0].label


def test_a_replaced_file_with_a_damaged_search_matrix_is_skipped(sample_model, tmp_path, caplog, monkeypatch):
    """A file's search matrix B is checked when first used (topics.store); the server uses it before it swaps
    models, so a file whose B is damaged is skipped like any file that does not load."""
    from topics import segments
    from topics.serve import create_app

    monkeypatch.setattr(segments, "SEGMENT_MIN", 4096)  # B's arrays are segments of their own, as in large files
    path = sample_model.save(tmp_path / "m.joblib")
    app = create_app(path, check_interval=0)
    before = app.state.live.get()
    data = path.read_bytes()
    b_data = sample_model.index_.search.data.tobytes()
    where = data.index(b_data) + len(b_data) // 2
    (tmp_path / "bad").write_bytes(data[:where] + bytes([data[where] ^ 1]) + data[where + 1 :])
    os.replace(tmp_path / "bad", path)
    with caplog.at_level(logging.ERROR, logger="topics.serve"):
        for _ in range(500):
            assert call_json(app, "/api/similar?text=rain")[0] == 200  # the previous model answers
            if caplog.records:
                break
            time.sleep(0.01)
    assert app.state.live.get() is before
    assert "kept the previous model" in caplog.records[0].message and "checksum mismatch" in caplog.records[0].message


def test_a_replaced_model_file_is_loaded_before_any_request_asks(sample_model_file, tmp_path, caplog):
    """While the server runs, a thread looks at the file: a worker no request reached since a save answers
    its next request from the new file, not from the old one (as the request that noticed would be)."""
    from topics import serve

    path = tmp_path / "m.joblib"
    shutil.copyfile(sample_model_file, path)
    live = serve.LiveModel(path, check_interval=0.05)
    stop = threading.Event()
    watcher = threading.Thread(target=live.watch, args=(stop,))
    with caplog.at_level(logging.INFO, logger="topics.serve"):
        watcher.start()
        try:
            _renamed_copy(path, path, 0, "Bushfires")
            deadline = time.monotonic() + 30
            while not caplog.records and time.monotonic() < deadline:  # no request: nothing here calls get()
                time.sleep(0.05)
        finally:
            stop.set()
            watcher.join(10)
    assert not watcher.is_alive() and "reloaded" in caplog.records[0].message
    assert live.get().summary(8, 0)[0].label == "Bushfires"


def test_the_model_file_is_looked_at_at_most_once_an_interval(sample_model_file, tmp_path, monkeypatch):
    from topics import serve

    path = tmp_path / "m.joblib"
    shutil.copyfile(sample_model_file, path)
    live = serve.LiveModel(path, check_interval=3600)
    looks = []
    monkeypatch.setattr(serve, "file_identity", lambda p: looks.append(p) or None)
    for _ in range(100):
        live.get()
    assert looks == []


def test_an_unexpected_error_is_a_generic_500_and_logged(sample_model_file, tmp_path, caplog):
    from topics.serve import create_app

    path = tmp_path / "m.joblib"
    shutil.copyfile(sample_model_file, path)
    app = create_app(path)
    model = app.state.live.get().model

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    model.summary = broken
    with caplog.at_level(logging.ERROR, logger="topics.serve"):
        status, headers, body = call(app, "/api/topics")
    assert (status, json.loads(body)) == (500, {"error": "internal error; the server log has the details"})
    assert b"disk on fire" not in body and headers["x-content-type-options"] == "nosniff"
    assert caplog.records[-1].exc_info[1].args == ("disk on fire",)


def test_a_server_on_another_address_checks_the_token_not_the_host_name(sample_model_file):
    from topics.serve import create_app

    app = create_app(sample_model_file, token="t0k", loopback_only=False)
    host = "news-box.example:8000"
    assert call(app, "/api/model", host=host)[0] == 401
    assert call(app, "/api/model", host=host, headers=[("Authorization", "Bearer t0k")])[0] == 200
    assert call(app, "/", host=host)[0] == 200
    assert call(create_app(sample_model_file), "/api/model", host=host)[0] == 403


# -- load: many clients while the model is replaced -----------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_no_request_fails_while_the_model_is_replaced(sample_model_file, tmp_path, workers):
    path = tmp_path / "m.joblib"
    shutil.copyfile(sample_model_file, path)
    paths = [
        "api/similar?id=lee-bg-000&k=5",
        "api/similar?text=bushfire%20near%20Sydney&explain=1",
        "api/topics?articles=1",
        "api/articles/lee-bg-100",
        "api/trends?by=month",
        "api/topics/0",
    ]
    failures, done = [], []
    with server(path, "--workers", str(workers), cwd=tmp_path) as url:

        def client(i):
            for n in range(60):
                try:
                    status, doc = get(url + paths[(i + n) % len(paths)])
                except OSError as exc:  # a refused or broken connection is a failed request too
                    status, doc = None, repr(exc)
                (done if status == 200 else failures).append((status, doc))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        for name, after in (("Fires", 160), ("Fires again", 320)):  # replaced while requests are under way
            while len(done) + len(failures) < after and time.monotonic() < deadline:
                time.sleep(0.01)
            _renamed_copy(path, path, 0, name)
        for t in threads:
            t.join(120)
        # every worker ends on the last file: many requests in a row, each on a new connection, all see it
        deadline, in_a_row = time.monotonic() + 10, 0
        while in_a_row < 10 * workers and time.monotonic() < deadline:
            in_a_row = in_a_row + 1 if get(url + "api/topics/0")[1]["label"] == "Fires again" else 0
            time.sleep(0.05)
        assert in_a_row == 10 * workers
    assert failures == [] and len(done) == 8 * 60
    log = (tmp_path / "server.log").read_text()  # SIGTERM stopped it cleanly, and it said what it reloaded
    assert log.count("reloaded") >= workers and "Traceback" not in log and "error" not in log
    assert len(set(re.findall(r"Started server process \[(\d+)\]", log))) == workers
    assert log.count("Finished server process") == workers
    assert ("Finished server process" if workers == 1 else "Stopping parent process") in log.splitlines()[-1]


# -- the web app in real headless Chromium --------------------------------------------------------------
@pytest.mark.slow
def test_web_app_in_headless_chromium(dated_model_file, dated_model, tmp_path):
    from test_report import _run_chromium

    with server(dated_model_file, cwd=tmp_path) as url:
        dom, console = _run_chromium(
            tmp_path, "--dump-dom", url + "#/search?q=" + urllib.parse.quote("space shuttle launch orbit")
        )
        assert console == []
        assert re.search(r'data-ready="\d+"', dom)
        hits = re.findall(r'<li><span class="score"[^>]*>([\d.]+)</span><a href="#/articles/([^"]+)"', dom)
        expected = dated_model.similar(text="space shuttle launch orbit", k=10)
        assert [urllib.parse.unquote(i) for _, i in hits] == [h.id for h in expected]
        assert '<p id="status" role="status" aria-live="polite" class="muted">10 articles found.</p>' in dom
        assert dom.count('<p class="why">Why: shared terms') == 10
        levels = re.findall(r'<span class="match match-(strong|weak|none)"', dom)
        assert levels == [h.match for h in expected]  # every hit says how good a match it is

        dom, console = _run_chromium(tmp_path, "--dump-dom", url + "#/topics")
        assert console == [] and re.search(r'<svg [^>]*class="map"', dom)
        assert dom.count('<circle class="topic"') == len(dated_model.summary())  # the map draws every topic

        dom, console = _run_chromium(tmp_path, "--dump-dom", url + "#/topics/1")
        assert console == []
        label = dated_model.summary()[1].label
        assert "<h1 " in dom and re.search(r'<svg [^>]*class="chart"[^>]*role="img"', dom)
        assert re.search(r"<polyline class=\"line\" points=\"[\d., ]+\">", dom) and label in dom

        article_id = expected[0].id
        dom, console = _run_chromium(tmp_path, "--dump-dom", url + "#/articles/" + urllib.parse.quote(article_id))
        assert console == [] and "Topic mix" in dom and dom.count('<p class="why">Why: shared terms') >= 1

        dom, console = _run_chromium(tmp_path, "--dump-dom", url + "#/trends")
        assert console == [] and dom.count('class="chart spark"') == 6
