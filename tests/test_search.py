"""Search (issue 17): short text queries scored as a search engine scores them, titles indexed, a match
level on every hit, more-like-these queries, and batches that answer every line."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import topics
from topics import QueryError
from topics.index import SimilarityIndex, batch_scores, top_k
from topics.store import read_footer

FIXTURES = Path(__file__).parent / "fixtures"
STORY_NOT_HELD = "inauguration crowd size"


@pytest.fixture(scope="module")
def titled_model(newsgroup_records):
    """The 200 newsgroup posts with their subjects as titles (real titles, unlike the Lee news)."""
    articles = [topics.Article(id=r["id"], text=r["text"], title=r["title"]) for r in newsgroup_records]
    return topics.fit(articles, n_topics=6, random_state=0)


def test_queries_by_id_score_exactly_as_the_cosine_blend(sample_model):
    """Article-to-article similarity does not change: a stored article's search share is 0."""
    plain = SimilarityIndex(sample_model.doc_terms_, sample_model.doc_topics_, sample_model.topic_weight)
    for row in (0, 17, 200):
        assert np.array_equal(sample_model.index_.scores_for_article(row), plain.scores_for_article(row))


def test_a_long_text_is_scored_by_the_cosine_blend_and_a_short_one_by_search(sample_model, lee_records):
    plain = SimilarityIndex(sample_model.doc_terms_, sample_model.doc_topics_, sample_model.topic_weight)
    for text, same in ((lee_records[7]["text"], True), ("bushfire near Sydney", False)):
        terms, weights = sample_model.vectorizer_.transform([text]), sample_model.transform(text)[0]
        ours, cosine = sample_model.index_.scores(terms, weights), plain.scores(terms, weights)
        assert np.allclose(ours, cosine, atol=1e-6) == same
        assert ours.min() >= 0.0 and ours.max() <= 1.0


def test_short_queries_rank_articles_that_use_the_words_first(sample_model):
    hits = sample_model.similar(text="bushfire near Sydney", k=5, keep_duplicates=True)
    for hit in hits[:2]:  # the two articles that hold "bushfire" (others say "bushfires")
        row = sample_model.row_of(hit.id)
        terms = set(sample_model.vectorizer_.terms(sample_model.doc_terms_[row].indices))
        assert {"bushfire", "sydney"} <= terms


def test_a_title_is_indexed_and_shown(titled_model, newsgroup_records):
    record = next(r for r in newsgroup_records if r["title"] and "space" in r["title"].lower())
    hits = titled_model.similar(text=record["title"], k=3)
    assert hits[0].id == record["id"] and hits[0].title == record["title"]
    assert hits[0].to_dict()["title"] == record["title"]


def test_batch_scores_equal_single_queries(sample_model, lee_records):
    queries = ["bushfire near Sydney", lee_records[3]["text"], STORY_NOT_HELD, {"id": "lee-bg-010"}]
    batch = sample_model.similar_batch(queries, k=5)
    single = [sample_model.similar(**(q if isinstance(q, dict) else {"text": q}), k=5) for q in queries]
    assert [[h.id for h in hits] for hits in batch] == [[h.id for h in hits] for hits in single]
    for a, b in zip(batch, single, strict=True):
        assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-5)
        assert [h.match for h in a] == [h.match for h in b]


def test_explained_shares_of_a_short_query_add_up_to_the_score(sample_model):
    hit = sample_model.similar(text="bushfire near Sydney", k=1, explain=True)[0]
    e = hit.explanation
    assert e.search_share == 1.0 and e.score == pytest.approx(hit.score, abs=1e-5)
    terms = {t["term"] for t in e.terms}
    assert {"bushfire", "sydney"} <= terms
    compared = sample_model.compare("bushfire near Sydney", {"id": hit.id}, n_terms=50, n_topics=50)
    assert sum(t["share"] for t in compared.terms) + sum(t["share"] for t in compared.topics) == pytest.approx(1.0)


