"""Topic summaries, renaming, the per-article view and trends over time: API and CLI."""

import numpy as np
import pytest
from newsgroup_dates import dated_articles

import topics
from topics.topic_model import label_from_terms, readable_terms, term_relevance
from topics.trends import parse_date_range, topic_trends
from topics.word_pairs import CANDIDATES


def vocabulary_terms(model, columns):
    return model.vectorizer_.terms(np.asarray(columns))


# -- summary --------------------------------------------------------------------------------------------
def test_summary_records_are_consistent_with_the_weights(sample_model):
    s = sample_model.summary(n_words=6, n_articles=3)
    W = np.asarray(sample_model.doc_topics_)
    assert len(s) == 10 and s.n_articles == 351 and s.n_dated == 1
    assert sum(t.weight for t in s) == pytest.approx(1.0, abs=1e-6)
    assert sum(t.n_articles for t in s) == int((W.sum(axis=1) > 0).sum())
    H, relevance = np.asarray(sample_model.components_), term_relevance(sample_model.components_, W)
    vocabulary = sample_model.vectorizer_.vocabulary_
    for t in s:
        columns = np.searchsorted(vocabulary, [w.encode() for w in t.words])
        assert len(t.words) == 6 and t.word_weights == pytest.approx(H[t.id, columns].tolist())
        # the topic's most relevant terms, in the fitted order of topics.word_pairs, most relevant first
        candidates = np.argsort(-relevance[t.id])[:CANDIDATES]
        most_relevant = vocabulary_terms(sample_model, candidates[:1])[0]
        assert set(columns) <= set(candidates) and set(most_relevant.split()) <= set(t.words[0].split())
        weights = [a["weight"] for a in t.articles]
        assert weights == sorted(weights, reverse=True) and weights[0] == pytest.approx(W[:, t.id].max(), abs=1e-6)
        assert t.nearest_topic != t.id and 0.0 <= t.distinctness <= 1.0
        assert s[t.nearest_topic].nearest_similarity >= 0  # nearest is itself a topic of the model
    # topics() keeps its record and JSON shape
    old = sample_model.topics(n_words=6, n_articles=3)
    assert [t.to_dict() for t in old] == [t.to_dict() for t in s]
    assert {"id", "label", "words", "word_weights", "weight", "n_articles", "articles"} <= set(old[0].to_dict())


def test_words_after_the_first_ten_are_each_topics_most_particular(sample_model):
    # The first ten words are the fitted order; the longer list goes on with the rest of the topic's terms by
    # relevance at TAIL_LAMBDA, so words that many topics use no longer fill every topic's tail.
    from topics.summary import topic_sizes, topic_word_columns
    from topics.topic_model import HEAD_WORDS, TAIL_LAMBDA

    H = np.asarray(sample_model.components_)
    shares = topic_sizes(np.asarray(sample_model.doc_topics_))[0]
    head, long = topic_word_columns(sample_model, HEAD_WORDS), topic_word_columns(sample_model, 25)
    assert (long[:, :HEAD_WORDS] == head).all()
    particular = term_relevance(H, None, TAIL_LAMBDA, topic_shares=shares)
    heavy = term_relevance(H, None, topic_shares=shares)
    tails_differ = 0
    for t in range(H.shape[0]):
        tail = particular[t, long[t, HEAD_WORDS:]]
        rest = np.setdiff1d(np.flatnonzero(H[t] > 0), long[t])
        assert (np.diff(tail) <= 0).all() and (rest.size == 0 or particular[t, rest].max() <= tail.min())
        by_default = [c for c in np.argsort(-heavy[t], kind="stable") if c not in set(head[t])][: 25 - HEAD_WORDS]
        tails_differ += set(by_default) != set(long[t, HEAD_WORDS:])
    assert tails_differ > 0  # a different ranking from the head's, not the same words again


