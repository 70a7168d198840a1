"""Whether the compiled loops of :mod:`topics.kernels` (numba) are in use: one switch for every module that has
a compiled and a numpy path."""

from __future__ import annotations

import os


def compiled_kernels():
    """:mod:`topics.kernels` when numba is installed and ``TOPICS_KERNELS`` is not "0", else None."""
    if os.environ.get("TOPICS_KERNELS") == "0":
        return None
    try:
        from . import kernels
    except ImportError:
        return None
    return kernels