# -- match levels ------------------------------------------------------------------------------------------
def test_every_hit_has_a_match_level_and_a_story_not_held_matches_nothing(sample_model, lee_records):
    assert {h.match for h in sample_model.similar(text=STORY_NOT_HELD, k=5)} == {"none"}
    assert sample_model.similar(text="bushfire near Sydney", k=1)[0].match == "strong"
    for hit in sample_model.similar("lee-bg-010", k=10):
        assert hit.match in ("strong", "weak", "none") and hit.to_dict()["match"] == hit.match
    # a known article's own text finds it (a long text: its copy in the archive scores about 1)
    assert sample_model.similar(text=lee_records[20]["text"], k=1)[0].match == "strong"


def test_min_match_keeps_only_hits_at_that_level_or_better(sample_model):
    assert sample_model.similar(text=STORY_NOT_HELD, k=5, min_match="weak") == []
    strong = sample_model.similar(text="bushfire near Sydney", k=10, min_match="strong")
    assert strong and {h.match for h in strong} == {"strong"}
    weak = sample_model.similar(text="bushfire near Sydney", k=10, min_match="weak")
    assert len(weak) >= len(strong) and {h.match for h in weak} <= {"strong", "weak"}
    with pytest.raises(topics.ParameterError, match="min_match='good'"):
        sample_model.similar(text="bushfire", min_match="good")


def test_calibration_is_saved_and_an_old_file_without_it_still_labels_hits(tmp_path, sample_model):
    sample_model.save(tmp_path / "m.joblib")
    loaded = topics.load(tmp_path / "m.joblib")
    assert loaded.match_calibration() == sample_model.match_calibration()
    query = dict(text="bushfire near Sydney", k=5)
    assert [h.to_dict() for h in loaded.similar(**query)] == [h.to_dict() for h in sample_model.similar(**query)]
    shutil.copy(FIXTURES / "format1-lee50.joblib", tmp_path / "old.joblib")
    old = topics.load(tmp_path / "old.joblib")
    assert "match_calibration" not in old.fit_info_
    assert {h.match for h in old.similar(text="asylum seekers on the Tampa", k=3)} <= {"strong", "weak", "none"}
    assert old.similar(text="asylum seekers on the Tampa", k=1)[0].match is not None


# -- more like these -----------------------------------------------------------------------------------------
def test_like_and_unlike_combine_queries_and_never_return_them(sample_model):
    liked, unliked = ["lee-bg-000", "lee-bg-052"], "lee-bg-004"
    hits = sample_model.similar(like=[{"id": i} for i in liked] + ["bushfire"], unlike=[{"id": unliked}], k=10)
    ids = [h.id for h in hits]
    assert len(ids) == 10 and not {*liked, unliked} & set(ids)
    # pushing away from an article lowers the hits that are like it
    query = [{"id": i} for i in liked]
    plain = sample_model.similar(like=query, k=10)
    pushed_from = sample_model.row_of(plain[0].id)
    pushed = sample_model.similar(like=query, unlike=[{"id": plain[0].id}], k=10)
    likeness = sample_model.index_.scores_for_article(pushed_from)

    def mean_likeness(hits):
        return np.mean([likeness[sample_model.row_of(h.id)] for h in hits if h.id != plain[0].id])

    assert plain[0].id not in [h.id for h in pushed]
    assert mean_likeness(pushed) < mean_likeness(plain)
    assert [h.id for h in sample_model.similar("lee-bg-000", k=3)]  # the one-query call still works


def test_like_needs_a_liked_query_and_not_also_an_id(sample_model):
    with pytest.raises(QueryError, match="at least one"):
        sample_model.similar(like=[], unlike=[{"id": "lee-bg-004"}])
    with pytest.raises(QueryError, match="not both"):
        sample_model.similar("lee-bg-000", like=[{"id": "lee-bg-004"}])
    with pytest.raises(QueryError, match="no article with id 'nope'"):
        sample_model.similar(like=[{"id": "nope"}])


# -- the command line --------------------------------------------------------------------------------------
@pytest.fixture
def model_here(tmp_path, sample_model_file):
    shutil.copy(sample_model_file, tmp_path / "m.joblib")
    return tmp_path / "m.joblib"


