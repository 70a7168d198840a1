"""Similar articles people can trust: explanations, filters, batches and near-duplicates, on real news."""

import json
import re

import numpy as np
import pytest
from conftest import SAMPLE

import topics
from topics import ParameterError, QueryError
from topics.analyzer import Analyzer
from topics.duplicates import near_duplicate_pairs
from topics.index import SimilarityIndex, batch_scores, top_k
from topics.queries import parse_queries
from topics.text import Vectorizer

WORD = re.compile(r"[^\W\d_]+")


def words(text):
    return set(WORD.findall(text.lower()))


def reprint(text: str) -> str:
    """The same story under a new headline, with a few words edited, as a syndicated copy looks."""
    words = text.split()
    for i, new in ((6, "reportedly"), (20, "officials"), (34, "overnight")):
        words[i] = new
    return "UPDATED: Police and officials respond. " + " ".join(words)


@pytest.fixture(scope="module")
def dated(lee_records):
    """120 Lee articles dated one day apart from 2020-01-01, one undated, and a reprint of article 7."""
    articles = [
        topics.Article(id=r["id"], text=r["text"], title=f"Story {i}", date=str(np.datetime64("2020-01-01") + i))
        for i, r in enumerate(lee_records[:120])
    ]
    articles.append(topics.Article(id="undated", text=lee_records[121]["text"]))
    articles.append(
        topics.Article(id="reprint", text=reprint(lee_records[7]["text"]), title="A new headline", date="2021-06-01")
    )
    return topics.fit(articles, random_state=0), {a.id: a for a in articles}


# -- explanations ---------------------------------------------------------------------------------------
def test_explanation_terms_occur_in_both_articles_and_shares_add_up(sample_model, lee_records):
    texts = {r["id"]: r["text"] for r in lee_records}
    hit = sample_model.similar(id="lee-bg-000", k=1, explain=True)[0]
    e = sample_model.compare({"id": "lee-bg-000"}, {"id": hit.id}, n_terms=10_000, n_topics=100)
    assert e.terms and e.score == pytest.approx(hit.score, abs=1e-5)
    assert hit.explanation.terms == e.terms[:8]
    for t in e.terms:
        assert words(t["term"]) <= words(texts["lee-bg-000"]) & words(texts[hit.id]), t
    w = sample_model.topic_weight
    assert e.score == pytest.approx((1 - w) * e.lexical + w * e.topical, abs=1e-5)
    term_shares = [t["share"] for t in e.terms]
    assert term_shares == sorted(term_shares, reverse=True)
    # All the shared terms and the whole topical part make up the score; listed topics are part of it.
    assert sum(term_shares) + w * e.topical / e.score == pytest.approx(1.0, abs=1e-4)
    assert 0 < sum(t["share"] for t in e.topics) <= w * e.topical / e.score + 1e-6


def test_compare_texts_equals_similarity_and_unrelated_texts_share_no_terms(sample_model):
    a, b = "A bushfire burns homes near Sydney", "Firefighters battle a bushfire west of Sydney"
    e = sample_model.compare(a, {"text": b})
    assert e.score == pytest.approx(sample_model.similarity(a, b), abs=1e-6)
    # each word as written and in any of its forms ("bushfire*")
    assert {t["term"] for t in e.terms} == {"bushfire", "sydney", "bushfire*", "sydney*"}
    cricket = sample_model.compare("Cricket test match in Adelaide", "Palestinian militants in Gaza")
    assert cricket.terms == [] and cricket.lexical == 0.0


@pytest.mark.parametrize(
    "a, message",
    [
        ({"id": "nope"}, "no article with id 'nope'"),
        ({"id": "lee-00", "text": "x"}, "exactly one of 'id' or 'text'"),
        ("the of and", "no words the model knows"),
        (42, "a query is a text"),
    ],
)
def test_compare_bad_queries(sample_model, a, message):
    with pytest.raises(QueryError, match=message):
        sample_model.compare(a, "Bushfires near Sydney")


