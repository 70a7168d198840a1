"""topics: what a news archive is about, and which articles are alike.

TF-IDF vectors feed an NMF topic model and an exact nearest-neighbour index; fitted models are saved
with joblib and answer similar-article and topic-summary queries without the original corpus.

>>> import topics
>>> model = topics.fit("data/sample", random_state=0)          # doctest: +SKIP
>>> model.similar(text="Putin visits New Delhi", k=3)          # doctest: +SKIP
>>> model.save("models/default.joblib")                        # doctest: +SKIP
>>> topics.load("models/default.joblib").topics(n_words=8)     # doctest: +SKIP

The same on six texts in memory (this part runs as a doctest; min_df=1 and max_df=1.0 because the
defaults are chosen for archives of hundreds of articles):

>>> texts = ["The central bank raised interest rates to fight inflation.",
...          "Inflation and interest rates worry the central bank again.",
...          "The football team won the cup final after extra time.",
...          "Fans cheered as the football team lifted the cup.",
...          "Rates rise: the bank warns inflation will stay high.",
...          "A late goal won the final for the football club."]
>>> model = topics.fit(texts, n_topics=2, min_df=1, max_df=1.0, random_state=0)
>>> [hit.id for hit in model.similar(id="0", k=2)]             # never article "0" itself
['1', '4']
>>> sorted(topic.words[0] for topic in model.topics(n_words=3))
['bank', 'football']
"""

import importlib

from .errors import (
    CorpusError,
    MissingExtraError,
    ModelFileError,
    NotFittedError,
    ParameterError,
    QueryError,
    TopicsError,
    TopicsWarning,
)
from .version import __version__

# The public names of the modules below, imported on first use (PEP 562): a command that reads only a
# file's footer, or queries a model, does not pay for the modules of fitting, growing and editing.
_LAZY = {
    "corpus": ("Article", "Corpus", "ReadStats", "read_corpus"),
    "edit": ("EditReport",),
    "explain": ("Explanation",),
    "explore": ("TopicsBy", "WordsOverTime"),
    "incremental": ("AddReport", "RefitReport"),
    "model": ("DuplicateGroup", "Hit", "TopicModel", "fit", "load_model"),
    "summary": ("ArticleView", "Summary", "Topic"),
    "topic_space": ("TopicMap", "TopicTree"),
    "trends": ("Trends",),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_MODULE_OF})


def load(path, *, key=None, mmap=True):
    """Open a model saved with :meth:`TopicModel.save` (see :func:`topics.store.load_state`)."""
    from .model import load_model

    return load_model(path, key=key, mmap=mmap)


__all__ = [
    "Article",
    "Corpus",
    "ReadStats",
    "read_corpus",
    "TopicModel",
    "fit",
    "load",
    # what TopicModel's methods return
    "Hit",
    "Topic",
    "Summary",
    "ArticleView",
    "Trends",
    "TopicsBy",
    "TopicTree",
    "TopicMap",
    "WordsOverTime",
    "Explanation",
    "DuplicateGroup",
    "AddReport",
    "RefitReport",
    "EditReport",
    "TopicsError",
    "CorpusError",
    "ParameterError",
    "ModelFileError",
    "QueryError",
    "NotFittedError",
    "MissingExtraError",
    "TopicsWarning",
    "__version__",
]