def test_cli_says_plainly_when_no_article_matches(run_cli, model_here):
    result = run_cli("similar", "--text", STORY_NOT_HELD, "--top", 2, "-m", "m.joblib")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "No article matches this query well; the closest:"
    assert lines[1].split() == ["#", "score", "match", "id", "date", "title", "(or", "start", "of", "text)"]
    assert lines[2].split()[2] == "none"
    result = run_cli("similar", "--text", STORY_NOT_HELD, "--min-match", "weak", "-m", "m.joblib")
    assert result.exit_code == 0
    assert result.stdout == "No article matches this query well enough (--min-match weak).\n"


def test_cli_says_plainly_when_no_other_article_is_like_a_stored_one(run_cli, model_here):
    model = topics.load(model_here)
    weak = next(i for i in model.articles_.ids if model.similar(i, k=1)[0].match == "none")
    lines = run_cli("similar", weak, "--top", 2, "-m", "m.joblib").stdout.splitlines()
    assert lines[0] == "No other article is much like this one; the closest:"
    assert lines[2].split()[2] == "none"


def test_cli_json_carries_the_match_of_each_hit_and_of_the_query(run_cli, model_here):
    result = run_cli("similar", "--text", "bushfire near Sydney", "--top", 3, "--format", "json", "-m", "m.joblib")
    assert result.exit_code == 0
    out = result.json()
    assert out["match"] == "strong" and out["results"][0]["match"] == "strong"


def test_cli_more_like_these(run_cli, model_here):
    args = ["similar", "lee-bg-000", "lee-bg-052", "--text", "bushfire", "--unlike", "lee-bg-004"]
    result = run_cli(*args, "--format", "json", "-m", "m.joblib")
    assert result.exit_code == 0
    out = result.json()
    assert out["query"] == {
        "like": [{"id": "lee-bg-000"}, {"id": "lee-bg-052"}, {"text": "bushfire"}],
        "unlike": [{"id": "lee-bg-004"}],
    }
    ids = [r["id"] for r in out["results"]]
    assert len(ids) == 10 and not {"lee-bg-000", "lee-bg-052", "lee-bg-004"} & set(ids)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--text", ""], "the query text is empty"),
        (["--text", "the and of"], "the query text has no words the model knows"),
        (["nope"], "no article with id 'nope'"),
        (["lee-bg-000", "--unlike", "nope"], "no article with id 'nope'"),
    ],
)
def test_cli_bad_queries_are_one_line_errors(run_cli, model_here, args, message):
    result = run_cli("similar", *args, "-m", "m.joblib")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("topics: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_batch_reports_each_bad_line_and_answers_the_others(run_cli, tmp_path, model_here):
    (tmp_path / "q.txt").write_text("lee-bg-010\nthe of and\nlee-bg-9999\nbushfire near Sydney\n", encoding="utf-8")
    result = run_cli("batch", "q.txt", "-m", "m.joblib", "--top", 2)
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3, 4]
    assert "error" in records[1] and "looks like an article id" in records[2]["error"]
    assert records[0]["query"] == {"id": "lee-bg-010"} and records[3]["results"][0]["match"] == "strong"
    # --input texts searches every line as text: the id-like line is searched, not reported
    result = run_cli("batch", "q.txt", "-m", "m.joblib", "--top", 2, "--input", "texts")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["query"] == {"text": "lee-bg-010"}
    assert [r["line"] for r in records if "error" in r] == [2]


def test_batch_min_match(run_cli, tmp_path, model_here):
    (tmp_path / "q.txt").write_text(f"{STORY_NOT_HELD}\nbushfire near Sydney\n", encoding="utf-8")
    result = run_cli("batch", "q.txt", "-m", "m.joblib", "--input", "texts", "--min-match", "weak")
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["results"] == [] and records[1]["results"]


def test_a_loaded_model_answers_text_queries_as_the_fitted_one(tmp_path, sample_model):
    sample_model.save(tmp_path / "m.joblib")
    loaded = topics.load(tmp_path / "m.joblib")
    assert (loaded.index_.search != sample_model.index_.search).nnz == 0
    terms = sample_model.vectorizer_.transform(["bushfire near Sydney", "Israeli troops in Gaza"])
    W = sample_model.transform(["bushfire near Sydney", "Israeli troops in Gaza"])
    assert np.array_equal(batch_scores(loaded.index_, terms, W), batch_scores(sample_model.index_, terms, W))
    assert list(top_k(loaded.index_.scores(terms[0], W[0]), 5)) == list(
        top_k(sample_model.index_.scores(terms[0], W[0]), 5)
    )


