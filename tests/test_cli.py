"""The command line, driven in-process: exit codes, exact shapes of the output, effects via the API."""

import re

import pytest
from conftest import SAMPLE

import topics


@pytest.fixture
def fitted(run_cli):
    result = run_cli("fit", SAMPLE, "--topics", 10, "--seed", 0, "--quiet")
    assert result.exit_code == 0, result.stderr
    return result


def test_fit_reports_and_saves_default_model(fitted, tmp_path):
    assert fitted.stdout.startswith("Fitted 351 articles: ")
    assert "10 topics" in fitted.stdout
    assert "Saved models/default.joblib" in fitted.stdout
    model = topics.load(tmp_path / "models" / "default.joblib")
    assert model.n_topics_ == 10 and len(model.articles_) == 351
    stages = model.fit_info_["stage_seconds"]  # where the time went, also printed
    assert list(stages) == ["start", "read and vectorise", "topics", "place articles", "order words"]
    # Each figure is rounded to 1 ms, so their sum may pass the (rounded) total by half a ms per stage.
    assert all(s >= 0 for s in stages.values())
    assert sum(stages.values()) <= model.fit_info_["seconds"] + 0.0005 * len(stages)
    assert re.search(
        r"\(start [\d.]+ s, read and vectorise [\d.]+ s, topics [\d.]+ s, place articles [\d.]+ s, order words [\d.]+ s, then index",
        fitted.stdout,
    )


def test_fit_refuses_to_overwrite_then_force(fitted, run_cli):
    again = run_cli("fit", SAMPLE, "--topics", 10)
    assert again.exit_code == 2
    assert (
        again.stderr == "topics: error: models/default.joblib already exists; use --force (force=True) to replace it\n"
    )
    assert run_cli("fit", SAMPLE, "--topics", 4, "--force", "-q").exit_code == 0
    assert topics.load("models/default.joblib").n_topics_ == 4


def test_similar_json_shape(fitted, run_cli):
    result = run_cli("similar", "lee-00", "--top", 3, "--format", "json")
    assert result.exit_code == 0
    doc = result.json()
    assert doc["query"] == {"id": "lee-00"}
    assert [sorted(r) for r in doc["results"]] == [["date", "id", "match", "score", "title"]] * 3
    assert "lee-00" not in [r["id"] for r in doc["results"]]
    api = topics.load("models/default.joblib").similar(id="lee-00", k=3)
    assert [r["id"] for r in doc["results"]] == [h.id for h in api]


def test_similar_to_text_file_and_stdin(fitted, run_cli, tmp_path):
    query = "Russia and India deepen defence and energy ties"
    by_text = run_cli("similar", "--text", query, "--format", "csv", "-n", 2)
    assert by_text.exit_code == 0
    lines = by_text.stdout.splitlines()
    assert lines[0] == "rank,score,id,date,title,match" and len(lines) == 3
    assert lines[1].split(",")[2] == "india-russia-2025-10-09"
    (tmp_path / "q.txt").write_text(query, encoding="utf-8")
    by_file = run_cli("similar", "--file", "q.txt", "--format", "csv", "-n", 2)
    by_stdin = run_cli("similar", "--file", "-", "--format", "csv", "-n", 2, input=query)
    assert by_file.stdout == by_stdin.stdout == by_text.stdout


def test_similar_table(fitted, run_cli):
    result = run_cli("similar", "india-russia-2025-10-09", "-n", 2)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["#", "score", "match", "id", "date", "title", "(or", "start", "of", "text)"]
    assert len(lines) == 3 and lines[1].startswith("1  0.")


def test_summary_json_shape(fitted, run_cli):
    doc = run_cli("summary", "--format", "json", "--words", 5, "--articles", 2).json()
    assert doc["n_articles"] == 351 and len(doc["topics"]) == 10
    for t in doc["topics"]:
        assert {"id", "label", "words", "weight", "articles"} <= set(t)
        assert len(t["words"]) == 5 and len(t["articles"]) <= 2
        assert all({"id", "title", "date", "weight"} <= set(a) for a in t["articles"])
    assert abs(sum(t["weight"] for t in doc["topics"]) - 1) < 1e-4


def test_summary_table_and_markdown(fitted, run_cli):
    table = run_cli("summary", "--words", 4)
    assert table.exit_code == 0 and table.stdout.startswith("10 topics over 351 articles")
    assert table.stdout.count("  words: ") == 10
    markdown = run_cli("summary", "--format", "markdown").stdout.splitlines()
    assert markdown[0] == "| topic | label | share | articles | top words |" and len(markdown) == 12


def test_summary_relevance_option(fitted, run_cli):
    default = run_cli("summary", "--format", "json", "--words", 6).json()
    heaviest = run_cli("summary", "--format", "json", "--words", 6, "--relevance", 1).json()
    assert [t["label"] for t in heaviest["topics"]] == [t["label"] for t in default["topics"]]
    assert all(t["word_weights"] == sorted(t["word_weights"], reverse=True) for t in heaviest["topics"])
    assert [t["words"] for t in heaviest["topics"]] != [t["words"] for t in default["topics"]]
    result = run_cli("summary", "--relevance", 2)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "--relevance" in result.stderr


def test_info_reads_footer(fitted, run_cli):
    doc = run_cli("info", "--format", "json").json()
    assert (doc["n_articles"], doc["n_topics"], doc["format_version"]) == (351, 10, 5)
    assert doc["file_bytes"] > 0


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["similar", "lee-00"],
            "no model at models/default.joblib; fit one with: topics fit CORPUS --model models/default.joblib",
        ),
        (["fit", "missing.jsonl"], "corpus path 'missing.jsonl' does not exist"),
        (["similar"], "give an ID, --text or --file"),
        (["fit", SAMPLE, "--topics", "0"], "Invalid value for '--topics' / '-k': 0 is not in the range x>=1."),
        (["nonsense"], "No such command 'nonsense'."),
    ],
)
def test_errors_are_one_line_with_exit_2(run_cli, args, message):
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stderr == f"topics: error: {message}\n"


def test_query_errors_on_a_fitted_model(fitted, run_cli):
    for args, message in (
        [["similar", "nope"], "no article with id 'nope'"],
        [["similar", "--text", "the of and"], "the query text has no words the model knows"],
    ):
        result = run_cli(*args)
        assert result.exit_code == 2 and result.stderr.startswith(f"topics: error: {message}")
        assert result.stderr.count("\n") == 1


def test_help_teaches_with_examples(run_cli):
    for command in ("fit", "similar", "summary", "info"):
        result = run_cli(command, "--help")
        assert result.exit_code == 0 and "Example:" in result.stdout
