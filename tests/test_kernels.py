"""The pruned search (SimilarityIndex.best, topics.kernels) gives exactly the exhaustive answer.

Three references: ``similar(..., exact=True)``, which scores every article and selects with
:func:`topics.filters.select`; a dense brute force written out here; and the numpy twins of each
compiled loop. Real corpora (the bundled sample, Lee, dated newsgroup posts) and a seeded random
archive with exact ties, articles sharing no words and several topic weights.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import topics
import topics.index as index_module
from topics.duplicates import distinct_positions
from topics.filters import HitFilter, select, select_best
from topics.index import SimilarityIndex, top_k

kernels = pytest.importorskip("topics.kernels")


@pytest.fixture(params=["compiled", "numpy"])
def engine(request, monkeypatch):
    """Run a test with the numba kernels and again with their numpy twins."""
    if request.param == "numpy":
        monkeypatch.setattr(index_module, "_kernels", lambda: None)
    return request.param


@pytest.fixture(scope="module")
def lee_model(lee_records):
    return topics.fit([r["text"] for r in lee_records], n_topics=8, random_state=0)


def pairs(hits):
    return [(h.id, h.score) for h in hits]


FILTERS = [
    {},
    {"keep_duplicates": True},
    {"min_score": 0.3},
    {"min_score": 0.3, "keep_duplicates": True},
    {"min_score": 0.99},
]


@pytest.mark.parametrize("k", [1, 10, 60])
def test_similar_by_id_equals_the_exhaustive_reference(sample_model, lee_model, engine, k):
    for model in (sample_model, lee_model):
        ids = [model.articles_.ids[i] for i in range(0, len(model.articles_), max(1, len(model.articles_) // 40))]
        for article_id in ids:
            for options in FILTERS:
                fast = model.similar(article_id, k=k, **options)
                assert pairs(fast) == pairs(model.similar(article_id, k=k, exact=True, **options)), (
                    article_id,
                    options,
                )


def test_similar_by_text_equals_the_exhaustive_reference(sample_model, lee_model, engine):
    texts = [
        "interest rates",
        "The Reserve Bank cut interest rates as unemployment rose",
        "police said",
        "Palestinian Israeli violence Gaza security talks",
        "bushfires near Sydney destroyed homes",
    ]
    for model in (sample_model, lee_model):
        for text in texts:
            for options in FILTERS:
                fast = model.similar(text=text, k=10, **options)
                assert pairs(fast) == pairs(model.similar(text=text, k=10, exact=True, **options)), (text, options)


def test_date_filters_equal_the_exhaustive_reference(dated_model, engine):
    for article_id in [dated_model.articles_.ids[i] for i in range(0, len(dated_model.articles_), 10)]:
        for options in (
            {"since": "1993-04-20"},
            {"until": "1993-04-25", "keep_duplicates": True},
            {"since": "1993-04-15", "until": "1993-05-10", "min_score": 0.1},
        ):
            fast = dated_model.similar(article_id, k=5, **options)
            assert pairs(fast) == pairs(dated_model.similar(article_id, k=5, exact=True, **options))


def test_similar_equals_a_dense_brute_force(lee_model):
    """Without near-duplicate dropping, hits are the k best rows of (1-a) X X^T + a U U^T (float64)."""
    X = lee_model.doc_terms_.toarray().astype(np.float64)
    W = np.asarray(lee_model.doc_topics_, dtype=np.float64)
    U = W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-300)
    alpha = lee_model.index_.topic_weight
    brute = (1 - alpha) * X @ X.T + alpha * U @ U.T
    stubs = set(lee_model.stub_rows().tolist())
    for row in range(0, len(X), 7):
        hits = lee_model.similar(lee_model.articles_.ids[row], k=10, keep_duplicates=True)
        rows = [lee_model.row_of(h.id) for h in hits]
        np.testing.assert_allclose([h.score for h in hits], brute[row, rows], atol=1e-5)
        others = [r for r in range(len(X)) if r != row and r not in stubs]
        tenth = brute[row, rows[-1]]
        assert {r for r in others if brute[row, r] > tenth + 1e-5} <= set(rows)
        assert all(r in others for r in rows)


def random_index(seed: int, topic_weight: float, n: int = 400, vocabulary: int = 60):
    """A seeded archive: copies of a few stories (near-duplicates), exact copies (ties), rows sharing no
    word with the rest, and one empty row."""
    rng = np.random.default_rng(seed)
    stories = rng.random((6, vocabulary)) * (rng.random((6, vocabulary)) < 0.15)
    dense = stories[rng.integers(0, 6, n)] + rng.random((n, vocabulary)) * (rng.random((n, vocabulary)) < 0.08)
    dense[rng.integers(0, n, 40)] = dense[rng.integers(0, n, 40)]  # exact copies: tied scores
    dense[-5:] = 0
    dense[-5:-1, -1] = 1.0  # rows that share only a word no other row has
    dense[-1] = 0
    dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)
    X = sp.csr_matrix(dense.astype(np.float32))
    W = (rng.random((n, 5)) * (rng.random((n, 5)) < 0.6)).astype(np.float32)
    W[rng.integers(0, n, 40)] = W[rng.integers(0, n, 40)]
    return SimilarityIndex(X, W, topic_weight), rng


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("topic_weight", [0.0, 0.1, 0.5, 1.0])
def test_pruned_search_equals_exhaustive_selection_on_a_random_archive(seed, topic_weight, engine):
    index, rng = random_index(seed, topic_weight)
    n = index.n_articles
    dates = np.datetime64("2020-01-01") + rng.integers(0, 100, n).astype("timedelta64[D]")
    dates[rng.integers(0, n, 30)] = np.datetime64("NaT")
    for trial in range(30):
        row = int(rng.integers(0, n - 1))
        query = index.article_query(row) if trial % 2 else index.query(index.doc_terms[row + 1], rng.random(5))
        k = int(rng.choice([1, 3, 10, 50, 500]))
        hit_filter = HitFilter.build(
            since="2020-02-01" if trial % 3 == 0 else None,
            min_score=float(rng.choice([0.0, 0.2, 0.6])),
            keep_duplicates=bool(trial % 4 == 0),
        )
        exclude = np.array([row, *rng.integers(0, n, 5)])
        duplicate_of = query if trial % 2 else None
        expected = select(
            index.score_all(query),
            k,
            hit_filter,
            dates=dates,
            doc_terms=index.doc_terms,
            exclude=exclude,
            query=index.doc_terms[row] if duplicate_of is not None else None,
        )
        rows, scores = select_best(index, query, k, hit_filter, dates=dates, exclude=exclude, duplicate_of=duplicate_of)
        assert rows.tolist() == expected.tolist(), (trial, k, hit_filter)
        assert np.array_equal(scores, index.score_all(query)[rows])


def test_ties_go_to_the_lower_row(engine):
    X = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 0], [1, 0], [0.6, 0.8]], dtype=np.float32))
    index = SimilarityIndex(X, np.ones((5, 2), dtype=np.float32), 0.1)
    rows, scores = index.best(index.article_query(0), 3, exclude=[0])
    assert rows.tolist() == [2, 3, 4]
    assert scores[0] == scores[1]
    rows, _ = index.best(index.article_query(0), 3, exclude=[0], threshold=0.8, duplicate_of=index.article_query(0))
    assert rows.tolist() == [4]  # 2 and 3 copy the query (cosine 1), 1 copies 4 (cosine 0.8)


def test_compiled_loops_equal_their_numpy_twins(lee_model):
    index = lee_model.index_
    rng = np.random.default_rng(0)
    for row in rng.integers(0, index.n_articles, 20):
        query = index.article_query(int(row))
        p = index.postings
        compiled = kernels.scatter_add(
            p.indptr, p.indices, p.data, query.columns, np.asarray(query.weights, np.float32), index.n_articles
        )
        assert np.array_equal(compiled, index._lexical(query.columns, query.weights))
        rows = np.sort(rng.choice(index.n_articles, 37, replace=False))
        topical = kernels.topic_cosines(index.topic_units, query.topics, rows)
        assert np.array_equal(topical, kernels.all_topic_cosines(index.topic_units, query.topics)[rows])
        assert np.array_equal(topical, index_module._topic_sums(index.topic_units[rows], query.topics))
        counts = kernels.lexical_histogram(compiled, 64)
        assert counts.sum() == compiled.size
        assert counts[1:].sum() == np.count_nonzero(compiled >= 1 / 64)
        ranking = top_k(compiled, 80)
        X = lee_model.doc_terms_
        for threshold in (0.3, 0.8):
            positions = kernels.distinct(
                ranking,
                X.indptr,
                X.indices,
                X.data,
                np.zeros((2, X.shape[1]), dtype=np.float32),
                query.columns,
                query.weights,
                np.float32(threshold - 1e-6),
                10,
                np.zeros(0, dtype=np.int64),
                0,
            )
            assert positions.tolist() == distinct_positions(ranking, X, threshold, query=X[int(row)], limit=10).tolist()


def test_placing_one_text_equals_the_numpy_loop(lee_model, lee_records):
    """A text query is placed in the topics by a compiled loop once the kernels are loaded: the same
    weights as the numpy coordinate descent over many rows."""
    from topics.topic_model import nmf_transform

    texts = [r["text"][:200] for r in lee_records[:40]] + ["bushfire near Sydney", "cricket"]
    X = lee_model.vectorizer_.transform(texts)
    batch = nmf_transform(X, lee_model.components_)
    for i in range(X.shape[0]):
        one = nmf_transform(X[i], lee_model.components_, kernels=kernels)
        np.testing.assert_allclose(one[0], batch[i], rtol=1e-5, atol=1e-7)


def test_exact_option_of_the_cli(sample_model_file, run_cli):
    first = topics.load(sample_model_file).articles_.ids[3]
    fast = run_cli("similar", first, "--model", sample_model_file, "--format", "json")
    exact = run_cli("similar", first, "--model", sample_model_file, "--format", "json", "--exact")
    assert fast.exit_code == exact.exit_code == 0
    assert fast.json()["results"] == exact.json()["results"]
    assert len(exact.json()["results"]) == 10


@pytest.mark.parametrize("topic_weight", [0.0, 0.1, 0.5])
def test_ranked_prefix_is_every_row_scoring_at_least_its_last(topic_weight):
    """The compiled prefix (seeds from a histogram of the lexical cosine) returns every row whose exact score
    reaches its lowest one, at least m of them, with the exhaustive path's float32 scores."""
    index, rng = random_index(3, topic_weight, n=3000, vocabulary=400)
    states = []
    for _ in range(40):
        query = index.article_query(int(rng.integers(0, index.n_articles - 5)))
        lexical = index._scatter(query, kernels)
        exact = index.score_all(query).astype(np.float64)
        excluded = rng.integers(0, index.n_articles, 50)  # as filters exclude rows: never returned
        lexical[excluded], exact[excluded] = -np.inf, -np.inf
        m = int(rng.choice([1, 5, 40, 300]))
        for floor in (-np.inf, 0.5, 0.95):
            rows, scores, state = kernels.ranked_prefix(
                lexical,
                kernels.lexical_histogram(lexical, 4096),
                index.topic_units,
                query.topics,
                np.float32(1 - topic_weight),
                np.float32(topic_weight),
                topic_weight,
                floor,
                m,
                4 * m,
            )
            states.append(state)
            if state < 0:  # the pruning cannot work: SimilarityIndex scores every row instead
                continue
            assert np.array_equal(scores, exact[rows].astype(np.float32))
            if state == 1:  # c fell below the floor: every row reaching the floor
                assert sorted(rows.tolist()) == np.flatnonzero(exact >= floor).tolist()
            else:
                assert rows.size >= m
                assert sorted(rows.tolist()) == np.flatnonzero(exact >= scores.astype(np.float64).min()).tolist()
    assert states.count(0) >= 10 and states.count(1) >= 1


def test_topic_rows_scaled_alone_equal_the_whole_matrix_and_a_first_query_its_answer(sample_model_file, monkeypatch):
    """A process's first query scales only the topic rows it scores (a million articles' rows cost it more
    than the query); they have the bits of the whole matrix's, so it answers as exact=True does."""
    monkeypatch.setattr(index_module, "_kernels", lambda: None)
    model = topics.load(sample_model_file)
    index = model.index_
    rows = np.arange(0, len(model.articles_), 3)
    alone = index.unit_topics(rows)
    assert index._topic_units is None
    ids = [model.articles_.ids[i] for i in range(0, len(model.articles_), 7)]
    first = [pairs(model.similar(i, k=10)) for i in ids]
    assert np.array_equal(alone.view(np.uint32), index.topic_units[rows].view(np.uint32))
    assert first == [pairs(model.similar(i, k=10, exact=True)) for i in ids]
