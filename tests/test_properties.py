"""Property-based tests: whatever text the readers and the query path are given, they never crash
(only a one-line TopicsError is allowed), and no article is lost without being counted:
articles read + counted skips == records written. And the analyser's fast path finds exactly the terms
of its word pattern."""

import contextlib
import csv
import io
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import topics
from topics import QueryError

# Any Unicode a file can hold (no lone surrogates), with control characters and odd white space
# made common, and documents from empty to a few hundred kB.
ODD = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\xa0\u2028\u2029\u200b\u3000\ufeff\t\r \n"
PIECE = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.text(st.sampled_from(ODD), max_size=10),
    st.sampled_from(
        [
            "date 2024-02-29\n",
            "Reserve Bank cuts rates. ",
            "Überschwemmung in Köln — 洪水 ",
            "the of and ",
            "https://example.com/x ",
            "12345 ",
            '"quoted, with comma"',
            "\\",
        ]
    ),
)
TEXT = st.builds(
    lambda pieces, repeat: "".join(pieces) * repeat,
    st.lists(PIECE, max_size=8),
    st.sampled_from([1, 1, 1, 2, 50, 5000]),
)
FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def counted(corpus) -> int:
    """Articles read plus every skip the reader counted, after a full pass."""
    articles = list(corpus)
    s = corpus.stats
    for a in articles:
        assert a.text and a.text == a.text.strip()
    return len(articles) + s.empty_skipped + s.binary_skipped + len(s.bad_lines) + s.too_long_skipped


def read_all(path, **options):
    """The count of a full pass; the inputs always end with one good record, so it must succeed."""
    return counted(topics.read_corpus(path, **options))


GOOD = "Reserve Bank cuts interest rates again."  # appended to every generated archive


@FAST
@given(texts=st.lists(TEXT, max_size=12).map(lambda ts: [*ts, GOOD]), ascii_only=st.booleans())
def test_jsonl_never_loses_a_record(tmp_path_factory, texts, ascii_only):
    path = tmp_path_factory.mktemp("p") / "news.jsonl"
    path.write_text(
        "".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=ascii_only) + "\n" for i, t in enumerate(texts)),
        encoding="utf-8",
    )
    assert read_all(path, skip_bad_lines=True) == len(texts)


@FAST
@given(
    texts=st.lists(TEXT.map(lambda t: t.replace("\n", " ").replace("\x00", "")), max_size=12).map(
        lambda ts: [*ts, GOOD]
    )
)
def test_one_article_per_line_never_loses_a_line(tmp_path_factory, texts):
    path = tmp_path_factory.mktemp("p") / "news.txt"
    path.write_bytes("".join(t + "\n" for t in texts).encode("utf-8"))
    assert read_all(path, skip_bad_lines=True) == len(texts)


@FAST
@given(texts=st.lists(TEXT, max_size=10).map(lambda ts: [*ts, GOOD]))
def test_csv_never_loses_a_row(tmp_path_factory, texts):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["id", "text"])
    writer.writerows([[str(i), t] for i, t in enumerate(texts)])
    path = tmp_path_factory.mktemp("p") / "news.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    assert read_all(path, skip_bad_lines=True) == len(texts)


@FAST
@given(texts=st.lists(TEXT, max_size=8).map(lambda ts: [*ts, GOOD]))
def test_a_folder_never_loses_a_file(tmp_path_factory, texts):
    folder = tmp_path_factory.mktemp("p") / "archive"
    folder.mkdir()
    for i, t in enumerate(texts):
        (folder / f"{i:03d}.txt").write_bytes(t.encode("utf-8"))
    assert read_all(folder) == len(texts)  # NUL bytes make a file binary: skipped and counted


@FAST
@given(texts=st.lists(TEXT, max_size=8))
def test_plain_strings_are_read_or_refused_in_one_line(texts):
    from topics.corpus import articles_from_texts

    articles = list(articles_from_texts(texts))
    assert len(articles) == sum(1 for t in texts if topics.corpus.split_date_header(t)[1].strip())
    assert len({a.id for a in articles}) == len(articles)


