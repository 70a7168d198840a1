"""The large-archive paths give the same answers as the plain ones: streaming fit, parallel work,
blocked transforms and the inverted-index queries."""

import numpy as np
import pytest

import topics
from topics.analyzer import build_analyzer, english_stop_words
from topics.evaluate import relative_error
from topics.index import top_k, unit_rows
from topics.parallel import map_chunks
from topics.text import Vectorizer
from topics.topic_model import fit_topics, fit_topics_on_sample, nmf_transform, place_articles


@pytest.fixture(scope="module")
def texts(lee_records):
    return [r["text"] for r in lee_records][:200]


def vectorizer(**params):
    return Vectorizer(build_analyzer((), stop_words=english_stop_words(), ngram_max=2), **params)


def test_streaming_fit_equals_in_memory(texts):
    whole = vectorizer()
    X_whole = whole.fit_transform(texts, chunk_size=len(texts))
    streamed = vectorizer()
    X_streamed = streamed.fit_transform(iter(texts), chunk_size=17)
    assert np.array_equal(streamed.vocabulary_, whole.vocabulary_)
    assert np.array_equal(streamed.idf_, whole.idf_)
    assert X_streamed.dtype == np.float32
    assert abs(X_streamed - X_whole).max() == 0
    # The same X and seed give the same topics.
    assert np.array_equal(fit_topics(X_streamed, 5, random_state=0), fit_topics(X_whole, 5, random_state=0))


def test_parallel_vectorising_equals_serial(texts):
    serial, parallel = vectorizer(min_df=3, max_features=500), vectorizer(min_df=3, max_features=500)
    X_serial = serial.fit_transform(texts, chunk_size=50, n_jobs=1)
    X_parallel = parallel.fit_transform(texts, chunk_size=50, n_jobs=2)
    assert serial.vocabulary_.size == 500
    assert np.array_equal(serial.vocabulary_, parallel.vocabulary_)
    assert abs(X_serial - X_parallel).max() == 0


def test_max_features_choice_does_not_depend_on_chunking(texts):
    a, b = vectorizer(max_features=300), vectorizer(max_features=300)
    a.fit_transform(texts, chunk_size=7)
    b.fit_transform(texts, chunk_size=1000)
    assert np.array_equal(a.vocabulary_, b.vocabulary_)


def test_model_fit_with_workers_equals_serial(lee_records):
    articles = [topics.Article(id=r["id"], text=r["text"]) for r in lee_records][:150]
    serial = topics.TopicModel(6, random_state=0).fit(articles, n_jobs=1)
    parallel = topics.TopicModel(6, random_state=0).fit(articles, n_jobs=2)
    assert np.array_equal(serial.components_, parallel.components_)
    assert [h.id for h in serial.similar(articles[0].id)] == [h.id for h in parallel.similar(articles[0].id)]


def test_blocked_transform_equals_plain(texts):
    X = vectorizer().fit_transform(texts)
    H = fit_topics(X, 6, random_state=0)
    assert np.allclose(place_articles(X, H, n_jobs=2, block=33)[0], nmf_transform(X, H), atol=1e-6)


def test_placing_articles_measures_the_same_error_as_evaluate(texts):
    X = vectorizer().fit_transform(texts)
    H = fit_topics(X, 6, random_state=0)
    W, error = place_articles(X, H, n_jobs=2, block=33)
    dense = X.toarray().astype(np.float64)
    direct = np.linalg.norm(dense - W.astype(np.float64) @ H.astype(np.float64)) / np.linalg.norm(dense)
    assert 0.5 < error < 1 and error == pytest.approx(direct, abs=1e-9)
    assert error == pytest.approx(relative_error(X, W, H, block=50), abs=1e-12)
    assert error > place_articles(X, fit_topics(X, 12, random_state=0))[1]  # more topics explain more


def test_topics_on_sample_are_seeded_and_shaped(texts):
    X = vectorizer().fit_transform(texts)
    H1 = fit_topics_on_sample(X, 4, sample_size=120, random_state=3)
    H2 = fit_topics_on_sample(X, 4, sample_size=120, random_state=3)
    assert H1.shape == (4, X.shape[1]) and H1.dtype == np.float32
    assert np.array_equal(H1, H2)
    # A sample as large as the archive is the archive.
    assert np.array_equal(
        fit_topics_on_sample(X, 4, sample_size=10**6, random_state=0), fit_topics(X, 4, random_state=0)
    )


