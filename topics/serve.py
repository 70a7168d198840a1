"""`topics serve`: a JSON API and a small web app over a saved model, as an ASGI app (Starlette).

Like the command line, this is a thin shell: each endpoint parses its query parameters, makes one call
on the model and returns the record the matching CLI command prints with ``--format json``:

==============================  =====================================================================
``GET /api/similar``            ``?id=ID`` or ``?text=...``, with ``k``, ``since``, ``until``,
                                ``min_score``, ``min_match``, ``keep_duplicates``, ``explain`` (as ``topics similar``)
``GET /api/topics``             ``?words=8&articles=3`` (as ``topics summary``)
``GET /api/topics/{id}``        one topic of the summary (``?words=10&articles=10``)
``GET /api/articles/{id}``      topic mix and ``k`` nearest articles (as ``topics show``)
``GET /api/trends``             ``?by=month&topic=3&topic=5`` (as ``topics trends``)
``GET /api/map``                ``?since=&until=``: topics in 2-D, sized by share (as ``topics map``)
``GET /api/model``              the file served, its size in articles and topics, when it was loaded
``POST /api/topics/{id}/label`` ``{"name": ...}``: rename a topic in the file (only with ``allow_edits``)
``GET /api/openapi.json``       the API described as OpenAPI 3.1
==============================  =====================================================================

Errors are ``{"error": "one line"}``: 404 for an unknown article, topic or path, 400 for a bad
parameter or an unusable query, 401 without the token, 403 for an edit on a read-only server, and 500
(logged with its traceback, never sent) for anything else.

The model is live: :class:`LiveModel` looks at the file's identity (inode, mtime, size) once a
``check_interval`` while the server runs (and on a request, at most as often) and, when a save has
replaced it, loads the new file and swaps the reference. A request takes the reference once, so requests
already running finish on the model they started with.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, load
from .errors import MissingExtraError, ParameterError, QueryError, TopicsError
from .index import load_kernels
from .matching import best_level

if TYPE_CHECKING:  # Starlette is imported by create_app, so this module imports without the extra
    from starlette.requests import Request

logger = logging.getLogger(__name__)

WEB = Path(__file__).resolve().parent / "web"
MAX_K = 1000
MAX_TEXT = 20_000  # characters of a query text; longer texts are refused, not cut
CHECK_INTERVAL = 1.0  # seconds between looks at the model file


# -- the live model -------------------------------------------------------------------------------------
def file_identity(path) -> tuple | None:
    """(st_dev, st_ino, st_mtime_ns, st_size) of the file at ``path`` (a symlink followed), None if absent.

    An atomic save renames a new file into place, so the inode changes even when size and time do not."""
    try:
        s = os.stat(path)
    except OSError:
        return None
    return s.st_dev, s.st_ino, s.st_mtime_ns, s.st_size


@dataclass(frozen=True)
class Snapshot:
    """One loaded model, the identity of the file it came from, and the summaries, topic maps and trends
    asked of it so far: each the same for every request (a snapshot never changes), and costly at 100,000
    articles (a map most: it weighs every article's topics), so each is computed once per model."""

    model: object
    identity: tuple | None
    loaded_at: float = field(default_factory=time.time)
    _computed: dict = field(default_factory=dict, repr=False, compare=False)

    def summary(self, n_words: int, n_articles: int):
        return self._once(("summary", n_words, n_articles), self.model.summary, n_words=n_words, n_articles=n_articles)

    def topic_map(self, since: str | None, until: str | None):
        return self._once(("map", since, until), self.model.topic_map, since=since, until=until)

    def trends(self, by: str, topics: tuple | None, compare: tuple | None):
        return self._once(
            ("trends", by, topics, compare),
            self.model.trends,
            by=by,
            topics=None if topics is None else list(topics),
            compare=None if compare is None else list(compare),
        )

    def _once(self, key: tuple, compute, **kwargs):
        if key not in self._computed:
            if len(self._computed) >= 64:  # a few shapes are asked for again and again; keep memory bounded
                self._computed.clear()
            self._computed[key] = compute(**kwargs)
        return self._computed[key]

    def warm_up(self) -> Snapshot:
        """Compute what the model computes for its first query (its stubs, its match calibration, its words
        grouped by stem) and the web app's topic list and map, so that no request waits for them: neither
        the first after start nor the first after a reload (this runs in the loading thread, before the
        swap)."""
        self.model.stub_rows()
        self.model.match_calibration()
        # B (a file's search matrix, checked when first used): a damaged one fails this load, not a query
        self.model.index_.load_search()
        forms = getattr(self.model.state_, "word_forms", None)
        if forms is not None:  # group the words by stem now, not in the first text query
            forms.of_words([])
        with contextlib.suppress(TopicsError):  # a model that cannot answer one is told so by its request
            self.summary(8, 0)
            self.topic_map(None, None)
        return self


class LiveModel:
    """The model at ``path``, reloaded when a save replaces the file.

    :meth:`get` costs one ``os.stat`` at most every ``check_interval`` seconds. When the file is new, a
    background thread loads it (memory-mapped, checksums checked) while every request, the one that noticed
    included, goes on with the old snapshot; the swap is one reference assignment. A file that fails to
    load is logged and skipped until it changes again.
    """

    def __init__(self, path, *, key: bytes | None = None, check_interval: float = CHECK_INTERVAL):
        self.path, self.key, self.check_interval = Path(path), key, check_interval
        self._loading = threading.Lock()
        self._checked = time.monotonic()
        self._failed = None  # identity of a file that would not load
        self._snapshot = self._load()  # at start, a file that will not load is the caller's error

    def _load(self) -> Snapshot:
        identity = file_identity(self.path)  # before loading: a save during the load is seen next time
        return Snapshot(load(self.path, key=self.key), identity).warm_up()

    def get(self) -> Snapshot:
        now = time.monotonic()
        if now - self._checked >= self.check_interval:
            self._checked = now
            identity = file_identity(self.path)
            if identity not in (self._snapshot.identity, self._failed, None) and not self._loading.locked():
                threading.Thread(target=self.reload, name="topics-reload", daemon=True).start()
        return self._snapshot

    def watch(self, stop: threading.Event) -> None:
        """Look at the file every ``check_interval`` (at least 0.1 s) until ``stop`` is set, so that a replaced
        file is loaded before a request asks for it. Each worker process of a server has its own LiveModel:
        without this, a worker that no request reached since a save would answer its next from the old file."""
        while not stop.wait(max(self.check_interval, 0.1)):
            self.get()

    def reload(self, *, wait: bool = False) -> Snapshot:
        """Load the file if it changed since the current snapshot; returns the snapshot now served.

        Without ``wait``, a load already under way in another thread is left to finish on its own."""
        if not self._loading.acquire(blocking=wait):
            return self._snapshot
        try:
            if file_identity(self.path) != self._snapshot.identity:
                try:
                    self._snapshot = self._load()
                    self._failed = None
                    logger.info("reloaded %s (%d articles)", self.path, len(self._snapshot.model.articles_))
                except TopicsError as exc:
                    self._failed = file_identity(self.path)
                    logger.error("kept the previous model: %s", exc)
        finally:
            self._loading.release()
        return self._snapshot


# -- parameters -----------------------------------------------------------------------------------------
class BadRequest(TopicsError):
    """A request the API cannot parse (HTTP 400)."""


class NotFound(TopicsError):
    """An article, topic or path that does not exist (HTTP 404)."""


class Forbidden(TopicsError):
    """An edit on a read-only server (HTTP 403)."""


class Params:
    """A request's query parameters, read by type; unknown names are refused so typos do not pass silently."""

    def __init__(self, request: Request, allowed: set[str], repeated: frozenset = frozenset()):
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise BadRequest(f"unknown parameter {unknown[0]!r}; this endpoint takes {', '.join(sorted(allowed))}")
        for name in set(request.query_params) - repeated:
            if len(request.query_params.getlist(name)) > 1:
                raise BadRequest(f"parameter {name!r} is given more than once")
        self.q = request.query_params

    def str(self, name: str, default=None):
        return self.q.get(name, default)

    def int(self, name: str, default: int, low: int, high: int) -> int:
        value = self.q.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise BadRequest(f"{name}={value!r} is not allowed; use an integer from {low} to {high}")
        return number

    def float(self, name: str):
        value = self.q.get(name)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise BadRequest(f"{name}={value!r} is not a number") from None

    def bool(self, name: str) -> bool:
        value = self.q.get(name, "false").lower()
        if value in ("1", "true", "yes", "on", ""):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise BadRequest(f"{name}={value!r} is not allowed; use true or false")


def _article_row(model, article_id: str) -> int:
    try:
        return model.row_of(article_id)
    except QueryError as exc:
        raise NotFound(str(exc)) from None


def _topic_id(model, value) -> int:
    k = model.n_topics_
    try:
        t = int(value)
    except (TypeError, ValueError):
        t = -1
    if not 0 <= t < k:
        raise NotFound(f"no topic {value!r}; this model has topics 0 to {k - 1}")
    return t


# -- endpoints ------------------------------------------------------------------------------------------
def _snapshot(request: Request) -> Snapshot:
    return request.app.state.live.get()


def _model(request: Request):
    return _snapshot(request).model


def similar(request: Request):
    p = Params(request, {"id", "text", "k", "since", "until", "min_score", "min_match", "keep_duplicates", "explain"})
    model = _model(request)
    article_id, text = p.str("id"), p.str("text")
    if (article_id is None) == (text is None):
        raise BadRequest("give exactly one of id or text")
    if text is not None and len(text) > MAX_TEXT:
        raise BadRequest(f"the text has {len(text):,} characters; use at most {MAX_TEXT:,}")
    try:
        hits = model.similar(
            id=article_id,
            text=text,
            k=p.int("k", 10, 1, MAX_K),
            since=p.str("since"),
            until=p.str("until"),
            min_score=p.float("min_score"),
            min_match=p.str("min_match"),
            keep_duplicates=p.bool("keep_duplicates"),
            explain=p.bool("explain"),
        )
    except QueryError:
        if article_id is not None:  # the id is looked up here only when the query failed: an unknown one is a 404
            _article_row(model, article_id)
        raise
    query = {"id": article_id} if article_id is not None else {"text": text}
    # as `topics similar --format json`, plus each hit's snippet: most archives title their articles, some do not
    return _json(
        {
            "query": query,
            "model": str(request.app.state.live.path),
            "match": best_level(hits),
            "results": [{**h.to_dict(), "snippet": h.snippet} for h in hits],
        }
    )


def topic_list(request: Request):
    p = Params(request, {"words", "articles"})
    result = _snapshot(request).summary(p.int("words", 8, 1, 100), p.int("articles", 3, 0, 100))
    return _json({"model": str(request.app.state.live.path), **result.to_dict()})


def topic(request: Request):
    p = Params(request, {"words", "articles"})
    snapshot = _snapshot(request)
    t = _topic_id(snapshot.model, request.path_params["topic"])
    return _json(snapshot.summary(p.int("words", 10, 1, 100), p.int("articles", 10, 0, 100))[t].to_dict())


def article(request: Request):
    p = Params(request, {"k"})
    model = _model(request)
    article_id = request.path_params["article"]
    _article_row(model, article_id)
    return _json(model.article(article_id, k=p.int("k", 5, 1, MAX_K)).to_dict())


def trends(request: Request):
    p = Params(request, {"by", "topic", "compare"}, repeated=frozenset({"topic", "compare"}))
    snapshot = _snapshot(request)
    chosen = tuple(_topic_id(snapshot.model, t) for t in request.query_params.getlist("topic")) or None
    compare = tuple(request.query_params.getlist("compare")) or None
    if compare is not None and len(compare) != 2:
        raise BadRequest("give compare twice, e.g. compare=2025-01:2025-06&compare=2025-07:2025-12")
    return _json(snapshot.trends(p.str("by", "month"), chosen, compare).to_dict())


def topic_map(request: Request):
    p = Params(request, {"since", "until"})
    return _json(_snapshot(request).topic_map(p.str("since"), p.str("until")).to_dict())


def model_info(request: Request):
    Params(request, set())
    live = request.app.state.live
    snapshot = live.get()
    return _json(
        {
            "model": str(live.path),
            "n_articles": len(snapshot.model.articles_),
            "n_topics": snapshot.model.n_topics_,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(snapshot.loaded_at)),
            "allow_edits": request.app.state.allow_edits,
            "version": __version__,
        }
    )


