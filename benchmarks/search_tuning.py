"""Can a setting of the text-query score be chosen that generalises? Headline -> article on held-out halves.

Known-item search as ``benchmarks/search.py`` measures it (news headline -> article, Wikipedia title ->
text; texts only), over the terms of the ``topics`` analyser as ``benchmarks/search_scoring.py`` counts
them, with word forms as ``topics`` counts them since session 2 (each word once as written and once by
its Snowball stem): the base row is what ``topics`` searches today, k1 1.2, b 0.75, the lead (stored
200-character snippet) counted twice more, phrases at a quarter.

The protocol keeps every choice apart from its report. The news headlines are split by row: each family
of settings below is tried on the **even** rows, the setting with the best MRR@10 there (hit@1 breaking
ties, then the order listed, today's setting first) is chosen, and it is reported on the **odd** rows and
on the 105 Wikipedia titles, which took no part in the choice. The last column is the odd rows' change
in MRR@10 against the base, with a 95% paired bootstrap interval (2,000 resamples of the odd queries).

Families: k1 x b; the lead's weight; the phrases' weight; the word forms' weight (a stem's count against
the word's as written); query words weighted by idf^p (p < 0 flattens idf, p > 0 sharpens it); name
emphasis (a query word weighs 1 + beta * the share of its uses in the archive's texts that are
capitalised inside a sentence: a name's share is near 1); the topic part blended in (alpha, the NMF
cosine of ``topics``' default fit); the lead weight and the forms' weight together; and a second stage:
the 50 best articles re-scored by the base plus a linear sum of features (topic cosine, BM25 of the lead
alone, the idf-weighted share of the query's words the article holds, the plain share, the idf-weighted
share its lead holds, log length), weights found by coordinate ascent on the even rows.

Then the misses of the base: how many headlines miss their article, at which rank, and how often the
article ranked first holds more of the query's idf mass (words as written) than the right one, which no
reweighting of the matched words can undo; ``--misses N`` prints N of them.

With ``--real``, the settings that need no new code are checked through ``topics`` itself (a model
fitted on the texts, queries answered by ``answer_queries`` as ``benchmarks/search.py`` does; module
constants set for the run): the search share's query lengths (``SHORT_QUERY_TERMS`` / ``LONG_QUERY_TERMS``),
the topic weight alpha of text queries, and the lead's weight (``LEAD_WEIGHT``, fitted again).

Needs ``PyStemmer`` (a core dependency of topics).

usage: python benchmarks/search_tuning.py --news benchmarks/data/news-articles.jsonl [--misses 30] [--real]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import re
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from search import known_items, mrr_hit, ranks_for
from search_scoring import PHRASE_WEIGHT, Terms, bm25_part, ranks_of_scores
from search_words import prepared
from similarity import SHARED, read_jsonl

import topics
import topics.index
import topics.state

CANDIDATES = 50
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_SENTENCE_END = re.compile(r"(?<=[.!?\"])\s+")


class Archive:
    """An archive's articles and queries as term lists (words, the vocabulary's phrases, word forms as
    ``~stem``), with the per-term weighers and features the families need."""

    def __init__(self, data, stem):
        vocabulary = data["vocabulary"]

        def terms(found):
            kept = [t for t in found if " " not in t or t in vocabulary]
            return kept + ["~" + stem(t) for t in kept if " " not in t]

        self.data = data
        self.texts, self.leads = [list(map(terms, data[k])) for k in ("texts", "leads")]
        self.queries = list(map(terms, data["queries"]))
        self.targets = np.asarray(data["targets"])
        self.topical = data["query_topics"] @ data["topics"].T
        self._names = None
        self._terms = Terms([self.texts, self.leads], [1.0, 2.0])

    def terms(self, lead: float = 2.0) -> Terms:
        """The text and lead counts with the lead counted ``lead`` times (one column space for all)."""
        self._terms.weights = [1.0, lead]
        return self._terms

    def scores(self, *, lead=2.0, phrase=PHRASE_WEIGHT, forms=1.0, idf_power=0.0, names=0.0, alpha=0.0, **bm25):
        """The base score with one family's setting changed (n_queries, n_articles)."""
        terms = self.terms(lead)
        idf = self._idf(terms) if idf_power else None
        name_share = self.name_share() if names else {}

        def weigher(term):
            if " " in term:
                return phrase
            weight = forms if term.startswith("~") else 1.0
            if idf is not None:
                weight *= idf.get(term, idf[None]) ** idf_power
            return weight * (1.0 + names * name_share.get(term.lstrip("~"), 0.0))

        scores = bm25_part(terms, self.queries, weigher, **bm25)
        return (1.0 - alpha) * scores + alpha * self.topical if alpha else scores

    @staticmethod
    def _idf(terms: Terms) -> dict:
        """Each term's idf over the largest (a word no article holds, under key None), in (0, 1]."""
        df = np.bincount(terms.counts().tocoo().col, minlength=len(terms.columns))
        idf = np.log1p((terms.n - df + 0.5) / (df + 0.5)) / np.log1p((terms.n + 0.5) / 0.5)
        return {**{t: idf[c] for t, c in terms.columns.items()}, None: 1.0}

    def name_share(self) -> dict:
        """Per lowercase word: the share of its uses inside a sentence (not first) that are capitalised."""
        if self._names is None:
            capitalised, uses = collections.Counter(), collections.Counter()
            for record in self.data["records"]:
                for sentence in _SENTENCE_END.split(record["text"]):
                    for match in itertools.islice(_WORD.finditer(sentence), 1, None):
                        word = match.group().lower().strip("'-")
                        uses[word] += 1
                        capitalised[word] += match.group()[0].isupper()
            self._names = {w: capitalised[w] / uses[w] for w in uses}
        return self._names

    def features(self, base: np.ndarray) -> tuple[np.ndarray, dict]:
        """The 50 best articles of each query by ``base`` and their features, each (n_queries, 50)."""
        candidates = np.argsort(-base, axis=1, kind="stable")[:, :CANDIDATES]
        rows = np.arange(len(self.queries))[:, None]
        terms = self.terms()
        lead_alone = bm25_part(Terms([self.leads], [1.0]), self.queries, lambda t: PHRASE_WEIGHT if " " in t else 1.0)
        words = [[t for t in q if " " not in t and not t.startswith("~")] for q in self.queries]
        idf = self._idf(terms)
        held = _presence(terms, [a + b for a, b in zip(self.texts, self.leads, strict=True)])
        held_lead = _presence(terms, self.leads)
        weights, plain = _query_words(terms, words, idf)
        total = np.array([sum(idf.get(t, 1.0) for t in set(q)) for q in words])
        count = np.array([len(set(q)) for q in words])
        lengths = np.array([len(t) for t in self.texts], dtype=float)
        every = {
            "topic cosine": self.topical,
            "lead BM25": lead_alone,
            "idf share held": (weights @ held.T).toarray() / np.maximum(total, 1e-12)[:, None],
            "share held": (plain @ held.T).toarray() / np.maximum(count, 1)[:, None],
            "idf share in lead": (weights @ held_lead.T).toarray() / np.maximum(total, 1e-12)[:, None],
            "log length / 10": np.broadcast_to(np.log1p(lengths) / 10, base.shape),
        }
        return candidates, {"base": base[rows, candidates], **{k: v[rows, candidates] for k, v in every.items()}}