# -- filters --------------------------------------------------------------------------------------------
def test_date_filters_exclude_what_they_should(dated):
    model, articles = dated
    everything = model.similar(id="lee-bg-010", k=200)
    hits = model.similar(id="lee-bg-010", k=30, since="2020-02-01", until="2020-03-15")
    assert len(hits) == 30 and all("2020-02-01" <= h.date <= "2020-03-15" for h in hits)
    assert [h.id for h in hits] == [h.id for h in everything if h.date and "2020-02-01" <= h.date <= "2020-03-15"][:30]
    assert "undated" not in [h.id for h in model.similar(text=articles["undated"].text, k=5, since="2019-01-01")]
    assert model.similar(text=articles["undated"].text, k=1)[0].id == "undated"


def test_min_score_drops_weak_hits(dated):
    model, _ = dated
    scores = [h.score for h in model.similar(id="lee-bg-010", k=20)]
    cut = scores[4]
    hits = model.similar(id="lee-bg-010", k=20, min_score=cut)
    assert [h.score for h in hits] == scores[: len(hits)] and len(hits) >= 5 and all(h.score >= cut for h in hits)
    assert model.similar(id="lee-bg-010", k=5, min_score=1.0) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"since": "2020-13-01"}, "since='2020-13-01' is not allowed; use a date as YYYY, YYYY-MM or YYYY-MM-DD"),
        ({"since": "2020-03-01", "until": "2020-01-01"}, "is after until"),
        ({"min_score": 1.5}, "min_score=1.5 is not allowed"),
        ({"keep_duplicates": "yes"}, "keep_duplicates='yes' is not allowed"),
        ({"k": 0}, "k=0 is not allowed"),
    ],
)
def test_bad_filters_name_the_parameter(dated, kwargs, message):
    model, _ = dated
    with pytest.raises(ParameterError, match=message):
        model.similar(id="lee-bg-010", **kwargs)


# -- near-duplicates ------------------------------------------------------------------------------------
def test_reprint_with_changed_headline_is_found_as_near_duplicate(dated, lee_records):
    model, _ = dated
    original = lee_records[7]["id"]
    groups = model.duplicates()
    group = next(g for g in groups if "reprint" in g.ids)
    assert group.ids == [original, "reprint"] and group.size == 2  # the earlier article represents the group
    assert group.to_dict()["title"] == "Story 7"
    assert "reprint" not in [h.id for h in model.similar(id=original, k=10)]
    kept = model.similar(id=original, k=10, keep_duplicates=True)
    assert kept[0].id == "reprint" and kept[0].score > 0.8
    # Different reports on other stories are not lumped together.
    assert all(g.size <= 3 for g in groups) and sum(g.size for g in groups) < 20


