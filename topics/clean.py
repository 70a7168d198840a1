"""Cleaning text before analysis: broken characters, page clutter and news boilerplate.

Three jobs, all applied the same way at fit, ``add`` and query time so an archive and its queries are
read alike:

- :func:`repair_text` mends broken text: mojibake ("CafÃ©") with ftfy, HTML entities ("&amp;"), stray
  markup tags, and words that lost a character for good ("D��il", "?ireann"), which are dropped rather
  than turned into terms such as "il".
- :func:`clean_news` removes news and Usenet furniture: header blocks, quoted replies, attributions,
  signatures, datelines, bylines.
- :class:`RepeatedSpans` learns word sequences that recur verbatim across many articles (share-button
  strips, credit lines glued to a last sentence, police appeals, promos, legal lines) and cuts them out
  wherever they stand.

Every pattern here runs in linear time on any input: no nested or overlapping quantifiers, and the
line-based rules work line by line.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

# -- broken text ------------------------------------------------------------------------------------------
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]{0,15}(?:\s[^<>]{0,500})?/?>")
_REPLACEMENT = "\ufffd"
_BREAKAGE = re.compile("[\ufffd?]")
_WORD_TAIL = re.compile(r"[\w\ufffd?'’]{0,40}")
_WORD_HEAD = re.compile(r"[\w\ufffd?'’]{0,40}$")
# Mojibake is UTF-8 read as cp1252 or latin-1: a lead byte (Â to ï) followed by what a continuation byte
# becomes (U+0080 to U+00BF or a cp1252 sign). Only texts with such a pair go to ftfy, whose own test reads
# the whole text with a large pattern (most of a fit's repair time when every text went to it).
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00ef][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)


def repair_text(text: str) -> str:
    """``text`` with broken characters mended: mojibake fixed by ftfy, HTML entities decoded, markup tags
    and words that lost a character removed. Plain text comes back unchanged (and fast)."""
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    if "<" in text and _TAG.search(text):
        text = _TAG.sub(" ", text)
    if not text.isascii() and _MOJIBAKE_HINT.search(text):
        text = _fix_mojibake(text)
    if _REPLACEMENT in text or "?" in text:
        text = _drop_broken_words(text)
    return text


def _fix_mojibake(text: str) -> str:
    from ftfy import fix_encoding
    from ftfy.badness import is_bad

    return fix_encoding(text) if is_bad(text) else text


def _drop_broken_words(text: str) -> str:
    """Words that lost a character for good become clause breaks (no two-word term spans the gap).

    A word lost a character where U+FFFD stands, or where '?' touches a letter on its right and a letter
    or a space on its left ("M?nchen", "?ireann", "RT?'s"); after other punctuation ('"?highly') the '?'
    stood for a lost punctuation mark and only the '?' goes. English never puts a letter right after '?'.
    Each mark looks at most 40 characters either way, so this is linear in the text.
    """
    cuts = []
    for mark in _BREAKAGE.finditer(text):
        at = mark.start()
        after = text[at + 1 : at + 3].lstrip("'’")[:1]
        before = text[at - 1] if at else " "
        if mark.group(0) == "?":
            if not after.isalpha():
                continue
            if not (before.isalpha() or before.isspace()):
                cuts.append((at, at + 1))
                continue
        start = at - len(_WORD_HEAD.search(text, max(0, at - 40), at).group(0))
        cuts.append((start, _WORD_TAIL.match(text, at).end()))
    if not cuts:
        return text
    pieces, position = [], 0
    for start, end in cuts:
        if end <= position:  # a second mark in a word already cut
            continue
        start = max(start, position)
        pieces.append(text[position:start])
        pieces.append(" . ")
        position = max(position, end)
    pieces.append(text[position:])
    return "".join(pieces)


# -- news and Usenet furniture ----------------------------------------------------------------------------
_HEADER_LINE = re.compile(r"^[A-Za-z][\w-]*: ")
_QUOTE_LINE = re.compile(r"^[ \t]*(?:[>|:]|[A-Za-z]{0,3}>)")
_ATTRIBUTION_MARKERS = ("writes:", "wrote:", "says:")
_DATELINE = re.compile(
    r"^\s{0,20}(?:[A-Z][A-Z.\' -]{1,40}(?:,[^\n(–—-]{0,40})?[ \t]*)?"
    r"\((?:Reuters|AP|AFP|AAP|UPI|Bloomberg|dpa|PTI|IANS|Xinhua|CNN|BBC)\)[ \t]*[-–—:]+\s{0,20}",
    re.IGNORECASE,
)
_AGENCY_PREFIX = re.compile(r"^\s{0,20}(?:Reuters|AP|AFP|AAP|UPI|Bloomberg|PTI|IANS|Xinhua)[ \t]*[-–—:]+[ \t]+")
_BYLINE = re.compile(r"^[ \t]*By [A-Z][\w.\'-]{0,40}(?: [A-Z][\w.\'-]{0,40}){0,4}[ \t]*(?:,[^\n]{0,60})?$")


def clean_news(text: str) -> str:
    """Remove news and Usenet boilerplate that carries no topic.

    Drops a leading block of e-mail headers (keeping the ``Subject:`` text), quoted reply lines
    (``>``), attribution lines ("In article <...> X writes:"), a signature after a ``--`` line,
    agency datelines ("LONDON (Reuters) -", "AAP -") and bylines ("By Jane Smith").
    """
    lines = text.split("\n")
    if len(lines) > 1 and _HEADER_LINE.match(lines[0]) and _HEADER_LINE.match(lines[1]):
        body_start = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
        subject = [line.split(":", 1)[1] for line in lines[:body_start] if line.lower().startswith("subject:")]
        subject = [re.sub(r"^\s*(?:re:\s*)+", "", s, flags=re.IGNORECASE) for s in subject]
        lines = [*subject, "", *lines[body_start:]]
    kept = []
    for line in lines:
        if line.rstrip() == "--":  # signature separator: the rest is a signature
            break
        if _QUOTE_LINE.match(line) or _is_attribution(line):
            continue
        if line.startswith(("By ", " By ", "\tBy ")) and _BYLINE.match(line):
            continue
        kept.append(line)
    text = "\n".join(kept).lstrip()
    return _AGENCY_PREFIX.sub("", _DATELINE.sub("", text, count=1), count=1)


def _is_attribution(line: str) -> bool:
    """ "In article <id> X writes:" and the like: a short line that only says who wrote what follows.
    Prose that quotes ("The report says: ...") is longer and goes on after the marker."""
    if len(line) > _ATTRIBUTION_MAX_CHARS:
        return False
    if line.rstrip().endswith(_ATTRIBUTION_MARKERS):
        return True
    start = line.find("In article <")
    return start >= 0 and line.find(">", start) >= 0


_ATTRIBUTION_MAX_CHARS = 300


# -- boilerplate sentences (models saved in format 2) -----------------------------------------------------
# A sentence ends at a line break, or at . ! ? followed by white space and a capital.
_SENTENCE_BREAK = re.compile(r"\n\s*|(?<=[.!?])\s+(?=[\"'“‘(]?[A-Z])")
_KEY_WORD = re.compile(r"[^\W\d_]+")
BOILERPLATE_MIN_WORDS = 4
BOILERPLATE_SHARE = 0.005
BOILERPLATE_MIN_ARTICLES = 5


def sentence_key(sentence: str) -> str:
    """A sentence's lowercase words joined by single spaces: what two copies of boilerplate share."""
    return " ".join(_KEY_WORD.findall(sentence.lower()))


