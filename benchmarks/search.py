"""Search benchmark: does a few words typed as a search find the article they describe?

Known-item search, each query answered by the model's own ``similar_batch`` (duplicates kept, so an
identical copy never hides the target), against bm25s (default settings: Lucene BM25, k1 1.5, b 0.75,
English stop words) and scikit-learn's TfidfVectorizer (English stop words) with cosine, in the same run:

- **news, headline -> article**: the held-out news (``benchmarks/heldout_news.py``, 3,757 articles of
  2017); each article whose headline is unique is a query, its article the one right answer. The index
  holds the article texts only (titles left out, as the baselines see them), and then, in a second row
  for ``topics``, the texts with their titles (what ``topics fit`` does with a title field).
- **wikipedia, title -> text**: the shared sample (105 articles), the same way.

MRR@10 (reciprocal rank of the right article, 0 below rank 10) and hit@1. Then the weak-match signal:
the share of answers labelled strong / weak / none for the known items (the right article) and for
queries the archive cannot answer (wikipedia titles asked of the news, news headlines asked of the Lee
news). Then the article-to-article figures of ``benchmarks/similarity.py`` (split-half MRR and r on the
Lee halves, newsgroups P@10 and r) for the score before search scoring (the cosine blend alone) and
after, with the query articles asked as stored articles (by id: search share 0) and as pasted texts
(the shorter halves and posts are then scored partly by search). Last, warm latency of a text query against a query by id on a larger model (``--latency``).

usage: python benchmarks/search.py --news benchmarks/data/news-articles.jsonl [--latency MODEL.joblib [--latency-only]]
"""

from __future__ import annotations

import argparse
import collections
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from similarity import SHARED, Bench, neighbours, read_jsonl, score_matrix

import topics
from topics.index import batch_scores
from topics.queries import answer_queries
from topics.state import FittedState


def known_items(records):
    """(queries, target positions): every record whose title is unique in the archive."""
    counts = collections.Counter(r.get("title") for r in records)
    chosen = [i for i, r in enumerate(records) if r.get("title") and counts[r["title"]] == 1]
    return [records[i]["title"] for i in chosen], np.array(chosen)


def ranks_of(ranked_lists, targets) -> np.ndarray:
    """1-based rank of each target in its list, 0 when absent."""
    return np.array([(list(r).index(t) + 1) if t in r else 0 for r, t in zip(ranked_lists, targets, strict=True)])


def mrr_hit(ranks: np.ndarray) -> tuple[float, float]:
    rr = np.where((ranks > 0) & (ranks <= 10), 1.0 / np.maximum(ranks, 1), 0.0)
    return float(rr.mean()), float(np.mean(ranks == 1))


def ours(records, queries, targets, *, titles: bool):
    articles = [
        topics.Article(id=str(i), text=r["text"], title=r.get("title") if titles else None, date=r.get("date"))
        for i, r in enumerate(records)
    ]
    model = topics.fit(articles, random_state=0)
    return ranks_for(model, queries, targets), model


def ranks_for(model, queries, targets):
    answers = answer_queries(model, queries, k=10, keep_duplicates=True)  # a query of no known words: []
    return ranks_of([[int(h.id) for h in hits] if isinstance(hits, list) else [] for hits in answers], targets)


def with_word_forms(model, language: str = "english"):
    """The same model with word forms, as a model fitted now with that stemmer (for a file fitted before)."""
    return _rebuilt(model, {**model.state_.fit_info, "search_forms": language})


def without_word_forms(model):
    """The same model without word forms (``fit_info["search_forms"]`` left out, as a model fitted before
    them), its match levels calibrated without them: search as it was before them, for a before/after in
    one run."""
    fit_info = model.state_.fit_info
    twin = _rebuilt(model, {k: v for k, v in fit_info.items() if k not in ("search_forms", "match_calibration")})
    twin.state_.fit_info["match_calibration"] = twin._calibrate()
    return twin


def _rebuilt(model, fit_info):
    """A copy of ``model`` whose state is built again over the same arrays with ``fit_info``."""
    state = model.state_
    twin = copy.copy(model)
    twin.state_ = FittedState.build(
        vectorizer=state.vectorizer,
        components=state.components,
        doc_topics=state.doc_topics,
        doc_terms=state.doc_terms,
        articles=state.articles,
        fit_info=fit_info,
        topic_weight=model.topic_weight,
        postings=state.index.postings,
        search=state.index.search,
        search_fields=state.search_fields,
    )
    return twin


def bm25s_ranks(records, queries, targets):
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([r["text"] for r in records], show_progress=False), show_progress=False)
    tokens = bm25s.tokenize(queries, show_progress=False)
    rows, _ = retriever.retrieve(tokens, k=10, show_progress=False)
    return ranks_of(rows.tolist(), targets)