def _presence(terms: Terms, lists) -> sp.csr_matrix:
    entries = {(i, terms.columns[t]) for i, found in enumerate(lists) for t in found if t in terms.columns}
    rows, cols = zip(*entries, strict=True) if entries else ((), ())
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(lists), len(terms.columns)))


def _query_words(terms: Terms, words, idf) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    entries = {(i, terms.columns[t]) for i, q in enumerate(words) for t in q if t in terms.columns}
    rows, cols = zip(*entries, strict=True) if entries else ((), ())
    inverse = {c: t for t, c in terms.columns.items()}
    shape = (len(words), len(terms.columns))
    weighted = sp.csr_matrix(([idf[inverse[c]] for c in cols], (rows, cols)), shape=shape)
    return weighted, sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)


def reranked(candidates, features, weights) -> np.ndarray:
    """Ranks (1-based, 0 below 10) after re-scoring the candidates by sum_f weights[f] * feature f."""
    score = sum(w * features[f] for f, w in weights.items())
    return np.take_along_axis(candidates, np.argsort(-score, axis=1, kind="stable"), axis=1)[:, :10]


def ranks_in(top: np.ndarray, targets) -> np.ndarray:
    hit = top == np.asarray(targets)[:, None]
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, 0)


def ascend(candidates, features, targets, chosen) -> dict:
    """Feature weights (base fixed at 1) by coordinate ascent on MRR@10 of the rows ``chosen``."""
    weights = dict.fromkeys(features, 0.0) | {"base": 1.0}

    def mrr(w):
        return mrr_hit(ranks_in(reranked(candidates, features, w), targets)[chosen])[0]

    best = mrr(weights)
    for _ in range(3):
        for name, step in itertools.product([f for f in features if f != "base"], (-0.2, -0.1, -0.05, 0.05, 0.1, 0.2)):
            trial = weights | {name: weights[name] + step}
            if (m := mrr(trial)) > best + 1e-4:
                best, weights = m, trial
    return {k: round(v, 3) for k, v in weights.items() if v}