@FAST
@given(text=TEXT, other=TEXT)
def test_queries_never_crash(sample_model, text, other):
    try:
        hits = sample_model.similar(text=text, k=5)
    except QueryError as exc:
        assert "\n" not in str(exc)
        return
    assert 1 <= len(hits) <= 5 and len({h.id for h in hits}) == len(hits)
    assert all(0.0 <= h.score <= 1.0 and not math.isnan(h.score) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    weights = sample_model.transform([text])
    assert weights.shape == (1, sample_model.n_topics_) and np.isfinite(weights).all() and (weights >= 0).all()
    with contextlib.suppress(QueryError):
        assert 0.0 <= sample_model.similarity(text, other) <= 1.0


@pytest.mark.parametrize("article_id", ["", " ", "\x00", "lee-bg-000\n", "ü" * 1000])
def test_odd_ids_are_a_query_error(sample_model, article_id):
    with pytest.raises(QueryError, match="no article with id"):
        sample_model.similar(id=article_id)


# Characters where the analyser's fast path (bytes.translate, then split) and its word pattern could
# part ways: clause ends, dashes with and without spaces, apostrophes, digits of any script, non-ASCII
# letters, combining marks, numerals that are not digits, odd white space, the fast path's marker \x01.
WORDISH = st.lists(
    st.sampled_from(
        [
            *"ab cd ef-–—'’.,;:!?\"“”«»|/\\()[]{}07_\x01\x1c\n\t\xa0éß²½١１ाि्Ⅷ$%&*@",
            "news ",
            "don't ",
            "o’brien’s ",
            "prime minister",
            " - ",
            " -- ",
        ]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(WORDISH, TEXT))
def test_the_analyser_finds_exactly_the_words_and_pairs_of_its_clauses(text):
    """`Analyzer.__call__` (the fit's fast path) against `Analyzer.clauses` (the word pattern, a clause
    at a time): the same terms in the same order, for any text."""
    from itertools import pairwise

    from topics.analyzer import Analyzer

    analyzer = Analyzer(stop_words={"the", "of"}, clean=True)
    runs = analyzer.clauses(text)
    expected = [w for run in runs for w in run] + [f"{a} {b}" for run in runs for a, b in pairwise(run)]
    assert analyzer(text) == expected


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 6000),
    k=st.integers(0, 1100),
    levels=st.sampled_from([2, 5, 100, 10**6]),
    excluded_share=st.sampled_from([0.0, 0.01, 0.9]),
)
def test_top_k_is_the_k_best_rows_ties_to_the_lower_row(seed, n, k, levels, excluded_share):
    from topics.index import top_k

    # Few levels make many ties; excluded rows (-inf) are never returned. Above about 1,000 + 2k rows
    # top_k selects among the rows over a sampled threshold, which must not change the answer.
    rng = np.random.default_rng(seed)
    scores = (rng.integers(0, levels, n) / levels).astype(np.float32)
    scores[rng.random(n) < excluded_share] = -np.inf
    exclude = tuple(rng.choice(n, size=min(n, 2), replace=False).tolist())
    allowed = np.isfinite(scores)
    allowed[list(exclude)] = False
    rows = np.flatnonzero(allowed)
    expected = rows[np.lexsort((rows, -scores[rows]))][:k]
    assert np.array_equal(top_k(scores, k, exclude=exclude), expected)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 120),
    limit=st.sampled_from([None, 1, 3, 10]),
    threshold=st.sampled_from([0.5, 0.8, 0.95]),
    with_query=st.booleans(),
)
def test_distinct_rows_is_the_greedy_pass_over_the_ranking(seed, n, limit, threshold, with_query):
    import scipy.sparse as sp

    from topics.duplicates import distinct_rows

    # Rows are noisy copies of a few stories, so many pairs are near-duplicates and many are not.
    rng = np.random.default_rng(seed)
    stories = rng.random((4, 30)) * (rng.random((4, 30)) < 0.3)
    dense = stories[rng.integers(0, 4, n + 1)] + 0.3 * rng.random((n + 1, 30)) * (rng.random((n + 1, 30)) < 0.2)
    dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)
    X = sp.csr_matrix(dense.astype(np.float32))
    query = X[n] if with_query else None
    ranking = rng.permutation(n)
    cosine = (X @ X.T).toarray()  # the same float32 products as the blocks', so no rounding flakes
    kept = []
    for row in ranking:  # the definition: keep a row unless it copies the query or a kept row
        others = ([n] if with_query else []) + kept
        if all(cosine[row, other] < threshold - 1e-6 for other in others):
            kept.append(row)
    expected = kept if limit is None else kept[:limit]
    assert distinct_rows(ranking, X, threshold, query=query, limit=limit, block=7).tolist() == expected


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.one_of(WORDISH, TEXT), max_size=6), ngram_max=st.sampled_from([1, 2]))
def test_counting_words_and_pairs_by_id_counts_exactly_the_analysers_terms(texts, ngram_max):
    """The fit's counting (word ids, pairs found by numpy) against counting each term `Analyzer.__call__`
    returns: the same matrix and terms, to the byte."""
    from topics.analyzer import Analyzer
    from topics.text import _count_each_term, _count_words_and_pairs

    analyzer = Analyzer(stop_words={"the", "of"}, ngram_max=ngram_max, clean=True)
    assert_same_counts(_count_words_and_pairs(analyzer, texts), _count_each_term(analyzer, texts))


