"""The shared parts of the command line: the group, its one-line errors, formatting.

This is the only module that prints. Library errors (:class:`topics.TopicsError`) and usage errors
become one line on stderr and exit code 2; ``--debug`` shows the traceback instead. Ctrl-C exits 130
and SIGTERM 143, and, because saving is atomic, either leaves any existing model as it was.

Commands that change a saved model (add, refit, label) open it with :func:`update_model`, which holds
the model's writer lock from loading to saving, so concurrent changes queue instead of being lost.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import click

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process that SIGTERM ended


# Set by the console script (`topics.cli.main`), not by in-process callers such as click's test runner,
# whose own Ctrl-C handling must stay as it was.
_own_process = False


def finish_without_interrupts():
    """Ignore Ctrl-C from here on, in the `topics` process only: the command's result is written (or the
    command is done), so Ctrl-C can no longer stop anything. Without this, Ctrl-C after "Saved ..." said
    "nothing was written" about a model that was, or hit the interpreter's teardown with a traceback."""
    if _own_process:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, like Ctrl-C: temporary files are removed on the way out."""


def _terminate(signum, frame):
    raise Terminated()


def save(model, path, *, force: bool, key: bytes | None, replacing=None) -> None:
    """Save the model atomically. A Ctrl-C that lands once the new file is in place (while the save
    syncs its folder, say) no longer stops the command: it would report that nothing was written."""
    before = _file_identity(path)
    try:
        if replacing is None:
            model.save(path, force=force, key=key)
        else:
            from ..model import save_model

            save_model(model, path, force=force, key=key, replacing=replacing)
        finish_without_interrupts()
    except KeyboardInterrupt:
        if _file_identity(path) == before:
            raise
        finish_without_interrupts()


def _file_identity(path):
    """What changes when a save replaces the file: the rename or link brings another inode."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


class ModelUpdate:
    """A model opened to be changed and saved again in place: see :func:`update_model`."""

    def __init__(self, model, path: Path, key: bytes | None, stamp):
        self.model, self.path, self.key, self._stamp = model, path, key, stamp

    def save(self) -> None:
        """Save the changed model over the file it came from (signed again with the same key)."""
        save(self.model, self.path, force=True, key=self.key, replacing=self._stamp)


@contextmanager
def update_model(model_path: Path, key_file):
    """Open the model at ``model_path`` to change it, holding its writer lock until the block ends.

    Another command changing the same model waits (and says so on stderr); readers never wait. A signed
    model needs its key, or its signature would be dropped. Call ``.save()`` on what this yields.
    """
    from ..model import load_for_update
    from ..store import lock_model, resolve_key

    key = resolve_key(key_file)

    def waiting():
        click.echo(f"topics: waiting for another command to finish changing {model_path}", err=True)

    with lock_model(model_path, on_wait=waiting):
        model, stamp = load_for_update(model_path, key=key)
        yield ModelUpdate(model, model_path, key, stamp)


class _Interrupted(Exception):
    """Ctrl-C or SIGTERM, carried past click's own handler (which would print a stray blank line first)."""

    def __init__(self, terminated: bool = False):
        super().__init__()
        self.terminated = terminated


class TopicsGroup(click.Group):
    """A click group whose errors are one line on stderr with exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise _Interrupted(isinstance(exc, Terminated)) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from ..errors import TopicsError

        args = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in args
        if _own_process:  # SIGTERM (kill, systemd, docker stop) ends the command as cleanly as Ctrl-C
            signal.signal(signal.SIGTERM, _terminate)
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning  # one plain line, not file:line plus source
                result = super().main(
                    args=args,
                    prog_name=prog_name or "topics",
                    complete_var=complete_var,
                    standalone_mode=False,
                    **extra,
                )
        except TopicsError as exc:
            if debug:
                raise
            _fail(str(exc))
        except click.exceptions.Abort as exc:  # click's own handler caught it (outside a command)
            if isinstance(exc.__cause__, Terminated):
                _fail("terminated; nothing was written", EXIT_TERMINATED)
            _fail("interrupted; nothing was written", EXIT_INTERRUPTED)
        except (KeyboardInterrupt, _Interrupted) as exc:
            if debug:
                raise
            if isinstance(exc, Terminated) or getattr(exc, "terminated", False):
                _fail("terminated; nothing was written", EXIT_TERMINATED)
            _fail("interrupted; nothing was written", EXIT_INTERRUPTED)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except BrokenPipeError:  # `topics ... | head`
            sys.stderr.close()
            sys.exit(0)
        finish_without_interrupts()
        sys.exit(result if isinstance(result, int) else 0)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"topics: warning: {message}", err=True)


def _fail(message: str, code: int = EXIT_USAGE):
    click.echo(f"topics: error: {message}", err=True)
    sys.exit(code)


class ShareOrCount(click.ParamType):
    """An article count (``2``) or a share of the articles (``0.5``), as for min_df/max_df."""

    name = "COUNT|SHARE"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return value
        try:
            return int(value)
        except ValueError:
            pass
        try:
            return float(value)
        except ValueError:
            self.fail(f"{value!r} is neither an article count nor a share such as 0.5", param, ctx)


class TopicCount(click.ParamType):
    """A number of topics >= 1, or ``auto``."""

    name = "K|auto"

    def convert(self, value, param, ctx):
        if value == "auto" or (isinstance(value, int) and value >= 1):
            return value
        try:
            k = int(value)
        except ValueError:
            self.fail(f"{value!r} is neither a number of topics nor 'auto'", param, ctx)
        if k < 1:
            self.fail(f"{k} is not in the range x>=1.", param, ctx)
        return k


def open_model(model_path: Path, key_file):
    from .. import load
    from ..store import resolve_key

    return load(model_path, key=resolve_key(key_file))


@click.group(cls=TopicsGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="topics", prog_name="topics")
def cli(debug):
    """Find what a news archive is about and which articles are alike.

    \b
    Example:
      topics fit data/sample                  # learn topics, save models/default.joblib
      topics similar lee-bg-000 --top 5       # articles like a stored one
      topics similar --text "bushfire near Sydney"
      topics summary --words 8                # what each topic is about
    """


# -- formatting helpers ---------------------------------------------------------------------------------
def table(headers, rows) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in [headers, *rows])


def echo_json(doc):
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2))


def write_csv(headers, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    click.echo(buffer.getvalue(), nl=False)


def shorten(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def human_size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"