def sklearn_ranks(records, queries, targets):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(stop_words="english")
    X = vectorizer.fit_transform([r["text"] for r in records])
    S = (vectorizer.transform(queries) @ X.T).toarray()
    top = np.argsort(-S, axis=1, kind="stable")[:, :10]
    return ranks_of(top.tolist(), targets)


def known_item_table(corpora) -> dict:
    print("| archive | queries | method | MRR@10 | hit@1 |\n|---|---:|---|---:|---:|")
    models = {}
    for name, records in corpora.items():
        queries, targets = known_items(records)
        rows = [
            ("bm25s", bm25s_ranks(records, queries, targets)),
            ("scikit-learn TF-IDF cosine", sklearn_ranks(records, queries, targets)),
        ]
        ranks, models[name] = ours(records, queries, targets, titles=False)
        rows.append(
            (
                "topics, texts only, without word forms (before)",
                ranks_for(without_word_forms(models[name]), queries, targets),
            )
        )
        rows.append(("topics, texts only", ranks))
        ranks, titled = ours(records, queries, targets, titles=True)
        before = ranks_for(without_word_forms(titled), queries, targets)
        rows.append(("topics, texts and titles, without word forms (before)", before))
        rows.append(("topics, texts and titles", ranks))
        for method, ranks in rows:
            mrr, hit = mrr_hit(ranks)
            print(f"| {name} | {len(queries)} | {method} | {mrr:.3f} | {hit:.3f} |", flush=True)
    return models


