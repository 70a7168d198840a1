"""Word forms for search: the words of the search vocabulary grouped by their Snowball stem.

A searcher types "storms" and the article says "storm" and "stormed": the same word in other forms.
Topics keep words as written (labels show real words, and the vocabulary is what NMF was fitted on),
but a text query also counts each of its words by its *form*, every word of the search vocabulary with
the same stem (:mod:`topics.index` defines the score; ``benchmarks/search_scoring.py`` measured it). The
stems come from the Snowball algorithms (PyStemmer, the C build of them) of the archive's one language;
an archive of several languages, or of a language without a Snowball stemmer, has no forms.

The groups are computed from the vocabulary when a text query first needs them (a C stemmer does some
hundred thousand words in a tenth of a second), not saved: a model file stays as it was.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

logger = logging.getLogger(__name__)

# ISO 639-1 codes of the stop-word languages (topics.language) and the Snowball stemmer of each.
SNOWBALL = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}


def forms_language(languages) -> str | None:
    """The Snowball stemmer for an archive of these stop-word languages (ISO codes): the one language's, or
    None for several languages, one without a stemmer, or when PyStemmer is not installed."""
    languages = list(languages or ())
    if len(languages) != 1 or languages[0] not in SNOWBALL:
        return None
    return SNOWBALL[languages[0]] if _stemmer(SNOWBALL[languages[0]]) is not None else None


@functools.cache
def _stemmer(language: str):
    try:
        import Stemmer
    except ImportError:
        logger.warning("PyStemmer is not installed: text queries do not count word forms")
        return None
    return Stemmer.Stemmer(language) if language in Stemmer.algorithms() else None


class WordForms:
    """B's word columns (vocabulary words, then rare words; :class:`topics.state.SearchFields`) grouped by
    stem, for one fitted state.

    Parameters
    ----------
    vocabulary : ndarray of bytes (V,), sorted; phrases (with a space) are left out of every form
    rare_words : ndarray of bytes (R,), sorted; column V + i is ``rare_words[i]``
    language : str, a Snowball stemmer's name (:func:`forms_language`)
    """

    def __init__(self, vocabulary, rare_words, language: str):
        self._vocabulary, self._rare_words, self.language = vocabulary, rare_words, language
        self._stems = self._columns = None

    def _groups(self):
        """(stems, columns): the sorted stems (UTF-8 bytes) of B's word columns and those columns in the same
        order."""
        if self._stems is None:
            words = np.concatenate([np.asarray(self._vocabulary), np.asarray(self._rare_words, dtype=bytes)])
            columns = np.flatnonzero(np.char.find(words, b" ") < 0) if words.size else np.zeros(0, dtype=np.int64)
            found = self._stem([w.decode("utf-8") for w in words[columns].tolist()])
            stems = np.array([stem.encode("utf-8") for stem in found], dtype=bytes)
            order = np.argsort(stems, kind="stable")
            self._stems, self._columns = stems[order], columns[order].astype(np.int64)
        return self._stems, self._columns

    def _stem(self, words: list[str]) -> list[str]:
        """The stems of ``words``; the words themselves when the stemmer is missing (PyStemmer uninstalled
        since the fit, which warned): every form is then the one word."""
        stemmer = _stemmer(self.language)
        return stemmer.stemWords(words) if stemmer is not None else list(words)

    def of_words(self, words) -> tuple[list[tuple[str, np.ndarray]], int]:
        """The forms of ``words`` (single words, as the analyser gives them): ``(found, missing)``, ``found``
        holding ``(word, columns)`` for each distinct stem that some column of B has, with the first of
        ``words`` (sorted) of that stem and those columns (int64, ascending), in the order of the words;
        ``missing`` the number of distinct stems that no column has (they count against the query as a
        word no article holds does)."""
        stems, columns = self._groups()
        words = sorted(set(words))
        first: dict[str, str] = {}
        for word, stem in zip(words, self._stem(words), strict=True):
            first.setdefault(stem, word)
        found = []
        for stem, word in sorted(first.items(), key=lambda item: item[1]):
            key = stem.encode("utf-8")
            start, end = np.searchsorted(stems, key, side="left"), np.searchsorted(stems, key, side="right")
            if end > start:
                found.append((word, np.sort(columns[start:end])))
        return found, len(first) - len(found)