def test_the_search_matrix_is_saved_and_kept_by_edits_never_rebuilt_at_query_time(tmp_path, sample_model, monkeypatch):
    """Building B reads back every stored snippet and title (seconds per 10,000 articles): a saved model
    carries it, so no query process and no edit of the file builds it again."""
    import topics.state

    sample_model.save(tmp_path / "m.joblib")

    def no_rebuild(*args):
        raise AssertionError("the search matrix was rebuilt")

    monkeypatch.setattr(topics.state, "build_search", no_rebuild)
    loaded = topics.load(tmp_path / "m.joblib")
    query = dict(text="bushfire near Sydney", k=5)
    assert [h.to_dict() for h in loaded.similar(**query)] == [h.to_dict() for h in sample_model.similar(**query)]
    loaded.merge_topics([0, 1])
    loaded.save(tmp_path / "m.joblib", force=True)
    assert topics.load(tmp_path / "m.joblib").similar(**query)[0].id == loaded.similar(**query)[0].id


def test_a_file_from_before_search_scoring_answers_texts_as_it_did_and_without_levels_refuses_min_match(
    tmp_path, monkeypatch
):
    import topics.model
    import topics.state

    shutil.copy(FIXTURES / "format1-lee50.joblib", tmp_path / "old.joblib")
    monkeypatch.setattr(topics.state, "build_search", lambda *a: pytest.fail("the search matrix was rebuilt"))
    old = topics.load(tmp_path / "old.joblib")
    assert old.similar(text="asylum seekers on the Tampa", k=3)  # scored as before (test_model_files)
    # A larger old file is not calibrated in every query process: its hits carry no level, and asking
    # for one is a clear error instead of an unfiltered list.
    monkeypatch.setattr(topics.model, "CALIBRATE_AT_QUERY_MAX", 10)
    big_old = topics.load(tmp_path / "old.joblib")
    assert {h.match for h in big_old.similar(text="asylum seekers on the Tampa", k=3)} == {None}
    with pytest.raises(QueryError, match="no match levels"):
        big_old.similar(text="asylum seekers on the Tampa", k=3, min_match="weak")


