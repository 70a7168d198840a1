"""Which of a topic's words are written together: the order in which a topic's words are shown.

NMF ranks a topic's terms by weight (and :func:`topics.topic_model.term_relevance` by weight and how
particular they are to the topic). Two heavy terms of a topic need not be used in the same passages: a name
repeated in one long article weighs as much as a word that runs through many. Readers judge a topic's words
by whether they belong together, and so does NPMI, the coherence measure that tracks their judgement.

At fit time each topic's :data:`CANDIDATES` most relevant terms, in readable form (a phrase in the place
of the word it absorbs, "peter hollingworth" for "hollingworth"), are put in a new order, greedily: the
most relevant first, then each time the term with the highest

    relevance / relevance of the first term  +  PAIR_WEIGHT * mean NPMI with the terms already chosen

(NPMI with the first :data:`PAIR_NEIGHBOURS` chosen). NPMI is counted over a sample of the archive's own
texts (at most :data:`ORDER_SAMPLE` of the ones the clutter step reads), over windows of :data:`WINDOW`
words of the running text, stop words included, so the rule needs no word list and works in any language
whose words are separated by spaces. A pair seen together in fewer than :data:`MIN_ARTICLES` articles gets
no credit (its NPMI is capped at 0): on a small archive two rare words that meet once would otherwise pull
each other up. A word the sample never shows (the analyser normalised it, or the script has no spaces) is
neutral: NPMI 0 with every other word.

Measured (``benchmarks/word_choice.py``, row "fitted order", and benchmarks/RESULTS.md): chosen on one half
of an archive and judged on the other, the order gains on the held-out news (+0.019 NPMI) and on the
newsgroup and Wikipedia samples; on Lee news it gains with stop words kept in the reference and loses 0.022
with them dropped. Without the :data:`MIN_ARTICLES` rule, or with a :data:`PAIR_WEIGHT` of 1, the small
corpora lost up to 0.04 on their other half.

The order is saved with the model (``fit_info["word_order"]``: per topic, the columns of its candidates in
the new order) and used wherever a topic's words or its label are shown. A topic that an edit creates (a
merge) has none, and its words are ranked by relevance alone.
"""

from __future__ import annotations

import re

import numpy as np

WINDOW = 10
CANDIDATES = 40
PAIR_WEIGHT = 0.5
PAIR_NEIGHBOURS = 10
MIN_ARTICLES = 3
# At most this many texts of the fit's sample are counted (evenly spaced): the gain held on halves of
# 1,900 news articles, and counting costs about a second per 4,000 articles.
ORDER_SAMPLE = 2000
# Windows never span two articles: each article's positions start this far after the previous one's end.
_GAP = WINDOW
_WORD = re.compile(r"[^\W\d_]{2,}")


def window_npmi(texts, words: list[str], *, window: int = WINDOW, min_articles: int = MIN_ARTICLES) -> np.ndarray:
    """NPMI of every pair of ``words`` over the running text of ``texts``: float32 array (R, R), R = len(words).

    Two words co-occur when they stand fewer than ``window`` words apart; a pair at distance d counts
    ``window - d`` (the sliding windows that hold both), a word ``window`` for each occurrence, out of one
    window per word of text. A pair met in fewer than ``min_articles`` articles is capped at 0, a pair never
    met is -1, and a word never seen is 0 with every word. The diagonal is 0.
    """
    index = {w: i for i, w in enumerate(words)}
    ids, positions, articles = [], [], []
    offset = 0
    for article, text in enumerate(texts):
        tokens = _WORD.findall(text.lower())
        at = [p for p, w in enumerate(tokens) if w in index]
        ids.extend(index[tokens[p]] for p in at)
        positions.extend(offset + p for p in at)
        articles.extend([article] * len(at))
        offset += len(tokens) + _GAP
    r = len(words)
    ids, positions, articles = (np.asarray(a, dtype=np.int64) for a in (ids, positions, articles))
    pair_keys, pair_weights, pair_articles = [], [], []
    for shift in range(1, len(ids)):
        distance = positions[shift:] - positions[:-shift]
        near = distance < window
        if not near.any():  # hits are in text order: a larger shift only moves further apart
            break
        a, b = ids[shift:][near], ids[:-shift][near]
        weight = (window - distance[near]).astype(np.float64)
        pair_keys += [a * r + b, b * r + a]
        pair_weights += [weight, weight]
        article = articles[shift:][near]
        pair_articles += [article * r * r + a * r + b, article * r * r + b * r + a]
    n_windows = max(offset, 1)
    p_word = np.bincount(ids, minlength=r) * float(window) / n_windows
    joint = np.zeros(r * r)
    met_in = np.zeros(r * r, dtype=np.int64)
    if pair_keys:
        joint = np.bincount(np.concatenate(pair_keys), np.concatenate(pair_weights), minlength=r * r) / n_windows
        met_in = np.bincount(_distinct(np.concatenate(pair_articles)) % (r * r), minlength=r * r)
    joint, met_in = joint.reshape(r, r), met_in.reshape(r, r)
    with np.errstate(divide="ignore", invalid="ignore"):
        npmi = np.log(joint / np.outer(p_word, p_word)) / -np.log(joint)
    npmi[joint == 0] = -1.0
    npmi[(met_in < min_articles) & (npmi > 0)] = 0.0
    seen = p_word > 0
    npmi[~seen, :] = 0.0
    npmi[:, ~seen] = 0.0
    np.fill_diagonal(npmi, 0.0)
    return np.nan_to_num(npmi, nan=0.0).astype(np.float32)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (np.unique, which hashes large int64 arrays far more slowly)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if values.size else values


