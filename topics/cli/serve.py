"""`topics serve`: the JSON API and the web app of :mod:`topics.serve`, run by uvicorn."""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import socket
from pathlib import Path

import click

from ._base import cli, key_option, model_option


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
@key_option
def serve(model_path, host, port, token_file, allow_edits, key_file):
    """Serve a web app and a JSON API over the model, until Ctrl-C.

    The model file is loaded once, memory-mapped, and again whenever a save replaces it (`topics add`,
    `fit --force`, `label`), without a restart. Read-only unless --allow-edits. The API is described at
    /api/openapi.json.

    \b
    Example:
      topics serve                            # http://127.0.0.1:8000/
      curl 'http://127.0.0.1:8000/api/similar?text=bushfire+near+Sydney&k=3'
      topics serve --host 0.0.0.0 --token-file token.txt --allow-edits
    """
    from ..errors import MissingExtraError
    from ..serve import create_app

    try:
        import uvicorn
    except ImportError:
        raise MissingExtraError("topics serve needs Starlette and uvicorn", extra="serve", module="uvicorn") from None
    from ..store import resolve_key

    loopback = is_loopback(host)
    if not loopback and token_file is None:
        raise click.UsageError(
            f"--host {host} is reachable from other machines: give --token-file too (or keep the default, 127.0.0.1)"
        )
    token = read_token(token_file) if token_file is not None else None
    app = create_app(
        model_path, key=resolve_key(key_file), allow_edits=allow_edits, token=token, loopback_only=loopback
    )
    sock = listening_socket(host, port)
    shown = f"[{host}]" if sock.family == socket.AF_INET6 else host
    mode = "edits allowed" if allow_edits else "read-only"
    click.echo(f"Serving {model_path} ({mode}) at http://{shown}:{sock.getsockname()[1]}/  (Ctrl-C stops)")
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)  # our log lines (reloads, errors) as uvicorn's
    log_config["loggers"]["topics"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    server = uvicorn.Server(uvicorn.Config(app, log_config=log_config, access_log=False, timeout_graceful_shutdown=5))
    # uvicorn shuts down cleanly on Ctrl-C or SIGTERM, then hands the signal back
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
