"""The bad-input matrix: every way a user can hand `topics` something wrong, through the CLI and the API.

Each error case checks the exact one-line message, exit code 2, an empty stdout and that nothing was
written (no model, no temporary file, not even an empty folder). Cases that are not errors (binary
files in a folder, non-UTF-8 text, skipped lines) check that the skipped input is counted and reported.
"""

import gzip
import json
import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import joblib
import pytest
from test_store import rewrite_footer

import topics
from topics import CorpusError, ModelFileError, ParameterError, QueryError, segments
from topics.corpus import MAX_ARTICLE_BYTES
from topics.store import FORMAT_VERSION


# -- helpers ------------------------------------------------------------------------------------------
def snapshot(root: Path) -> dict:
    """Every file and folder under root (hidden ones too) with its size and modification time."""
    return {
        p.relative_to(root).as_posix(): (
            p.is_dir(),
            p.stat().st_size if p.is_file() else 0,
            p.stat().st_mtime_ns if p.is_file() else 0,
        )
        for p in root.rglob("*")
    }


def cli_error(run_cli, root: Path, *args) -> str:
    """Run the CLI expecting a one-line error, exit 2 and nothing written; return the message."""
    before = snapshot(root)
    result = run_cli(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("topics: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert snapshot(root) == before
    return result.stderr[len("topics: error: ") : -1]


def api_error(root: Path, error, call) -> str:
    before = snapshot(root)
    with pytest.raises(error) as info:
        call()
    assert snapshot(root) == before
    return str(info.value)


def write_jsonl(path: Path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture
def small(tmp_path, lee_records, monkeypatch):
    """30 real articles as JSONL in the working directory (tmp_path)."""
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "small.jsonl", lee_records[:30])
    return Path("small.jsonl")


def write_huge_line_file(path: Path):
    """Two ordinary articles around a single 50 MB line."""
    with open(path, "wb") as f:
        f.write(b"Heavy rain flooded the river town overnight.\n")
        f.write(b"flood " * (50_000_000 // 6))
        f.write(b"\nFirefighters fought a bushfire near Sydney.\n")


# -- fitting: each case is (files to create, CLI arguments after `fit`, API call, exact message) ---------
def setup_empty_file(d):
    (d / "empty.jsonl").write_bytes(b"")


def setup_empty_folder(d):
    (d / "archive").mkdir()


def setup_blank_lines(d):
    (d / "blank.txt").write_text("\n   \n\t\n")


def setup_stop_words(d):
    (d / "stop.txt").write_text("The of and it.\n\nIt was said that they would.\nMr Smith said so on Monday.\n")


def setup_copies(d):
    (d / "copies.txt").write_text("Share this story on Facebook, Twitter and WhatsApp today.\n\n" * 6)


def setup_bad_jsonl(d):
    (d / "bad.jsonl").write_text('{"id": "a", "text": "Rain in Sydney"}\n{"id": "b", "text": oops}\n')


def setup_json_array(d):
    (d / "array.json").write_text('[{"text": "Rain in Sydney"},\n{"text": "Fire"}]\n')


def setup_no_text_field(d):
    (d / "fields.jsonl").write_text('{"id": "a", "body": "Rain in Sydney"}\n')


def setup_csv(d):
    (d / "nocol.csv").write_text("id,body\n1,Rain in Sydney\n")


def setup_duplicates(d):
    write_jsonl(
        d / "dups.jsonl",
        [{"id": "a", "text": "Rain in Sydney"}, {"id": "b", "text": "Fire"}, {"id": "a", "text": "Another text"}],
    )


def setup_binary_file(d):
    (d / "data.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def setup_huge(d):
    write_huge_line_file(d / "huge.txt")


FIT_CASES = {
    "empty file": (setup_empty_file, ["empty.jsonl"], CorpusError, "no articles found in empty.jsonl"),
    "empty folder": (setup_empty_folder, ["archive"], CorpusError, "no articles found in archive"),
    "only blank articles": (
        setup_blank_lines,
        ["blank.txt"],
        CorpusError,
        "no articles found in blank.txt (3 empty skipped)",
    ),
    "only stop words": (
        setup_stop_words,
        ["stop.txt"],
        ParameterError,
        "no terms are left after min_df=2 and max_df=0.5 on 3 articles; the articles may be too "
        "few, too short or all stop words (try a lower --min-df)",
    ),
    "copies of one text": (
        setup_copies,
        ["copies.txt"],
        ParameterError,
        "no terms are left: every term in at least min_df=2 of the 6 articles is in more than max_df=0.5 of "
        "them; are the articles copies of one text? (try a higher --max-df)",
    ),
    "malformed JSONL line": (
        setup_bad_jsonl,
        ["bad.jsonl"],
        CorpusError,
        "bad.jsonl:2: not valid JSON: Expecting value; use --skip-bad-lines to skip such lines",
    ),
    "JSON array, not JSON Lines": (
        setup_json_array,
        ["array.json"],
        CorpusError,
        "array.json:1: not valid JSON: Expecting value (a JSON array? write one "
        "object per line: JSON Lines); use --skip-bad-lines to skip such lines",
    ),
    "JSONL without the text field": (
        setup_no_text_field,
        ["fields.jsonl"],
        CorpusError,
        "fields.jsonl:1: no 'text' field (name it with --text-field); use --skip-bad-lines to skip such lines",
    ),
    "CSV without the text column": (
        setup_csv,
        ["nocol.csv"],
        CorpusError,
        "nocol.csv has no column 'text' (columns: id, body); name the text column with --text-field",
    ),
    "duplicate ids": (
        setup_duplicates,
        ["dups.jsonl"],
        CorpusError,
        "duplicate article ids: 'a' (2x); ids must be unique (choose another --id-field?)",
    ),
    "binary file named directly": (
        setup_binary_file,
        ["data.txt", "--format", "text"],
        CorpusError,
        "data.txt looks like a binary file, not text",
    ),
    "50 MB single line": (
        setup_huge,
        ["huge.txt"],
        CorpusError,
        "huge.txt:2: line is longer than the 5 MB allowed for one article; use --skip-bad-lines to skip it",
    ),
    "missing corpus": (lambda d: None, ["missing.jsonl"], CorpusError, "corpus path 'missing.jsonl' does not exist"),
}
_API_OPTIONS = {"--format": "format"}


def api_fit(args):
    paths, options = [], {}
    it = iter(args)
    for arg in it:
        if arg.startswith("--"):
            options[_API_OPTIONS[arg]] = next(it)
        else:
            paths.append(arg)
    return lambda: topics.fit(topics.read_corpus(paths, **options))


@pytest.mark.parametrize("case", FIT_CASES)
def test_fit_refuses_bad_corpus_through_cli(run_cli, tmp_path, case):
    setup, args, _, message = FIT_CASES[case]
    setup(tmp_path)
    assert cli_error(run_cli, tmp_path, "fit", *args) == message


@pytest.mark.parametrize("case", FIT_CASES)
def test_fit_refuses_bad_corpus_through_api(run_cli, tmp_path, case):
    setup, args, error, message = FIT_CASES[case]
    setup(tmp_path)
    assert api_error(tmp_path, error, api_fit(args)) == message


def test_more_topics_than_articles(run_cli, tmp_path, lee_records):
    write_jsonl(tmp_path / "six.jsonl", lee_records[:6])
    message = "n_topics=10 is more than the 6 articles; ask for fewer topics"
    assert cli_error(run_cli, tmp_path, "fit", "six.jsonl", "--topics", "10", "--min-df", "1") == message
    assert api_error(tmp_path, ParameterError, lambda: topics.fit("six.jsonl", 10, min_df=1)) == message


def test_a_directory_where_the_model_file_goes(run_cli, tmp_path, small):
    (tmp_path / "out").mkdir()
    message = "out is a directory; give a file path such as out/default.joblib"
    assert cli_error(run_cli, tmp_path, "fit", small, "--model", "out") == message
    model = topics.fit(small, 3)
    assert api_error(tmp_path, ModelFileError, lambda: model.save("out")) == message


def test_a_file_where_the_model_folder_goes(run_cli, tmp_path, small):
    (tmp_path / "notes.txt").write_text("not a folder")
    message = "cannot write notes.txt/m.joblib: notes.txt is a file, not a folder"
    assert cli_error(run_cli, tmp_path, "fit", small, "--model", "notes.txt/m.joblib") == message
    model = topics.fit(small, 3)
    assert api_error(tmp_path, ModelFileError, lambda: model.save("notes.txt/m.joblib")) == message


def test_a_failed_fit_creates_no_model_folder(run_cli, tmp_path):
    setup_empty_file(tmp_path)
    cli_error(run_cli, tmp_path, "fit", "empty.jsonl", "--model", "new/folder/m.joblib")
    assert not (tmp_path / "new").exists() and not (tmp_path / "models").exists()


def test_a_failed_fit_keeps_the_previous_model(run_cli, tmp_path, small):
    assert run_cli("fit", small, "--model", "m.joblib", "--topics", "3").exit_code == 0
    before = (tmp_path / "m.joblib").read_bytes()
    setup_bad_jsonl(tmp_path)
    cli_error(run_cli, tmp_path, "fit", "bad.jsonl", "--model", "m.joblib", "--force")
    assert (tmp_path / "m.joblib").read_bytes() == before


def test_a_failing_disk_keeps_the_previous_model(tmp_path, small, monkeypatch):
    model = topics.fit(small, 3)
    path = tmp_path / "m.joblib"
    model.save(path)
    before = path.read_bytes()

    def disk_full(payload, raw, **kwargs):
        raw.write(b"half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(segments, "dump", disk_full)
    message = api_error(tmp_path, ModelFileError, lambda: model.save(path, force=True))
    assert message == f"cannot write {path}: No space left on device"
    assert path.read_bytes() == before


# -- no permission to write the model -------------------------------------------------------------------
def _read_only_folder_command(tmp_path, argv):
    """Run argv with tmp_path/ro read-only: chmod for a normal user; for root (whom chmod does not stop)
    a read-only bind mount in a private mount namespace. None when neither is possible here."""
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0:
        ro.chmod(0o555)
        return argv
    if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        return None
    script = 'mount --bind ro ro && mount -o remount,bind,ro ro && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", *argv]


@pytest.mark.slow
@pytest.mark.parametrize("via", ["cli", "api"])
def test_no_permission_to_write_the_model(tmp_path, small, via):
    code = "import topics; topics.fit('small.jsonl', 3).save('ro/m.joblib')"
    argv = (
        [sys.executable, "-m", "topics.cli", "fit", "small.jsonl", "--model", "ro/m.joblib"]
        if via == "cli"
        else [sys.executable, "-c", code]
    )
    command = _read_only_folder_command(tmp_path, argv)
    if command is None:
        pytest.skip("cannot make a read-only folder here (root without mount namespaces)")
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    if via == "cli":
        assert (result.returncode, result.stderr) == (2, "topics: error: no permission to write in ro\n")
    else:
        assert result.stderr.rstrip().endswith("topics.errors.ModelFileError: no permission to write in ro")
    assert list((tmp_path / "ro").iterdir()) == []


def test_a_folder_the_kernel_refuses_to_write(tmp_path, small, run_cli):
    """/sys refuses new files even to root: the error comes from the write itself, not a pre-check."""
    if not os.path.isdir("/sys/kernel"):
        pytest.skip("no sysfs here")
    result = run_cli("fit", small, "--model", "/sys/topics-test.joblib", "--topics", "3")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("topics: error: cannot write /sys/topics-test.joblib: ")
    assert not Path("/sys/topics-test.joblib").exists()


# -- not errors: skipped and counted, or repaired and reported -------------------------------------------
def test_binary_files_in_a_folder_are_skipped_and_counted(run_cli, tmp_path, lee_records):
    folder = tmp_path / "archive"
    folder.mkdir()
    for r in lee_records[:30]:
        (folder / f"{r['id']}.txt").write_text(r["text"], encoding="utf-8")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4)
    (folder / "notes.txt.gz").write_bytes(gzip.compress(b"\x00\x01binary inside gzip"))
    result = run_cli("fit", "archive", "--topics", "3")
    assert result.exit_code == 0, result.stderr
    assert "Fitted 30 articles" in result.stdout
    assert "Skipped or repaired: 2 binary files skipped." in result.stdout
    corpus = topics.read_corpus(folder)
    assert len(list(corpus)) == 30 and corpus.stats.binary_skipped == 2 and corpus.stats.files == 32


def test_non_utf8_text_is_read_as_latin1_and_reported(run_cli, tmp_path, lee_records):
    write_jsonl(tmp_path / "news.jsonl", lee_records[:30])
    with open(tmp_path / "news.jsonl", "ab") as f:
        f.write('{"id": "cafe", "text": "Le café de Paris a fermé ses portes."}\n'.encode("latin-1"))
    result = run_cli("fit", "news.jsonl", "--topics", "3")
    assert result.exit_code == 0, result.stderr
    assert "Fitted 31 articles" in result.stdout and "Skipped or repaired: 1 read as latin-1." in result.stdout
    assert result.stderr == "topics: warning: 1 lines or files were not valid UTF-8 and were read as latin-1\n"
    model = topics.load("models/default.joblib")
    assert model.articles_.record(model.row_of("cafe"))["snippet"].startswith("Le café de Paris")
    with pytest.warns(topics.TopicsWarning, match="1 lines or files were not valid UTF-8"):
        assert len(list(topics.read_corpus("news.jsonl"))) == 31


def test_malformed_lines_are_skipped_and_counted_on_request(run_cli, tmp_path, lee_records):
    lines = [json.dumps(r) for r in lee_records[:30]]
    lines[4] = lines[4][:50]  # cut off mid-record, as a broken export does
    lines[9] = "[1, 2, 3]"
    (tmp_path / "news.jsonl").write_text("\n".join(lines) + "\n")
    assert cli_error(run_cli, tmp_path, "fit", "news.jsonl").startswith("news.jsonl:5: not valid JSON: ")
    result = run_cli("fit", "news.jsonl", "--skip-bad-lines", "--topics", "3")
    assert result.exit_code == 0, result.stderr
    assert "Fitted 28 articles" in result.stdout and "Skipped or repaired: 2 bad lines skipped." in result.stdout
    corpus = topics.read_corpus("news.jsonl", skip_bad_lines=True)
    assert len(list(corpus)) == 28
    assert [(line, reason[:14]) for _, line, reason in corpus.stats.bad_lines] == [
        (5, "not valid JSON"),
        (10, "expected a JSO"),
    ]


def test_a_50_mb_line_is_skipped_without_holding_it(run_cli, tmp_path):
    write_huge_line_file(tmp_path / "huge.txt")
    tracemalloc.start()
    try:
        corpus = topics.read_corpus("huge.txt", skip_bad_lines=True)
        assert [a.id for a in corpus] == ["huge:1", "huge:3"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert corpus.stats.too_long_skipped == 1
    assert peak < 3 * MAX_ARTICLE_BYTES  # never the whole 50 MB line
    with pytest.raises(CorpusError, match=r"huge\.txt:2: line is longer than the 5 MB"):
        list(topics.read_corpus("huge.txt"))


def test_an_over_long_file_in_a_folder_is_refused_or_skipped(run_cli, tmp_path, lee_records):
    folder = tmp_path / "archive"
    folder.mkdir()
    for r in lee_records[:20]:
        (folder / f"{r['id']}.txt").write_text(r["text"], encoding="utf-8")
    write_huge_line_file(folder / "dump.txt")
    assert cli_error(run_cli, tmp_path, "fit", "archive") == (
        "archive/dump.txt: file is longer than the 5 MB allowed for one article; use --skip-bad-lines to skip it"
    )
    result = run_cli("fit", "archive", "--skip-bad-lines", "--topics", "3")
    assert result.exit_code == 0 and "Skipped or repaired: 1 over-long articles skipped." in result.stdout


def test_an_over_long_string_is_refused_by_the_api(tmp_path):
    message = api_error(tmp_path, CorpusError, lambda: topics.fit(["short text", "x" * (MAX_ARTICLE_BYTES + 1)]))
    assert message == "item 1 is longer than the 5 MB allowed for one article"


def test_a_corpus_of_the_wrong_type_is_refused_by_the_api(tmp_path, sample_model):
    message = api_error(tmp_path, CorpusError, lambda: topics.fit(123))
    assert message == "a corpus is a path, a list of paths, Articles or strings, not int"
    message = api_error(tmp_path, CorpusError, lambda: sample_model.evaluate(3.5))
    assert message == "a corpus is a path, a list of paths, Articles or strings, not float"
    message = api_error(tmp_path, QueryError, lambda: sample_model.transform(["rates rise", 7]))
    assert message == "text 1 is int, not a string"


# -- queries --------------------------------------------------------------------------------------------
@pytest.fixture
def model_here(tmp_path, sample_model_file):
    shutil.copy(sample_model_file, tmp_path / "m.joblib")
    return topics.load(tmp_path / "m.joblib")


QUERY_CASES = {
    "unknown id": (["nope"], {"id": "nope"}, "no article with id 'nope' in this model (351 articles)"),
    "empty text": (["--text", ""], {"text": ""}, "the query text is empty"),
    "blank text": (["--text", " \n\t "], {"text": " \n\t "}, "the query text is empty"),
    "only stop words": (
        ["--text", "the of and it was"],
        {"text": "the of and it was"},
        "the query text has no words the model knows (only stop words, numbers or unseen words)",
    ),
    "only unseen words": (
        ["--text", "zzxq qqzx"],
        {"text": "zzxq qqzx"},
        "the query text has no words the model knows (only stop words, numbers or unseen words)",
    ),
}


@pytest.mark.parametrize("case", QUERY_CASES)
def test_bad_queries(run_cli, tmp_path, model_here, case):
    args, kwargs, message = QUERY_CASES[case]
    assert cli_error(run_cli, tmp_path, "similar", *args, "--model", "m.joblib") == message
    assert api_error(tmp_path, QueryError, lambda: model_here.similar(**kwargs)) == message


def test_bad_query_files(run_cli, tmp_path, model_here):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    (tmp_path / "folder").mkdir()
    write_huge_line_file(tmp_path / "huge.txt")
    cases = [
        ("empty.txt", "the query text is empty"),
        ("photo.jpg", "photo.jpg looks like a binary file, not text"),
        ("missing.txt", "file 'missing.txt' does not exist"),
        ("huge.txt", "huge.txt is longer than the 5 MB allowed for one article"),
    ]
    for name, message in cases:
        assert cli_error(run_cli, tmp_path, "similar", "--file", name, "--model", "m.joblib") == message
    assert cli_error(run_cli, tmp_path, "similar", "--file", "folder", "--model", "m.joblib") == (
        "Invalid value for '--file' / '-f': File 'folder' is a directory."
    )
    assert api_error(tmp_path, CorpusError, lambda: topics.corpus.read_query_file("folder")) == "'folder' is not a file"


# -- model files ----------------------------------------------------------------------------------------
def damage(data: bytes, how: str) -> bytes:
    return {
        "truncated": lambda: data[: len(data) // 2],
        "last byte cut": lambda: data[:-1],
        "corrupted": lambda: data[:1000] + bytes([data[1000] ^ 0x55]) + data[1001:],
        "text file": lambda: b"Reserve Bank cuts rates\n",
        "empty file": lambda: b"",
        "appended to": lambda: data + b"\n",
        "newer format": lambda: rewrite_footer(data, format_version=FORMAT_VERSION + 1),
    }[how]()


MODEL_CASES = {
    "truncated": "m.joblib is not a topics model file, or it is truncated",
    "last byte cut": "m.joblib is not a topics model file, or it is truncated",
    "corrupted": "m.joblib is damaged (checksum mismatch); refit it or restore a copy",
    "text file": "m.joblib is not a topics model file, or it is truncated",
    "empty file": "m.joblib is not a topics model file, or it is truncated",
    "appended to": "m.joblib is not a topics model file, or it is truncated",
    "newer format": f"m.joblib was written by a newer topics (model format {FORMAT_VERSION + 1}; this version reads "
    f"format {FORMAT_VERSION} and older): upgrade topics to use it",
}


@pytest.mark.parametrize("case", MODEL_CASES)
def test_damaged_or_foreign_model_files(run_cli, tmp_path, sample_model_file, case):
    (tmp_path / "m.joblib").write_bytes(damage(sample_model_file.read_bytes(), case))
    message = MODEL_CASES[case]
    for command in (["similar", "lee-bg-000"], ["similar", "--text", "rain"], ["summary"], ["info"]):
        assert cli_error(run_cli, tmp_path, *command, "--model", "m.joblib") == message
    assert api_error(tmp_path, ModelFileError, lambda: topics.load("m.joblib")) == message


def test_a_plain_joblib_file_is_not_a_model(run_cli, tmp_path):
    joblib.dump({"components": [1, 2, 3]}, tmp_path / "m.joblib")
    message = "m.joblib is not a topics model file, or it is truncated"
    assert cli_error(run_cli, tmp_path, "summary", "--model", "m.joblib") == message
    assert api_error(tmp_path, ModelFileError, lambda: topics.load("m.joblib")) == message


def test_missing_model_and_directory_model(run_cli, tmp_path):
    missing = "no model at none.joblib; fit one with: topics fit CORPUS --model none.joblib"
    assert cli_error(run_cli, tmp_path, "similar", "x", "--model", "none.joblib") == missing
    assert api_error(tmp_path, ModelFileError, lambda: topics.load("none.joblib")) == missing
    (tmp_path / "models").mkdir()
    folder = "models is a directory, not a model file"
    assert cli_error(run_cli, tmp_path, "summary", "--model", "models") == folder
    assert api_error(tmp_path, ModelFileError, lambda: topics.load("models")) == folder


def test_bad_key_files(run_cli, tmp_path, model_here):
    (tmp_path / "empty.key").write_text("\n")
    assert cli_error(run_cli, tmp_path, "summary", "--model", "m.joblib", "--key-file", "empty.key") == (
        "key file empty.key is empty"
    )
    assert cli_error(run_cli, tmp_path, "summary", "--model", "m.joblib", "--key-file", "none.key") == (
        "cannot read key file none.key: No such file or directory"
    )
    assert cli_error(run_cli, tmp_path, "summary", "--model", "m.joblib", "--key-file", ".") == (
        "Invalid value for '--key-file': File '.' is a directory."
    )
