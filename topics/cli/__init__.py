"""The `topics` command line: parse arguments, call one library function, format the answer.

Each command lives in a module of this package and registers itself on the group in `_base`; this is
the only package that prints. Library errors become one line on stderr with exit code 2.
"""

from . import _base, describe, edit, evaluate, explore, fit, grow, query, serve, similarity, story  # noqa: F401  (register the commands)
from ._base import cli


def main():
    _base._own_process = True
    cli.main()


__all__ = ["cli", "main"]