async def label(request: Request):
    if not request.app.state.allow_edits:
        raise Forbidden("this server is read-only; start it with --allow-edits to rename topics")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise BadRequest('send the name as JSON: {"name": "..."} with Content-Type: application/json')
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > 10_000:  # uvicorn has checked it; this keeps the body small
        raise BadRequest('the body is too long; send {"name": "..."} with a name of at most 200 characters')
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise BadRequest('the body is not JSON; send {"name": "..."}') from None
    if not isinstance(body, dict) or set(body) != {"name"} or not isinstance(body["name"], (str, type(None))):
        raise BadRequest('send {"name": "..."}; an empty name restores the generated label')
    from starlette.concurrency import run_in_threadpool

    topic_record = await run_in_threadpool(_rename, request.app.state.live, request.path_params["topic"], body["name"])
    return _json(topic_record)


def _rename(live: LiveModel, topic_value, name) -> dict:
    """Rename a topic in the model file: the locked write path of `topics label` (lock, load, change, save)."""
    from .model import load_for_update, save_model
    from .store import lock_model

    t = _topic_id(live.get().model, topic_value)
    with lock_model(live.path):  # another writer (topics add, label) waits for us, or we for it
        model, stamp = load_for_update(live.path, key=live.key)
        model.rename_topic(t, name)
        save_model(model, live.path, force=True, key=live.key, replacing=stamp)
    snapshot = live.reload(wait=True)  # answer from the file just written, so the next read sees the name
    return snapshot.summary(10, 10)[t].to_dict()


