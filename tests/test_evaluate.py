"""Topic quality metrics, choosing k, and the news-aware analyser, on hand-checked and real corpora."""

import math

import numpy as np
import pytest
from conftest import SAMPLE

import topics
from topics.analyzer import Analyzer, find_phrases
from topics.clean import clean_news, find_boilerplate, probe_words, strip_boilerplate
from topics.corpus import Article
from topics.evaluate import (
    coherence_words,
    count_windows,
    reference_tokens,
    topic_diversity,
    topic_npmi,
    topic_stability,
)
from topics.topic_model import term_relevance, top_terms, topic_terms
from topics.tune import auto_range, choose_k, parse_k_range, tune_texts

EPS = 1e-12


def npmi_by_hand(n_windows, n_a, n_b, n_ab):
    p_a, p_b, p_ab = n_a / n_windows, n_b / n_windows, n_ab / n_windows
    return math.log((p_ab + EPS) / (p_a * p_b)) / -math.log(p_ab + EPS)


# -- NPMI ---------------------------------------------------------------------------------------------
def test_npmi_equals_hand_computed_values_on_short_documents():
    # Each text is shorter than the window of 10, so each is one window: 4 windows.
    tokens = [["apple", "pie", "oven"], ["apple", "pie"], ["oven", "heat"], ["heat", "pie"]]
    scores = topic_npmi([["apple", "pie", "heat"]], tokens)
    pairs = [npmi_by_hand(4, 2, 3, 2), npmi_by_hand(4, 2, 2, 0), npmi_by_hand(4, 3, 2, 1)]
    assert abs(scores[0] - np.mean(pairs)) < 1e-6


def test_windows_slide_one_token_at_a_time():
    # 12 tokens give 3 windows: [0, 10), [1, 11), [2, 12). "a" at 0 is only in the first window,
    # "z" at 11 only in the last; "m" at 5 is in all three.
    doc = ["a"] + [f"w{i}" for i in range(1, 11)] + ["z"]
    doc[5] = "m"
    counts = count_windows([doc], ["a", "z", "m"])
    assert counts.n_windows == 3
    assert list(counts.occurrences) == [1, 1, 3]
    assert counts.co_occurrences[0, 1] == 0 and counts.co_occurrences[0, 2] == 1 and counts.co_occurrences[1, 2] == 1
    score = topic_npmi([["a", "m"]], [doc])[0]
    assert abs(score - npmi_by_hand(3, 1, 3, 1)) < 1e-6


def test_phrase_counts_where_its_words_stand_together():
    doc = ["prime", "minister", "visits", "prime", "site", "minister"]
    counts = count_windows([doc], ["prime minister", "visits"])
    assert list(counts.occurrences) == [1, 1] and counts.co_occurrences[0, 1] == 1
    assert coherence_words(["prime minister", "minister", "visits"], n=2) == ["prime", "minister"]


def test_unseen_word_scores_minus_one():
    assert topic_npmi([["alpha", "never"]], [["alpha", "beta"]])[0] == -1.0


def test_npmi_equals_gensim_c_npmi():
    gensim = pytest.importorskip("gensim")  # noqa: F841  (pip install 'topics[quality-test]')
    from gensim.corpora import Dictionary
    from gensim.models import CoherenceModel

    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(30)]
    texts = []
    for _ in range(40):  # no word repeats within a window: gensim's incremental window is exact there
        doc = []
        while len(doc) < rng.integers(3, 40):
            word = vocab[rng.integers(len(vocab))]
            if word not in doc[-9:]:
                doc.append(word)
        texts.append(doc)
    top = [list(rng.choice(vocab, 10, replace=False)) for _ in range(4)]
    model = CoherenceModel(
        topics=top, texts=texts, dictionary=Dictionary(texts), coherence="c_npmi", window_size=10, processes=1
    )
    assert np.allclose(topic_npmi(top, texts), model.get_coherence_per_topic(), atol=1e-6)


