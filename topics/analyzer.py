"""The analyser: from an article's text to its terms (words and two-word phrases).

The analyser repairs broken characters, cleans news clutter (:mod:`topics.clean`), lowercases, drops URLs,
e-mail addresses, social handles, numbers and one-letter tokens, removes stop words, and forms two-word
terms only between neighbouring words that are not split by punctuation or a stop word, so "Prime Minister
Narendra Modi" gives "prime minister" but "minister of India" does not give "minister india". Phrases may
instead be learned from the archive (:func:`find_phrases`). The vectoriser (:mod:`topics.text`) counts and
weights what it returns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from itertools import pairwise

from .clean import (
    RepeatedSpans,
    clean_news,
    probe_words,
    repair_text,
    strip_boilerplate,
)
from .errors import ParameterError

# Words that carry no topic in news text, on top of scikit-learn's English list. Month names stay: as stop
# words they lowered NPMI on Lee news (0.277 to 0.266) and Wikipedia (0.162 to 0.144).
NEWS_STOP_WORDS = frozenset(
    """
said says say saying told tell tells according reported reports report added asked
mr mrs ms dr
year years month months week weeks day days today yesterday tomorrow tonight
monday tuesday wednesday thursday friday saturday sunday
just like also would could might may shall will can must
percent per cent
one two three four five six seven eight nine ten
including include includes got get gets make makes made going way ways lot lots
time times
writes wrote don didn doesn isn aren wasn ve ll re
""".split()
)

_URL = re.compile(r"\b(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
# An e-mail address is found from its '@': the domain by a pattern anchored there, the local part by a
# bounded look back, so a text full of '@' or of long words is still read in linear time.
_EMAIL_DOMAIN = re.compile(r"@[\w-]+(?:\.[\w-]+)+\b")
_EMAIL_LOCAL = re.compile(r"[\w.+-]{1,64}$")
# With ``repair``: social-media handles (@name) and the debris of cut-off links ("http", "https…").
_HANDLE = re.compile(r"(?<![\w@])@\w{1,50}")
_LINK_DEBRIS = re.compile(r"\b(?:https?|www)\b\S{0,200}")
# A clause: a run of text without sentence punctuation; bigrams never cross clause boundaries. A clause
# ends at these characters, at a dash between spaces, and at an en or em dash anywhere.
_CLAUSE_END_CHARS = '.,;:!?()[]{}"“”«»|/\\'
_SPACED_DASH = re.compile(r"\s[-–—]+\s")
_CLAUSE_SPLIT = re.compile("[" + re.escape(_CLAUSE_END_CHARS) + "]+|" + _SPACED_DASH.pattern + "|[–—]")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# A word, or (matched as "") a clause boundary: one pass over the text finds both, in order.
_WORD_OR_BOUNDARY = re.compile("(" + _WORD.pattern + ")|" + _CLAUSE_SPLIT.pattern)
# The fast path of Analyzer._tokens: in UTF-8 bytes, an ASCII clause end becomes \x01 and every other ASCII
# byte that is not a letter or an apostrophe a space; the bytes of other characters are left alone.
_TO_TOKENS = bytes(
    1 if chr(b) in _CLAUSE_END_CHARS else b if chr(b).isalpha() or chr(b) == "'" else 32 for b in range(128)
) + bytes(range(128, 256))
# Clause ends outside ASCII, common in news ("quotes", dashes): replaced by the marker before the split.
_OTHER_CLAUSE_ENDS = tuple(c for c in _CLAUSE_END_CHARS + "–—" if not c.isascii())
# Distinct tokens an analyser remembers (_TermsOfTokens); past this it starts afresh (about 40 MB).
_MAX_KNOWN_TOKENS = 300_000
_POSSESSIVE = re.compile(r"['’]s$")
_CONTRACTION = re.compile(r"['’](?:t|ll|ve|re|d|m)$")
_APOSTROPHE = re.compile(r"['’]")
MAX_TOKEN_CHARS = 30


def english_stop_words() -> frozenset:
    """scikit-learn's English stop words plus :data:`NEWS_STOP_WORDS`."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # only needed when fitting

    return frozenset(ENGLISH_STOP_WORDS) | NEWS_STOP_WORDS


