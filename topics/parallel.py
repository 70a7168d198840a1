"""Running independent chunks of work on all cores (or, later, on a Dask cluster).

Every parallel stage of `topics` (reading, vectorising, transforming, building the index) goes through
:func:`map_chunks`, so where the work runs is decided in one place. Work is shipped as module-level
functions (``functools.partial`` over them, never lambdas) so it pickles to worker processes.
"""

from __future__ import annotations

import itertools
import os


def default_n_jobs() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def map_chunks(func, chunks, *, n_jobs: int | None = None) -> list:
    """``[func(chunk) for chunk in chunks]``, in order, run in parallel with joblib when it pays off.

    ``chunks`` may be a lazy iterator: it is consumed only a few chunks ahead of the workers, so a
    stream of text chunks is never held in memory as a whole.

    n_jobs : int or None, default=None
        Worker processes; None uses every core, 1 runs in this process.
    """
    n_jobs = default_n_jobs() if n_jobs is None else n_jobs
    chunks = iter(chunks)
    head = list(itertools.islice(chunks, 2))
    if n_jobs == 1 or len(head) <= 1:
        return [func(chunk) for chunk in itertools.chain(head, chunks)]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs, pre_dispatch="2*n_jobs")(
        delayed(func)(chunk) for chunk in itertools.chain(head, chunks))
