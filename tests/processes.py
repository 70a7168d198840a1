"""Helpers for tests that start real `topics` processes: the command, its environment, and files to watch."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def env() -> dict:
    """The test's environment without a model key, so every process reads and writes unsigned files."""
    e = dict(os.environ)
    e.pop("TOPICS_MODEL_KEY", None)
    return e


def topics_cmd(*args) -> list:
    return [sys.executable, "-m", "topics.cli", *map(str, args)]


def start(cwd, *args) -> subprocess.Popen:
    """`topics ARGS` started in ``cwd``, its output captured as text."""
    return popen(cwd, topics_cmd(*args))


def start_python(cwd, code: str, *args) -> subprocess.Popen:
    """``python -c CODE ARGS`` started in ``cwd``, its output captured as text."""
    return popen(cwd, [sys.executable, "-c", code, *map(str, args)])


def popen(cwd, command) -> subprocess.Popen:
    # Tests send Ctrl-C themselves. A shell starts a background job (`pytest ... &`) with SIGINT ignored, and
    # a process that inherits an ignored SIGINT keeps ignoring it: give the child the default back then.
    inherited_ignore = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint if inherited_ignore else None,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def finish(process, timeout=120):
    """(exit code, stdout, stderr) of a started process; it is killed if it outlives ``timeout``."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return process.returncode, stdout, stderr


def run(cwd, *args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(topics_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=120, env=env())
    if check:
        assert result.returncode == 0, result.stderr
    return result


def write_jsonl(path: Path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def temp_files(folder: Path) -> list:
    """Names of the temporary files a save leaves in ``folder`` (none once every save has finished)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def fifo_fed_then_signalled(process, fifo: Path, records, sig):
    """Write ``records`` into ``fifo`` (which the process reads as its corpus), send ``sig`` while the
    process still holds the pipe open, and return (exit code, stdout, stderr)."""
    try:
        with open(fifo, "w", encoding="utf-8") as writer:  # blocks until the process opens the corpus
            writer.write("".join(json.dumps(r) + "\n" for r in records))
            writer.flush()
            time.sleep(0.2)  # not needed for correctness: the reader is inside the fit either way
            process.send_signal(sig)
            return finish(process, 60)
    finally:
        process.kill()


def signal_once_saving(process, folder: Path, sig) -> bool:
    """Send ``sig`` as soon as a temporary file of a save appears in ``folder``; False when the process
    had already finished (the save won the race)."""
    deadline = time.monotonic() + 90
    while process.poll() is None and not temp_files(folder) and time.monotonic() < deadline:
        time.sleep(0.0005)
    if process.poll() is not None:
        return False
    process.send_signal(sig)
    return True
