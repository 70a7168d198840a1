"""Cleaning and vectorising text: the analyser and TF-IDF.

Symbols
-------
V : number of terms in the vocabulary (words and two-word phrases).
X : sparse matrix of shape (n_articles, V), float32, TF-IDF weights with rows of unit L2 norm.

The analyser lowercases, drops URLs, e-mail addresses, numbers and one-letter tokens, removes
stop words, and forms two-word terms only between neighbouring words that are not split by
punctuation or a stop word, so "Prime Minister Narendra Modi" gives "prime minister" but
"minister of India" does not give "minister india".

Term weights follow scikit-learn's ``TfidfVectorizer(sublinear_tf=True, smooth_idf=True, norm="l2")``:
``tf = 1 + log(count)``, ``idf = log((1 + n) / (1 + df)) + 1``. Unlike scikit-learn, the fitted state is
plain arrays (a sorted byte-string vocabulary and an idf vector), so a saved model reopens without
pickled estimators and a query process never imports scikit-learn.
"""

from __future__ import annotations

import contextlib
import math
import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import pairwise

import numpy as np
import scipy.sparse as sp

from .clean import (
    RepeatedSpans,
    clean_news,
    probe_words,
    repair_text,
    strip_boilerplate,
)
from .errors import NotFittedError, ParameterError
from .index import unit_rows

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
_POSSESSIVE = re.compile(r"['’]s$")
_CONTRACTION = re.compile(r"['’](?:t|ll|ve|re|d|m)$")
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
                    word = _strip_apostrophe(word)
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
        spaces) and the text split on white space; only tokens that are not plain letters (apostrophes,
        digits or symbols in other scripts, “quotes”) go through the word pattern, which decides them
        exactly as :meth:`clauses` does (``tests/test_properties.py`` checks any text).
        """
        text = self._prepare(text)
        if "-" in text:  # a dash between spaces ends a clause; a hyphen inside a word does not
            text = _SPACED_DASH.sub(" . ", text)
        tokens = (
            text.encode("utf-8", "surrogatepass")
            .translate(_TO_TOKENS)
            .decode("utf-8", "surrogatepass")
            .replace("\x01", " \x01 ")
            .split()
        )
        if not text.isascii() or "'" in text:
            tokens = _exact_tokens(tokens)
        stop = self.stop_words
        return [w if 1 < len(w) <= MAX_TOKEN_CHARS and w not in stop else "" for w in tokens]


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


def _exact_tokens(tokens: list[str]) -> list[str]:
    """``tokens`` with each one that is not all letters (nor the clause-end marker) replaced by what the
    word pattern finds in it: its words, apostrophes handled, and "" for each clause end."""
    exact: list[str] = []
    for token in tokens:
        if token.isalpha() or token == "\x01":
            exact.append(token)
        else:
            words = _WORD_OR_BOUNDARY.findall(token)
            exact.extend(_strip_apostrophe(w) if ("'" in w or "’" in w) else w for w in words)
    return exact


def _strip_apostrophe(word: str) -> str:
    """A word without its possessive 's; "" for contractions (don't, i'm, they're: function words)."""
    word = _POSSESSIVE.sub("", word)
    return "" if _CONTRACTION.search(word) else word


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


def make_vectorizer(
    *,
    min_df=2,
    max_df=0.5,
    max_features=None,
    ngram_max: int = 2,
    extra_stop_words=(),
    keep_words=(),
    weighting: str = "tfidf",
    learn_clutter: bool = True,
    languages: Iterable[str] = ("en",),
) -> Vectorizer:
    """The unfitted analyser and vectoriser that ``TopicModel.fit`` uses for these parameters (see
    :class:`topics.TopicModel`): the stop words of ``languages`` (:func:`stop_words_for`; English: its own
    and news stop words) plus ``extra_stop_words``, less ``keep_words`` (compared in lower case), which the
    learned clutter never removes either. With ``learn_clutter`` the
    vectoriser learns house formulae while fitting; repeated spans are learned by the caller
    (``vectorizer.analyzer.learn_spans(texts)``), from the texts it chooses.
    """
    keep = {w.lower() for w in keep_words}
    stop_words = (stop_words_for(languages) | {w.lower() for w in extra_stop_words}) - keep
    analyzer = build_analyzer((), stop_words=stop_words, ngram_max=ngram_max, segment=unspaced_language(languages))
    return Vectorizer(
        analyzer,
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        weighting=weighting,
        learn_formulae=learn_clutter,
        keep_words=keep,
    )


class Vectorizer:
    """TF-IDF over an :class:`Analyzer`, with fitted state kept as plain arrays.

    Parameters
    ----------
    analyzer : Analyzer
    min_df : int or float, default=2
        Drop terms in fewer articles than this (a float is a share of the articles).
    max_df : float or int, default=0.5
        Drop terms in more articles than this (a float is a share of the articles).
    max_features : int or None, default=None
        Keep only this many terms, the most frequent across the corpus.
    weighting : {"tfidf", "log-entropy"}, default="tfidf"
        The global weight of a term: smoothed idf, ``log((1 + n) / (1 + df)) + 1``, or the log-entropy
        weight ``1 + sum_d p_td log p_td / log n`` with ``p_td = tf_td / sum_d tf_td`` (1 for a term
        concentrated in one article, 0 for one spread evenly over all). Either way the local weight is
        ``1 + log tf`` and rows have unit length; the global weight is kept in ``idf_``, so applying a
        fitted vectorizer does not depend on which one was chosen.

    learn_formulae : bool, default=False
        Drop the archive's house formulae (:func:`find_formulae`): terms that many articles use, about as
        often as their length predicts, whatever they are about.
    keep_words : iterable of str, default=()
        Terms never dropped as formulae.

    Attributes
    ----------
    vocabulary_ : ndarray of bytes, shape (V,)
        UTF-8 terms in sorted order; a term's column is its position.
    idf_ : ndarray of float32, shape (V,)
        The global term weights (idf or entropy weights, see ``weighting``).
    formulae_ : dict of str to int
        The terms dropped as house formulae, with the number of articles that use each.
    source_terms_ : dict of str to str
        The terms dropped as one source's house terms (:func:`find_source_terms`), with the source.
    n_repaired_ : int
        Articles whose text :func:`topics.clean.repair_text` mended.
    """

    WEIGHTINGS = ("tfidf", "log-entropy")

    def __init__(
        self,
        analyzer: Analyzer,
        *,
        min_df=2,
        max_df=0.5,
        max_features=None,
        weighting="tfidf",
        learn_formulae: bool = False,
        keep_words: Iterable[str] = (),
    ):
        self.analyzer = analyzer
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.weighting = weighting
        self.learn_formulae = learn_formulae
        self.keep_words = frozenset(keep_words)

    # -- fitting ------------------------------------------------------------------------------------
    def fit_transform(self, texts: Iterable[str], *, chunk_size: int = 5000, n_jobs: int | None = 1) -> sp.csr_matrix:
        """Learn the vocabulary and idf from ``texts`` and return their TF-IDF matrix X.

        ``texts`` is read as a stream in chunks of ``chunk_size``; see :meth:`fit_transform_chunks`.
        """
        return self.fit_transform_chunks(_chunked(texts, chunk_size), n_jobs=n_jobs)

    def fit_transform_chunks(
        self,
        chunks: Iterable[Sequence[str]],
        *,
        n_jobs: int | None = None,
        sources: Sequence | None = None,
        rare_words: bool = False,
    ):
        """Like :meth:`fit_transform`, over a stream of chunks of texts, analysed in parallel.

        Each chunk is counted by a worker (:func:`topics.parallel.map_chunks`) and dropped, so the raw
        text of the whole archive is never held: memory is bounded by the raw count matrix (the size
        of X) and the distinct-term list. Chunk counts are merged exactly, so the vocabulary, idf and
        X do not depend on the chunking or on ``n_jobs``.

        sources : sequence of str or None, one per text, read once the chunks are counted (so it may be a
            list filled while they stream). With ``learn_formulae``, terms that one source uses in all its
            stories (its name, credits, house style: :func:`find_source_terms`) are dropped too.
        rare_words : bool, default=False
            Also return the words the vocabulary leaves out for being rare (below ``min_df``, so mostly words
            of one article: the names and rare words that identify it, or beyond ``max_features``) and their
            counts, for search only (:class:`topics.state.SearchFields`): ``(X, words, counts)`` with
            ``words`` a sorted ndarray of bytes (R,) and ``counts`` a CSR matrix (n_articles, R) of float32
            raw counts. Phrases are left out, and so are words dropped as too common (above ``max_df``,
            kept in ``common_words_``) or as house formulae.
        """
        from functools import partial

        from .parallel import map_chunks

        if self.weighting not in self.WEIGHTINGS:
            raise ParameterError(
                f"weighting={self.weighting!r} is not allowed; use one of {', '.join(self.WEIGHTINGS)}"
            )
        results = map_chunks(partial(_count_chunk, self.analyzer), chunks, n_jobs=n_jobs)
        parts = [(counts, local_terms) for counts, local_terms, _, _ in results]
        lengths = np.concatenate([length for _, _, _, length in results]) if results else np.zeros(0)
        self.n_repaired_ = sum(repaired for _, _, repaired, _ in results)
        del results
        terms, df, totals, clogc = _merge_term_stats(parts)
        n_docs = sum(p[0].shape[0] for p in parts)
        keep = self._select_terms(df, totals, n_docs)
        too_common = df > _as_count(self.max_df, n_docs, "max_df")
        is_word = np.char.find(terms, b" ") < 0 if terms.size else np.zeros(0, dtype=bool)
        self.common_words_ = sorted(t.decode("utf-8") for t in terms[too_common & is_word])
        rare = None
        if rare_words:
            left_out = np.ones(terms.size, dtype=bool)
            left_out[keep] = False
            rare = terms[left_out & is_word & ~too_common]
        self.formulae_ = {}
        if self.learn_formulae:
            formulae = find_formulae(terms[keep], df[keep], totals[keep], lengths, keep_words=self.keep_words)
            if formulae.size:
                formulae = formulae[cross_section(parts, terms[keep], formulae) >= FORMULA_CROSS_SECTION]
            self.formulae_ = {terms[keep[i]].decode("utf-8"): int(df[keep[i]]) for i in formulae}
            keep = np.delete(keep, formulae)
        self.source_terms_ = {}
        if self.learn_formulae and sources is not None:
            found = find_source_terms(parts, terms[keep], df[keep], sources, lengths, keep_words=self.keep_words)
            self.source_terms_ = {terms[keep[i]].decode("utf-8"): source for i, source in found.items()}
            keep = np.delete(keep, sorted(found))
        if keep.size == 0:
            raise ParameterError(
                f"no terms are left after min_df={self.min_df!r} and max_df={self.max_df!r} on {n_docs} articles; "
                "the articles may be too few, too short or all stop words (try a lower --min-df)"
            )
        keep.sort()  # terms are sorted, so the vocabulary stays sorted
        self.vocabulary_ = terms[keep]
        if self.weighting == "log-entropy":
            self.idf_ = _entropy_from_stats(totals[keep], clogc[keep], n_docs)
        else:
            self.idf_ = (np.log((1.0 + n_docs) / (1.0 + df[keep])) + 1.0).astype(np.float32)
        self.n_documents_ = n_docs
        self.first_unknown_share_ = _unknown_share_of_first(parts, self.vocabulary_, DRIFT_BASELINE_ARTICLES)
        if rare is not None:
            rare = rare, _stack_counts(parts, rare)
        X = _stack_weighted(parts, self.vocabulary_, self.idf_)
        del parts, terms, df, totals, clogc
        _return_freed_memory()
        return X if rare is None else (X, *rare)

    def _select_terms(self, df: np.ndarray, totals: np.ndarray, n_docs: int) -> np.ndarray:
        """Positions of the kept terms, given each term's document frequency and total count."""
        min_df = _as_count(self.min_df, n_docs, "min_df")
        max_df = _as_count(self.max_df, n_docs, "max_df")
        keep = np.flatnonzero((df >= min_df) & (df <= max_df))
        if self.max_features is not None and keep.size > self.max_features:
            # Heaviest first; ties go to the earlier (sorted) term, so chunking never changes the choice.
            keep = keep[np.argsort(-totals[keep], kind="stable")[: self.max_features]]
        return keep

    # -- applying -----------------------------------------------------------------------------------
    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        """TF-IDF matrix of shape (n_texts, V) for new texts; unknown terms are ignored."""
        if not hasattr(self, "vocabulary_"):
            raise NotFittedError("this Vectorizer is not fitted yet")
        parts = [self._known_counts(chunk) for chunk in _chunked(texts, _TRANSFORM_CHUNK)]
        if not parts:
            parts = [sp.csr_matrix((0, len(self.vocabulary_)), dtype=np.float32)]
        return _weight(sp.vstack(parts, format="csr", dtype=np.float32), self.idf_)

    def transform_with_counts(self, texts: Sequence[str], terms: np.ndarray, *, new_words: bool = False):
        """:meth:`transform` of ``texts`` and their raw counts (float32 CSR, n_texts x len(terms)) of other
        ``terms`` (sorted bytes, such as the rare words of :meth:`fit_transform_chunks`), analysing each
        text once. With ``new_words``, also the words (not phrases) in neither list, sorted bytes (N,), and
        their counts (n_texts x N)."""
        analysed = [self.analyzer(text) for text in texts]
        known = _counts_of(analysed, self.vocabulary_)
        result = (_weight(known, self.idf_), _counts_of(analysed, terms))
        if not new_words:
            return result
        seen = np.unique(_encode([t for found in analysed for t in found if " " not in t]))
        new = seen[~(_find_sorted(self.vocabulary_, seen)[1] | _find_sorted(np.asarray(terms), seen)[1])]
        return (*result, new, _counts_of(analysed, new))

    def _known_counts(self, texts: list[str]) -> sp.csr_matrix:
        """Counts (n_texts, V), float32, of the vocabulary's terms in ``texts``: each text is analysed on its
        own, then every term of the chunk is looked up at once (a lookup per text cost more than the
        analysis for short texts such as titles and leads)."""
        return _counts_of([self.analyzer(text) for text in texts], self.vocabulary_)

    def terms(self, columns: Sequence[int]) -> list[str]:
        """The terms of the given columns, as text."""
        return [self.vocabulary_[c].decode("utf-8") for c in columns]