def test_relevance_one_lists_the_heaviest_terms_and_keeps_the_labels(sample_model):
    default = sample_model.summary(n_words=6, n_articles=0)
    heaviest = sample_model.summary(n_words=6, n_articles=0, relevance=1.0)
    assert [t.label for t in heaviest] == [t.label for t in default]
    for t in heaviest:
        assert len(t.words) == 6 and t.word_weights == sorted(t.word_weights, reverse=True)
    # the default demotes words the whole archive uses, so some topic lists other words
    assert [t.words for t in heaviest] != [t.words for t in default]
    for bad in (-0.1, 1.5, "0.5", True, None):
        with pytest.raises(topics.ParameterError, match="relevance="):
            sample_model.summary(relevance=bad)


def test_nearest_topic_is_the_most_similar_word_profile(sample_model):
    H = np.asarray(sample_model.components_, dtype=np.float64)
    U = H / np.linalg.norm(H, axis=1, keepdims=True)
    cos = U @ U.T
    np.fill_diagonal(cos, -1)
    for t in sample_model.summary(n_articles=0):
        assert t.nearest_topic == int(cos[t.id].argmax())
        assert t.nearest_similarity == pytest.approx(cos[t.id].max(), abs=1e-5)


def test_labels_prefer_phrases(sample_model):
    labels = " | ".join(t.label for t in sample_model.summary())
    assert "bin laden" in labels and "al qaeda" in labels


def test_topic_words_name_each_thing_once(sample_model):
    """No shown term only repeats words shown before it, and a phrase stands for an earlier word when most
    articles using the word use the phrase: the raw top terms read "bin, bin laden, laden, al, al qaeda"."""
    article_counts = np.diff(sample_model.index_.postings.indptr)
    vocabulary = {
        term: c
        for c, term in enumerate(sample_model.vectorizer_.terms(range(len(sample_model.vectorizer_.vocabulary_))))
    }
    summary = sample_model.summary(n_words=10, n_articles=0)
    for t in summary:
        assert len(t.words) == 10
        for i, term in enumerate(t.words):
            shown_before = {w for other in t.words[:i] for w in other.split()}
            assert not set(term.split()) <= shown_before, (term, t.words)
            for phrase in t.words[i + 1 :]:
                if term in phrase.split() and phrase != term:  # a word shown beside its phrase
                    assert article_counts[vocabulary[phrase]] < 0.7 * article_counts[vocabulary[term]]
    words = " | ".join(", ".join(t.words) for t in summary)
    assert "bin laden" in words and "al qaeda" in words
    assert not {"bin", "laden", "al", "qaeda"} & {w for t in summary for w in t.words}


def test_readable_terms_keep_a_word_used_mostly_outside_the_phrase():
    terms = ["palestinian", "israeli", "bin", "bin laden", "palestinian leader", "laden"]
    assert readable_terms(terms, 10) == [1, 3, 4]  # without counts phrases always win
    counts = [100, 80, 40, 40, 59, 40]
    assert [terms[i] for i in readable_terms(terms, 10, counts)] == [
        "palestinian",
        "israeli",
        "bin laden",
        "palestinian leader",
    ]
    assert readable_terms(terms, 2, counts) == [0, 1]


def test_a_name_shown_word_by_word_reads_as_the_name():
    terms = ["putin", "russian", "vladimir", "vladimir putin", "moscow", "new", "york", "new york"]
    counts = [164, 628, 174, 136, 420, 900, 300, 250]  # "new york" is in few of the articles holding "new"
    shown = [terms[i] for i in readable_terms(terms, 10, counts)]
    assert shown == ["vladimir putin", "russian", "moscow", "new", "york"]
    # a label of three parts looks three terms past its last part for such a name
    label = label_from_terms([*terms[:3], "moscow", "vladimir putin"], article_counts=[164, 628, 174, 420, 136])
    assert label == "vladimir putin / russian"


def test_summary_to_frame(sample_model):
    frame = sample_model.summary().to_frame()
    assert list(frame.index) == list(range(10))
    assert frame["weight"].sum() == pytest.approx(1.0, abs=1e-6)


