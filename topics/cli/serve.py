"""`topics serve`: the JSON API and the web app of :mod:`topics.serve`, run by uvicorn."""

from __future__ import annotations

import contextlib
import copy
import functools
import ipaddress
import logging
import socket
import sys
from pathlib import Path

import click

from ._base import cli
from .options import key_option, model_option


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach (localhost, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.UsageError(f"cannot read the token file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not token or any(c.isspace() for c in token):
        raise click.UsageError(f"the token file {path} must hold one token (no spaces)")
    return token


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (port 0: any free one), for uvicorn to listen on.

    Made with protocol IPPROTO_TCP, as asyncio's own sockets are: asyncio sets TCP_NODELAY only on
    connections accepted from such a socket. Without it, Nagle's algorithm holds a response's body
    (written after its headers) until the client acknowledges the headers, which a client that keeps
    its connection open does after its delayed-ACK timeout (40 ms on Linux).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


@cli.command()
@model_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; any but a loopback address needs --token-file.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port; the address is printed).",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Require 'Authorization: Bearer TOKEN' on the API, TOKEN read from this file.",
)
@click.option("--allow-edits", is_flag=True, help="Accept renaming topics (POST /api/topics/ID/label).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes sharing the port, each mapping the same model file; one per core answers "
    "concurrent clients sooner.",
)
@key_option
def serve(model_path, host, port, token_file, allow_edits, workers, key_file):
    """Serve a web app and a JSON API over the model, until Ctrl-C.

    The model file is loaded once, memory-mapped, and again whenever a save replaces it (`topics add`,
    `fit --force`, `label`), without a restart. Read-only unless --allow-edits. The API is described at
    /api/openapi.json. With --workers N, N processes answer on the same port; the model's arrays are
    mapped from the file, so they share its pages, and each worker reloads a replaced file on its own.

    \b
    Example:
      topics serve                            # http://127.0.0.1:8000/
      curl 'http://127.0.0.1:8000/api/similar?text=bushfire+near+Sydney&k=3'
      topics serve --workers 2                # one process per core, for many clients at once
      topics serve --host 0.0.0.0 --token-file token.txt --allow-edits
    """
    from .. import load
    from ..errors import MissingExtraError
    from ..serve import create_app

    try:
        import starlette.applications  # noqa: F401  (create_app imports it too; checked here before any worker)
        import uvicorn
    except ImportError as exc:
        raise MissingExtraError(
            "topics serve needs Starlette and uvicorn", extra="serve", module=exc.name or "uvicorn"
        ) from None
    from ..store import resolve_key

    loopback = is_loopback(host)
    if not loopback and token_file is None:
        raise click.UsageError(
            f"--host {host} is reachable from other machines: give --token-file too (or keep the default, 127.0.0.1)"
        )
    token = read_token(token_file) if token_file is not None else None
    key = resolve_key(key_file)
    make_app = functools.partial(
        create_app, model_path, key=key, allow_edits=allow_edits, token=token, loopback_only=loopback
    )
    if workers == 1:
        app = make_app()
    else:  # the workers load it; a file that will not load is a one-line error here, before any worker starts
        load(model_path, key=key)
    sock = listening_socket(host, port)
    shown = f"[{host}]" if sock.family == socket.AF_INET6 else host
    mode = "edits allowed" if allow_edits else "read-only"
    processes = f", {workers} workers" if workers > 1 else ""
    click.echo(f"Serving {model_path} ({mode}{processes}) at http://{shown}:{sock.getsockname()[1]}/  (Ctrl-C stops)")
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)  # our log lines (reloads, errors) as uvicorn's
    log_config["loggers"]["topics"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    options = {"log_config": log_config, "access_log": False, "timeout_graceful_shutdown": 5}
    # uvicorn shuts down cleanly on Ctrl-C or SIGTERM, then hands the signal back
    with contextlib.suppress(KeyboardInterrupt):
        if workers == 1:
            uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])
        else:  # spawned, not forked: numba's threads and compiled code do not survive a fork
            from uvicorn.supervisors import Multiprocess

            config = uvicorn.Config(functools.partial(worker_app, make_app), factory=True, workers=workers, **options)
            Multiprocess(config, sockets=[sock]).run()


def worker_app(make_app):
    """The app of one worker process; a model that no longer loads stops the worker as failing to start
    (uvicorn then stops the server rather than starting the worker again and again)."""
    from uvicorn.config import STARTUP_FAILURE

    from ..errors import TopicsError

    try:
        return make_app()
    except TopicsError as exc:
        logging.getLogger("topics.serve").error("cannot start a worker: %s", exc)
        sys.exit(STARTUP_FAILURE)