def _counts_of(analysed: list[list[str]], vocabulary: np.ndarray) -> sp.csr_matrix:
    """Counts (n_texts, len(vocabulary)), float32 CSR with sorted columns, of the terms of ``vocabulary``
    (sorted bytes) in analysed texts; every term of the texts is looked up at once."""
    lengths = np.fromiter((len(terms) for terms in analysed), dtype=np.int64, count=len(analysed))
    shape = (len(analysed), len(vocabulary))
    if lengths.sum() == 0:
        return sp.csr_matrix(shape, dtype=np.float32)
    encoded = _encode([term for terms in analysed for term in terms])
    rows = np.repeat(np.arange(len(analysed)), lengths)
    cols = np.searchsorted(vocabulary, encoded)
    known = cols < len(vocabulary)
    known[known] = vocabulary[cols[known]] == encoded[known]
    ones = np.ones(int(known.sum()), dtype=np.float32)
    counts = sp.csr_matrix(sp.coo_matrix((ones, (rows[known], cols[known])), shape=shape))
    counts.sum_duplicates()  # repeats of a term in a text become its count, with sorted columns
    return counts


_TRANSFORM_CHUNK = 10_000  # texts looked up at once by Vectorizer.transform: bounds the memory of one lookup


def _encode(terms: list[str]) -> np.ndarray:
    return np.array([t.encode("utf-8") for t in terms], dtype=bytes)