def find_boilerplate(texts: Iterable[str]) -> frozenset:
    """The keys (:func:`sentence_key`) of whole sentences repeated across many of ``texts``.

    The rule of models saved in format 2; new models learn :class:`RepeatedSpans`, which also finds
    lines glued to a sentence. An article's first sentence never counts (a repeated title is content).
    """
    articles: defaultdict = defaultdict(int)
    n_texts = 0
    for text in texts:
        n_texts += 1
        sentences = _SENTENCE_BREAK.split(clean_news(text))[1:]
        for key in {sentence_key(s) for s in sentences}:
            if key.count(" ") + 1 >= BOILERPLATE_MIN_WORDS:
                articles[key] += 1
    needed = max(BOILERPLATE_MIN_ARTICLES, BOILERPLATE_SHARE * n_texts)
    return frozenset(key for key, count in articles.items() if count >= needed)


def probe_words(keys: Iterable[str], texts: Sequence[str] = ()) -> tuple:
    """One word of each key, the one in the fewest of ``texts`` (without texts: the longest).

    A text that holds none of them (as lowercase substrings) holds no key, and that test runs in C; so
    the rarer the probes, the fewer texts need a closer look.
    """
    keys = list(keys)
    if not keys:
        return ()
    step = max(1, len(texts) // 1000)  # rarity read off at most 1,000 texts: exact counts don't matter
    lowered = [t.lower() for t in texts[::step]]

    def rarity(word):
        return (sum(word in t for t in lowered), -len(word), word)

    return tuple(sorted({min(key.split(), key=rarity) for key in keys}))


def strip_boilerplate(text: str, boilerplate: frozenset, probes: tuple | None = None) -> str:
    """``text`` without its boilerplate sentences, or whole when they would be most of it (copies of a
    syndicated story share every sentence; dropping them all would empty the copies, not clean them)."""
    if probes is not None and not any(probe in text.lower() for probe in probes):
        return text
    sentences = _SENTENCE_BREAK.split(text)
    kept = sentences[:1] + [s for s in sentences[1:] if not _is_boilerplate(s, boilerplate, probes)]
    if len(kept) == len(sentences) or sum(map(len, kept)) < sum(map(len, sentences)) / 2:
        return text
    return "\n".join(kept)


def _is_boilerplate(sentence: str, boilerplate: frozenset, probes: tuple | None) -> bool:
    if probes is not None:
        lowered = sentence.lower()
        if not any(probe in lowered for probe in probes):
            return False
    return sentence_key(sentence) in boilerplate


# -- repeated spans, wherever they stand --------------------------------------------------------------
# A span is a run of at least SPAN_WORDS words that recurs verbatim (same words, any punctuation) in at
# least SPAN_SHARE of the sampled articles and in SPAN_MIN_ARTICLES of them. Six words: shorter windows
# ("one of the most") are ordinary English, and the shortest clutter seen ("Source: Al Jazeera and news
# agencies") has six. An article's first sentence never counts: a repeated title or subject is content; nor
# does a run that is most of its article: copies of a syndicated story share every word.
SPAN_WORDS = 6
SPAN_SHARE = 0.003
SPAN_MIN_ARTICLES = 5
# A span set apart by punctuation on one side only counts when it is at least this long.
LONG_SPAN_WORDS = 12
# Spans are learned from this many articles, drawn evenly from the whole archive when it can be read twice.
SPAN_SAMPLE = 5000
_SPAN_WORD = re.compile(r"[^\W_]+")


class RepeatedSpans:
    """Word sequences an archive repeats verbatim in many articles, and their removal from any text.

    Parameters
    ----------
    windows : iterable of str
        Every SPAN_WORDS-word window of the learned spans, as lowercase words joined by spaces.
    probes : iterable of str or None
        :func:`probe_words` of ``windows``: a text without any of them holds no span (tested in C).
    spans : dict of str to int, default={}
        The learned spans (maximal runs, as lowercase words) and how many sampled articles held each;
        for ``topics info``.
    """

    def __init__(self, windows: Iterable[str] = (), probes: Iterable[str] | None = None, spans=None):
        self.windows = frozenset(windows)
        self.probes = tuple(probes) if probes is not None else _span_probes(self.windows, lambda word: 0)
        self.spans = dict(spans or {})

    def __bool__(self) -> bool:
        return bool(self.windows)

    def get_config(self) -> dict:
        return {"windows": sorted(self.windows), "probes": list(self.probes), "spans": dict(self.spans)}

    @classmethod
    def from_archive(cls, texts: Sequence[str], *, repair: bool = True) -> RepeatedSpans:
        """The spans of an archive from an even sample of at most :data:`SPAN_SAMPLE` of its raw ``texts``,
        repaired (with ``repair``) and cleaned as the analyser reads them."""
        step = max(1, -(-len(texts) // SPAN_SAMPLE))
        return cls.learn([clean_news(repair_text(t) if repair else t) for t in texts[::step]])

    @classmethod
    def learn(cls, texts: Sequence[str]) -> RepeatedSpans:
        """The spans repeated across ``texts`` (already repaired and cleaned) that stand apart from the
        prose around them (:func:`_sides_apart`) in most of the articles that hold them, and are not most of
        their article (copies of a syndicated story)."""
        ids: defaultdict = defaultdict()
        ids.default_factory = ids.__len__
        sequences = [
            np.fromiter(map(ids.__getitem__, _SPAN_WORD.findall(_after_first_sentence(t).lower())), dtype=np.int64)
            for t in texts
        ]
        number = ids["#"]  # every word with a digit becomes "#" (one look per distinct word, not per word)
        as_key = np.array([i if word.isalpha() else number for word, i in ids.items()], dtype=np.int64)
        sequences = [_collapse_numbers(as_key[seq], number) for seq in sequences]
        hashes = [_window_hashes(seq, number) for seq in sequences]
        needed = max(SPAN_MIN_ARTICLES, SPAN_SHARE * len(texts))
        frequent = _frequent(hashes, needed)
        if frequent.size == 0:
            return cls()
        # One membership test over every window of every text, then each text's slice of it.
        bounds = np.cumsum([0] + [h.size for h in hashes])
        is_frequent = np.isin(np.concatenate(hashes), frequent)
        runs, held, apart, whole = defaultdict(int), defaultdict(int), defaultdict(int), defaultdict(int)
        for i, text in enumerate(texts):
            covered = is_frequent[bounds[i] : bounds[i + 1]]
            if not covered.any():
                continue
            body = _after_first_sentence(text)
            keys, first, last = _keys_of(_SPAN_WORD.findall(body.lower()))
            offsets = [m.span() for m in _SPAN_WORD.finditer(body)]
            if not last or last[-1] != len(offsets) - 1:
                continue  # lowercasing changed the words (rare letters): skip this text
            for start, end in _runs(covered):
                end += SPAN_WORDS - 1
                run = keys[start:end]
                sides = _sides_apart(body, offsets[first[start]][0], offsets[last[end - 1]][1])
                stands_apart = sides == 2 or (sides == 1 and len(run) >= LONG_SPAN_WORDS)
                most = len(run) * 2 > len(keys)  # most of its article: a copy of a syndicated story
                runs[" ".join(run)] += 1
                for i in range(len(run) - SPAN_WORDS + 1):
                    window = " ".join(run[i : i + SPAN_WORDS])
                    held[window] += 1
                    apart[window] += stands_apart
                    whole[window] += most
        # A window is clutter when most of its copies stand apart and are not most of their article (copies
        # of a syndicated story share every word); copies of one line vary at the edges (a phone number
        # written two ways, a place name), so the verdict is per window, not per line.
        windows = {w for w, count in held.items() if count >= needed and apart[w] * 2 >= count and whole[w] * 2 < count}
        spans = {
            span: count
            for span, count in runs.items()
            if count >= SPAN_MIN_ARTICLES
            and all(
                " ".join(words[i : i + SPAN_WORDS]) in windows
                for words in [span.split()]
                for i in range(len(words) - SPAN_WORDS + 1)
            )
        }
        words = sorted({w for window in windows for w in window.split()})
        articles_with = _articles_with(sequences, [ids[w] for w in words], len(ids))
        return cls(windows, _span_probes(windows, lambda word: articles_with[ids[word]]), spans)

    def strip(self, text: str) -> str:
        """``text`` with every span cut out (each cut ends a clause). A text that is all clutter (a promo
        posted alone) is left with no words, and so weighs in no topic."""
        if not self.windows:
            return text
        lowered = text.lower()
        if not any(probe in lowered for probe in self.probes):
            return text
        words = _SPAN_WORD.findall(lowered)
        probes, windows = self._probe_set, self.windows
        if probes.isdisjoint(words):  # the probes were parts of other words
            return text
        keys, first, last = _keys_of(words)
        covered = np.zeros(len(keys), dtype=bool)
        # Every learned window holds its probe word, so only windows around a probe need a look.
        for at in [i for i, key in enumerate(keys) if key in probes]:
            for i in range(max(0, at - SPAN_WORDS + 1), min(at + 1, len(keys) - SPAN_WORDS + 1)):
                if " ".join(keys[i : i + SPAN_WORDS]) in windows:
                    covered[i : i + SPAN_WORDS] = True
        if not covered.any():
            return text
        offsets = [m.span() for m in _SPAN_WORD.finditer(text)]
        if not last or last[-1] != len(offsets) - 1:  # lowercasing changed the words (rare letters)
            return text
        pieces, position = [], 0
        for start, end in _runs(covered):
            pieces.append(text[position : offsets[first[start]][0]])
            pieces.append(" . ")
            position = offsets[last[end - 1]][1]
        pieces.append(text[position:])
        return "".join(pieces)

    @property
    def _probe_set(self) -> frozenset:
        if not hasattr(self, "_probes_as_set"):
            self._probes_as_set = frozenset(self.probes)
        return self._probes_as_set


def _span_probes(windows, articles_with) -> tuple:
    """One word of each window, the one in the fewest articles (``articles_with(word)``), longest first
    among equals; never "#", which stands for numbers and so is in no text."""

    def rarity(word):
        return (articles_with(word), -len(word), word)

    return tuple(sorted({min((w for w in window.split() if w != "#"), key=rarity) for window in windows}))


def _span_key(word: str) -> str:
    """A word as spans see it: lowercase, and "#" for anything with a digit (dates, page numbers and
    phone numbers change from copy to copy of the same line)."""
    return word if word.isalpha() else "#"


def _keys_of(words: list) -> tuple[list, list, list]:
    """The span keys of a text's lowercase words, with a run of numbers as at most two "#" keys (a phone
    number is written 1800-666-111 in one copy of a line and 1800 666111 in the next), and for each key
    the first and last word it stands for."""
    keys = [w if w.isalpha() else "#" for w in words]
    if "#" not in keys or "# # #" not in " ".join(keys):  # no run to cut: each key is its own word
        positions = list(range(len(keys)))
        return keys, positions, positions
    collapsed, first, last = [], [], []
    for i, key in enumerate(keys):
        if key == "#" and len(collapsed) >= 2 and collapsed[-1] == "#" and collapsed[-2] == "#":
            last[-1] = i
            continue
        collapsed.append(key)
        first.append(i)
        last.append(i)
    return collapsed, first, last


def _collapse_numbers(seq: np.ndarray, number: int) -> np.ndarray:
    """``seq`` (word ids) with every run of ``number`` ids cut to at most two, as :func:`_keys_of` does."""
    is_number = seq == number
    third = is_number.copy()
    third[:2] = False
    third[2:] &= is_number[1:-1] & is_number[:-2]
    return seq[~third]


def _after_first_sentence(text: str) -> str:
    """``text`` from its second sentence on ("" for one sentence): a repeated first line is a title."""
    first = _SENTENCE_BREAK.search(text)
    return text[first.end() :] if first is not None else ""


_SENTENCE_EDGE = frozenset(".!?:;\"“”‘’'()[]|•·–—-*#=~_/\\")


def _sides_apart(text: str, start: int, end: int) -> int:
    """On how many sides (0, 1 or 2) text[start:end] is set off from the prose around it: by the start
    or end of the text, punctuation or a line break. A phrase that recurs inside sentences ("White House
    press secretary Sean Spicer said") is content; clutter stands apart on both sides (a credit line, an
    appeal) or is long and apart on one (a share strip followed by an unpunctuated subheading)."""
    if not text[max(0, start - 3) : start].strip() or not text[end : end + 3].strip():
        return 2  # it begins or ends the text
    before, after = text[max(0, start - 3) : start], text[end : end + 3]
    left = before.rstrip()[-1:] in _SENTENCE_EDGE or "\n" in before
    right = after.lstrip()[:1] in _SENTENCE_EDGE or "\n" in after
    return left + right


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _window_hashes(ids: list, number: int) -> np.ndarray:
    """A 64-bit hash of every SPAN_WORDS-word window of a sequence of word ids; 0 for windows that are
    mostly numbers (tables and scores are not clutter)."""
    if len(ids) < SPAN_WORDS:
        return np.zeros(0, dtype=np.uint64)
    ids = np.asarray(ids, dtype=np.uint64)
    n = ids.size - SPAN_WORDS + 1
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(SPAN_WORDS):
            h = (h ^ (ids[j : j + n] + np.uint64(1))) * _MIX + np.uint64(j)
    numbers = np.convolve(ids == number, np.ones(SPAN_WORDS, dtype=np.int64), mode="valid")
    h[numbers * 3 > SPAN_WORDS * 2] = 0
    return h


def _frequent(hashes: list, needed: float) -> np.ndarray:
    """The window hashes found in at least ``needed`` articles (one sort of every (hash, article) pair)."""
    if not hashes:
        return np.zeros(0, dtype=np.uint64)
    values, _ = _distinct_pairs(hashes)
    values, counts = np.unique(values, return_counts=True)
    return values[(counts >= needed) & (values != 0)]


def _distinct_pairs(arrays: list) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (value, array index) pairs of a list of 1-d arrays, as two arrays."""
    values = np.concatenate(arrays)
    owner = np.repeat(np.arange(len(arrays)), [a.size for a in arrays])
    order = np.lexsort((owner, values))
    values, owner = values[order], owner[order]
    first = np.ones(values.size, dtype=bool)
    first[1:] = (values[1:] != values[:-1]) | (owner[1:] != owner[:-1])
    return values[first], owner[first]


def _articles_with(sequences: list, word_ids: list, n_ids: int) -> dict:
    """How many of the texts (sequences of word ids below ``n_ids``) hold each of ``word_ids``."""
    wanted = np.zeros(n_ids, dtype=bool)
    wanted[np.asarray(word_ids, dtype=np.int64)] = True
    kept = [seq[wanted[seq]] for seq in sequences]
    if not any(k.size for k in kept):
        return dict.fromkeys(word_ids, 0)
    values, _ = _distinct_pairs(kept)
    counts = dict(zip(*np.unique(values, return_counts=True), strict=True))
    return {int(w): int(counts.get(w, 0)) for w in word_ids}


def _runs(covered: np.ndarray):
    """(start, end) of each run of True in a 1-d boolean array, end exclusive."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], covered, [False]]).astype(np.int8)))
    return list(zip(edges[::2], edges[1::2], strict=True))
