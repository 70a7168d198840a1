"""The order of a topic's words: words written together come first (topics.word_pairs)."""

import shutil

import numpy as np

import topics
from topics.summary import topic_word_columns
from topics.word_pairs import CANDIDATES, order_topic_words, window_npmi

# Three real Lee-news sentences, each in several articles: "bin laden" and "al qaeda" are written
# together, "qantas" never near them.
TEXTS = [
    "Osama bin Laden and his al Qaeda network are hiding in the mountains of Tora Bora.",
    "The United States says the al Qaeda leader Osama bin Laden may have fled to Pakistan.",
    "Qantas engineers have voted to lift the freeze on maintenance work at airports.",
    "Fighters loyal to Osama bin Laden fought on while al Qaeda lost its last stronghold.",
    "Qantas says the dispute with its maintenance engineers will go to the commission.",
]


def test_words_written_together_score_above_words_that_never_meet():
    npmi = window_npmi(TEXTS, ["laden", "qaeda", "qantas", "maintenance", "zebra"])
    assert npmi[0, 1] > 0.3  # within ten words of each other in three articles
    assert npmi[0, 2] == -1.0 and npmi[1, 3] == -1.0  # never in the same window
    assert npmi[2, 3] == 0.0  # met in two articles only: no credit, however strong
    assert (npmi[4] == 0).all() and (npmi[:, 4] == 0).all()  # a word the texts never show is neutral
    assert np.allclose(npmi, npmi.T) and (np.diag(npmi) == 0).all()
    assert window_npmi(TEXTS, ["laden", "qaeda", "qantas", "maintenance"], min_articles=2)[2, 3] > 0.1


def test_a_word_that_meets_the_first_overtakes_a_slightly_heavier_one_that_does_not():
    terms = np.array(["laden", "qantas", "qaeda", "zebra"])
    relevance = np.array([[1.0, 0.8, 0.7, 0.1]])
    order = order_topic_words(relevance, lambda c: list(terms[c]), TEXTS * 2, np.array([10, 10, 10, 1]))
    assert order == [[0, 2, 1, 3]]  # most relevant first; "qaeda" is written beside "laden"
    # without texts to learn from, the order is relevance alone
    assert order_topic_words(relevance, lambda c: list(terms[c]), [], np.ones(4)) == [[0, 1, 2, 3]]


def test_fit_saves_each_topics_order_and_summaries_follow_it(sample_model, sample_model_file):
    order = sample_model.fit_info_["word_order"]
    assert len(order) == sample_model.n_topics_ and all(0 < len(row) <= CANDIDATES for row in order)
    columns = topic_word_columns(sample_model, 10)
    assert [list(row) for row in columns] == [row[:10] for row in order]
    loaded = topics.load(sample_model_file)
    assert loaded.fit_info_["word_order"] == order
    assert [t.words for t in loaded.summary(n_articles=0)] == [t.words for t in sample_model.summary(n_articles=0)]


def test_a_model_without_an_order_ranks_words_by_relevance(sample_model):
    by_relevance = topic_word_columns(sample_model, 10, word_order=None)
    fitted = topic_word_columns(sample_model, 10)
    assert not np.array_equal(by_relevance, fitted)  # the order changes which words come first
    for t in range(sample_model.n_topics_):
        # both start with the most relevant term, or with a phrase standing for it ("peter hollingworth")
        most_relevant, first = sample_model.vectorizer_.terms([by_relevance[t][0], fitted[t][0]])
        assert set(most_relevant.split()) <= set(first.split())


def test_dropping_a_topic_keeps_the_others_words_and_labels(sample_model_file, tmp_path):
    path = tmp_path / "m.joblib"
    shutil.copyfile(sample_model_file, path)
    model = topics.load(path)
    before = model.summary(n_articles=0)
    model.drop_topic(4)
    after = model.summary(n_articles=0)
    kept = [t for t in before if t.id != 4]
    assert [(t.label, t.words) for t in after] == [(t.label, t.words) for t in kept]
    assert model.fit_info_["word_order"] == [
        r for t, r in enumerate(topics.load(path).fit_info_["word_order"]) if t != 4
    ]