def size_table(models) -> None:
    """Model file bytes with and without word forms (the search before them)."""
    print("\n| archive | file without word forms | file with them | ratio |\n|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in models.items():
            before = without_word_forms(model).save(Path(tmp) / f"{name}-before.joblib").stat().st_size
            after = model.save(Path(tmp) / f"{name}-after.joblib").stat().st_size
            print(f"| {name} | {before:,} | {after:,} | {after / before:.6f} |")


def match_table(models, corpora, lee_model, when: str = "", header: bool = True) -> None:
    """Shares of strong / weak / none for known items and for queries the archive cannot answer."""
    if header:
        print("\n| archive | queries | strong | weak | none |\n|---|---|---:|---:|---:|")
    cases = []
    for name, model in models.items():
        queries, targets = known_items(corpora[name])
        answers = answer_queries(model, queries, k=10, keep_duplicates=True)
        levels = [
            next((h.match for h in hits if int(h.id) == t), "missed") if isinstance(hits, list) else "missed"
            for hits, t in zip(answers, targets, strict=True)
        ]
        cases.append((name, "known items: the right article", levels))
        foreign = known_items(corpora["wikipedia" if name == "news" else "news"])[0][:300]
        cases.append((name, "from another archive: best hit", [hits[0].match for hits in _answer(model, foreign)]))
    foreign = known_items(corpora["news"])[0][:300]
    cases.append(("lee", "news headlines: best hit", [hits[0].match for hits in _answer(lee_model, foreign)]))
    for name, what, levels in cases:
        shares = collections.Counter(levels)
        row = " | ".join(f"{shares[level] / len(levels):.2f}" for level in ("strong", "weak", "none"))
        print(f"| {name} | {when}{what} ({len(levels)}) | {row} |")


def _answer(model, queries):
    """Hits of the queries the model knows words of (the others are reported, not scored)."""
    return [hits for hits in answer_queries(model, queries, k=1) if isinstance(hits, list) and hits]


def similarity_table(bench: Bench) -> None:
    """Split-half and newsgroups figures of benchmarks/similarity.py, before (cosine blend) and after."""
    split = bench.fitted("halves", "tfidf", None)
    news = bench.fitted("news", "tfidf", None)
    n = len(bench.halves) // 2
    X, W = split.doc_terms_, np.asarray(split.doc_topics_)
    weight = split.topic_weight
    before_halves = score_matrix(split, weight, X[:n], W[:n], X[n:], W[n:])
    rows = []
    cases = (
        ("after, asked by id", True, False),
        ("after, asked as pasted texts, words as written", False, False),
        ("after, asked as pasted texts, with word forms", False, True),
    )
    for name, stored, with_forms in cases:
        halves_stored, news_stored = np.full(n, stored), np.full(news.doc_terms_.shape[0], stored)
        halves_forms = _forms(split, [a.text for a in bench.halves[:n]], X[:n]) if with_forms else None
        after_halves = batch_scores(split.index_, X[:n], W[:n], halves_stored, forms=halves_forms)
        W_news = np.asarray(news.doc_topics_)
        news_forms = _forms(news, [a.text for a in bench.posts], news.doc_terms_) if with_forms else None
        after_news = batch_scores(news.index_, news.doc_terms_, W_news, news_stored, forms=news_forms)
        rows.append((name, after_halves[:, n:].astype(np.float64), after_news.astype(np.float64)))
    before_news = score_matrix(news, weight, news.doc_terms_, news.doc_topics_)
    print("\n| score | split-half MRR | split-half r | newsgroups P@10 | newsgroups r |\n|---|---:|---:|---:|---:|")
    for name, S, N in (("before: cosine blend", before_halves, before_news), *rows):
        ranks = (np.diag(S)[:, None] < S).sum(axis=1) + 1
        same = np.eye(len(S), dtype=bool)
        upper = np.triu_indices(len(N), 1)
        p10 = float(np.mean(bench.same_group[np.arange(len(N))[:, None], neighbours(N)]))
        print(
            f"| {name} | {np.mean(1.0 / ranks):.3f} | {np.corrcoef(S.ravel(), same.ravel())[0, 1]:.3f} "
            f"| {p10:.3f} | {np.corrcoef(N[upper], bench.same_group[upper])[0, 1]:.3f} |"
        )


def _forms(model, texts, terms) -> list:
    """Each text's word forms as ``model.similar`` counts them (B columns of each), none for a long text."""
    lengths = np.diff(terms.indptr)
    return [[columns for _, columns in model._word_forms(t, n)[0]] for t, n in zip(texts, lengths, strict=True)]


def latency_table(path, queries: int = 100, runs: int = 3) -> None:
    """Warm median latency of similar(text=...) against similar(id=...) on one model, as a ratio."""
    model = topics.load(path)
    rng = np.random.default_rng(0)
    words = np.diff(model.doc_terms_.indptr)
    usable = np.setdiff1d(np.flatnonzero(words > 0), model.stub_rows())
    rows = rng.choice(usable, size=4 * queries, replace=False)
    texts = [" ".join((model.articles_.snippets[r] or "").split()[:8]) for r in rows]
    searchable = np.diff(model.vectorizer_.transform(texts).indptr) > 0  # a lead may start with numbers alone
    rows, texts = rows[searchable][:queries], [t for t, ok in zip(texts, searchable, strict=True) if ok][:queries]
    ids = [model.articles_.ids[r] for r in rows]
    model.similar(text=texts[0])  # builds the search matrix of an old file, maps the arrays
    forms = model if model.state_.word_forms is not None else with_word_forms(model)
    started = time.perf_counter()
    forms.state_.word_forms.of_words(["news"])  # the first query with forms groups the words by stem, once
    print(f"\ngrouping the search vocabulary's words by stem, once: {time.perf_counter() - started:.3f} s")
    forms.similar(text=texts[0])
    cases = (
        ("by id", lambda q: model.similar(id=q)),
        ("text, 8 words, without word forms", lambda q: model.similar(text=q)),
        ("text, 8 words, with word forms", lambda q: forms.similar(text=q)),
    )
    medians = {name: [] for name, _ in cases}
    for _ in range(runs):  # query by query, the cases in turn, so a busier spell of a shared machine hits them alike
        elapsed = {name: [] for name, _ in cases}
        for article_id, text in zip(ids, texts, strict=True):
            for name, call in cases:
                t = time.perf_counter()
                call(article_id if name == "by id" else text)
                elapsed[name].append(time.perf_counter() - t)
        for name, values in elapsed.items():
            medians[name].append(statistics.median(values))
    timings = {name: statistics.median(values) for name, values in medians.items()}
    base = timings["by id"]
    print(f"\n{len(model.articles_):,} articles, {queries} queries, median of {runs} runs' medians")
    print("| query | p50 ms | ratio to by id |\n|---|---:|---:|")
    for name, t in timings.items():
        print(f"| {name} | {t * 1000:.1f} | {t / base:.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--news", default=str(ROOT / "data" / "news-articles.jsonl"), help="held-out news JSONL")
    ap.add_argument("--latency", default=None, help="a model file to time text against id queries on")
    ap.add_argument("--skip-similarity", action="store_true", help="leave out the similarity figures")
    ap.add_argument("--latency-only", action="store_true", help="only the latency table (needs --latency)")
    args = ap.parse_args()
    if args.latency_only:
        latency_table(args.latency)
        return
    corpora = {"news": read_jsonl(args.news), "wikipedia": read_jsonl(SHARED / "wikipedia-sample" / "docs.jsonl")}
    models = known_item_table(corpora)
    lee = read_jsonl(SHARED / "lee-news" / "background.jsonl") + read_jsonl(SHARED / "lee-news" / "test.jsonl")
    lee_model = topics.fit([topics.Article(id=r["id"], text=r["text"]) for r in lee], random_state=0)
    before = {name: without_word_forms(model) for name, model in models.items()}
    match_table(before, corpora, without_word_forms(lee_model), when="before: ")
    match_table(models, corpora, lee_model, header=False)
    size_table(models)
    if not args.skip_similarity:
        similarity_table(Bench())
    if args.latency:
        latency_table(args.latency)


if __name__ == "__main__":
    main()