def _chunked(items: Iterable, size: int):
    """Lists of up to ``size`` consecutive items, produced lazily."""
    if not isinstance(size, int) or size < 1:
        raise ParameterError(f"chunk_size={size!r} is not allowed; use an integer >= 1")
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _count_terms(analyzer: Analyzer, texts: Iterable[str]) -> tuple[sp.csr_matrix, np.ndarray]:
    """Raw term counts of shape (n_texts, n_distinct_terms) and the terms (UTF-8 bytes) of its columns.

    Columns are in sorted term order. Counts are float32, indices int32.
    """
    # Every term occurrence is looked up in C (a dict whose missing keys get the next column, as
    # scikit-learn's CountVectorizer does) and repeats are summed by scipy: 11% faster than a Counter
    # per text plus a Python loop over its distinct terms.
    ids: defaultdict[str, int] = defaultdict()
    ids.default_factory = ids.__len__
    column_of = ids.__getitem__
    columns = array("q")
    indptr = [0]
    for text in texts:
        columns.extend(map(column_of, analyzer(text)))
        indptr.append(len(columns))
    terms = _encode(list(ids)) if ids else np.zeros(0, dtype="S1")
    order = np.argsort(terms, kind="stable")
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    sorted_columns = rank[np.frombuffer(columns, dtype=np.int64)] if columns else np.zeros(0, dtype=np.int32)
    counts = sp.csr_matrix(
        (np.ones(sorted_columns.size, dtype=np.float32), sorted_columns, np.array(indptr, dtype=np.int64)),
        shape=(len(indptr) - 1, len(ids)),
    )
    counts.sum_duplicates()  # also sorts each row's columns
    return counts, terms[order]


