"""Running independent chunks of work on all cores (or, later, on a Dask cluster).

Every parallel stage of `topics` (reading, vectorising, transforming, building the index) goes through
:func:`map_chunks`, so where the work runs is decided in one place. Work is shipped as module-level
functions (``functools.partial`` over them, never lambdas) so it pickles to worker processes.
"""

from __future__ import annotations

import os


def default_n_jobs() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def map_chunks(func, chunks, *, n_jobs: int | None = None) -> list:
    """``[func(chunk) for chunk in chunks]``, in order, run in parallel with joblib when it pays off.

    n_jobs : int or None, default=None
        Worker processes; None uses every core, 1 runs in this process.
    """
    chunks = list(chunks)
    n_jobs = default_n_jobs() if n_jobs is None else n_jobs
    if n_jobs == 1 or len(chunks) <= 1:
        return [func(chunk) for chunk in chunks]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=min(n_jobs, len(chunks)))(delayed(func)(chunk) for chunk in chunks)