# -- diversity and stability --------------------------------------------------------------------------
def test_diversity_counts_repeated_words():
    overall, own = topic_diversity([["a", "b", "c", "d"], ["a", "e", "f", "g"]])
    assert overall == 7 / 8
    assert list(own) == [0.75, 0.75]
    assert topic_diversity([["a", "b"], ["c", "d"]])[0] == 1.0


def test_relevance_ranks_a_word_every_topic_uses_below_each_topics_own_word():
    # "common" (column 0) is the heaviest word of both topics; each topic's own word is a little lighter.
    H = np.array([[1.0, 0.9, 0.0], [1.0, 0.0, 0.9]])
    W = np.ones((4, 2))
    assert top_terms(H, 2).tolist() == [[0, 1], [0, 2]]
    assert topic_terms(H, W, 2).tolist() == [[1, 0], [2, 0]]
    assert top_terms(term_relevance(H, W, lam=1.0), 2).tolist() == [[0, 1], [0, 2]]  # λ = 1: by weight


def test_relevance_counts_words_no_article_uses_as_the_rarest():
    H = np.array([[1.0, 0.5, 0.0], [0.0, 0.2, 1.0]])
    W = np.array([[1.0, 0.0], [2.0, 0.0]])  # no article has topic 1, so its own word is in no reconstruction
    assert np.isfinite(term_relevance(H, W)).all()
    assert topic_terms(H, W, 3)[1, 0] == 2


def test_relevant_words_repeat_less_across_topics_than_the_heaviest(sample_model):
    H, W = sample_model.components_, sample_model.doc_topics_
    heaviest = topic_diversity(top_terms(H, 25).tolist())[0]
    relevant = topic_diversity(topic_terms(H, W, 25).tolist())[0]
    assert relevant > heaviest + 0.02


def test_stability_matches_topics_whatever_their_order():
    rng = np.random.default_rng(1)
    H = rng.random((5, 40))
    same, per_topic = topic_stability(H, H[[3, 0, 4, 1, 2]])
    assert abs(same - 1.0) < 1e-9 and np.allclose(per_topic, 1.0)
    disjoint = np.zeros((2, 4))
    disjoint[0, :2], disjoint[1, 2:] = 1, 1
    other = np.zeros((2, 4))
    other[0, 0], other[1, 2] = 1, 1
    score, _ = topic_stability(disjoint, other)
    assert abs(score - 1 / math.sqrt(2)) < 1e-9
    assert topic_stability(np.eye(3), np.eye(3)[:2])[1][2] == 0.0  # fewer topics: the extra one matches nothing


# -- choosing k ---------------------------------------------------------------------------------------
def test_choose_k_prefers_coherent_diverse_and_smaller():
    rows = [
        {"k": 5, "npmi": 0.10, "diversity": 0.95},
        {"k": 10, "npmi": 0.105, "diversity": 0.9},
        {"k": 15, "npmi": 0.20, "diversity": 0.6},
        {"k": 20, "npmi": 0.13, "diversity": 0.86},
    ]
    k, reason = choose_k(rows)
    assert k == 20 and "0.130" in reason
    rows[3]["npmi"] = 0.109  # within the margin of k=5: the smaller k wins
    assert choose_k(rows)[0] == 5


@pytest.mark.parametrize("spec, expected", [("5:20:5", [5, 10, 15, 20]), ("3:5", [3, 4, 5]), ("8,4,6", [4, 6, 8])])
def test_parse_k_range(spec, expected):
    assert parse_k_range(spec) == expected


@pytest.mark.parametrize("spec", ["five", "5:", "1:3", "20:5:5", "5:10:0"])
def test_parse_k_range_rejects(spec):
    with pytest.raises(topics.ParameterError, match="topics="):
        parse_k_range(spec)


def test_tune_on_real_news_follows_its_rule(lee_records):
    texts = [r["text"] for r in lee_records[:150]]
    result = tune_texts(texts, [2, 6, 12], n_jobs=1)
    assert [r["k"] for r in result["rows"]] == [2, 6, 12]
    chosen = next(r for r in result["rows"] if r["k"] == result["chosen"])
    assert chosen["diversity"] >= 0.85 and chosen["npmi"] > 0.05  # coherent topics, not noise
    for row in result["rows"]:
        if row["diversity"] >= 0.85:
            assert row["npmi"] <= chosen["npmi"] + 0.01 or row["k"] < chosen["k"]
    errors = [r["relative_error"] for r in result["rows"]]
    assert errors == sorted(errors, reverse=True)  # more topics always reconstruct better


