"""Fitting and querying through the public API, checked against plain references."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import SAMPLE

import topics
from topics import ParameterError, QueryError
from topics.analyzer import Analyzer, english_stop_words
from topics.index import SimilarityIndex, top_k
from topics.text import Vectorizer
from topics.topic_model import label_from_terms, nmf_transform


def lee_subset(records, n=120):
    return [topics.Article(id=r["id"], text=r["text"]) for r in records[:n]]


def test_same_seed_gives_same_topics(lee_records):
    a = topics.fit(lee_subset(lee_records), n_topics=8, random_state=3)
    b = topics.fit(lee_subset(lee_records), n_topics=8, random_state=3)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert [t.to_dict() for t in a.topics()] == [t.to_dict() for t in b.topics()]


def test_topics_are_real_news_themes(sample_model):
    labels = " | ".join(t.label for t in sample_model.topics())
    # The Lee corpus is dominated by these stories; a broken pipeline would not surface them.
    for theme in ("palestinian", "bin laden", "al qaeda"):
        assert theme in labels
    assert "afghanistan" in {w for t in sample_model.topics(n_words=5) for w in t.words}
    shares = [t.weight for t in sample_model.topics()]
    assert abs(sum(shares) - 1.0) < 1e-5
    assert sum(t.n_articles for t in sample_model.topics()) <= len(sample_model.articles_)


def test_topic_words_are_not_stop_words(sample_model):
    words = {w for t in sample_model.topics(n_words=10) for w in t.words}
    assert not words & {"the", "of", "and", "said", "mr", "says"}


def test_similar_by_id_never_returns_itself_and_is_sorted(sample_model):
    hits = sample_model.similar(id="lee-00", k=20)
    assert "lee-00" not in [h.id for h in hits]
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    # lee-13 and lee-32 are follow-ups on the same Democrats leadership story.
    assert {"lee-13", "lee-32"} <= {h.id for h in hits[:3]}


def test_stored_text_as_query_finds_itself_with_score_one(sample_model, lee_records):
    record = lee_records[42]
    hit = sample_model.similar(text=record["text"], k=1)[0]
    assert hit.id == record["id"] and hit.score == pytest.approx(1.0, abs=1e-5)


def test_exact_duplicate_is_listed_only_on_request_and_query_never(lee_records):
    articles = [*lee_subset(lee_records, 60), topics.Article(id="copy", text=lee_records[5]["text"])]
    model = topics.fit(articles, n_topics=5)
    hits = model.similar(id=lee_records[5]["id"], k=3, keep_duplicates=True)
    assert hits[0].id == "copy" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert "copy" not in [h.id for h in model.similar(id=lee_records[5]["id"], k=3)]


def test_similarity_is_symmetric_and_bounded(sample_model, lee_records):
    a, b = lee_records[0]["text"], lee_records[1]["text"]
    assert sample_model.similarity(a, b) == pytest.approx(sample_model.similarity(b, a), abs=1e-6)
    assert sample_model.similarity(a, a) == pytest.approx(1.0, abs=1e-5)
    assert 0.0 <= sample_model.similarity(a, "Cricket test match in Adelaide") <= 1.0


def test_similar_scores_equal_the_similarity_of_texts(sample_model, lee_records):
    query = "Israeli troops and Palestinian militants clash in Gaza"
    hit = sample_model.similar(text=query, k=1)[0]
    assert hit.score == pytest.approx(sample_model.similarity(query, {"id": hit.id}), abs=1e-4)
    # A long text is scored by the cosine blend alone, so a stored article's text scores as the article.
    long_query = lee_records[3]["text"]
    hit = sample_model.similar(text=long_query, k=2)[1]
    text = next(r["text"] for r in lee_records if r["id"] == hit.id)
    assert hit.score == pytest.approx(sample_model.similarity(long_query, text), abs=1e-4)


def test_transform_shape_and_stored_rows(sample_model, lee_records):
    W = sample_model.transform([lee_records[0]["text"], "bushfires near Sydney"])
    assert W.shape == (2, sample_model.n_topics_) and (W >= 0).all()
    row = sample_model.row_of(lee_records[0]["id"])
    np.testing.assert_allclose(W[0], sample_model.doc_topics_[row], atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"id": "no-such-id"}, "no article with id 'no-such-id'"),
        ({"text": "   "}, "query text is empty"),
        ({"text": "the and of it was"}, "no words the model knows"),
        ({}, "exactly one of"),
    ],
)
def test_bad_queries_get_clear_errors(sample_model, kwargs, message):
    with pytest.raises(QueryError, match=message):
        sample_model.similar(**kwargs)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_topics": 0}, "n_topics=0 is not allowed"),
        ({"min_df": -1}, "min_df=-1 is not allowed"),
        ({"topic_weight": 1.5}, "topic_weight=1.5 is not allowed"),
        ({"ngram_max": 3}, "ngram_max=3 is not allowed; use 1 or 2"),
    ],
)
def test_bad_parameters_name_the_parameter(params, message):
    with pytest.raises(ParameterError, match=message):
        topics.TopicModel(**params).fit(SAMPLE)


def test_more_topics_than_articles_is_an_error():
    with pytest.raises(ParameterError, match="more than the 3 articles"):
        topics.fit(["red apples grow", "green apples grow", "red apples fall"], n_topics=5, min_df=1, max_df=1.0)


# -- optimised code against plain references ------------------------------------------------------------
def test_vectorizer_equals_scikit_learn_tfidf(lee_records):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [r["text"] for r in lee_records[:80]]
    analyzer = Analyzer(stop_words={"the", "a", "of", "to", "in", "and"})
    ours = Vectorizer(analyzer, min_df=2, max_df=0.5)
    X = ours.fit_transform(texts)
    reference = TfidfVectorizer(analyzer=analyzer, min_df=2, max_df=0.5, sublinear_tf=True)
    R = reference.fit_transform(texts)
    order = np.argsort(reference.get_feature_names_out())
    assert [t.decode() for t in ours.vocabulary_] == list(reference.get_feature_names_out()[order])
    np.testing.assert_allclose(X.toarray(), R[:, order].toarray(), atol=1e-6)
    np.testing.assert_allclose(ours.transform(texts[:5]).toarray(), X[:5].toarray(), atol=1e-6)


def test_nmf_transform_equals_scikit_learn(sample_model, lee_records):
    from sklearn.decomposition import NMF

    X = sample_model.vectorizer_.transform([r["text"] for r in lee_records[:30]]).astype(np.float64)
    H = sample_model.components_.astype(np.float64)
    reference = NMF(n_components=H.shape[0], init="custom", solver="cd", tol=1e-8, max_iter=2000)
    reference.n_components_, reference.components_, reference.n_features_in_ = H.shape[0], H, H.shape[1]
    expected = reference.transform(X)
    ours = nmf_transform(X, H, tol=1e-8, max_iter=2000)
    np.testing.assert_allclose(ours, expected, atol=1e-4)


def test_index_equals_brute_force(sample_model):
    X = sample_model.doc_terms_
    W = np.asarray(sample_model.doc_topics_)
    index = SimilarityIndex(sp.csr_matrix(X), W, topic_weight=0.3)
    Wn = W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-30)
    brute = 0.7 * (X @ X.T).toarray() + 0.3 * (Wn @ Wn.T)
    for row in (0, 17, 350):
        np.testing.assert_allclose(index.scores_for_article(row), brute[row], atol=1e-5)
        expected = [r for r in np.argsort(-brute[row], kind="stable") if r != row][:10]
        assert list(top_k(index.scores_for_article(row), 10, exclude=[row])) == expected


def test_top_k_breaks_ties_by_row():
    assert list(top_k(np.array([0.5, 0.9, 0.5, 0.9, 0.1]), 3)) == [1, 3, 0]
    assert list(top_k(np.array([0.2, 0.1]), 5, exclude=[0])) == [1]


def test_labels_prefer_phrases_over_their_words():
    assert label_from_terms(["prime", "prime minister", "minister", "india", "modi"]) == "prime minister / india / modi"


def test_analyzer_keeps_phrases_within_clauses():
    terms = Analyzer(stop_words={"of", "the"})("Prime Minister of India, New Delhi. Visit https://x.org now")
    assert "prime minister" in terms and "new delhi" in terms
    assert "minister india" not in terms and "india new" not in terms
    assert not any("x.org" in t or "https" in t for t in terms)


def test_analyzer_terms_equal_its_clauses_words_and_pairs(lee_records, newsgroup_records):
    """The analyser's one-pass path gives the words and neighbouring pairs of :meth:`Analyzer.clauses`."""
    from collections import Counter
    from itertools import pairwise

    tricky = (
        "From: a@b.org\nSubject: Re: Space\n\nIn article <1@x.edu> bob writes:\n> quoted line\n"
        "By Jane Smith\nLONDON (Reuters) - Don't stop: it's Bob's well-known car — they're here, "
        "see http://x.com/a?b=c or WWW.Foo.org; mail me@x.org. x y zz\n--\nsignature words"
    )
    texts = [r["text"] for r in lee_records + newsgroup_records] + [tricky, "", "...", "a b c"]
    for clean in (True, False):
        for ngram_max in (1, 2):
            analyzer = Analyzer(stop_words=english_stop_words(), ngram_max=ngram_max, clean=clean)
            for text in texts:
                runs = analyzer.clauses(text)
                expected = [w for run in runs for w in run]
                if ngram_max == 2:
                    expected += [f"{a} {b}" for run in runs for a, b in pairwise(run)]
                assert Counter(analyzer(text)) == Counter(expected), text[:80]
    terms = Analyzer(stop_words={"the"}, clean=True)(tricky)
    assert "bob car" not in terms and "bob well" in terms and "space" in terms  # apostrophes, subject kept
    assert not any(w in terms for w in ("quoted", "signature", "jane", "smith", "org", "foo", "com", "don"))
