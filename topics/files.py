"""Writing a file atomically: :func:`atomic_write`, the one recipe for model files, reports and charts.

The new content is written to a temporary file beside the target, synced, and then moved into place, so a
crash or Ctrl-C leaves the previous file intact and never a half-written one:

- An existing file keeps its permission bits and group (a model holds article snippets: a private 0600
  file stays private); a new one gets the usual ones (0666 less the umask).
- A symlink is followed and its target replaced, so the link stays a link.
- The temporary file is removed on any failure, including KeyboardInterrupt (and SIGTERM in the CLI). It
  is named ``.NAME.topics-HOST-PID-RANDOM.tmp``: one left by a killed process (SIGKILL, power loss) is
  removed by the next write into that folder once its process is gone.
- Without ``force`` an existing file is never replaced, even one that appears while the new one is
  written (:class:`TargetExistsError`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import socket
import stat
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

logger = logging.getLogger(__name__)

# Temporary files carry this host and process, so a later write can tell a dead process's leftovers.
_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
_TEMP_NAME = re.compile(r"\..+\.topics-(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]{1,10})-[0-9a-f]{16}\.tmp")


class TargetExistsError(FileExistsError):
    """The file exists and ``force`` was not given (raised before anything is replaced)."""


def atomic_write(
    path,
    write: Callable[[Path], object],
    *,
    force: bool = False,
    make_folders: bool = False,
    guard: Callable[[Path, os.stat_result | None], AbstractContextManager] | None = None,
) -> Path:
    """Write the file at ``path`` through ``write(tmp)``, which fills the temporary file ``tmp``; returns ``path``.

    ``force``: replace an existing file (else TargetExistsError). ``make_folders``: create missing folders
    (and remove them again if the write fails). ``guard(target, stat_before)``: a context held around the
    final check and move (a writer lock, a check that the file is still the one loaded). Errors are the
    OSError of the step that failed; the caller names what it was writing.
    """
    path = Path(path)
    target = target_of(path)
    created = missing_folders(target.parent) if make_folders else []
    tmp = None
    try:
        if make_folders:
            target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target.parent)
        existing = stat_or_none(target)
        tmp = target.parent / f".{target.name}.topics-{_HOST}-{os.getpid()}-{secrets.token_hex(8)}.tmp"
        try:  # private while written when it replaces a file; else the usual permissions (mkstemp's are 0600)
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if existing else 0o666))
        except FileExistsError:
            tmp = None  # 64 random bits clashed: that file is not ours to remove
            raise
        write(tmp)
        _sync(tmp)
        with guard(target, existing) if guard is not None else nullcontext():
            existing = stat_or_none(target)
            if existing is not None:
                _copy_permissions(existing, tmp)
            _publish(tmp, target, force=force, shown=path)
        created = []
    finally:  # also on KeyboardInterrupt (and SIGTERM in the CLI): never leave a temporary file behind
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        for folder in created:  # deepest first: a failed write leaves no new empty folders
            try:
                folder.rmdir()
            except OSError:
                break
    return path


def target_of(path: Path) -> Path:
    """The file a write replaces: ``path`` itself, or the end of its chain of symlinks."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def missing_folders(folder: Path) -> list:
    """The folders a write into ``folder`` would create, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def stat_or_none(path: Path):
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _sync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _copy_permissions(existing: os.stat_result, tmp: Path) -> None:
    if existing.st_gid != os.stat(tmp).st_gid:
        with contextlib.suppress(OSError):  # not a member of that group: the mode below still applies
            os.chown(tmp, -1, existing.st_gid)
    os.chmod(tmp, stat.S_IMODE(existing.st_mode))


def remove_stale_temporaries(folder: Path) -> None:
    """Remove temporary files of writes into ``folder`` whose process (on this host) no longer runs."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _TEMP_NAME.fullmatch(entry.name)
        if match and match["host"] == _HOST and not _process_alive(int(match["pid"])):
            try:
                os.unlink(entry.path)
                logger.info("removed %s, left by a write that was killed", entry.path)
            except OSError:
                pass


def _process_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows os.kill would end the process: never guess there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: alive, another user's
        return True
    return True


def _publish(tmp: Path, path: Path, *, force: bool, shown: Path) -> None:
    if force:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)  # fails if the target appeared meanwhile: never overwrite silently
        except FileExistsError:
            raise TargetExistsError(f"{shown} already exists") from None
        except OSError:  # file systems without hard links
            if path.exists():
                raise TargetExistsError(f"{shown} already exists") from None
            os.replace(tmp, path)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # directory fsync is not possible everywhere; the rename itself is still atomic
