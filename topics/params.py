"""The parameters of :class:`topics.TopicModel`: their allowed values, declared once (scikit-learn style),
and how a model file keeps them.

:data:`PARAMETER_RULES` maps each parameter to a check and a phrase saying what is allowed; ``fit`` checks
every value with it, and :mod:`topics.payload` checks the parameters of a model file with it before use.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError
from .language import check_language
from .text import Vectorizer


def is_int(v, low, high=None) -> bool:
    """Whether ``v`` is an int (not a bool) in [low, high]; ``high`` None: no upper bound."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= low and (high is None or v <= high)


def is_share_or_count(v) -> bool:
    return (isinstance(v, float) and 0.0 <= v <= 1.0) or is_int(v, 1)


def _is_word_list(v) -> bool:
    return isinstance(v, (list, tuple, set, frozenset)) and all(isinstance(w, str) for w in v)


def _is_n_topics(v) -> bool:
    return v is None or v == "auto" or is_int(v, 1)


def _is_seed(v) -> bool:
    return v is None or is_int(v, 0, 2**32 - 1)


def _is_optional_count(v) -> bool:
    return v is None or is_int(v, 1)


def _is_ngram_max(v) -> bool:
    return v in (1, 2) and not isinstance(v, bool)


def _is_unit_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0


def _is_weighting(v) -> bool:
    return v in Vectorizer.WEIGHTINGS


def _is_positive_int(v) -> bool:
    return is_int(v, 1)


def _is_non_negative_int(v) -> bool:
    return is_int(v, 0)


def _is_bool(v) -> bool:
    return isinstance(v, bool)


def _is_field_name(v) -> bool:
    return isinstance(v, str) and v != ""


def _is_language(v) -> bool:
    try:
        check_language(v)
    except ParameterError:
        return False
    return True


# Allowed parameter values, declared once and checked in `fit` (scikit-learn style), in __init__'s order.
PARAMETER_RULES = {
    "n_topics": (_is_n_topics, "None (chosen from the archive size), 'auto' (chosen by coherence) or an integer >= 1"),
    "random_state": (_is_seed, "None or an integer in [0, 2**32 - 1]"),
    "min_df": (is_share_or_count, "an article count >= 1 or a share in [0.0, 1.0]"),
    "max_df": (is_share_or_count, "an article count >= 1 or a share in [0.0, 1.0]"),
    "max_features": (_is_optional_count, "None or an integer >= 1"),
    "ngram_max": (_is_ngram_max, "1 or 2"),
    "extra_stop_words": (_is_word_list, "a list of words"),
    "topic_weight": (_is_unit_number, "a number in [0.0, 1.0]"),
    "term_weighting": (_is_weighting, "'tfidf' or 'log-entropy'"),
    "max_iter": (_is_positive_int, "an integer >= 1"),
    "keep_words": (_is_word_list, "a list of words"),
    "min_words": (_is_non_negative_int, "an integer >= 0"),
    "learn_clutter": (_is_bool, "True or False"),
    "source_field": (_is_field_name, "a field name"),
    "language": (_is_language, "None (detected from the archive) or language codes such as 'de' or 'nl,en'"),
}
# TopicModel's default topic_weight: also the one of a model file that lacks it (its index is built before
# the TopicModel exists).
DEFAULT_TOPIC_WEIGHT = 0.1
# Parameters added after format 1, with the value that reproduces models saved before them.
# Models saved before languages were detected were fitted with English stop words.
LEGACY_PARAMS = {"keep_words": (), "min_words": 0, "learn_clutter": False, "source_field": "source", "language": "en"}


def check_params(params: dict) -> None:
    """Raise ParameterError naming the first parameter whose value is not allowed, the value and what is."""
    for name, (ok, allowed) in PARAMETER_RULES.items():
        value = params[name]
        if not ok(value):
            raise ParameterError(f"{name}={value!r} is not allowed; use {allowed}")


def saved_params(params: dict) -> dict:
    """The parameters as a model file keeps them: word lists as sorted tuples of str, plain data that is the
    same whichever order or container (list, set, tuple) they were given in."""
    params = dict(params)
    for name in ("extra_stop_words", "keep_words"):
        params[name] = tuple(sorted(str(word) for word in params[name]))
    return params


def params_from_file(stored: dict) -> dict:
    """The parameters of a model file, as keywords of ``TopicModel``: unknown names dropped, and those the
    file predates set to the values that reproduce it."""
    params = {k: v for k, v in stored.items() if k in PARAMETER_RULES}
    params["extra_stop_words"] = tuple(params.get("extra_stop_words", ()))
    params.setdefault("term_weighting", "tfidf")  # files from before the option had tf-idf weights
    for name, legacy in LEGACY_PARAMS.items():  # files from before these options behave as they did
        params.setdefault(name, legacy)
    return params