def test_adding_articles_reads_only_the_new_ones_for_search_and_gives_the_search_matrix_of_a_full_build(
    tmp_path, lee_records, monkeypatch
):
    """B after `add` is what building it from the whole grown archive gives, but only the new articles'
    leads and titles are analysed again (the saved L holds the others')."""
    import scipy.sparse as sp

    import topics.state
    from topics.state import SearchFields, build_search

    (tmp_path / "old.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lee_records[:120]), encoding="utf-8")
    (tmp_path / "new.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lee_records[120:150]), encoding="utf-8")
    topics.fit(tmp_path / "old.jsonl", 4, random_state=0).save(tmp_path / "m.joblib")
    analysed = []
    real = topics.state.field_counts

    def counting(vectorizer, articles, rare_words=None):
        analysed.append(len(articles))
        return real(vectorizer, articles, rare_words)

    import topics.incremental

    monkeypatch.setattr(topics.state, "field_counts", counting)
    monkeypatch.setattr(topics.incremental, "field_counts", counting)
    model = topics.load(tmp_path / "m.joblib")
    model.add(tmp_path / "new.jsonl")
    model.save(tmp_path / "m.joblib", force=True)
    assert analysed == [30]
    grown = topics.load(tmp_path / "m.joblib")
    rare_words = grown.state_.search_fields.rare_words  # the fit's, and words met first in the new articles
    assert rare_words.size > 0
    texts = [r["text"] for r in lee_records[:150]]
    rare_counts = grown.vectorizer_.transform_with_counts(texts, rare_words)[1]
    fields = SearchFields(grown.vectorizer_, grown.articles_, rare_words=rare_words, rare_counts=rare_counts)
    full = build_search(grown.vectorizer_, grown.doc_terms_, fields)
    assert (sp.csc_matrix(grown.index_.search) != full).nnz == 0
    query = dict(text="bushfire near Sydney", k=5)
    assert [h.id for h in grown.similar(**query)] == [h.id for h in model.similar(**query)]


# -- rare words: the words min_df keeps out of the vocabulary are searched for too -------------------------
def test_a_word_of_one_article_finds_that_article_by_text(sample_model, lee_records):
    """ "Barbados" is in one of the 351 articles: too rare for the topic vocabulary, but what identifies it."""
    (record,) = [r for r in lee_records if "barbados" in r["text"].lower()]
    assert "barbados" not in set(sample_model.vectorizer_.terms(range(len(sample_model.vectorizer_.vocabulary_))))
    hits = sample_model.similar(text="Barbados", k=5, explain=True)
    assert [h.id for h in hits] == [record["id"]]  # no other article shares anything with the query
    assert hits[0].match == "strong"
    # the word as written and the word in any of its forms (the same one word here): half the score each
    assert [t["term"] for t in hits[0].explanation.terms] == ["barbados", "barbados*"]
    assert [t["share"] for t in hits[0].explanation.terms] == pytest.approx([0.5, 0.5])
    # a rare word among known ones lifts its article to the top; the batch answers as the single query does
    query = "Zimbabwe Barbados"
    assert sample_model.similar(text="Zimbabwe", k=1)[0].id != record["id"]
    assert sample_model.similar(text=query, k=1)[0].id == record["id"]
    assert [h.id for h in sample_model.similar_batch([query, "Barbados"], k=3)[1]] == [record["id"]]
    explained = sample_model.compare(query, {"id": record["id"]}, n_terms=50, n_topics=50)
    assert "barbados" in {t["term"] for t in explained.terms}
    assert sum(t["share"] for t in explained.terms) + sum(t["share"] for t in explained.topics) == pytest.approx(1.0)


def test_a_text_of_unseen_words_is_still_refused(sample_model):
    with pytest.raises(QueryError, match="no words the model knows"):
        sample_model.similar(text="zzyzx qwertyuiop")


def test_rare_words_are_saved_and_answered_alike_after_loading(tmp_path, sample_model):
    sample_model.save(tmp_path / "m.joblib")
    loaded = topics.load(tmp_path / "m.joblib")
    assert read_footer(tmp_path / "m.joblib")["format_version"] == 5
    assert np.array_equal(loaded.state_.search_fields.rare_words, sample_model.state_.search_fields.rare_words)
    for text in ("Barbados", "Zimbabwe Barbados", "bushfire near Sydney"):
        assert [h.to_dict() for h in loaded.similar(text=text, k=5)] == [
            h.to_dict() for h in sample_model.similar(text=text, k=5)
        ]


def test_a_file_without_rare_words_loads_and_answers_as_it_did(tmp_path):
    """search-lee50.joblib was written before rare words (tests/fixtures/make_search_fixture.py): it answers
    as it did then, "gaza" (a word of one article) counting as a word the model does not know."""
    shutil.copy(FIXTURES / "search-lee50.joblib", tmp_path / "old.joblib")
    expected = json.loads((FIXTURES / "search-lee50.json").read_text(encoding="utf-8"))["similar_texts"]
    old = topics.load(tmp_path / "old.joblib")
    assert old.state_.search_fields.n_rare == 0
    for text, hits in expected.items():
        got = old.similar(text=text, k=5)
        assert [[h.id, h.match] for h in got] == [[hit_id, match] for hit_id, _, match in hits]
        assert [h.score for h in got] == pytest.approx([score for _, score, _ in hits], abs=1e-5)
    old.save(tmp_path / "old.joblib", force=True)  # still the old format: no rare words to hold
    assert read_footer(tmp_path / "old.joblib")["format_version"] < 5


def test_added_articles_teach_search_their_new_words_but_not_the_words_the_fit_dropped(tmp_path, lee_records):
    old, new = lee_records[:120], lee_records[120:150]
    model = topics.fit([topics.Article(id=r["id"], text=r["text"]) for r in old], 4, random_state=0)
    before = set(model.state_.search_fields.rare_words.tolist())
    common = set(model.fit_info_["common_words"])
    model.add([topics.Article(id=r["id"], text=r["text"]) for r in new])
    learned = sorted(set(model.state_.search_fields.rare_words.tolist()) - before)
    assert learned and not common & {w.decode() for w in learned}
    analyse = model.vectorizer_.analyzer
    for word in (w.decode() for w in learned[:: max(1, len(learned) // 5)]):
        holders = {r["id"] for r in new if word in analyse(r["text"])}
        assert holders and model.similar(text=word, k=1)[0].id in holders


# -- word forms: a query's words count in every form the archive writes them in ------------------------------
def test_a_word_in_another_form_finds_the_article_that_writes_it_so(sample_model, lee_records):
    """ "abducted" is in one article and "abducting" in none: the query's word finds it by its form."""
    (record,) = [r for r in lee_records if "abducted" in r["text"].lower()]
    words = {w.decode() for w in sample_model.vectorizer_.vocabulary_} | {
        w.decode() for w in sample_model.state_.search_fields.rare_words
    }
    assert "abducting" not in words and "abducted" in words
    hits = sample_model.similar(text="abducting", k=5, explain=True)
    assert hits[0].id == record["id"]
    assert [t["term"] for t in hits[0].explanation.terms] == ["abducting*"]
    # the explained parts are the whole score, and the fast path gives the exhaustive path's hits
    query = dict(text="abducting soldiers in the Philippines", k=10)
    fast, exact = sample_model.similar(**query), sample_model.similar(**query, exact=True)
    assert [(h.id, h.score) for h in fast] == [(h.id, h.score) for h in exact]
    for hit in sample_model.similar(**query, explain=True):
        e = hit.explanation
        w = sample_model.topic_weight
        assert sum(t["share"] for t in e.terms) + w * e.topical / e.score == pytest.approx(1.0, abs=1e-4)


def test_a_word_form_scores_as_bm25_over_the_summed_counts_of_its_words(sample_model):
    """B_g(d), read off B alone, is BM25 of f_dg = the summed counts of the form's words (topics.index)."""
    from topics.index import BM25_B, BM25_K1, bm25_idf, form_postings, term_counts

    state = sample_model.state_
    (_, columns), *_ = state.word_forms.of_words(["attacks"])[0]
    assert columns.size > 1  # attack, attacked, attacking, attacks...
    counts = term_counts(state.doc_terms, state.vectorizer.idf_).toarray()
    counts = np.hstack([counts, np.zeros((counts.shape[0], state.search_fields.n_rare))]) + state.search_fields.matrix()
    counts = np.asarray(counts)
    f = counts[:, columns].sum(axis=1)
    lengths = counts.sum(axis=1)
    idf = bm25_idf(np.count_nonzero(f), len(f))
    expected = idf * f * (BM25_K1 + 1) / (f + BM25_K1 * (1 - BM25_B + BM25_B * lengths / lengths.mean()))
    rows, values, form_idf = form_postings(state.index.search, state.index.search_idf, columns)
    assert form_idf == pytest.approx(idf)
    assert np.array_equal(rows, np.flatnonzero(f))
    np.testing.assert_allclose(values, expected[rows], rtol=1e-4)


def test_word_forms_need_one_language_with_a_snowball_stemmer():
    from topics.forms import forms_language

    assert forms_language(["en"]) == "english" and forms_language(["nl"]) == "dutch"
    assert forms_language(["en", "nl"]) is None  # which stemmer would a word need?
    assert forms_language(["zh"]) is None and forms_language([]) is None


def test_word_forms_summed_by_the_compiled_loop_equal_the_numpy_sums(sample_model):
    kernels = pytest.importorskip("topics.kernels")
    from topics.index import form_postings

    index = sample_model.state_.index
    found, _ = sample_model.state_.word_forms.of_words(["attacks", "bushfires", "ministers", "rates", "talks"])
    assert all(columns.size > 1 for _, columns in found)
    for _, columns in found:
        rows, values, idf = form_postings(index.search, index.search_idf, columns)
        fast_rows, fast_values, fast_idf = form_postings(index.search, index.search_idf, columns, kernels)
        order = np.argsort(fast_rows)
        assert np.array_equal(fast_rows[order], rows) and np.array_equal(fast_values[order], values)
        assert fast_idf == idf