def stop_words_for(languages: Iterable[str] = ("en",)) -> frozenset:
    """The stop words of an archive in ``languages`` (ISO 639-1 codes): the union of each language's list,
    English being :func:`english_stop_words` and every other :func:`topics.language.language_stop_words`."""
    from .language import language_stop_words

    words: set = set()
    for code in languages:
        words |= english_stop_words() if code == "en" else language_stop_words(code)
    return frozenset(words)


def unspaced_language(languages: Iterable[str]) -> str | None:
    """The first of ``languages`` written without spaces between words (:data:`topics.language.UNSPACED`)
    whose segmenter is installed, or None: the analyser cuts that language's text into words."""
    from .language import UNSPACED, segmenter

    return next((code for code in languages if code in UNSPACED and segmenter(code) is not None), None)


def read_stop_words_file(path) -> set:
    """Words from a file, one per line or separated by white space; ``#`` starts a comment."""
    from .errors import CorpusError

    try:
        with open(path, encoding="utf-8") as f:
            return {w.lower() for line in f for w in line.split("#", 1)[0].split()}
    except OSError as exc:
        raise CorpusError(f"cannot read stop-word file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CorpusError(f"stop-word file {path} is not UTF-8 text") from None


class Analyzer:
    """Turns a text into a list of terms (words and two-word phrases).

    Parameters
    ----------
    stop_words : iterable of str
        Lowercase words to drop; they also break phrases.
    ngram_max : {1, 2}, default=2
        Longest phrase, in words.
    phrases : iterable of str or None, default=None
        The two-word phrases to keep, as ``"prime minister"``; a pair in this set becomes one term that
        replaces its two words (found from the corpus by :func:`find_phrases`). None keeps every pair of
        neighbouring words beside the words themselves (the behaviour of models saved before phrases).
    clean : bool, default=False
        Remove news and Usenet boilerplate first (:func:`topics.clean.clean_news`). False for models
        saved before it.
    repair : bool, default=False
        Mend broken text first (:func:`topics.clean.repair_text`: mojibake, HTML entities and markup,
        words that lost a character) and drop social-media handles and the debris of cut-off links.
        False for models saved before it.
    spans : dict or None, default=None
        :meth:`topics.clean.RepeatedSpans.get_config` of the spans to cut out after cleaning (learned
        by :meth:`learn_spans`; only with ``clean``).
    boilerplate : iterable of str, default=()
        Keys of whole sentences to drop after cleaning, as models saved in format 2 learned them
        (:func:`topics.clean.find_boilerplate`).
    boilerplate_probes : iterable of str or None, default=None
        :func:`topics.clean.probe_words` of ``boilerplate``; None: each key's longest word.
    segment : {"zh", "ja"} or None, default=None
        Cut text written without spaces (Chinese, Japanese) into words first
        (:func:`topics.language.segmenter`); None for every other language and for models saved before it.

    The configuration is plain data (:meth:`get_config`), saved in the model so queries are analysed
    exactly as the archive was.

    Attributes
    ----------
    repaired_count : int
        How many texts :func:`topics.clean.repair_text` changed since the analyser was made or the
        count was reset (the fit reports it).
    """

    def __init__(
        self,
        stop_words: Iterable[str] = (),
        ngram_max: int = 2,
        phrases=None,
        clean: bool = False,
        repair: bool = False,
        spans: dict | None = None,
        boilerplate: Iterable[str] = (),
        boilerplate_probes: Iterable[str] | None = None,
        segment: str | None = None,
    ):
        if ngram_max not in (1, 2):
            raise ParameterError(f"ngram_max={ngram_max!r} is not allowed; use 1 or 2")
        self.stop_words = frozenset(stop_words)
        self.ngram_max = ngram_max
        self.phrases = None if phrases is None else frozenset(phrases)
        self.clean = bool(clean)
        self.repair = bool(repair)
        self.spans = RepeatedSpans(**spans) if spans else RepeatedSpans()
        self.boilerplate = frozenset(boilerplate)
        self.boilerplate_probes = (
            tuple(boilerplate_probes) if boilerplate_probes is not None else probe_words(self.boilerplate)
        )
        self.segment = segment
        self.repaired_count = 0
        self._terms_of_tokens = _TermsOfTokens(self.stop_words)

    def learn_spans(self, texts: Sequence[str]) -> None:
        """Cut out from now on the spans repeated across ``texts``, a sample of an archive (at most
        :data:`topics.clean.SPAN_SAMPLE` of them are read)."""
        self.spans = RepeatedSpans.from_archive(texts, repair=self.repair)

    def get_config(self) -> dict:
        """Plain data that rebuilds this analyser with ``Analyzer(**config)``."""
        config = {"stop_words": sorted(self.stop_words), "ngram_max": self.ngram_max}
        if self.phrases is not None:
            config["phrases"] = sorted(self.phrases)
        if self.clean:
            config["clean"] = True
        if self.repair:
            config["repair"] = True
        if self.spans:
            config["spans"] = self.spans.get_config()
        if self.boilerplate:
            config["boilerplate"] = sorted(self.boilerplate)
            config["boilerplate_probes"] = list(self.boilerplate_probes)
        if self.segment:
            config["segment"] = self.segment
        return config

    def clauses(self, text: str) -> list[list[str]]:
        """The words of each clause of ``text`` (stop words, numbers and one-letter tokens removed,
        each removal splitting the clause so no phrase spans it)."""
        text = self._prepare(text)
        stop = self.stop_words
        runs: list[list[str]] = []
        for clause in _CLAUSE_SPLIT.split(text):
            run: list[str] = []
            for word in _WORD.findall(clause):
                if "'" in word or "’" in word:  # both patterns need an apostrophe; most words have none
                    word = _strip_apostrophe(word, stop)
                if len(word) < 2 or len(word) > MAX_TOKEN_CHARS or word in stop:
                    if run:
                        runs.append(run)
                    run = []
                    continue
                run.append(word)
            if run:
                runs.append(run)
        return runs

    def __call__(self, text: str) -> list[str]:
        if self.phrases is None:  # the default: every word and every pair, in any order
            tokens = self._tokens(text)
            words = list(filter(None, tokens))  # the non-empty ones, twice as fast as a comprehension
            if self.ngram_max == 1:
                return words
            return words + [a + " " + b for a, b in pairwise(tokens) if a and b]
        return _merge_phrases(self.clauses(text), self.phrases)

    def _prepare(self, text: str) -> str:
        """Lowercase text, repaired (if ``repair``), without boilerplate and repeated spans (if ``clean``),
        URLs and e-mail addresses (and, with ``repair``, handles and link debris)."""
        if self.repair:
            repaired = repair_text(text)
            if repaired != text:
                self.repaired_count += 1
                text = repaired
        if self.clean:
            text = clean_news(text)
            if self.boilerplate:
                text = strip_boilerplate(text, self.boilerplate, self.boilerplate_probes)
            if self.spans:
                text = self.spans.strip(text)
        text = _drop_links(text.lower())
        text = _drop_handles(text) if self.repair else text
        return _segment(text, self.segment) if self.segment else text

    def _tokens(self, text: str) -> list[str]:
        """The words of :meth:`clauses` in text order, with "" wherever a clause ends or a word was
        removed (so no pair spans it). The same terms as ``clauses``, found mostly by C string methods
        rather than the regex engine: the analyser is most of a large fit's time (1.4x as many articles
        per second as one ``findall`` of the word pattern, ``benchmarks/analyser.py``).

        ASCII punctuation is mapped in one ``bytes.translate`` (clause ends to a marker, the rest to
        spaces), the clause ends of other scripts are replaced by the marker, and the text split on white
        space; only tokens that are not plain letters (apostrophes, digits or symbols in other scripts) go
        through the word pattern, which decides them exactly as :meth:`clauses` does
        (``tests/test_properties.py`` checks any text). What each distinct token gives is remembered
        (:class:`_TermsOfTokens`), so a token seen before costs one dict lookup in C.
        """
        return self._terms_of(self._split(text))

    def _split(self, text: str) -> list[str]:
        """The tokens of :meth:`_tokens` before each is judged: white-space separated, with the clause-end
        marker "\\x01" as a token of its own."""
        text = self._prepare(text)
        if "-" in text:  # a dash between spaces ends a clause; a hyphen inside a word does not
            text = _SPACED_DASH.sub(" . ", text)
        text = text.encode("utf-8", "surrogatepass").translate(_TO_TOKENS).decode("utf-8", "surrogatepass")
        text = text.replace("\x01", " \x01 ")
        if not text.isascii():
            for mark in _OTHER_CLAUSE_ENDS:  # split off here, they would send most tokens to the word pattern
                if mark in text:
                    text = text.replace(mark, " \x01 ")
        return text.split()

    def _terms_of(self, tokens: list[str]) -> list[str]:
        """What each of ``tokens`` (from :meth:`_split`) gives, in order: a word, "" or, rarely, several."""
        terms = self._token_terms()
        found = list(map(terms.__getitem__, tokens))
        if terms.several and not terms.several.keys().isdisjoint(tokens):
            found = [term for token in tokens for term in terms.several.get(token, (terms[token],))]
        return found

    def _token_terms(self) -> _TermsOfTokens:
        """The memory of what each token gives, started afresh when full or when the stop words changed."""
        terms = self._terms_of_tokens
        if terms.stop_words is not self.stop_words or len(terms) > _MAX_KNOWN_TOKENS:
            terms = self._terms_of_tokens = _TermsOfTokens(self.stop_words)
        return terms

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_terms_of_tokens", None)  # a cache: not shipped to worker processes
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._terms_of_tokens = _TermsOfTokens(self.stop_words)


def _segment(text: str, code: str) -> str:
    """``text`` with its words split by spaces (:func:`topics.language.segmenter`); as it is when the
    package is missing (the fit warned)."""
    from .language import segmenter

    cut = segmenter(code)
    return cut(text) if cut is not None else text


def _drop_links(text: str) -> str:
    """Lowercase ``text`` without URLs and e-mail addresses (each pattern only where its marker is)."""
    if "://" in text or "www." in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _drop_emails(text)
    return text


def _drop_emails(text: str) -> str:
    """``text`` with each e-mail address replaced by a space; linear in the text (see _EMAIL_DOMAIN)."""
    pieces, position = [], 0
    at = text.find("@")
    while at >= 0:
        domain = _EMAIL_DOMAIN.match(text, at)
        local = _EMAIL_LOCAL.search(text, max(position, at - 64), at)
        if domain and local:
            start = local.start()
            while start < at and not (text[start].isalnum() or text[start] == "_"):
                start += 1  # an address starts with a word character, as the pattern's \b asked
            if start < at:
                pieces.append(text[position:start] + " ")
                position = domain.end()
        at = text.find("@", max(at + 1, position))
    pieces.append(text[position:])
    return "".join(pieces)


def _drop_handles(text: str) -> str:
    """Lowercase ``text`` without social-media handles (@name) and the debris of cut-off links."""
    if "@" in text:
        text = _HANDLE.sub(" ", text)
    if "http" in text or "www" in text:
        text = _LINK_DEBRIS.sub(" ", text)
    return text


def _exact_tokens(tokens: list[str], stop: frozenset) -> list[str]:
    """``tokens`` with each one that is not all letters (nor the clause-end marker) replaced by what the
    word pattern finds in it: its words, apostrophes handled, and "" for each clause end."""
    exact: list[str] = []
    for token in tokens:
        if token.isalpha() or token == "\x01":
            exact.append(token)
        else:
            words = _WORD_OR_BOUNDARY.findall(token)
            exact.extend(_strip_apostrophe(w, stop) if ("'" in w or "’" in w) else w for w in words)
    return exact


class _TermsOfTokens(dict):
    """What :meth:`Analyzer._tokens` makes of each token of the split text: a cache from token to term
    ("" for a stop word, a number, a one- or over-long token, or the clause-end marker), filled on first
    sight, so each distinct token is judged once in Python and every later one by a lookup in C.

    A token the word pattern cuts into no terms or several (rare: "a''b", "x²y", "€") maps to None and
    its terms are in ``several``.
    """

    def __init__(self, stop_words: frozenset):
        super().__init__()
        self.stop_words = stop_words
        self.several: dict[str, list[str]] = {}

    def __missing__(self, token: str) -> str | None:
        stop = self.stop_words
        words = [token] if token.isalpha() or token == "\x01" else _exact_tokens([token], stop)
        terms = [w if 1 < len(w) <= MAX_TOKEN_CHARS and w not in stop else "" for w in words]
        if len(terms) != 1:
            self.several[token] = terms
            self[token] = None
            return None
        self[token] = terms[0]
        return terms[0]


def _strip_apostrophe(word: str, stop: frozenset) -> str:
    """A word without its possessive 's; "" for contractions (don't, i'm, they're: function words) and for
    any word whose parts around its apostrophes are all stop words or single letters, in any language
    (Dutch "zo'n", "m'n"; "y'all"), while names keep theirs ("o'sullivan")."""
    word = _POSSESSIVE.sub("", word)
    if _CONTRACTION.search(word) or all(len(part) < 2 or part in stop for part in _APOSTROPHE.split(word)):
        return ""
    return word


def _words_and_pairs(runs) -> list[str]:
    terms: list[str] = []
    for run in runs:
        terms.extend(run)
        terms.extend(a + " " + b for a, b in pairwise(run))
    return terms


def _merge_phrases(runs, phrases) -> list[str]:
    """Words, with each known two-word phrase (left to right, not overlapping) as one term."""
    terms: list[str] = []
    for run in runs:
        i = 0
        while i < len(run):
            if i + 1 < len(run) and run[i] + " " + run[i + 1] in phrases:
                terms.append(run[i] + " " + run[i + 1])
                i += 2
            else:
                terms.append(run[i])
                i += 1
    return terms


def find_phrases(runs_per_text, *, min_count: int = 10, min_npmi: float = 0.5) -> list[str]:
    """Collocations of a corpus: neighbouring word pairs seen at least ``min_count`` times whose
    NPMI (pair against its words, over all word positions) is at least ``min_npmi``.

    runs_per_text : iterable of :meth:`Analyzer.clauses` results. Returns sorted ``"a b"`` strings.
    """
    from collections import Counter

    words: Counter = Counter()
    pairs: Counter = Counter()
    for runs in runs_per_text:
        for run in runs:
            words.update(run)
            pairs.update(pairwise(run))
    total = sum(words.values())
    if total == 0:
        return []
    found = []
    for (a, b), n in pairs.items():
        if n < min_count:
            continue
        p_ab = n / total
        npmi = math.log(p_ab / (words[a] / total * words[b] / total)) / -math.log(p_ab)
        if npmi >= min_npmi:
            found.append(a + " " + b)
    return sorted(found)


def build_analyzer(
    texts: Sequence[str],
    *,
    stop_words: Iterable[str],
    ngram_max: int = 2,
    collocations: bool = False,
    segment: str | None = None,
) -> Analyzer:
    """The analyser a new model uses: boilerplate removed, stop words dropped and, with ``ngram_max=2``,
    two-word terms.

    collocations : bool, default=False
        False keeps every pair of neighbouring words beside the words (pairs seen in fewer than min_df
        articles are then pruned by the vectoriser). True keeps only the archive's collocations
        (:func:`find_phrases`, found in one more pass over ``texts``), each as one term replacing its two
        words. Measured over k = 5, 10, 20 on the shared corpora (``benchmarks/quality.py --ablation``),
        every pair gave higher NPMI on news (0.145 against 0.109, with stop words kept in the NPMI reference)
        and newsgroups, the same on Wikipedia, and better topic/label agreement, so it is the default; at
        the default k and with the current reference, 0.278 against 0.247 on news (seed 0).
    segment : "zh", "ja" or None, default=None
        Cut text written without spaces into words first (see :class:`Analyzer`).
    """
    options = {"clean": True, "repair": True, "segment": segment}
    if ngram_max == 1 or not collocations:
        return Analyzer(stop_words, ngram_max=ngram_max, **options)
    base = Analyzer(stop_words, ngram_max=ngram_max, phrases=(), **options)
    phrases = find_phrases(base.clauses(t) for t in texts)
    return Analyzer(stop_words, ngram_max=ngram_max, phrases=phrases, **options)
