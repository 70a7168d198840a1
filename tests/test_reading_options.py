"""How an archive is read: options kept by the model and shared by every command, and nothing lost on the way.

Issue 18, classes 2 (add, refit and evaluate read as fit did) and 3 (input that silently lost articles).
Every file is real news text written under tmp_path; the CLI runs in-process except where a hang must be
impossible (a FIFO), which runs in a subprocess with a timeout.
"""

import contextlib
import csv
import gzip
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NEWSGROUPS, ROOT, WIKIPEDIA_LISTS

import topics
from topics import CorpusError, TopicsWarning, read_corpus
from topics.cli import cli


def write_csv(path: Path, records, start=0, columns=("url", "headline", "published", "body")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for i, r in enumerate(records, start):
            row = {
                "url": f"https://abc.net.au/{r['id']}",
                "headline": f"Story {i}",
                "published": f"2001-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}",
                "body": r["text"],
                "id": r["id"],
                "text": r["text"],
                "title": f"Story {i}",
                "date": f"2001-01-{1 + i % 28:02d}",
            }
            writer.writerow([row[c] for c in columns])
    return path


def one_line_error(result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("topics: error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr[len("topics: error: ") : -1]


@pytest.fixture
def csv_model(run_cli, tmp_path, lee_records):
    """A model fitted from CSV with every field renamed; news.csv (200 articles) and more.csv (60) beside it."""
    write_csv(tmp_path / "news.csv", lee_records[:200])
    write_csv(tmp_path / "more.csv", lee_records[200:260], start=200)
    result = run_cli(
        "fit",
        "news.csv",
        "--text-field",
        "body",
        "--id-field",
        "url",
        "--title-field",
        "headline",
        "--date-field",
        "published",
        "--topics",
        5,
        "-m",
        "m.joblib",
    )
    assert result.exit_code == 0, result.stderr
    return tmp_path / "m.joblib"


# -- class 2: the model keeps how its archive was read --------------------------------------------------
def test_the_model_keeps_its_reading_options(csv_model):
    model = topics.load(csv_model)
    assert model.fit_info_["reading"] == {
        "format": "auto",
        "text_field": "body",
        "id_field": "url",
        "title_field": "headline",
        "date_field": "published",
        "skip_bad_lines": False,
    }
    assert model.articles_.ids[0] == "https://abc.net.au/lee-bg-000"


def test_add_and_refit_read_as_the_model_was_fitted(run_cli, csv_model, lee_records):
    added = run_cli("add", "more.csv", "-m", csv_model, "--format", "json")
    assert added.exit_code == 0, added.stderr
    doc = added.json()
    assert doc["n_added"] == 60 and doc["reading"]["text_field"] == "body" and doc["skipped"] == ""
    model = topics.load(csv_model)
    row = model.row_of("https://abc.net.au/lee-bg-210")
    assert model.articles_.date(row) == "2001-08-15" and model.articles_.titles[row] == "Story 210"

    refit = run_cli("refit", "news.csv", "more.csv", "-m", csv_model)
    assert refit.exit_code == 0, refit.stderr
    assert refit.stdout.startswith("Refitted 260 articles (the model held 260)")
    assert "dropped" not in refit.stdout
    assert "Read with --text-field body --id-field url --title-field headline --date-field published." in refit.stdout
    refitted = topics.load(csv_model)
    assert sorted(refitted.articles_.ids) == sorted(model.articles_.ids)
    assert refitted.articles_.date(refitted.row_of("https://abc.net.au/lee-bg-003")) == "2001-01-04"
    assert refitted.fit_info_["reading"]["id_field"] == "url"


def test_options_given_to_add_replace_the_stored_ones(run_cli, tmp_path, lee_records):
    (tmp_path / "news.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lee_records[:60]), encoding="utf-8")
    assert run_cli("fit", "news.jsonl", "--topics", 3, "-m", "m.joblib").exit_code == 0
    write_csv(tmp_path / "extra.csv", lee_records[60:70], columns=("id", "body"))
    message = one_line_error(run_cli("add", "extra.csv", "-m", "m.joblib"))
    assert message == "extra.csv has no column 'text' (columns: id, body); name the text column with --text-field"
    result = run_cli("add", "extra.csv", "--text-field", "body", "-m", "m.joblib")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Added 10 articles")
    model = topics.load("m.joblib")
    assert model.row_of("lee-bg-065") >= 60
    assert model.fit_info_["reading"]["text_field"] == "text"  # what the archive was fitted with stays


def test_evaluate_reads_as_the_model_was_fitted(run_cli, csv_model):
    result = run_cli("evaluate", "news.csv", "-m", csv_model, "--no-stability", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["n_topics"] == 5
    model = topics.load(csv_model)
    assert model.evaluate(stability=False)["n_topics"] == 5  # re-reads its sources the same way


def test_refit_through_the_library_keeps_the_reading(tmp_path, lee_records):
    path = write_csv(tmp_path / "news.csv", lee_records[:80])
    model = topics.fit(read_corpus(path, text_field="body", id_field="url", date_field="published"), 4)
    model.save(tmp_path / "m.joblib")
    loaded = topics.load(tmp_path / "m.joblib")
    report = loaded.refit(path)
    assert report.n_missing == 0 and loaded.articles_.date(0) == "2001-01-01"
    report = loaded.refit([topics.Article(id=f"x{i}", text=r["text"]) for i, r in enumerate(lee_records[:40])])
    assert loaded.fit_info_["reading"]["text_field"] == "body"  # in-memory articles: the files' reading stays


def test_a_model_without_stored_reading_reads_with_the_defaults(run_cli, tmp_path, lee_records):
    (tmp_path / "news.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lee_records[:60]), encoding="utf-8")
    model = topics.fit(tmp_path / "news.jsonl", 3)
    del model.fit_info_["reading"]  # as saved before models kept it
    model.save(tmp_path / "old.joblib")
    (tmp_path / "more.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lee_records[60:70]), encoding="utf-8")
    result = run_cli("add", "more.jsonl", "-m", "old.joblib")
    assert result.exit_code == 0, result.stderr and result.stdout.startswith("Added 10 articles")


def test_input_format_has_its_own_name_and_format_is_output_everywhere(run_cli, tmp_path, lee_records):
    for i, r in enumerate(lee_records[:30]):
        (tmp_path / f"story{i}.txt").write_text(r["text"].replace(". ", ".\n"), encoding="utf-8")
    files = sorted(p.name for p in tmp_path.glob("story*.txt"))
    result = run_cli("fit", *files, "--input-format", "text", "--topics", 3, "-m", "m.joblib")
    assert result.exit_code == 0, result.stderr and "Fitted 30 articles" in result.stdout
    old_name = run_cli("fit", *files, "--format", "text", "--topics", 3, "-m", "m2.joblib")  # hidden, still works
    assert old_name.exit_code == 0 and "Fitted 30 articles" in old_name.stdout
    assert "--format" not in run_cli("fit", "--help").stdout
    for command in ("add", "refit", "evaluate", "tune"):
        options = {o for p in cli.commands[command].params for o in p.opts}
        assert "--input-format" in options
        fmt = next(p for p in cli.commands[command].params if "--format" in p.opts)
        assert "text" not in fmt.type.choices and "table" in fmt.type.choices  # output, never input


def test_every_reading_command_has_the_same_reading_options():
    def reading(command):
        return {
            p.name: (tuple(p.opts), type(p.type).__name__)
            for p in cli.commands[command].params
            if p.name in {"input_format", "text_field", "id_field", "title_field", "date_field", "skip_bad_lines"}
        }

    fit = reading("fit")
    assert len(fit) == 6
    for command in ("add", "refit", "evaluate", "tune"):
        assert reading(command) == fit, command


def test_no_command_module_imports_from_another():
    commands = {p.stem for p in (ROOT / "topics" / "cli").glob("*.py")} - {"__init__", "__main__", "_base", "options"}
    for module in commands:
        source = (ROOT / "topics" / "cli" / f"{module}.py").read_text(encoding="utf-8")
        imported = set(re.findall(r"^from \.(\w+) import", source, flags=re.MULTILINE))
        assert not imported & commands, (module, imported & commands)


# -- class 3: nothing lost silently ---------------------------------------------------------------------
def unclosed_quote_csv(path: Path, records, *, closed_at_end=False, columns=("id", "date", "text")):
    """30 rows whose texts have no quotes or commas; row 4 (line 5) opens a quote it never closes."""
    lines = [",".join(columns)]
    for i, r in enumerate(records[:30]):
        text = r["text"][:120].replace(",", " ").replace('"', "")
        cells = {"id": r["id"], "date": f"2001-01-{1 + i:02d}", "text": text, "title": f"Story {i}"}
        lines.append(",".join(cells[c] for c in columns))
    lines[5] = lines[5].replace(f",{records[4]['text'][:5]}", f',"{records[4]["text"][:5]}', 1)
    assert lines[5].count('"') == 1
    if closed_at_end:
        lines[-1] += '"'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("closed_at_end", [False, True], ids=["never closed", "closed by the last row"])
def test_an_unclosed_csv_quote_is_an_error_at_its_line(run_cli, tmp_path, lee_records, closed_at_end):
    unclosed_quote_csv(tmp_path / "news.csv", lee_records, closed_at_end=closed_at_end)
    message = one_line_error(run_cli("fit", "news.csv", "--topics", 3))
    assert message.startswith("news.csv:6: a quoted field opened here swallows lines 7-31 (an unclosed quote?)")
    assert message.endswith("; use --skip-bad-lines to skip such lines")
    assert not (tmp_path / "models").exists()

    result = run_cli("fit", "news.csv", "--topics", 3, "--skip-bad-lines")
    assert result.exit_code == 0, result.stderr
    assert "Fitted 29 articles" in result.stdout and "Skipped or repaired: 1 bad lines skipped." in result.stdout
    assert result.stderr.startswith("topics: warning: skipped 1 bad line: news.csv:6 (a quoted field opened here")
    ids = list(topics.load("models/default.joblib").articles_.ids)
    assert lee_records[4]["id"] not in ids and lee_records[5]["id"] in ids and lee_records[29]["id"] in ids


def test_an_unclosed_quote_in_a_csv_without_id_or_date_column(tmp_path, lee_records):
    path = unclosed_quote_csv(tmp_path / "news.csv", lee_records, closed_at_end=True, columns=("title", "text"))
    with pytest.raises(CorpusError, match=r"news.csv:6: a quoted field opened here swallows lines 7-31"):
        list(read_corpus(path))
    corpus = read_corpus(path, skip_bad_lines=True)
    with pytest.warns(TopicsWarning, match="skipped 1 bad line"):
        assert len(list(corpus)) == 29
    assert [line for _, line, _ in corpus.stats.bad_lines] == [6]


@pytest.mark.parametrize(
    "columns", [("id", "title", "date", "label", "text"), ("title", "text"), ("label", "text"), ("text",)]
)
@pytest.mark.parametrize("source", [NEWSGROUPS, WIKIPEDIA_LISTS], ids=["newsgroups", "wikipedia"])
def test_real_multi_line_csv_fields_are_not_taken_for_unclosed_quotes(tmp_path, source, columns):
    """Usenet posts with headers and quoted replies (up to 676 lines), Wikipedia lists ("* Alien (band), ...")."""
    with gzip.open(source, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    with open(tmp_path / "real.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows([[r.get(c) or "" for c in columns] for r in records])
    corpus = read_corpus(tmp_path / "real.csv")
    assert len(list(corpus)) == len(records) and corpus.stats.describe() == ""


def test_csv_rows_with_extra_cells_are_counted(tmp_path):
    (tmp_path / "a.csv").write_text("id,text\n1,Rain in Sydney\n2,Fire near Perth,and more\n", encoding="utf-8")
    corpus = read_corpus(tmp_path / "a.csv")
    assert [a.text for a in corpus] == ["Rain in Sydney", "Fire near Perth"]
    assert corpus.stats.extra_cells == 1 and "1 CSV rows with extra cells (ignored)" in corpus.stats.describe()


def odd_folder(root: Path, records) -> Path:
    """An archive of 6 stories beside every odd kind of entry; a symlinked folder of 2 more stories."""
    archive = root / "archive"
    (archive / "2001").mkdir(parents=True)
    for r in records[:6]:
        (archive / "2001" / f"{r['id']}.txt").write_text(r["text"], encoding="utf-8")
    (root / "elsewhere").mkdir()
    for r in records[6:8]:
        (root / "elsewhere" / f"{r['id']}.txt").write_text(r["text"], encoding="utf-8")
    os.symlink(root / "elsewhere", archive / "linked")  # followed
    os.symlink(archive, archive / "2001" / "loop")  # a loop: skipped
    os.symlink(archive / "missing.txt", archive / "broken.txt")  # broken: skipped
    os.symlink("self.txt", archive / "self.txt")  # points at itself: skipped
    os.symlink(archive / "2001" / f"{records[0]['id']}.txt", archive / "latest.txt")  # a file read twice
    os.mkfifo(archive / "pipe.txt")  # never opened: reading it would block
    (archive / ".DS_Store").write_bytes(b"\x00\x01")
    return archive


def test_odd_folder_entries_are_skipped_and_counted_never_hang(tmp_path, lee_records):
    archive = odd_folder(tmp_path, lee_records)
    sock = socket.socket(socket.AF_UNIX)
    with contextlib.suppress(OSError):  # a path too long for a socket name: the other entries still count
        sock.bind(str(archive / "server.sock"))
    result = subprocess.run(
        [sys.executable, "-m", "topics.cli", "fit", "archive", "--topics", "2", "--min-df", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    sock.close()
    assert result.returncode == 0, result.stderr
    assert "Fitted 8 articles" in result.stdout
    skipped = result.stdout.split("Skipped or repaired: ")[1]
    special = 2 if (archive / "server.sock").exists() else 1
    assert f"{special} special files (FIFOs, sockets, devices) skipped" in skipped
    assert "1 broken symlinks skipped, 2 symlink loops skipped" in skipped
    assert "1 files reached twice skipped, 1 hidden entries skipped" in skipped
    assert result.stderr.startswith(f"topics: warning: skipped {special + 3} folder entries that are not readable")
    ids = topics.load(tmp_path / "models" / "default.joblib").articles_.ids
    assert f"linked/{lee_records[7]['id']}" in ids and f"2001/{lee_records[0]['id']}" in ids


def test_unreadable_files_and_folders_in_a_folder_are_skipped_and_counted(tmp_path, lee_records, monkeypatch):
    archive = tmp_path / "archive"
    (archive / "locked").mkdir(parents=True)
    for r in lee_records[:4]:
        (archive / f"{r['id']}.txt").write_text(r["text"], encoding="utf-8")
    (archive / "locked" / "secret.txt").write_text("Hidden story", encoding="utf-8")
    (archive / "private.jsonl").write_text(json.dumps(lee_records[4]) + "\n", encoding="utf-8")
    if os.geteuid() != 0:
        (archive / "locked").chmod(0)
        (archive / "private.jsonl").chmod(0)
    else:  # chmod does not stop root: refuse the same two as the kernel would
        real_scandir, real_open = os.scandir, open

        def scandir(path="."):
            if Path(path) == archive / "locked":
                raise PermissionError(13, "Permission denied")
            return real_scandir(path)

        def refusing_open(path, *args, **kwargs):
            if Path(path) == archive / "private.jsonl":
                raise PermissionError(13, "Permission denied")
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "scandir", scandir)
        monkeypatch.setattr(topics.corpus, "open", refusing_open, raising=False)
    try:
        corpus = read_corpus(archive)
        with pytest.warns(TopicsWarning, match="skipped 2 folder entries that are not readable"):
            assert len(list(corpus)) == 4
        assert corpus.stats.unreadable_skipped == 2
        assert "2 unreadable files or folders skipped" in corpus.stats.describe()
        with pytest.raises(CorpusError, match=r"no permission to read .*private\.jsonl"):
            list(read_corpus(archive / "private.jsonl"))  # named directly: an error, not a skip
    finally:
        (archive / "locked").chmod(0o755)
        (archive / "private.jsonl").chmod(0o644)


def test_ids_from_file_names_never_clash(tmp_path, run_cli):
    for folder, text in (
        ("a", "Floods swamp the river town after heavy rain"),
        ("b", "Bushfires threaten homes near Sydney"),
    ):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "story.txt").write_text(text, encoding="utf-8")
        (tmp_path / folder / "news.txt").write_text(f"{text}.\nMore {text.lower()}.\n", encoding="utf-8")
        (tmp_path / folder / "wire.jsonl").write_text(json.dumps({"text": text}) + "\n", encoding="utf-8")
    (tmp_path / "a" / "only.txt").write_text("Cricket in Perth", encoding="utf-8")
    corpus = read_corpus([tmp_path / "a", tmp_path / "b"])
    ids = [a.id for a in corpus]
    assert sorted(ids) == ["a/news", "a/story", "a/wire:1", "b/news", "b/story", "b/wire:1", "only"]
    assert corpus.stats.renamed_sources == 6
    # Files named directly, and the two sizes of one file in one folder.
    lines = [a.id for a in read_corpus([tmp_path / "a" / "news.txt", tmp_path / "b" / "news.txt"])]
    assert lines == ["a/news:1", "a/news:2", "b/news:1", "b/news:2"]
    (tmp_path / "b" / "story.txt.gz").write_bytes(__import__("gzip").compress(b"Storms hit Perth"))
    assert sorted(a.id for a in read_corpus(tmp_path / "b")) == ["news", "story.txt", "story.txt.gz", "wire:1"]
    # A single folder keeps the ids it always had.
    assert sorted(a.id for a in read_corpus(tmp_path / "a")) == ["news", "only", "story", "wire:1"]


def test_a_file_given_twice_is_read_once_and_counted(tmp_path):
    path = tmp_path / "news.txt"
    path.write_text("Floods swamp the town\nFires near Sydney\n", encoding="utf-8")
    corpus = read_corpus([path, path])
    assert [a.id for a in corpus] == ["news:1", "news:2"] and corpus.stats.repeated_skipped == 1


def test_special_files_named_directly(tmp_path):
    with pytest.raises(CorpusError, match=r"corpus path '/dev/null' is a device, not a file or folder"):
        read_corpus("/dev/null")


def test_a_damaged_gzip_file_in_a_folder_is_skipped_and_counted(tmp_path, lee_records):
    import gzip

    archive = tmp_path / "archive"
    archive.mkdir()
    for r in lee_records[:3]:
        (archive / f"{r['id']}.txt").write_text(r["text"], encoding="utf-8")
    (archive / "cut.txt.gz").write_bytes(gzip.compress(lee_records[3]["text"].encode())[:40])
    corpus = read_corpus(archive)
    with pytest.warns(TopicsWarning, match=r"archive/cut.txt.gz \(unreadable: cannot be read"):
        assert len(list(corpus)) == 3
    assert corpus.stats.unreadable_skipped == 1
    with pytest.raises(CorpusError, match=r"cut.txt.gz: cannot be read"):
        list(read_corpus(archive / "cut.txt.gz", format="text"))
