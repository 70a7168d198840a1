"""The exceptions and warnings `topics` raises.

Every error a user can cause (a bad corpus, a bad parameter, a damaged model file, a query that
cannot be answered) is a :class:`TopicsError`; the CLI turns it into one line on stderr and exit
code 2. Anything else escaping the library is a bug.
"""

import functools


class TopicsError(Exception):
    """Base class for errors caused by the user's input, not by a bug."""


class CorpusError(TopicsError):
    """The corpus cannot be read, or reading it gave no usable articles."""


class ParameterError(TopicsError, ValueError):
    """A parameter has a value outside what is allowed."""


class ModelFileError(TopicsError):
    """A model file is missing, damaged, of the wrong kind, or would be overwritten."""


class QueryError(TopicsError):
    """A query cannot be answered: unknown article id, empty text, and so on."""


class NotFittedError(TopicsError):
    """A method that needs a fitted model was called before `fit`."""


class MissingExtraError(TopicsError, ImportError):
    """An optional extra (matplotlib, pandas, Dask) is not installed; the message ends with the pip
    command that installs it.

    ``extra`` is the extra's name (``"plot"``, ``"pandas"``, ``"dask"``) and ``name``, as for any
    ImportError, the module that could not be imported. Being an ImportError, it is caught where code
    already guards an optional import.
    """

    def __init__(self, what: str, *, extra: str, module: str):
        super().__init__(f"{what}: pip install 'topics[{extra}]'", name=module)
        self.what = what
        self.extra = extra

    def __reduce__(self):  # keyword-only arguments: rebuild from the parts, so it crosses processes
        return functools.partial(type(self), extra=self.extra, module=self.name), (self.what,)


class TopicsWarning(UserWarning):
    """Something was not as expected but work went on (for example, a latin-1 fallback)."""
