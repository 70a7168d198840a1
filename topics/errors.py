"""The exceptions and warnings `topics` raises.

Every error a user can cause (a bad corpus, a bad parameter, a damaged model file, a query that
cannot be answered) is a :class:`TopicsError`; the CLI turns it into one line on stderr and exit
code 2. Anything else escaping the library is a bug.
"""


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


class TopicsWarning(UserWarning):
    """Something was not as expected but work went on (for example, a latin-1 fallback)."""
