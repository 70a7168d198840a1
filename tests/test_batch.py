"""`topics batch` answers every line on its own (issue 18, class 8).

Each query line gets one output record numbered as the line in the file; a line that cannot be answered
gets ``{"line": N, "error": ...}`` and the others are still answered (exit code 1); the 5 MB limit is per
line, not per file.
"""

import json
import shutil

import pytest

import topics
from topics import QueryError
from topics.corpus import MAX_ARTICLE_BYTES, read_query_lines
from topics.queries import answer_queries, parse_query_lines

UNKNOWN_WORDS = "the query text has no words the model knows (only stop words, numbers or unseen words)"


@pytest.fixture
def model_here(tmp_path, sample_model_file):
    shutil.copy(sample_model_file, tmp_path / "m.joblib")
    return topics.load(tmp_path / "m.joblib")


def records(result):
    return [json.loads(line) for line in result.stdout.split("\n") if line]  # JSON may hold U+2028


def test_one_bad_line_does_not_stop_the_others(run_cli, tmp_path, model_here):
    (tmp_path / "q.jsonl").write_text(
        '{"id": "lee-bg-010"}\n{"id": "nope"}\n{oops\n{"text": "the of and"}\n'
        '[1, 2]\n{"text": "bushfires near Sydney"}\n',
        encoding="utf-8",
    )
    result = run_cli("batch", "q.jsonl", "-m", "m.joblib", "--top", 3)
    assert result.exit_code == 1
    assert result.stderr == (
        "topics: error: 4 of 6 queries could not be answered (lines 2, 3, 4, 5); the other 2 were answered\n"
    )
    got = records(result)
    assert [r["line"] for r in got] == [1, 2, 3, 4, 5, 6]
    assert got[1] == {"line": 2, "error": "no article with id 'nope' in this model (351 articles)"}
    assert got[2] == {"line": 3, "error": "not valid JSON (Expecting property name enclosed in double quotes)"}
    assert got[3] == {"line": 4, "error": UNKNOWN_WORDS}
    assert got[4] == {"line": 5, "error": 'a query is a JSON string or an object with exactly one of "id" or "text"'}
    for record, kwargs in ((got[0], {"id": "lee-bg-010"}), (got[5], {"text": "bushfires near Sydney"})):
        assert [h["id"] for h in record["results"]] == [h.id for h in model_here.similar(**kwargs, k=3)]

    doc = run_cli("batch", "q.jsonl", "-m", "m.joblib", "--top", 3, "--format", "json")
    assert doc.exit_code == 1 and doc.json()["queries"] == got