def assert_same_counts(found, expected):
    (counts, terms), (expected_counts, expected_terms) = found, expected
    assert terms.dtype == expected_terms.dtype and terms.tobytes() == expected_terms.tobytes()
    assert counts.shape == expected_counts.shape
    for name in ("data", "indices", "indptr"):
        a, b = getattr(counts, name), getattr(expected_counts, name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name


@pytest.mark.parametrize(
    ("corpus", "languages"),
    [
        ("lee-background.jsonl.gz", ("en",)),
        ("newsgroups-mini.jsonl.gz", ("en",)),
        ("wikipedia-lists.jsonl.gz", ("en",)),
        ("parlspeech-nl-600.jsonl.gz", ("nl",)),
        ("tang-poems-300.jsonl.gz", ("en",)),
    ],
)
def test_a_fit_counted_by_word_ids_has_the_vocabulary_and_X_of_counting_each_term(monkeypatch, corpus, languages):
    """Vocabulary, idf and X of a fit on real corpora, to the byte, whichever way the chunks are counted."""
    import gzip
    from pathlib import Path

    import topics.text
    from topics.text import make_vectorizer

    with gzip.open(Path(__file__).parent / "data" / corpus, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]

    def fit():
        vectorizer = make_vectorizer(languages=languages)
        X = vectorizer.fit_transform(texts, chunk_size=97)
        return vectorizer, X

    fast, X_fast = fit()
    monkeypatch.setattr(topics.text, "_count_words_and_pairs", topics.text._count_each_term)
    each, X_each = fit()
    assert fast.vocabulary_.dtype == each.vocabulary_.dtype
    assert fast.vocabulary_.tobytes() == each.vocabulary_.tobytes()
    assert fast.idf_.tobytes() == each.idf_.tobytes()
    assert_same_counts((X_fast, fast.vocabulary_), (X_each, each.vocabulary_))


def test_the_analysers_memory_of_tokens_changes_no_terms(monkeypatch, lee_records):
    """The same terms from an analyser that forgets its tokens every few, one pickled to a worker (which
    leaves its memory behind) and a fresh one, and after its stop words are replaced."""
    import pickle

    import topics.analyzer
    from topics.analyzer import Analyzer, english_stop_words

    texts = [r["text"] for r in lee_records[:40]] + ["a''b x²y € don't o’brien’s — “quoted”"]
    fresh = [Analyzer(english_stop_words(), clean=True)(t) for t in texts]
    analyzer = Analyzer(english_stop_words(), clean=True)
    analyzer(texts[0])
    shipped = pickle.loads(pickle.dumps(analyzer))
    assert not shipped._terms_of_tokens and [shipped(t) for t in texts] == fresh
    monkeypatch.setattr(topics.analyzer, "_MAX_KNOWN_TOKENS", 5)
    assert [analyzer(t) for t in texts] == fresh
    analyzer.stop_words = frozenset({"the"})
    assert analyzer(texts[-1]) == Analyzer({"the"}, clean=True)(texts[-1])