def test_tune_vectorises_texts_as_fit_does(lee_records):
    from topics.tune import vectorise

    texts = [r["text"].strip() for r in lee_records[:120]]
    X, vocabulary = vectorise(texts, min_df=2, max_df=0.5, extra_stop_words=["said"])
    model = topics.fit(
        texts, n_topics=4, min_df=2, max_df=0.5, extra_stop_words=["said"], keep_words=(), random_state=0
    )
    assert np.array_equal(vocabulary, model.vectorizer_.vocabulary_)
    assert (model.doc_terms_ != X).nnz == 0


def test_auto_topics_uses_the_tune_rule(newsgroup_records):
    articles = [Article(id=r["id"], text=r["text"]) for r in newsgroup_records[:120]]
    model = topics.TopicModel("auto").fit(articles)
    assert model.fit_info_["n_topics_rule"].startswith("auto: highest NPMI")
    assert model.n_topics_ in auto_range(len(articles))


# -- model.evaluate -----------------------------------------------------------------------------------
def test_model_evaluate_reports_every_metric(sample_model):
    result = sample_model.evaluate(SAMPLE)
    assert set(result) == {
        "n_topics",
        "npmi",
        "npmi_clean",
        "diversity",
        "n_clutter",
        "clutter_rate",
        "relative_error",
        "stability",
        "topics",
    }
    assert result["n_topics"] == 10 and len(result["topics"]) == 10
    assert result["n_clutter"] == 0 and result["npmi_clean"] == result["npmi"]  # real ABC news: no clutter
    assert 0.05 < result["npmi"] < 0.5 and result["diversity"] >= 0.85
    assert abs(result["relative_error"] - sample_model.fit_info_["relative_error"]) < 1e-5
    assert 0.5 < result["stability"] <= 1.0
    assert result["npmi"] == pytest.approx(np.mean([t["npmi"] for t in result["topics"]]), abs=1e-5)
    assert sample_model.evaluate(stability=False)["npmi"] == result["npmi"]  # re-reads the files it was fitted on


def test_model_evaluate_without_texts_says_what_to_pass(lee_records):
    model = topics.fit([r["text"] for r in lee_records[:60]], n_topics=3)
    with pytest.raises(topics.ParameterError, match="pass corpus="):
        model.evaluate()
    assert model.evaluate([r["text"] for r in lee_records[:60]], stability=False)["n_topics"] == 3


# -- the analyser ------------------------------------------------------------------------------------
POST = """Newsgroups: sci.space
From: someone@example.edu (Some One)
Subject: Re: Shuttle launch delay
Organization: Example University

In article <1993Apr1.000@example.edu> other@example.edu (Other Person) writes:
> The launch was delayed again.
> Quoted text should go.
I think the orbiter needs new tiles. See http://example.com/tiles
--
Some One, Example University, +1 555 0100
"""


def test_clean_news_drops_usenet_boilerplate_but_keeps_subject_and_body():
    cleaned = clean_news(POST)
    assert "Shuttle launch delay" in cleaned and "orbiter needs new tiles" in cleaned
    for gone in ("Newsgroups", "Organization", "In article", "Quoted text", "555", "writes"):
        assert gone not in cleaned


def test_clean_news_drops_agency_datelines_and_bylines():
    text = "By Jane Smith\nNEW DELHI, Oct 9 (Reuters) - India and Russia signed a deal."
    assert clean_news(text).strip() == "India and Russia signed a deal."
    assert clean_news("AAP - Bushfires burn near Sydney.").strip() == "Bushfires burn near Sydney."


PROMO = "Do you have a story you want to share with the Daily Planet? Here's how to reach us."
CREDIT = "Source: Planet wire services and news agencies"


def with_boilerplate(records, every=5):
    """Real articles, every ``every``-th one ending with a publisher's promo line and source credit."""
    return [r["text"] + (f"\n{PROMO}\n{CREDIT}" if i % every == 0 else "") for i, r in enumerate(records)]