def test_table_output_has_an_error_row(run_cli, tmp_path, model_here):
    result = run_cli(
        "batch", "-", "-m", "m.joblib", "--top", 2, "--format", "table", "--input", "ids", input="lee-bg-010\nnope\n"
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["line", "#", "score", "match", "id", "title", "(or", "start", "of", "text)"]
    assert [line.split()[:2] for line in lines[1:3]] == [["1", "1"], ["1", "2"]]
    assert lines[3].split()[:5] == ["2", "-", "-", "-", "ERROR"] and lines[3].endswith("in this model (351 articles)")


def test_line_numbers_are_the_files_physical_lines(run_cli, tmp_path, model_here):
    text = (
        "date 2024-01-05\n"  # 1: a date header, as texts may start with: not a query
        "\n"  # 2
        "lee-bg-010\n"  # 3
        "   \n"  # 4
        "bushfires\x0cnear Sydney\u2028now\n"  # 5: a form feed and a line separator do not end a line
        "\r\n"  # 6
        "zzxq qqzx\r\n"
    )  # 7
    (tmp_path / "q.txt").write_text(text, encoding="utf-8", newline="")
    result = run_cli("batch", "q.txt", "-m", "m.joblib", "--top", 1)
    got = records(result)
    assert [r["line"] for r in got] == [3, 5, 7]
    assert got[1]["query"] == {"text": "bushfires\x0cnear Sydney\u2028now"}
    assert got[2] == {"line": 7, "error": UNKNOWN_WORDS}
    assert result.exit_code == 1
    stdin = run_cli("batch", "-", "-m", "m.joblib", "--top", 1, input=text)
    assert records(stdin) == got


def test_the_size_limit_applies_to_each_line_not_the_file(run_cli, tmp_path, model_here):
    big = "bushfire smoke over Sydney " * (3_000_000 // 27)  # 3 MB: a long but allowed query
    with open(tmp_path / "q.txt", "w", encoding="utf-8") as f:
        f.write(big + "\n")
        f.write("flood " * (MAX_ARTICLE_BYTES // 6 + 10) + "\n")  # over 5 MB: this line only
        f.write(big + "\n")
        f.write("lee-bg-003\n")
    assert (tmp_path / "q.txt").stat().st_size > 2 * MAX_ARTICLE_BYTES
    result = run_cli("batch", "q.txt", "-m", "m.joblib", "--top", 2, "--input", "auto")
    assert result.exit_code == 1, result.stderr
    got = records(result)
    assert [r["line"] for r in got] == [1, 2, 3, 4]
    assert got[1] == {"line": 2, "error": "line is longer than the 5 MB allowed for one query"}
    assert got[0]["results"] == got[2]["results"] and len(got[0]["results"]) == 2
    assert got[3]["query"] == {"id": "lee-bg-003"}


def test_errors_that_concern_every_query_stop_the_batch(run_cli, tmp_path, model_here):
    (tmp_path / "q.txt").write_text("lee-bg-010\n", encoding="utf-8")
    result = run_cli("batch", "q.txt", "-m", "m.joblib", "--since", "2020-13-01")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("topics: error: since='2020-13-01' is not allowed")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    binary = run_cli("batch", "photo.jpg", "-m", "m.joblib")
    assert (binary.exit_code, binary.stderr) == (2, "topics: error: photo.jpg looks like a binary file, not text\n")


def test_all_good_lines_exit_0(run_cli, tmp_path, model_here):
    result = run_cli("batch", "-", "-m", "m.joblib", "--top", 1, input="lee-bg-010\n\nbushfires near Sydney\n")
    assert (result.exit_code, result.stderr) == (0, "")
    assert [r["line"] for r in records(result)] == [1, 3]


def test_answer_queries_equals_similar_batch_and_puts_errors_in_place(sample_model):
    good = [{"id": "lee-bg-010"}, "bushfires near Sydney", {"text": "Reserve Bank interest rates"}, "cricket"]
    assert [[h.id for h in hits] for hits in answer_queries(sample_model, good, k=4)] == [
        [h.id for h in hits] for hits in sample_model.similar_batch(good, k=4)
    ]
    mixed = [good[0], {"id": "nope"}, good[1], "", "the of and", good[2], good[3], {"id": "lee-bg-003"}]
    answers = answer_queries(sample_model, mixed, k=4, keep_duplicates=True)
    errors = {i: str(a) for i, a in enumerate(answers) if isinstance(a, QueryError)}
    assert errors == {
        1: "no article with id 'nope' in this model (351 articles)",
        3: "the query text is empty",
        4: UNKNOWN_WORDS,
    }
    for i in (0, 2, 5, 6, 7):
        kwargs = mixed[i] if isinstance(mixed[i], dict) else {"text": mixed[i]}
        assert [h.id for h in answers[i]] == [h.id for h in sample_model.similar(**kwargs, k=4, keep_duplicates=True)]


def test_read_query_lines_and_parse_query_lines(tmp_path):
    path = tmp_path / "q.txt"
    path.write_bytes(b'\xef\xbb\xbf{"id": "a"}\n\n"a text"\nCaf\xe9\n')
    lines = list(read_query_lines(path))
    assert lines == [(1, '{"id": "a"}', None), (2, "", None), (3, '"a text"', None), (4, "Café", None)]
    parsed = parse_query_lines(lines)
    assert parsed[:2] == [(1, {"id": "a"}), (3, "a text")]
    assert isinstance(parsed[2][1], QueryError) and str(parsed[2][1]).startswith("line 4: not valid JSON")


def test_a_mistyped_id_is_reported_not_searched_as_text(run_cli, sample_model_file, tmp_path):
    (tmp_path / "q.txt").write_text("lee-bg-001\nlee-bg-9999\ncricket\nReserve Bank cuts rates\n", encoding="utf-8")
    result = run_cli("batch", "q.txt", "--model", sample_model_file, "--top", "2")
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("line") for r in records] == [1, 2, 3, 4]
    assert "looks like an article id" in records[1]["error"] and "--input texts" in records[1]["error"]
    assert all("error" not in r for i, r in enumerate(records) if i != 1)  # one word and a sentence: texts