def test_rename_persists_through_save_and_load(sample_model, tmp_path):
    model = topics.load(_copy_of(sample_model, tmp_path))
    auto = model.summary()[3].label
    model.rename_topic(3, "  Qantas   strike ")
    assert model.summary()[3].label == "Qantas strike" and model.summary()[3].auto_label == auto
    model.save(tmp_path / "renamed.joblib")
    again = topics.load(tmp_path / "renamed.joblib")
    assert again.topic_names_ == {3: "Qantas strike"} and again.topics()[3].label == "Qantas strike"
    again.rename_topic(3, "")
    assert again.summary()[3].label == auto and not again.summary()[3].named


@pytest.mark.parametrize("bad", [10, -1, "x", 2.5, True])
def test_unknown_topic_is_a_clear_error(sample_model, bad):
    with pytest.raises(topics.QueryError, match=r"this model has topics 0 to 9|not a topic number"):
        sample_model.rename_topic(bad, "name")


def test_article_view_mix_and_neighbours(sample_model):
    view = sample_model.article("india-russia-2025-10-09", k=3)
    assert view.date == "2025-10-09"
    shares = [m["share"] for m in view.topics]
    assert shares == sorted(shares, reverse=True) and 0.95 <= sum(shares) <= 1.0 + 1e-6
    assert [h.id for h in view.similar] == [h.id for h in sample_model.similar(id="india-russia-2025-10-09", k=3)]
    with pytest.raises(topics.QueryError, match="no article with id 'nope'"):
        sample_model.article("nope")


# -- trends ---------------------------------------------------------------------------------------------
def test_trends_by_week_match_a_plain_reference(dated_model, newsgroup_records):
    tr = dated_model.trends(by="week")
    assert tr.n_dated == 200 and tr.n_undated == 0
    assert tr.periods[0] == "1993-W13" and tr.periods[-1] == "1993-W20" and len(tr.periods) == 8
    assert int(tr.n_articles.sum()) == 200
    # plain reference: group by ISO week with the standard library
    import datetime

    W = np.asarray(dated_model.doc_topics_, dtype=np.float64)
    weeks = [datetime.date.fromisoformat(d).isocalendar()[:2] for d in dated_model.articles_.dates.astype(str)]
    for p, row in zip(tr.periods, tr.shares, strict=True):
        year, week = int(p[:4]), int(p[-2:])
        mask = np.array([w == (year, week) for w in weeks])
        if not mask.any():
            assert np.isnan(row).all()  # a week with no posts is a gap, not zeros
            continue
        sums = W[mask].sum(axis=0)
        np.testing.assert_allclose(row, sums / sums.sum(), atol=1e-9)


def test_trends_month_topics_filter_and_frame(dated_model):
    tr = dated_model.trends(by="month", topics=[4, 1])
    assert tr.periods == ["1993-04", "1993-05"] and list(tr.n_articles) == [189, 11] and tr.topics == [4, 1]
    full = dated_model.trends(by="month")
    np.testing.assert_allclose(tr.shares, full.shares[:, [4, 1]])
    frame = tr.to_frame()
    assert list(frame.index) == ["1993-04", "1993-05"] and frame["n_articles"].tolist() == [189, 11]


def test_undated_articles_are_counted_not_dated(newsgroup_records):
    articles = dated_articles(newsgroup_records[:60])
    undated = [topics.Article(id=a.id, text=a.text, title=a.title) if i % 3 == 0 else a for i, a in enumerate(articles)]
    tr = topics.fit(undated, n_topics=3, random_state=0).trends(by="year")
    assert tr.n_undated == 20 and tr.n_dated == 40 and tr.periods == ["1993"] and list(tr.n_articles) == [40]