FAMILIES = {
    "k1, b": [{"k1": k1, "b": b} for k1 in (1.2, 0.6, 0.9, 1.5, 2.0, 3.0) for b in (0.75, 0.3, 0.5, 0.9, 1.0)],
    "lead weight": [{"lead": w} for w in (2.0, 0.0, 1.0, 3.0, 4.0, 6.0)],
    "phrase weight": [{"phrase": w} for w in (0.25, 0.0, 0.1, 0.5)],
    "word forms' weight": [{"forms": w} for w in (1.0, 0.5, 1.5, 2.0, 2.5, 3.0, 4.0)],
    "query words by idf^p": [{"idf_power": p} for p in (0.0, -0.5, -0.25, 0.25, 0.5, 1.0)],
    "name emphasis beta": [{"names": b} for b in (0.0, 0.25, 0.5, 1.0)],
    "topic part alpha": [{"alpha": a} for a in (0.0, 0.05, 0.1, 0.2)],
    "lead weight x forms' weight": [
        {"lead": lead, "forms": w} for lead in (2.0, 3.0, 4.0) for w in (1.0, 1.5, 2.0, 2.5, 3.0)
    ],
}


def main():
    import Stemmer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--news", default=str(ROOT / "data" / "news-articles.jsonl"), help="held-out news JSONL")
    ap.add_argument("--misses", type=int, default=0, help="print this many of the base's misses")
    ap.add_argument("--real", action="store_true", help="also check settings through topics itself")
    args = ap.parse_args()
    stem = Stemmer.Stemmer("english").stemWord
    archives = {"news": read_jsonl(args.news), "wikipedia": read_jsonl(SHARED / "wikipedia-sample" / "docs.jsonl")}
    if args.real:
        real_path(archives)
    news, wiki = (Archive(prepared(records), stem) for records in archives.values())
    even, odd = np.arange(news.targets.size) % 2 == 0, np.arange(news.targets.size) % 2 == 1
    base_scores = news.scores()
    base = ranks_of_scores(base_scores, news.targets)
    base_wiki = ranks_of_scores(wiki.scores(), wiki.targets)
    rng = np.random.default_rng(0)

    def row(label, setting, ranks, wiki_ranks):
        gain = _reciprocal(ranks[odd]) - _reciprocal(base[odd])
        boot = [gain[rng.integers(0, gain.size, gain.size)].mean() for _ in range(2000)]
        cells = [_cell(ranks[even]), _cell(ranks[odd]), _cell(wiki_ranks)]
        interval = f"{gain.mean():+.4f} [{np.percentile(boot, 2.5):+.4f}, {np.percentile(boot, 97.5):+.4f}]"
        print(f"| {label} | {setting} | " + " | ".join(cells) + f" | {interval} |", flush=True)

    print(f"news: {news.targets.size} headlines ({even.sum()} even, {odd.sum()} odd); wikipedia: {wiki.targets.size}")
    print(
        "\n| family | chosen on the even rows | even MRR@10 / hit@1 | odd MRR@10 / hit@1 | wikipedia | odd MRR change [95%] |"
    )
    print("|---|---|---:|---:|---:|---:|")
    row("base (topics today)", "-", base, base_wiki)
    for family, settings in FAMILIES.items():
        tried = [(s, ranks_of_scores(news.scores(**s), news.targets)) for s in settings]
        setting, ranks = max(tried, key=lambda t: mrr_hit(t[1][even]))  # max keeps the first of equals
        label = ", ".join(f"{k} {v}" for k, v in setting.items())
        row(family, label, ranks, ranks_of_scores(wiki.scores(**setting), wiki.targets))
    candidates, features = news.features(base_scores)
    weights = ascend(candidates, features, news.targets, even)
    wiki_candidates, wiki_features = wiki.features(wiki.scores())
    ranks = ranks_in(reranked(candidates, features, weights), news.targets)
    wiki_ranks = ranks_in(reranked(wiki_candidates, wiki_features, weights), wiki.targets)
    row("second stage over the best 50", "; ".join(f"{k} {v}" for k, v in weights.items()), ranks, wiki_ranks)
    describe_misses(news, base_scores, args.misses)