# A term is a source's house term when at least SOURCE_SHARE of the articles using it come from one source,
# it is in at least SOURCE_COVERAGE of that source's articles, and within the source it is spread as evenly
# as FORMULA_EVENNESS asks: an outlet's name, its credit line, its share buttons. A source's own subjects
# ("taoiseach" at an Irish broadcaster) cluster in some of its stories and stay. Only sources with
# SOURCE_MIN_ARTICLES articles count, and only when two or more sources have that many.
SOURCE_SHARE = 0.9
SOURCE_COVERAGE = 0.1
SOURCE_MIN_ARTICLES = 20


def find_source_terms(
    parts, terms: np.ndarray, df: np.ndarray, sources: Sequence, lengths: np.ndarray, *, keep_words=frozenset()
) -> dict:
    """The source terms (:data:`SOURCE_SHARE`) among ``terms``, as ``{position in terms: source}``.

    parts : the raw chunk counts ``[(counts, local_terms), ...]`` in article order; terms, df : the kept
    terms (sorted) and their article counts; sources : each article's source (None when unknown);
    lengths : each article's length in words.
    """
    names, codes = np.unique(
        np.array(["" if s is None else str(s) for s in sources], dtype=object), return_inverse=True
    )
    per_source = np.bincount(codes, minlength=len(names))
    large = (per_source >= SOURCE_MIN_ARTICLES) & (names != "")
    if large.sum() < 2:
        return {}
    codes = np.where(large[codes], codes, -1)
    candidates = np.flatnonzero(df >= SOURCE_COVERAGE * SOURCE_MIN_ARTICLES)
    if keep_words:
        candidates = np.array([c for c in candidates if terms[c].decode("utf-8") not in keep_words], dtype=np.int64)
    if candidates.size == 0:
        return {}
    n_sources, n_candidates = len(names), candidates.size
    source_df = np.zeros(n_sources * n_candidates)
    source_totals = np.zeros(n_sources * n_candidates)
    row = 0
    for counts, local_terms in parts:
        position, found = _find_sorted(terms[candidates], local_terms)
        column = np.where(found, position, -1)[counts.indices]
        rows = np.repeat(np.arange(row, row + counts.shape[0]), np.diff(counts.indptr))
        take = (column >= 0) & (codes[rows] >= 0)
        key = codes[rows[take]] * n_candidates + column[take]
        source_df += np.bincount(key, minlength=source_df.size)
        source_totals += np.bincount(key, weights=counts.data[take], minlength=source_df.size)
        row += counts.shape[0]
    source_df = source_df.reshape(n_sources, n_candidates)
    source_totals = source_totals.reshape(n_sources, n_candidates)
    top = source_df.argmax(axis=0)
    top_df = source_df[top, np.arange(n_candidates)]
    chosen = (top_df >= SOURCE_SHARE * df[candidates]) & (top_df >= SOURCE_COVERAGE * per_source[top])
    found = {}
    for source in np.unique(top[chosen]):
        at = np.flatnonzero(chosen & (top == source))
        length_values, length_counts = np.unique(lengths[codes == source], return_counts=True)
        rates = source_totals[source, at, None] * (length_values[None, :] / max(length_values @ length_counts, 1))
        expected = (-np.expm1(-rates) * length_counts[None, :]).sum(axis=1)
        for i in at[top_df[at] >= FORMULA_EVENNESS * expected]:
            found[int(candidates[i])] = str(names[source])
    return found