def test_compare_flags_rising_and_falling(dated_model):
    tr = dated_model.trends(compare=("1993-04-01:1993-04-14", "1993-04-15:1993-05"))
    changes = tr.changes
    assert [c["change"] for c in changes] == sorted((c["change"] for c in changes), reverse=True)
    assert sum(c["share_a"] for c in changes) == pytest.approx(1.0, abs=1e-5)
    for c in changes:
        assert c["change"] == pytest.approx(c["share_b"] - c["share_a"], abs=1e-5)
        expected = "rising" if c["change"] >= 0.02 else "falling" if c["change"] <= -0.02 else "steady"
        assert c["direction"] == expected
    assert changes[0]["direction"] == "rising" and changes[-1]["direction"] == "falling"


def test_parse_date_range():
    assert [str(d) for d in parse_date_range("2025-01:2025-06")] == ["2025-01-01", "2025-06-30"]
    assert [str(d) for d in parse_date_range("2024-02")] == ["2024-02-01", "2024-02-29"]
    assert [str(d) for d in parse_date_range("2025")] == ["2025-01-01", "2025-12-31"]
    with pytest.raises(topics.ParameterError, match="YYYY, YYYY-MM or YYYY-MM-DD"):
        parse_date_range("January:June")
    with pytest.raises(topics.QueryError, match="ends before it starts"):
        parse_date_range("2025-06:2025-01")


def test_trend_errors_are_clear(dated_model, sample_model, lee_records):
    with pytest.raises(
        topics.QueryError,
        match=r"no dated articles in 1993-06 \(1993-06-01 to 1993-06-30\); "
        r"the archive's dates run from 1993-04-01 to 1993-05-17",
    ):
        dated_model.trends(compare=("1993-04", "1993-06"))
    with pytest.raises(topics.ParameterError, match="by='fortnight' is not allowed"):
        dated_model.trends(by="fortnight")
    with pytest.raises(topics.QueryError, match="no topic 6; this model has topics 0 to 5"):
        dated_model.trends(topics=[6])
    lee = topics.fit([r["text"] for r in lee_records[:40]], n_topics=2, random_state=0)
    with pytest.raises(topics.QueryError, match="none of the 40 articles has a date"):
        lee.trends()


def test_trends_on_synthetic_dates_fill_gaps():
    W = np.array([[1, 0], [0, 1], [1, 1], [3, 1]], dtype=np.float32)
    dates = np.array(["2025-01-31", "2025-01-01", "2025-03-15", "NaT"], dtype="datetime64[D]")
    tr = topic_trends(W, dates, ["a", "b"], by="month")
    assert tr.periods == ["2025-01", "2025-02", "2025-03"] and list(tr.n_articles) == [2, 0, 1]
    np.testing.assert_allclose(tr.shares[0], [0.5, 0.5])
    assert np.isnan(tr.shares[1]).all() and tr.n_undated == 1
    assert tr.to_dict()["periods"][1] == {
        "period": "2025-02",
        "n_articles": 0,
        "thin": False,
        "shares": {"0": None, "1": None},
    }
    days = topic_trends(W, dates, ["a", "b"], by="day")
    assert len(days.periods) == 74 and days.periods[0] == "2025-01-01"


# -- CLI ------------------------------------------------------------------------------------------------
def test_cli_summary_table_and_json(run_cli, sample_model_file, sample_model):
    out = run_cli("summary", "-m", sample_model_file, "--words", 4, "--articles", 1)
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("10 topics over 351 articles")
    assert "nearest topic:" in out.stdout and "distinctness" in out.stdout
    doc = run_cli("summary", "-m", sample_model_file, "--format", "json").json()
    assert doc["n_articles"] == 351 and doc["n_dated"] == 1 and len(doc["topics"]) == 10
    assert doc["topics"][2] == sample_model.summary(n_words=8, n_articles=3)[2].to_dict()


def test_cli_label_renames_and_persists(run_cli, sample_model, tmp_path):
    path = _copy_of(sample_model, tmp_path)
    out = run_cli("label", 3, "India–Russia ties", "-m", path)
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("Topic 3 is now 'India–Russia ties' (was ")
    assert topics.load(path).summary()[3].label == "India–Russia ties"
    assert run_cli("label", 3, "", "-m", path, "--format", "json").json()["named"] is False
    bad = run_cli("label", 12, "x", "-m", path)
    assert bad.exit_code == 2 and bad.stderr == "topics: error: no topic 12; this model has topics 0 to 9\n"


