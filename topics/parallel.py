"""Running independent chunks of work on all cores, or on a Dask cluster.

Every parallel stage of `topics` (reading, vectorising, transforming, building the index) goes through
:func:`map_chunks`, so where the work runs is decided in one place. Work is shipped as module-level
functions (``functools.partial`` over them, never lambdas) so it pickles to worker processes.

Dask: inside ``with use_scheduler("tcp://host:8786"):`` (or ``"local:4"`` for a local cluster of four
worker processes) :func:`map_chunks` sends its chunks to the cluster through joblib's Dask backend.
Nothing else changes: the same inputs give the same results, only where they are computed differs.
Dask is an optional extra (``pip install "topics[dask]"``) imported only when a scheduler is used.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import warnings

from .errors import ParameterError

_LOCAL = re.compile(r"local(?::(\d+))?$")
_active: list = []  # the clients of the enclosing use_scheduler blocks, innermost last


def default_n_jobs() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def map_chunks(func, chunks, *, n_jobs: int | None = None, scheduler=None) -> list:
    """``[func(chunk) for chunk in chunks]``, in order, run in parallel with joblib when it pays off.

    ``chunks`` may be a lazy iterator: it is consumed only a few chunks ahead of the workers, so a
    stream of text chunks is never held in memory as a whole.

    n_jobs : int or None, default=None
        Worker processes; None uses every core, 1 runs in this process. Ignored on a Dask cluster.
    scheduler : str, distributed.Client or None, default=None
        Run the chunks on this Dask cluster (see :func:`use_scheduler`); None uses the one of an
        enclosing ``use_scheduler`` block, if any, else local processes.
    """
    if scheduler is not None:
        with use_scheduler(scheduler):
            return map_chunks(func, chunks, n_jobs=n_jobs)
    from joblib import Parallel, delayed

    chunks = iter(chunks)
    head = list(itertools.islice(chunks, 2))
    work = itertools.chain(head, chunks)
    if _active and head:
        import joblib

        with joblib.parallel_config(backend="dask"), warnings.catch_warnings():
            # The work (a partial holding, say, the vocabulary) is shipped once per chunk on purpose.
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            return Parallel()(delayed(func)(chunk) for chunk in work)
    n_jobs = default_n_jobs() if n_jobs is None else n_jobs
    if n_jobs == 1 or len(head) <= 1:
        return [func(chunk) for chunk in work]
    return Parallel(n_jobs=n_jobs, pre_dispatch="2*n_jobs")(delayed(func)(chunk) for chunk in work)


def n_workers() -> int:
    """How many workers run chunks now: the Dask cluster's inside :func:`use_scheduler`, else the cores."""
    if _active:
        return max(1, len(_active[-1].scheduler_info().get("workers", {})))
    return default_n_jobs()


@contextlib.contextmanager
def use_scheduler(scheduler):
    """Within the block, :func:`map_chunks` runs on a Dask cluster; yields the ``distributed.Client``.

    scheduler : str or distributed.Client or None
        ``"tcp://host:8786"`` (any address ``distributed.Client`` accepts) connects to a running
        cluster; ``"local"`` or ``"local:N"`` starts a local cluster of N worker processes (default:
        one per core) for the block; a Client is used as it is; None changes nothing.
    """
    if scheduler is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        from .errors import MissingExtraError

        raise MissingExtraError(f"scheduler={scheduler!r} needs Dask", extra="dask", module="distributed") from None
    with contextlib.ExitStack() as stack:
        if isinstance(scheduler, Client):
            client = scheduler
        elif isinstance(scheduler, str):
            client = stack.enter_context(_client(scheduler, Client, LocalCluster))
        else:
            raise ParameterError(
                f"scheduler={scheduler!r} is not allowed; use an address such as "
                "tcp://host:8786, local:N or a distributed.Client"
            )
        _active.append(client)
        try:
            yield client
        finally:
            _active.pop()


@contextlib.contextmanager
def _client(address: str, Client, LocalCluster):
    local = _LOCAL.match(address.strip())
    if local and local.group(1) is not None and int(local.group(1)) < 1:
        raise ParameterError(f"scheduler={address!r} is not allowed; local:N needs N >= 1")
    if local:
        n = int(local.group(1)) if local.group(1) else default_n_jobs()
        with (
            LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(address, timeout="10s")
    except OSError as exc:
        raise ParameterError(f"scheduler={address!r}: cannot reach a Dask scheduler there ({exc})") from None
    with client:
        yield client


def row_chunks(n_rows: int, *, min_rows: int = 20_000) -> list[tuple[int, int]]:
    """``(start, stop)`` bounds splitting n_rows into one chunk per worker, each of at least ``min_rows``
    rows when working locally (smaller work is not worth shipping); on a Dask cluster, two per worker."""
    parts = 2 * n_workers() if _active else min(n_workers(), max(1, n_rows // max(1, min_rows)))
    parts = max(1, min(parts, n_rows))
    bounds = [round(i * n_rows / parts) for i in range(parts + 1)]
    return list(itertools.pairwise(bounds))