def test_hits_exclude_near_duplicates_of_each_other(lee_records):
    base = [topics.Article(id=r["id"], text=r["text"]) for r in lee_records[:80]]
    copies = [topics.Article(id=f"copy-{i}", text=reprint(lee_records[3]["text"]) + " Copy" * i) for i in range(3)]
    model = topics.fit(base + copies, random_state=0)
    query = "Talks " + lee_records[3]["text"][: len(lee_records[3]["text"]) // 2]
    hits = [h.id for h in model.similar(text=query, k=6)]
    assert len({lee_records[3]["id"], *[c.id for c in copies]} & set(hits)) == 1  # one copy of the story
    assert len(hits) == 6
    every = [h.id for h in model.similar(text=query, k=6, keep_duplicates=True)]
    assert set(every[:4]) == {lee_records[3]["id"], *[c.id for c in copies]}


def test_hits_do_not_depend_on_the_candidate_pool(lee_records, monkeypatch):
    """With a pool of one, the 13 copies of a story use up the first candidates and force more passes."""
    import topics.filters as filters

    base = [topics.Article(id=r["id"], text=r["text"]) for r in lee_records[:80]]
    copies = [topics.Article(id=f"copy-{i}", text=reprint(lee_records[3]["text"]) + " Copy" * i) for i in range(12)]
    model = topics.fit(base + copies, random_state=0)
    query = "Talks " + lee_records[3]["text"][: len(lee_records[3]["text"]) // 2]
    default = [(h.id, h.score) for h in model.similar(text=query, k=3)]
    assert [(h.id, h.score) for h in model.similar(text=query, k=3, exact=True)] == default
    passes = []  # the exhaustive path's selection (topics.filters.select) with a pool of one
    monkeypatch.setattr(filters, "_CANDIDATE_POOL", 1)
    monkeypatch.setattr(filters, "top_k", lambda *a, **kw: passes.append(1) or top_k(*a, **kw))
    assert [(h.id, h.score) for h in model.similar(text=query, k=3, exact=True)] == default
    assert len(passes) > 1
    story = {lee_records[3]["id"], *[c.id for c in copies]}
    assert len(default) == 3 and len(story & {i for i, _ in default}) == 1


def test_near_duplicate_pairs_equal_brute_force(sample_model):
    X = sample_model.doc_terms_
    dense = (X @ X.T).toarray()
    expected = {(i, j) for i, j in zip(*np.nonzero(dense >= 0.6), strict=True) if i < j}
    pairs = near_duplicate_pairs(X, 0.6)
    assert set(zip(pairs.row.tolist(), pairs.col.tolist(), strict=True)) == expected and expected


def test_duplicates_threshold_is_checked(sample_model):
    with pytest.raises(ParameterError, match="threshold=0 is not allowed"):
        sample_model.duplicates(threshold=0)


# -- batches --------------------------------------------------------------------------------------------
def test_batch_equals_single_queries(dated):
    model, articles = dated
    queries = [
        "Israeli troops and Palestinian militants clash",
        {"id": "lee-bg-007"},
        {"text": articles["undated"].text},
        {"id": "reprint"},
    ]
    options = {"k": 7, "since": "2020-01-15", "min_score": 0.05}
    batch = model.similar_batch(queries, **options)
    single = [
        model.similar(text=q, **options) if isinstance(q, str) else model.similar(**q, **options) for q in queries
    ]
    assert [[h.id for h in hits] for hits in batch] == [[h.id for h in hits] for hits in single]
    for got, want in zip(batch, single, strict=True):
        np.testing.assert_allclose([h.score for h in got], [h.score for h in want], atol=1e-5)


def test_batch_scores_equal_brute_force(sample_model):
    X, W = sample_model.doc_terms_, np.asarray(sample_model.doc_topics_)
    index = SimilarityIndex(X, W, topic_weight=0.25)
    Wn = W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-30)
    rows = [0, 5, 350]
    brute = 0.75 * (X[rows] @ X.T).toarray() + 0.25 * (Wn[rows] @ Wn.T)
    np.testing.assert_allclose(batch_scores(index, X[rows], W[rows]), brute, atol=1e-5)
    np.testing.assert_allclose(batch_scores(index, X[rows], W[rows])[1], index.scores_for_article(5), atol=1e-5)


def test_batch_errors_name_the_query(sample_model):
    with pytest.raises(QueryError, match="query 2: no article with id 'nope'"):
        sample_model.similar_batch(["bushfire", {"id": "nope"}])
    with pytest.raises(QueryError, match="query 3: the query text has no words"):
        sample_model.similar_batch(["bushfire", "cricket", "the of and"])
    assert sample_model.similar_batch([]) == []


def test_parse_queries_formats():
    assert parse_queries(['{"id": "a"}', "", '"a text"'], input_format="auto") == [(1, {"id": "a"}), (3, "a text")]
    assert parse_queries(["lee-00", "bushfires near Sydney"], known_id={"lee-00"}.__contains__) == [
        (1, {"id": "lee-00"}),
        (2, "bushfires near Sydney"),
    ]
    assert parse_queries(["x"], input_format="ids") == [(1, {"id": "x"})]
    with pytest.raises(QueryError, match="line 2: not valid JSON"):
        parse_queries(['{"id": "a"}', "{oops"])


# -- term weighting -------------------------------------------------------------------------------------
def test_log_entropy_weights_equal_plain_formula(lee_records):
    texts = [r["text"] for r in lee_records[:40]]
    v = Vectorizer(Analyzer(stop_words={"the", "a", "of"}), min_df=2, max_df=0.5, weighting="log-entropy")
    X = v.fit_transform(texts)
    counts = Vectorizer(Analyzer(stop_words={"the", "a", "of"}), min_df=1, max_df=1.0)
    counts.fit_transform(texts)
    tf = np.array(
        [[t.count(term) for term in v.terms(range(len(v.vocabulary_)))] for t in [counts.analyzer(x) for x in texts]],
        dtype=float,
    )
    p = tf / tf.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = 1 + np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=0) / np.log(len(texts))
    np.testing.assert_allclose(v.idf_, expected, atol=1e-5)
    local = np.where(tf > 0, 1 + np.log(np.maximum(tf, 1)), 0) * expected
    np.testing.assert_allclose(X.toarray(), local / np.linalg.norm(local, axis=1, keepdims=True), atol=1e-5)
    one = Vectorizer(Analyzer(), min_df=1, max_df=1.0, weighting="log-entropy")
    one.fit_transform(["alpha beta gamma"])
    assert set(one.idf_.tolist()) == {1.0}  # one article: no spread to measure, every term fully specific