@contextlib.contextmanager
def constants(module, **values):
    """Set module constants for the block, then restore them."""
    before = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(module, name, value)


def real_path(archives) -> None:
    """MRR@10 / hit@1 of ``topics`` itself (all, even, odd rows) with the settings that need no new code."""
    print("| archive | topics, texts only | all | even | odd |\n|---|---|---:|---:|---:|")
    for name, records in archives.items():
        real_path_rows(name, records)
    print()


def real_path_rows(name: str, records) -> None:
    queries, targets = known_items(records)
    even = np.arange(len(targets)) % 2 == 0

    def fitted():
        return topics.fit([topics.Article(id=str(i), text=r["text"]) for i, r in enumerate(records)], random_state=0)

    def show(label, model):
        ranks = ranks_for(model, queries, targets)
        print(f"| {name} | {label} | {_cell(ranks)} | {_cell(ranks[even])} | {_cell(ranks[~even])} |", flush=True)

    model = fitted()
    show("today (share 1 to 10 terms, 0 from 20; alpha 0.1; lead 2)", model)
    for short, long in ((15, 30), (20, 40), (10**6, 10**6 + 1)):
        with constants(topics.index, SHORT_QUERY_TERMS=short, LONG_QUERY_TERMS=long):
            show(f"share 1 to {short} terms, 0 from {long}", model)
    topic_weight = model.index_.topic_weight
    for alpha in (0.0, 0.05, 0.2):
        model.index_.topic_weight = alpha
        show(f"alpha {alpha}", model)
    model.index_.topic_weight = topic_weight
    for lead in (3.0, 4.0):
        with constants(topics.state, LEAD_WEIGHT=lead):
            show(f"lead weight {lead} (fitted again)", fitted())


def describe_misses(news: Archive, scores: np.ndarray, shown: int) -> None:
    """How the base's misses look: their ranks, and whether the first article holds more of the query."""
    first = np.argmax(scores, axis=1)
    ranks = ranks_of_scores(scores, news.targets)
    missed = np.flatnonzero(first != news.targets)
    terms = news.terms()
    held = _presence(terms, [a + b for a, b in zip(news.texts, news.leads, strict=True)])
    words = [[t for t in q if " " not in t and not t.startswith("~")] for q in news.queries]
    weights, _ = _query_words(terms, words, Archive._idf(terms))
    target_mass = np.asarray(weights[missed].multiply(held[news.targets[missed]]).sum(axis=1)).ravel()
    first_mass = np.asarray(weights[missed].multiply(held[first[missed]]).sum(axis=1)).ravel()
    at = collections.Counter(np.where(ranks[missed] == 0, 11, ranks[missed]).tolist())
    print(f"\n{missed.size} headlines do not find their article first; at rank 2: {at[2]}, 3-10: ", end="")
    print(
        f"{sum(at[r] for r in range(3, 11))}, below 10: {at[11]}. The article ranked first holds more of the ", end=""
    )
    print(
        f"query's idf mass (words as written) than the right one for {int(np.sum(first_mass > target_mass + 1e-9))}, ",
        end="",
    )
    print(
        f"less for {int(np.sum(first_mass < target_mass - 1e-9))}, as much for {int(np.sum(np.isclose(first_mass, target_mass)))}."
    )
    records, queries = news.data["records"], news.data["query_texts"]
    for q in np.random.default_rng(1).choice(missed, min(shown, missed.size), replace=False):
        target, top = news.targets[q], first[q]
        absent = [t for t in sorted(set(words[q])) if t not in set(news.texts[target] + news.leads[target])]
        print(f"\n[{q}] rank {ranks[q]}: {queries[q]}\n  words the article lacks: {absent}")
        for tag, d in (("article", target), ("first", top)):
            text = records[d]["text"][:110].replace("\n", " ")
            print(f"  {tag} {scores[q, d]:.3f} {records[d].get('source')} {records[d].get('date')}: {text}")


def _reciprocal(ranks: np.ndarray) -> np.ndarray:
    return np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0)


def _cell(ranks: np.ndarray) -> str:
    mrr, hit = mrr_hit(ranks)
    return f"{mrr:.3f} / {hit:.3f}"


if __name__ == "__main__":
    main()
