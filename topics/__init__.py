"""topics: what a news archive is about, and which articles are alike.

TF-IDF vectors feed an NMF topic model and an exact nearest-neighbour index; fitted models are saved
with joblib and answer similar-article and topic-summary queries without the original corpus.

>>> import topics
>>> model = topics.fit("data/sample", random_state=0)          # doctest: +SKIP
>>> model.similar(text="Putin visits New Delhi", k=3)          # doctest: +SKIP
>>> model.save("models/default.joblib")                        # doctest: +SKIP
>>> topics.load("models/default.joblib").topics(n_words=8)     # doctest: +SKIP
"""

__version__ = "0.1.0"

from .corpus import Article, Corpus, ReadStats, read_corpus
from .errors import CorpusError, ModelFileError, NotFittedError, ParameterError, QueryError, TopicsError, TopicsWarning
from .explain import Explanation
from .model import DuplicateGroup, Hit, Topic, TopicModel, fit


def load(path, *, key=None, mmap=True) -> TopicModel:
    """Open a model saved with :meth:`TopicModel.save` (see :func:`topics.store.load_model`)."""
    from .store import load_model

    return load_model(path, key=key, mmap=mmap)


__all__ = [
    "Article", "Corpus", "ReadStats", "read_corpus",
    "TopicModel", "Hit", "Topic", "Explanation", "DuplicateGroup", "fit", "load",
    "TopicsError", "CorpusError", "ParameterError", "ModelFileError", "QueryError", "NotFittedError",
    "TopicsWarning", "__version__",
]