def openapi(request: Request):
    from starlette.responses import FileResponse

    return FileResponse(WEB / "openapi.json", media_type="application/json")


def index(request: Request):
    from starlette.responses import FileResponse

    return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-cache"})


# -- errors and the app ---------------------------------------------------------------------------------
def _json(doc, status_code: int = 200):
    from starlette.responses import JSONResponse

    return JSONResponse(doc, status_code=status_code)


def _error(status: int, message: str):
    return _json({"error": message}, status_code=status)


async def _topics_error(request: Request, exc: TopicsError):
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else 400
    return _error(status, str(exc))  # 400: a bad parameter, an empty or unusable text, a date range with no days


async def _http_error(request: Request, exc):
    message = exc.detail if exc.status_code != 404 else f"nothing at {request.url.path}"
    return _error(exc.status_code, message)


class CatchAll:
    """ASGI middleware: any other exception is logged with its traceback and answered with a one-line 500.

    (Starlette's own 500 handler would re-raise it to the server, which logs it a second time.)"""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        started = False

        async def send_and_note(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception:
            logger.exception("%s %s failed", scope.get("method"), scope.get("path"))
            if scope["type"] != "http" or started:
                raise
            await _error(500, "internal error; the server log has the details")(scope, receive, send)


class Guard:
    """ASGI middleware: the bearer token (when one is set) for /api/, and, on a loopback server, only
    loopback Host names, so a web page cannot reach the API through DNS rebinding. Static files are open:
    they hold no data, and the web app asks for the token when the API wants one."""

    def __init__(self, app, *, token: str | None, loopback_only: bool):
        self.app, self.token, self.loopback_only = app, token, loopback_only

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            problem = None
            if self.loopback_only and _host_name(headers.get("host", "")) not in LOOPBACK_NAMES:
                problem = (403, "this server answers only to localhost, 127.0.0.1 and [::1]")
            elif self.token is not None and scope["path"].startswith("/api/"):
                given = headers.get("authorization", "")
                if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                    problem = (401, "this server needs its token: send Authorization: Bearer <token>")
            if problem is not None:
                response = _error(*problem)
                if problem[0] == 401:
                    response.headers["WWW-Authenticate"] = "Bearer"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


LOOPBACK_NAMES = {"localhost", "127.0.0.1", "[::1]", "::1"}


def _host_name(host: str) -> str:
    """The Host header without its port: "127.0.0.1:8000" -> "127.0.0.1", "[::1]:8000" -> "[::1]"."""
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class SecurityHeaders:
    """ASGI middleware: the page runs only its own script and styles, and nothing is sniffed or framed."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
    )

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def create_app(
    path,
    *,
    key: bytes | None = None,
    allow_edits: bool = False,
    token: str | None = None,
    loopback_only: bool = True,
    check_interval: float = CHECK_INTERVAL,
):
    """The ASGI app serving the model at ``path`` (loaded now, memory-mapped; ModelFileError if it cannot be).

    ``key``: the signing key (also used to sign what an edit saves); ``allow_edits``: accept
    ``POST /api/topics/{id}/label``; ``token``: require ``Authorization: Bearer <token>`` on /api/;
    ``loopback_only``: answer only requests addressed to a loopback name (for a server bound to loopback).
    """
    try:
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException
        from starlette.middleware import Middleware
        from starlette.routing import Mount, Route
        from starlette.staticfiles import StaticFiles
    except ImportError as exc:
        raise MissingExtraError(
            "topics serve needs Starlette and uvicorn", extra="serve", module=exc.name or "starlette"
        ) from None
    if token is not None and not token:
        raise ParameterError("token='' is not allowed; use None for no token or a non-empty string")
    live = LiveModel(path, key=key, check_interval=check_interval)
    load_kernels()  # numba's import and machine code now, not in the second request
    routes = [
        Route("/", index),
        Route("/api/similar", similar),
        Route("/api/topics", topic_list),
        Route("/api/topics/{topic}", topic),
        Route("/api/topics/{topic}/label", label, methods=["POST"]),
        Route("/api/articles/{article:path}", article),
        Route("/api/trends", trends),
        Route("/api/map", topic_map),
        Route("/api/model", model_info),
        Route("/api/openapi.json", openapi),
        Mount("/static", StaticFiles(directory=WEB)),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(CatchAll),
        Middleware(Guard, token=token, loopback_only=loopback_only),
    ]

    @contextlib.asynccontextmanager
    async def watching(app):  # while the server runs, a thread looks at the model file
        stop = threading.Event()
        threading.Thread(target=live.watch, args=(stop,), name="topics-watch", daemon=True).start()
        try:
            yield
        finally:
            stop.set()

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={TopicsError: _topics_error, HTTPException: _http_error},
        lifespan=watching,
    )
    app.state.live, app.state.allow_edits = live, allow_edits
    return app