def _count_chunk(analyzer: Analyzer, texts: Sequence[str]):
    """One worker's share: counts of a chunk of texts (see :func:`_count_terms`), how many of them the
    analyser repaired, and each text's length in words (for :func:`find_formulae`)."""
    analyzer.repaired_count = 0
    counts, terms = _count_terms(analyzer, texts)
    words = np.char.find(terms, b" ") < 0 if terms.size else np.zeros(0, dtype=bool)
    lengths = np.asarray(counts @ words.astype(np.float32)).ravel() if terms.size else np.zeros(counts.shape[0])
    return counts, terms, analyzer.repaired_count, lengths.astype(np.float32)


# A term is a house formula when at least FORMULA_MIN_SHARE of the articles use it and it is in at least
# FORMULA_EVENNESS of the articles a term of its frequency would be in if it were spread evenly (in
# proportion to each article's length): "hon gentleman" in speeches, "rt" in posts, a paper's credit words,
# and, in a language without a stop list, its function words. Topic words cluster in the articles about
# their topic and reach a smaller share. Archives under FORMULA_MIN_ARTICLES are too small to tell.
FORMULA_MIN_SHARE = 0.05
FORMULA_EVENNESS = 0.9
FORMULA_MIN_ARTICLES = 500
# In short texts (posts) nearly every word is used once per article, so evenness alone takes frequent topic
# words ("trump", "ebola") for formulae. A formula's articles are also a cross-section of the archive: the
# other words they use are those of the archive as a whole, about as closely as a random sample of as many
# articles (:func:`cross_section`: 0.89-1.01 for the evenly used terms of the held-out news, "afp" and
# "donald trump" included, 1.03-1.28 for the Dutch speeches'), while a topic word's articles lean toward its
# topic (0.70-0.78 for "trump", "president" and "health" in short posts cut from the news; "rt" 0.99).
FORMULA_CROSS_SECTION = 0.85
CROSS_SECTION_SAMPLE = 5000
CROSS_SECTION_TERMS = 5000
CROSS_SECTION_DRAWS = 3


def find_formulae(
    terms: np.ndarray, df: np.ndarray, totals: np.ndarray, lengths: np.ndarray, *, keep_words=frozenset()
) -> np.ndarray:
    """Positions (into ``terms``) of the house formulae of an archive.

    terms : ndarray of bytes, shape (V,); df, totals : ndarray of shape (V,), each term's number of articles
    and of occurrences; lengths : ndarray of shape (n_articles,), each article's length in words.

    The even spread of a term with ``totals`` occurrences is a Poisson model with rates proportional to
    article length; the share of articles it would then reach is ``mean(1 - exp(-totals * length / sum
    of lengths))`` (the length-aware form of Church & Gale's residual IDF).
    """
    n_docs = lengths.size
    if n_docs < FORMULA_MIN_ARTICLES or lengths.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    candidates = np.flatnonzero(df >= FORMULA_MIN_SHARE * n_docs)
    if keep_words:
        kept = np.array([t.decode("utf-8") in keep_words for t in terms[candidates]], dtype=bool)
        candidates = candidates[~kept]
    if candidates.size == 0:
        return candidates
    length_values, length_counts = np.unique(lengths, return_counts=True)
    rates = totals[candidates, None] * (length_values[None, :] / lengths.sum())
    expected = (-np.expm1(-rates) * length_counts[None, :]).sum(axis=1)
    return candidates[df[candidates] >= FORMULA_EVENNESS * expected]