def test_boilerplate_is_what_many_articles_repeat_word_for_word(lee_records):
    found = find_boilerplate(with_boilerplate(lee_records))
    assert found == {
        "do you have a story you want to share with the daily planet",
        "here s how to reach us",
        "source planet wire services and news agencies",
    }
    assert find_boilerplate(r["text"] for r in lee_records) == frozenset()  # real news repeats no sentence
    # a repeated first line is a title or a thread's subject: content, not boilerplate
    titled = [f"The week in review from the Daily Planet\n{r['text']}" for r in lee_records[:50]]
    assert find_boilerplate(titled) == frozenset()


def test_stripping_boilerplate_keeps_articles_that_are_mostly_boilerplate():
    found = {"do you have a story you want to share with the daily planet"}
    text = "Floods hit the coast.\nRescuers saved 40 people from the roofs of their homes.\n" + PROMO
    assert (
        strip_boilerplate(text, found)
        == "Floods hit the coast.\nRescuers saved 40 people from the roofs of their homes.\nHere's how to reach us."
    )
    short = "Floods.\n" + PROMO  # a syndicated copy or a stub: stripping would leave almost nothing
    assert strip_boilerplate(short, found) == short
    probes = probe_words(found, [text, short, "The Daily Planet: a story in the planet's daily life."])
    assert probes == ("share",)  # in the fewest texts (2; "story" and "planet" are in 3), longest of those
    for t in (text, short, "No promo here.\nJust a story."):
        assert strip_boilerplate(t, found, probes) == strip_boilerplate(t, found)


def test_fit_learns_boilerplate_and_queries_drop_it_too(lee_records, tmp_path):
    texts = with_boilerplate(lee_records[:150])
    model = topics.fit(texts, n_topics=5)
    vocabulary = {t.decode() for t in model.vectorizer_.vocabulary_}
    assert "planet" not in vocabulary and "wire services" not in vocabulary
    # the promo and the credit stand on consecutive lines: one span (a frequent last word may join it)
    spans = model.clutter()["spans"]
    promo_and_credit = (
        "do you have a story you want to share with the daily planet here s how to reach us "
        "source planet wire services and news agencies"
    )
    assert spans and all(span.endswith(promo_and_credit) and len(span) <= len(promo_and_credit) + 10 for span in spans)
    loaded = topics.load(model.save(tmp_path / "m.joblib"))
    assert loaded.fit_info_["format_version"] >= 3  # a reader of formats 1 and 2 would not cut the spans
    query = lee_records[200]["text"]
    assert np.allclose(loaded.transform([query + "\n" + PROMO]), loaded.transform([query]))
    assert loaded.clutter()["spans"] == model.clutter()["spans"]


def test_analyzer_keeps_collocations_as_single_terms():
    analyzer = Analyzer({"the", "of"}, 2, phrases={"prime minister"}, clean=True)
    terms = analyzer("The Prime Minister of India met 2 ministers; they don't agree. Mail pm@gov.in")
    assert terms == ["prime minister", "india", "met", "ministers", "they", "agree", "mail"]
    assert Analyzer(**analyzer.get_config())("Prime Minister Modi") == ["prime minister", "modi"]


def test_find_phrases_keeps_frequent_exclusive_pairs():
    runs = [[["prime", "minister", f"w{i}"]] for i in range(6)] + [[["minister", "said", f"v{i}"]] for i in range(4)]
    assert find_phrases(runs, min_count=5, min_npmi=0.5) == ["prime minister"]  # "minister said": only 4 times
    assert find_phrases(runs, min_count=5, min_npmi=0.7) == []  # its NPMI is log 3 / log 5 = 0.68


def test_reference_stream_is_the_content_words_after_boilerplate():
    assert reference_tokens("The 3 big dogs, a cat.\n--\nsignature") == ["big", "dogs", "cat"]