def test_cli_show(run_cli, sample_model_file):
    out = run_cli("show", "india-russia-2025-10-09", "-m", sample_model_file, "--top", 2)
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("india-russia-2025-10-09  2025-10-09")
    assert "Nearest articles:" in out.stdout
    doc = run_cli("show", "india-russia-2025-10-09", "-m", sample_model_file, "--format", "json").json()
    assert sorted(doc) == ["date", "id", "similar", "snippet", "title", "topics"] and len(doc["similar"]) == 5
    bad = run_cli("show", "nope", "-m", sample_model_file)
    assert bad.exit_code == 2 and bad.stderr.startswith("topics: error: no article with id 'nope'")


def test_cli_trends(run_cli, dated_model_file, dated_model):
    out = run_cli(
        "trends", "-m", dated_model_file, "--by", "month", "--compare", "1993-04-01:1993-04-14", "1993-04-15:1993-05"
    )
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Topic shares by month: 200 dated articles, 1993-04-01 to 1993-05-17."
    assert lines[2].split() == ["month", "articles", "0", "1", "2", "3", "4", "5"]
    assert lines[3].split()[:2] == ["1993-04", "189"] and lines[4].split()[:2] == ["1993-05", "11"]
    assert "From 1993-04-01:1993-04-14 to 1993-04-15:1993-05:" in out.stdout and "rising" in out.stdout
    doc = run_cli("trends", "-m", dated_model_file, "--by", "week", "--topics", 1, "--format", "json").json()
    assert doc["n_undated"] == 0 and doc["topics"] == [{"id": 1, "label": dated_model.summary()[1].label}]
    assert doc["periods"][5] == {"period": "1993-W18", "n_articles": 0, "thin": False, "shares": {"1": None}}
    csv = run_cli("trends", "-m", dated_model_file, "--format", "csv").stdout.splitlines()
    assert csv[0] == "month,articles,thin,0,1,2,3,4,5" and csv[1].startswith("1993-04,189,0,")


def test_cli_trend_errors(run_cli, dated_model_file, sample_model_file):
    empty = run_cli("trends", "-m", dated_model_file, "--compare", "1993-04", "2025-01:2025-06")
    assert empty.exit_code == 2
    assert empty.stderr.startswith("topics: error: no dated articles in 2025-01:2025-06 (2025-01-01 to 2025-06-30)")
    bad = run_cli("trends", "-m", dated_model_file, "--topics", 9)
    assert bad.exit_code == 2 and bad.stderr == "topics: error: no topic 9; this model has topics 0 to 5\n"
    one = run_cli("trends", "-m", sample_model_file, "--by", "year")  # one dated article, 350 undated
    assert one.exit_code == 0
    assert one.stdout.startswith("Topic shares by year: 1 dated article, 2025-10-09 to 2025-10-09.")
    assert "Note: 350 undated articles are left out." in one.stdout and "1 thin year" in one.stdout


def _copy_of(model, tmp_path):
    path = tmp_path / "copy.joblib"
    model.save(path, force=True)
    return path


def test_snippets_are_the_start_of_the_text_on_one_line_cut_at_a_word():
    from topics.table import make_snippet

    # Any white space run, Unicode included (no-break, line and ideographic spaces), becomes one space.
    assert make_snippet("  Rates\u00a0cut\n\n\tagain\u2028in \u3000 Sydney ") == "Rates cut again in Sydney"
    long = "word " * 100
    snippet = make_snippet("\n" * 5000 + long)  # the leading blank part is longer than the first prefix read
    assert snippet == " ".join(["word"] * 40) + "…" and len(snippet) <= 201
    assert make_snippet("a, " * 150).endswith("a…")  # no dangling comma before the ellipsis