def cross_section(parts, terms: np.ndarray, columns: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """How closely the articles holding each of ``columns`` (positions in ``terms``, sorted bytes) use the
    archive's other words, against random samples of as many articles: float array (len(columns),), about
    1 for a term used by a cross-section of the archive, lower the more its articles share a subject.

    parts : the raw chunk counts ``[(counts, local_terms), ...]`` in article order, of which at most
    :data:`CROSS_SECTION_SAMPLE` evenly spaced articles are read. Each group of articles is described by
    the share of them holding each term, times the term's idf; the figure is the cosine of that profile with
    the whole sample's (the term itself left out), divided by the mean cosine of
    :data:`CROSS_SECTION_DRAWS` random groups of the same size (seeded by ``seed``).
    """
    n_docs = sum(counts.shape[0] for counts, _ in parts)
    step = max(1, -(-n_docs // CROSS_SECTION_SAMPLE))
    blocks, start = [], 0
    for counts, local_terms in parts:
        rows = np.arange((-start) % step, counts.shape[0], step)
        blocks.append(_to_vocabulary(counts[rows], local_terms, terms))
        start += counts.shape[0]
    held = sp.vstack(blocks, format="csc")
    held.data[:] = 1.0
    n = held.shape[0]
    own = held[:, columns]
    df = np.diff(held.indptr)
    # The profiles are read over the sample's most used terms, which carry nearly all of their weight.
    common = np.union1d(np.argsort(-df, kind="stable")[:CROSS_SECTION_TERMS], columns)
    held, df = held[:, common].tocsr(), df[common]
    columns = np.searchsorted(common, columns)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    sizes = np.diff(own.indptr)
    rng = np.random.default_rng(seed)
    draws = [rng.choice(n, size, replace=False) for _ in range(CROSS_SECTION_DRAWS) for size in sizes]
    groups = sp.hstack([own, _membership(draws, n)], format="csc")
    members = np.diff(groups.indptr)
    left_out = np.tile(columns, 1 + CROSS_SECTION_DRAWS)
    cosines = _profile_cosines(groups.T @ held, members, idf, df / max(n, 1) * idf, left_out)
    observed, random = cosines[: columns.size], cosines[columns.size :].reshape(CROSS_SECTION_DRAWS, -1)
    return observed / np.maximum(random.mean(axis=0), 1e-12)


def _membership(groups: list[np.ndarray], n_rows: int) -> sp.csc_matrix:
    """A 0/1 matrix (n_rows, len(groups)) with column j marking the rows of ``groups[j]``."""
    lengths = [len(g) for g in groups]
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    rows = np.concatenate(groups).astype(np.int32) if groups else np.zeros(0, dtype=np.int32)
    return sp.csc_matrix((np.ones(rows.size), rows, indptr), shape=(n_rows, len(groups)))


def _profile_cosines(counts, members: np.ndarray, idf: np.ndarray, overall: np.ndarray, left_out: np.ndarray):
    """Cosine of each group's profile with ``overall``, the term ``left_out[g]`` of group g left out of both.

    counts : (n_groups, V), how many of a group's ``members`` hold each term; a group's profile is
    ``counts / members * idf``."""
    profile = np.asarray(counts.todense() if sp.issparse(counts) else counts, dtype=np.float64)
    profile *= idf[None, :] / np.maximum(members, 1)[:, None]
    own = profile[np.arange(profile.shape[0]), left_out]
    dot = profile @ overall - own * overall[left_out]
    norms = np.sqrt(np.maximum(np.einsum("ij,ij->i", profile, profile) - own**2, 0.0))
    overall_norms = np.sqrt(np.maximum(overall @ overall - overall[left_out] ** 2, 0.0))
    return dot / np.maximum(norms * overall_norms, 1e-300)


def _merge_term_stats(parts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sorted distinct terms over all chunks with their document frequencies, total counts and sums
    of ``count * log(count)`` over articles (for entropy weights).

    Merged one chunk at a time, so the peak is the running list plus one chunk's terms.
    """
    terms = np.zeros(0, dtype="S1")
    df = np.zeros(0, dtype=np.float64)
    totals = np.zeros(0, dtype=np.float64)
    clogc = np.zeros(0, dtype=np.float64)
    for counts, local_terms in parts:
        c = counts.data.astype(np.float64)
        local = [
            np.bincount(counts.indices, weights=w, minlength=local_terms.size)
            for w in (np.ones_like(c), c, c * np.log(c))
        ]
        # Both term lists are sorted and distinct: insert the chunk's new terms in place (a linear
        # merge, not a re-sort of everything seen so far, which dominated at a million articles).
        position, found = _find_sorted(terms, local_terms)
        if not found.all():
            at, new_terms = position[~found], local_terms[~found]
            terms = np.insert(terms.astype(np.promote_types(terms.dtype, local_terms.dtype)), at, new_terms)
            df, totals, clogc = (np.insert(stat, at, 0.0) for stat in (df, totals, clogc))
            position = np.searchsorted(terms, local_terms)
        for stat, add in zip((df, totals, clogc), local, strict=True):
            stat[position] += add  # positions are distinct: the chunk's terms are
    return terms, df, totals, clogc


def _find_sorted(sorted_terms: np.ndarray, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``terms`` is (or would be inserted) in ``sorted_terms``, and whether it is there."""
    position = np.searchsorted(sorted_terms, terms)
    found = position < sorted_terms.size
    found[found] = sorted_terms[position[found]] == terms[found]
    return position, found


def _return_freed_memory() -> None:
    """Hand the heap memory freed by the raw chunk counts back to the OS (glibc's ``malloc_trim``; a no-op
    elsewhere).

    The chunks arrive unpickled from the workers into the heap, and glibc keeps freed heap memory for
    reuse: a million-article fit held about 3 GB it no longer used through the rest of the fit, and
    peaked when the index's column copy of X was built on top of it.
    """
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _stack_weighted(parts: list, vocabulary: np.ndarray, idf: np.ndarray) -> sp.csr_matrix:
    """X: every chunk's counts re-indexed to ``vocabulary`` and weighted, stacked into one CSR matrix.

    X's arrays are allocated once at their final size and each raw chunk is freed as soon as it is
    copied in, so the peak is the raw chunks plus X, never two copies of X (as ``sp.vstack`` needs).
    """
    sizes = [int(_find_sorted(vocabulary, terms)[1][counts.indices].sum()) for counts, terms in parts]
    n_rows = sum(counts.shape[0] for counts, _ in parts)
    data = np.empty(sum(sizes), dtype=np.float32)
    indices = np.empty(sum(sizes), dtype=np.int32)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    row = entry = 0
    for i, size in enumerate(sizes):
        block = _weight(_to_vocabulary(*parts[i], vocabulary), idf)
        parts[i] = None  # free each raw chunk as soon as it is weighted
        data[entry : entry + size], indices[entry : entry + size] = block.data, block.indices
        indptr[row + 1 : row + 1 + block.shape[0]] = block.indptr[1:] + entry
        row, entry = row + block.shape[0], entry + size
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, vocabulary.size))


def _stack_counts(parts: list, terms: np.ndarray) -> sp.csr_matrix:
    """Every chunk's raw counts of ``terms`` (sorted bytes), stacked: float32 CSR (n_texts, len(terms))."""
    if not parts:
        return sp.csr_matrix((0, terms.size), dtype=np.float32)
    return sp.vstack([_to_vocabulary(counts, local, terms) for counts, local in parts], format="csr", dtype=np.float32)


def _entropy_from_stats(totals: np.ndarray, clogc: np.ndarray, n_docs: int) -> np.ndarray:
    """Log-entropy global weights ``1 + sum_d p log p / log n`` in [0, 1] from per-term totals T and sums of c log c:
    sum_d p log p = (sum_d c log c) / T - log T with p = c / T."""
    if n_docs < 2:
        return np.ones(totals.size, dtype=np.float32)
    safe = np.where(totals > 0, totals, 1.0)
    plogp = clogc / safe - np.log(safe)
    return np.clip(1.0 + plogp / np.log(n_docs), 0.0, 1.0).astype(np.float32)


def _to_vocabulary(counts: sp.csr_matrix, local_terms: np.ndarray, vocabulary: np.ndarray) -> sp.csr_matrix:
    """A chunk's raw counts re-indexed to ``vocabulary`` columns; terms outside it are dropped."""
    cols, known = _find_sorted(vocabulary, local_terms)
    keep_entry = known[counts.indices]
    new_indices = cols[counts.indices[keep_entry]].astype(np.int32)
    kept_before = np.concatenate([[0], np.cumsum(keep_entry)])  # kept entries before each position
    indptr = kept_before[counts.indptr].astype(np.int64)
    out = sp.csr_matrix((counts.data[keep_entry], new_indices, indptr), shape=(counts.shape[0], vocabulary.size))
    out.sort_indices()
    return out


def _weight(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf times idf, rows scaled to unit L2 norm; float32."""
    x = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    np.log(x.data, out=x.data)
    x.data += 1.0
    x.data *= np.asarray(idf, dtype=np.float32)[x.indices]
    # The entries as scipy's x @ diag(idf) left them, which built the V x V diagonal for every text (most of
    # vectorising a one-line query): each row's entries in reverse order, zeros dropped. The order is kept
    # so that every sum over a row (its norm, its cosines) has the bits it had.
    lengths = np.diff(x.indptr)
    starts = np.repeat(x.indptr[:-1], lengths)
    reverse = 2 * starts + np.repeat(lengths, lengths) - 1 - np.arange(x.nnz, dtype=starts.dtype)
    x = sp.csr_matrix((x.data[reverse], x.indices[reverse], x.indptr), shape=x.shape)
    x.eliminate_zeros()
    return unit_rows(x)


def _as_count(value, n_docs: int, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name}={value!r} must be a number: an article count or a share between 0 and 1")
    if isinstance(value, (float, np.floating)):
        if not 0.0 <= value <= 1.0:
            raise ParameterError(f"{name}={value!r} as a share must be between 0.0 and 1.0")
        return value * n_docs
    if value < 1:
        raise ParameterError(f"{name}={value!r} as an article count must be at least 1")
    return value


# The fit's unknown-term share (the baseline `add` compares new articles with) is read off its first articles.
DRIFT_BASELINE_ARTICLES = 2000


def _unknown_share_of_first(parts, vocabulary: np.ndarray, n: int) -> float:
    """:func:`unknown_share` of the first ``n`` counted texts, from their raw counts (no second analysis)."""
    total = unknown = 0.0
    for counts, local_terms in parts:
        if n <= 0:
            break
        rows = counts[:n]
        known = _find_sorted(vocabulary, local_terms)[1]
        total += float(rows.sum())
        unknown += float(rows.data[~known[rows.indices]].sum())
        n -= rows.shape[0]
    return round(unknown / total, 4) if total else 0.0


def unknown_share(vectorizer, texts: list[str], *, sample: int = 2_000) -> float:
    """Share of the terms the analyser finds in ``texts`` that are not in the vocabulary, in [0, 1].

    Estimated on at most ``sample`` evenly spaced texts (default=2,000); 0.0 for texts without terms.
    """
    step = max(1, len(texts) // sample)
    vocabulary, total, unknown = vectorizer.vocabulary_, 0, 0
    for text in texts[::step]:
        terms = _encode(vectorizer.analyzer(text))
        if terms.size == 0:
            continue
        cols = np.minimum(np.searchsorted(vocabulary, terms), len(vocabulary) - 1)
        total += terms.size
        unknown += int((vocabulary[cols] != terms).sum())
    return round(unknown / total, 4) if total else 0.0


def stub_rows(X, vocabulary: np.ndarray, min_words: int) -> np.ndarray:
    """Rows of X with fewer than ``min_words`` distinct known words (two-word terms not counted).

    X : csr_matrix of shape (n_articles, V); vocabulary : ndarray of UTF-8 bytes (V,). Returns the rows
    as a sorted int64 array.
    """
    if min_words <= 0:
        return np.zeros(0, dtype=np.int64)
    is_word = np.char.find(vocabulary, b" ") < 0
    indptr, indices = X.indptr, X.indices  # read only (a loaded model's arrays are memory-mapped)
    stubs = []
    for start in range(0, X.shape[0], _STUB_BLOCK_ROWS):  # blocks bound the temporary to a few MB
        bounds = indptr[start : start + _STUB_BLOCK_ROWS + 1]
        words = np.concatenate([[0], np.cumsum(is_word[indices[bounds[0] : bounds[-1]]], dtype=np.int64)])
        n_words = words[bounds[1:] - bounds[0]] - words[bounds[:-1] - bounds[0]]
        stubs.append(np.flatnonzero(n_words < min_words) + start)
    return np.concatenate(stubs) if stubs else np.zeros(0, dtype=np.int64)


_STUB_BLOCK_ROWS = 65536


def saved_stub_rows(fit_info: dict, min_words: int, n_articles: int) -> np.ndarray | None:
    """The stub rows a model file keeps (``fit_info["stubs"]``, written by fit and kept up by add) when they
    still hold: the same ``min_words``, every add since counted, rows within the archive; else None."""
    saved = fit_info.get("stubs")
    if not isinstance(saved, dict) or saved.get("min_words") != min_words:
        return None
    if saved.get("n_adds") != len(fit_info.get("adds", [])):
        return None
    rows = np.asarray(saved.get("rows", []), dtype=np.int64)
    return rows if rows.size == 0 or (rows.min() >= 0 and rows.max() < n_articles) else None


def stubs_record(min_words: int, n_adds: int, rows: np.ndarray) -> dict:
    """``fit_info["stubs"]``: the stub rows for ``min_words`` after ``n_adds`` adds."""
    return {"min_words": int(min_words), "n_adds": int(n_adds), "rows": np.asarray(rows, dtype=np.int64).tolist()}
