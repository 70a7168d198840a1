"""The `topics` command line: parse arguments, call one library function, format the answer.

Each command lives in a module of this package and registers itself on the group in `_base`; this is
the only package that prints. Library errors become one line on stderr with exit code 2.
"""

import importlib.util
import signal
import sys

# Ctrl-C and SIGTERM must reach the main thread. A signal the kernel hands to another thread leaves the main
# thread blocked in a read of a pipe (a corpus on stdin or in a FIFO) until more data comes. numpy's BLAS
# starts its worker thread as numpy is imported, and a thread keeps the signal mask of the thread that made
# it: with both signals blocked meanwhile, only the main thread takes them (one that came meanwhile is
# delivered as the mask is restored).
_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
try:
    import numpy  # noqa: F401
finally:
    signal.pthread_sigmask(signal.SIG_SETMASK, _mask)


def _deferred(name: str) -> None:
    """Make module ``name`` load on first use rather than now (importlib's LazyLoader), unless it is loaded.

    scipy.sparse's array-API layer lists every attribute of numpy, which imports ``numpy.f2py`` and
    ``numpy.testing`` (a hundred modules, a tenth of a second of every command) that nothing here uses.
    A deferred module is the same module once anything reads from it.
    """
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)


for _name in ("numpy.f2py", "numpy.testing"):
    _deferred(_name)

from . import _base, describe, edit, evaluate, explore, fit, grow, query, serve, similarity, story  # noqa: E402, F401  (register the commands)
from ._base import cli  # noqa: E402


def main():
    _base._own_process = True
    cli.main()


__all__ = ["cli", "main"]