def test_stop_words_do_not_push_words_out_of_each_others_window():
    # 11 stop words stand between "rocket" and "orbit": apart in the text, together once they are dropped.
    text = "rocket " + "and the of it was in its own to be on " + "orbit"
    other = ["moon", "sun"] * 10
    assert reference_tokens(text) == ["rocket", "orbit"]
    assert topic_npmi([["rocket", "orbit"]], [reference_tokens(text), other])[0] == pytest.approx(1.0)
    assert topic_npmi([["rocket", "orbit"]], [text.split(), other])[0] < -0.5  # never in one window


def test_saved_model_analyses_queries_as_fitted(sample_model, sample_model_file):
    loaded = topics.load(sample_model_file)
    assert loaded.vectorizer_.analyzer.get_config() == sample_model.vectorizer_.analyzer.get_config()
    assert loaded.vectorizer_.analyzer.clean and "bin laden" in loaded.vectorizer_.terms(
        range(loaded.components_.shape[1])
    )
    text = "Osama bin Laden was hiding in the Tora Bora mountains, Reuters said."
    assert np.allclose(loaded.transform(text), sample_model.transform(text))


# -- command line -------------------------------------------------------------------------------------
def test_cli_evaluate_json(run_cli, sample_model_file):
    result = run_cli("evaluate", SAMPLE, "--model", sample_model_file, "--format", "json", "--no-stability")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert set(data) == {
        "n_topics",
        "npmi",
        "npmi_clean",
        "diversity",
        "n_clutter",
        "clutter_rate",
        "relative_error",
        "topics",
    }
    assert (
        set(data["topics"][0])
        == {"id", "words", "npmi", "unique_words", "span_share", "source_share", "stub_share", "clutter"}
        and len(data["topics"][0]["words"]) == 10
    )


def test_cli_evaluate_table(run_cli, sample_model_file):
    result = run_cli("evaluate", SAMPLE, "--model", sample_model_file)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("10 topics: npmi ") and "stability" in lines[0]
    assert lines[1].split() == ["topic", "npmi", "unique", "stable", "clutter", "top", "words"] and len(lines) == 12
    assert "0 flagged as clutter" in lines[0]


def test_cli_tune_json_and_table(run_cli):
    result = run_cli("tune", SAMPLE, "--topics", "4:8:4", "--format", "json", "--jobs", 1)
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert set(data) == {"rows", "chosen", "reason", "n_articles"} and data["n_articles"] == 351
    assert [r["k"] for r in data["rows"]] == [4, 8] and data["chosen"] in (4, 8)
    assert set(data["rows"][0]) == {
        "k",
        "npmi",
        "npmi_clean",
        "n_clutter",
        "clutter_rate",
        "diversity",
        "relative_error",
    }
    table = run_cli("tune", SAMPLE, "--topics", "4,8", "--jobs", 1)
    assert table.stdout.splitlines()[0].split() == ["k", "npmi", "diversity", "relative_error"]
    assert "<- chosen" in table.stdout and table.stdout.rstrip().endswith("NPMI.")


def test_cli_tune_bad_range_is_one_line_error(run_cli):
    result = run_cli("tune", SAMPLE, "--topics", "80:5")
    assert result.exit_code == 2
    assert (
        result.stderr.startswith("topics: error: topics='80:5' gives no number of topics")
        and result.stderr.count("\n") == 1
    )


def test_cli_fit_auto(run_cli, tmp_path, newsgroup_records):
    import json

    corpus = tmp_path / "posts.jsonl"
    corpus.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in newsgroup_records[:100]))
    result = run_cli("fit", corpus, "--topics", "auto", "-q")
    assert result.exit_code == 0, result.stderr
    model = topics.load(tmp_path / "models" / "default.joblib")
    assert model.fit_info_["n_topics_rule"].startswith("auto:") and f"{model.n_topics_} topics" in result.stdout


def test_cli_tune_plot_writes_png(run_cli, tmp_path):
    pytest.importorskip("matplotlib")
    result = run_cli("tune", SAMPLE, "--topics", "3,6", "--jobs", 1, "--plot", "k.png")
    assert result.exit_code == 0, result.stderr
    assert "Plot saved to k.png." in result.stdout
    assert (tmp_path / "k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