def test_term_weighting_is_a_checked_parameter_and_saved(tmp_path):
    with pytest.raises(ParameterError, match="term_weighting='bm25' is not allowed"):
        topics.TopicModel(term_weighting="bm25").fit(SAMPLE)
    model = topics.fit(SAMPLE, n_topics=4, term_weighting="log-entropy")
    model.save(tmp_path / "m.joblib")
    loaded = topics.load(tmp_path / "m.joblib")
    assert loaded.term_weighting == "log-entropy"
    assert [h.id for h in loaded.similar(id="lee-00", k=5)] == [h.id for h in model.similar(id="lee-00", k=5)]


# -- command line ---------------------------------------------------------------------------------------
@pytest.fixture
def fitted(run_cli, tmp_path, lee_records):
    corpus = tmp_path / "news.jsonl"
    records = [
        {"id": r["id"], "text": r["text"], "date": f"2024-01-{1 + i % 28:02d}"} for i, r in enumerate(lee_records[:100])
    ]
    records.append(
        {"id": "reprint", "title": "New headline", "text": reprint(lee_records[7]["text"]), "date": "2024-02-01"}
    )
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert run_cli("fit", corpus, "--quiet").exit_code == 0
    return lee_records


def test_cli_similar_explain_and_filters(fitted, run_cli):
    doc = run_cli("similar", "lee-bg-010", "-n", 3, "--explain", "--since", "2024-01-05", "--format", "json").json()
    assert len(doc["results"]) == 3 and all(r["date"] >= "2024-01-05" for r in doc["results"])
    assert all(r["explanation"]["terms"] and "share" in r["explanation"]["topics"][0] for r in doc["results"])
    table = run_cli("similar", "lee-bg-010", "-n", 2, "--explain").stdout.splitlines()
    assert len(table) == 5 and table[2].startswith("   shared terms: ")
    dupes = run_cli("similar", "lee-bg-007", "-n", 1, "--keep-duplicates", "--format", "csv").stdout.splitlines()
    assert dupes[1].split(",")[2] == "reprint"
    assert "reprint" not in run_cli("similar", "lee-bg-007", "-n", 5).stdout
    assert run_cli("similar", "lee-bg-007", "--min-score", 1).stdout == "no articles match\n"