def test_topics_use_only_the_most_common_terms(texts):
    X = vectorizer().fit_transform(texts)
    in_articles = np.bincount(X.indices, minlength=X.shape[1])
    H = fit_topics(X, 5, random_state=0, max_terms=300)
    used = np.flatnonzero(H.any(axis=0))
    assert used.size <= 300
    # Every term that takes part is in at least as many articles as any term left out.
    left_out = np.setdiff1d(np.arange(X.shape[1]), used)
    assert in_articles[used].min() >= in_articles[left_out].max()
    # Equal to fitting the matrix of those columns alone; a limit above V changes nothing.
    columns = np.sort(np.argsort(-in_articles, kind="stable")[:300])
    assert np.array_equal(H[:, columns], fit_topics(X[:, columns], 5, random_state=0, max_terms=None))
    assert np.array_equal(
        fit_topics(X, 5, random_state=0, max_terms=X.shape[1]), fit_topics(X, 5, random_state=0, max_terms=None)
    )
    with pytest.raises(topics.ParameterError, match="max_terms=0"):
        fit_topics(X, 5, max_terms=0)


def test_vocabulary_merge_keeps_long_terms_of_late_chunks():
    # The first chunk's terms are short; a later chunk brings longer ones, which must not be cut.
    texts = [
        "cat dog cat dog",
        "cat dog",
        "hippopotamus crocodile hippopotamus crocodile",
        "hippopotamus crocodile zebra",
    ]
    one, many = vectorizer(min_df=1, max_df=1.0), vectorizer(min_df=1, max_df=1.0)
    one.fit_transform(texts, chunk_size=4)
    many.fit_transform(texts, chunk_size=1)
    assert b"hippopotamus crocodile" in set(many.vocabulary_)
    assert np.array_equal(one.vocabulary_, many.vocabulary_)
    assert np.array_equal(one.idf_, many.idf_)


def test_index_scores_equal_brute_force(sample_model):
    X, W = sample_model.doc_terms_.toarray(), unit_rows(sample_model.doc_topics_)
    alpha = sample_model.index_.topic_weight
    for row in range(0, X.shape[0], 37):
        brute = (1 - alpha) * (X @ X[row]) + alpha * (W @ W[row])
        expected = top_k(brute.astype(np.float32), 10, exclude=[row])
        fast = sample_model.index_.scores_for_article(row)
        assert np.allclose(fast, brute, atol=1e-5)
        assert list(top_k(fast, 10, exclude=[row])) == list(expected)


def test_unit_rows_have_length_one_and_zero_rows_stay_zero():
    rows = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], dtype=np.float32)
    units = unit_rows(rows)
    assert units.dtype == np.float32
    assert np.allclose(units, [[0.6, 0.8, 0.0], [0.0, 0.0, 0.0], [3**-0.5] * 3], atol=1e-7)


def test_map_chunks_consumes_a_generator_in_order():
    chunks = (list(range(i, i + 3)) for i in range(0, 30, 3))
    assert map_chunks(sum, chunks, n_jobs=2) == [sum(range(i, i + 3)) for i in range(0, 30, 3)]
    assert map_chunks(sum, iter([[1, 2]]), n_jobs=2) == [3]
    assert map_chunks(sum, iter([]), n_jobs=2) == []


def test_search_matrix_built_block_by_block_equals_one_block(sample_model, monkeypatch):
    # B is built a block of entries at a time to bound memory at a million articles; the blocks' edges
    # (rows, then columns, split mid-matrix) must not change a single value
    X, idf = sample_model.index_.postings.tocsr(), sample_model.vectorizer_.idf_
    whole = topics.index.search_postings(topics.index.term_counts(X, idf, extra_columns=3))
    monkeypatch.setattr(topics.index, "_BLOCK_ENTRIES", 97)
    counts = topics.index.term_counts(X, idf, extra_columns=3)
    blocks = topics.index.search_postings(counts)
    assert counts.shape == (X.shape[0], X.shape[1] + 3) and counts[:, -3:].nnz == 0
    assert np.array_equal(whole.indptr, blocks.indptr) and np.array_equal(whole.indices, blocks.indices)
    assert np.array_equal(whole.data, blocks.data) and whole.dtype == np.float32
    assert np.allclose(counts.data, np.round(counts.data)) and counts.data.min() >= 1