def order_topic_words(relevance: np.ndarray, terms_of, texts, article_counts: np.ndarray) -> list[list[int]]:
    """Each topic's :data:`CANDIDATES` most relevant columns, as a reader sees them, in the order of the
    module docstring.

    relevance : (k, V) scores of :func:`topics.topic_model.term_relevance`; terms_of : maps an array of
    columns to their terms (words or two-word phrases); texts : the sample of the archive's texts;
    article_counts : (V,) the number of articles holding each term. The candidates are first made
    readable (:func:`_readable_units`: "bin laden" stands for "bin" and "laden"), so a phrase and its
    words are ordered as one thing. Returns k lists of ints (columns), the first of each
    the topic's most relevant term.
    """
    from .topic_model import top_terms

    candidates, weights = [], []
    for t, columns in enumerate(top_terms(relevance, min(CANDIDATES, relevance.shape[1]))):
        columns = columns[relevance[t, columns] > 0]  # a topic with fewer terms than candidates
        units, unit_weights = _readable_units(terms_of(columns), relevance[t, columns], article_counts[columns])
        candidates.append(columns[units])
        weights.append(unit_weights)
    term_words = [[term.split() for term in terms_of(columns)] if len(columns) else [] for columns in candidates]
    words = sorted({w for row in term_words for term in row for w in term})
    texts = list(texts)
    npmi = window_npmi(texts[:: max(1, -(-len(texts) // ORDER_SAMPLE))], words)
    position = {w: i for i, w in enumerate(words)}
    orders = []
    for t, columns in enumerate(candidates):
        if len(columns) == 0:
            orders.append([])
            continue
        # Two terms score the mean NPMI of their pairs of distinct words (the diagonal of npmi is 0 and
        # shared words are not counted).
        own = sorted({position[w] for term in term_words[t] for w in term})
        local = {w: i for i, w in enumerate(own)}
        incidence = np.zeros((len(columns), len(own)), dtype=np.float32)
        for row, term in enumerate(term_words[t]):
            incidence[row, [local[position[w]] for w in term]] = 1.0
        sizes = incidence.sum(axis=1)
        n_pairs = sizes[:, None] * sizes[None, :] - incidence @ incidence.T
        pairs = (incidence @ npmi[np.ix_(own, own)] @ incidence.T) / np.maximum(n_pairs, 1.0)
        orders.append([int(columns[i]) for i in _greedy(weights[t] / weights[t].max(), pairs)])
    return orders


def _readable_units(terms: list[str], relevance: np.ndarray, article_counts: np.ndarray):
    """Positions of the terms a reader needs (as :func:`topics.topic_model.readable_terms`, but a phrase
    takes the place of the word it absorbs: "hollingworth" -> "peter hollingworth" stays first), and each
    one's weight: the highest relevance among the terms it stands for. Returns (list of int, float array)."""
    from .topic_model import PHRASE_ABSORBS, shown_alone

    chosen: list[int] = []
    weight: dict[int, float] = {}
    covered: set[str] = set()
    for position, term in enumerate(terms):
        words = set(term.split())
        if words <= covered:
            at = shown_alone(chosen, terms, position, article_counts) if len(words) > 1 else []
            if at:  # "putin", "vladimir", then "vladimir putin": the phrase stands for both
                weight[position] = max([float(relevance[position])] + [weight[chosen[i]] for i in at])
                chosen[at[0]] = position
                chosen = [c for i, c in enumerate(chosen) if i not in at[1:]]
            continue
        absorbed = [
            i
            for i, c in enumerate(chosen)
            if len(words) > 1 and terms[c] in words and article_counts[position] >= PHRASE_ABSORBS * article_counts[c]
        ]
        if absorbed:
            weight[position] = max([float(relevance[position])] + [weight[chosen[i]] for i in absorbed])
            chosen[absorbed[0]] = position
            chosen = [c for i, c in enumerate(chosen) if i not in absorbed[1:]]
        else:
            weight[position] = float(relevance[position])
            chosen.append(position)
        covered |= words
    return chosen, np.array([weight[c] for c in chosen], dtype=np.float64)


def _greedy(weights: np.ndarray, pairs: np.ndarray) -> list[int]:
    """Positions in the order of the module docstring: the first, then by weight + PAIR_WEIGHT * mean pair score."""
    chosen, left = [0], list(range(1, len(weights)))
    pair_sums = pairs[:, 0].astype(np.float64).copy()
    while left:
        n_neighbours = min(len(chosen), PAIR_NEIGHBOURS)
        best = max(left, key=lambda i: weights[i] + PAIR_WEIGHT * pair_sums[i] / n_neighbours)
        left.remove(best)
        if len(chosen) < PAIR_NEIGHBOURS:
            pair_sums += pairs[:, best]
        chosen.append(best)
    return chosen


def ordered_columns(word_order, ranked: np.ndarray, n: int) -> np.ndarray:
    """A topic's first ``n`` columns: its saved ``word_order`` (None for a topic without one) followed by the
    rest of ``ranked`` (its columns by relevance, at least n of them), as an int array."""
    if not word_order:
        return np.asarray(ranked[:n])
    head = list(word_order[:n])
    if len(head) < n:
        seen = set(head)
        head += [int(c) for c in ranked if int(c) not in seen][: n - len(head)]
    return np.asarray(head, dtype=np.asarray(ranked).dtype)