def test_cli_compare_ids_files_and_stdin(fitted, run_cli, tmp_path):
    (tmp_path / "a.txt").write_text(fitted[7]["text"], encoding="utf-8")
    by_id = run_cli("compare", "lee-bg-007", "reprint", "--format", "json").json()
    by_file = run_cli("compare", "a.txt", "reprint", "--format", "json").json()
    by_stdin = run_cli("compare", "-", "reprint", "--format", "json", input=fitted[7]["text"]).json()
    assert by_id["a"] == {"id": "lee-bg-007"} and by_file["a"] == {"file": "a.txt"}
    assert by_id["score"] > 0.8 and by_id["score"] == pytest.approx(by_file["score"], abs=1e-4) == by_stdin["score"]
    shown = run_cli("compare", "lee-bg-007", "lee-bg-010")
    assert shown.exit_code == 0 and shown.stdout.startswith("score 0.")
    bad = run_cli("compare", "lee-bg-007", "missing.txt")
    assert (
        bad.exit_code == 2 and bad.stderr == "topics: error: 'missing.txt' is neither a stored article id nor a file\n"
    )


def test_cli_duplicates(fitted, run_cli):
    doc = run_cli("duplicates", "--format", "json").json()
    group = next(g for g in doc["groups"] if g["representative"] == "lee-bg-007")
    assert [a["id"] for a in group["articles"]] == ["lee-bg-007", "reprint"] and group["size"] == 2
    table = run_cli("duplicates", "--threshold", 0.99).stdout
    assert table.startswith("0 groups of near-duplicates")


def test_cli_batch_jsonl_and_lines(fitted, run_cli, tmp_path):
    (tmp_path / "q.txt").write_text("lee-bg-010\nbushfires near Sydney\n\nlee-bg-003\n", encoding="utf-8")
    out = run_cli("batch", "q.txt", "--top", 3)
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["line"] for r in records] == [1, 2, 4]
    assert records[1]["query"] == {"text": "bushfires near Sydney"} and len(records[1]["results"]) == 3
    model = topics.load("models/default.joblib")
    assert [r["id"] for r in records[0]["results"]] == [h.id for h in model.similar(id="lee-bg-010", k=3)]
    jsonl = run_cli("batch", "-", "--top", 3, input='{"id": "lee-bg-010"}\n{"text": "bushfires near Sydney"}\n')
    assert [json.loads(line)["results"] for line in jsonl.stdout.splitlines()] == [
        records[0]["results"],
        records[1]["results"],
    ]
    bad = run_cli("batch", "-", "--input", "ids", input="lee-bg-010\nnope\n")
    assert bad.exit_code == 1 and bad.stderr == (
        "topics: error: 1 of 2 queries could not be answered (line 2); the other 1 were answered\n"
    )
    assert [json.loads(line) for line in bad.stdout.splitlines()][1] == {
        "line": 2,
        "error": "no article with id 'nope' in this model (101 articles)",
    }


def test_new_commands_teach_with_examples(run_cli):
    for command in ("compare", "duplicates", "batch"):
        result = run_cli(command, "--help")
        assert result.exit_code == 0 and "Example:" in result.stdout


def test_large_batch_never_returns_the_query_and_matches_single_queries(sample_model):
    ids = list(sample_model.articles_.ids)
    batch = sample_model.similar_batch([{"id": i} for i in ids], k=3)
    assert len(batch) == len(ids) and all(q not in [h.id for h in hits] for q, hits in zip(ids, batch, strict=True))
    for i in (0, 200, 350):
        assert [h.id for h in batch[i]] == [h.id for h in sample_model.similar(id=ids[i], k=3)]


def test_model_files_from_before_term_weighting_load_as_tfidf(tmp_path, monkeypatch):
    model = topics.fit(SAMPLE, n_topics=4, term_weighting="tfidf")
    plain = topics.TopicModel.get_params
    monkeypatch.setattr(
        topics.TopicModel, "get_params", lambda self: {k: v for k, v in plain(self).items() if k != "term_weighting"}
    )
    model.save(tmp_path / "old.joblib")
    monkeypatch.undo()
    old = topics.load(tmp_path / "old.joblib")
    assert old.term_weighting == "tfidf"
    assert [h.id for h in old.similar(text="bushfire near Sydney", k=5)] == [
        h.id for h in model.similar(text="bushfire near Sydney", k=5)
    ]
