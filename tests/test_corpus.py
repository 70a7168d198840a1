"""Corpus readers: every format, dates, ids, encodings, and what gets skipped and counted."""

import gzip
import json
import shutil

import pytest
from conftest import LEE_TEST, SAMPLE, SEED

import topics
from topics import CorpusError, TopicsWarning, read_corpus


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_directory_of_txt_files_reads_seed_date_header(tmp_path):
    shutil.copy(SEED, tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("date 2024-01-31\nSecond article about cricket.", encoding="utf-8")
    articles = list(read_corpus(tmp_path))
    assert [a.id for a in articles] == ["india-russia-2025-10-09", "sub/b"]
    seed = articles[0]
    assert seed.date == "2025-10-09"
    assert seed.text.startswith("Prime Minister Narendra Modi")
    assert "date 2025" not in seed.text
    assert articles[1].date == "2024-01-31" and articles[1].text == "Second article about cricket."


def test_directory_skips_and_counts_binary_files(tmp_path):
    (tmp_path / "a.txt").write_text("A real article about rain.", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    corpus = read_corpus(tmp_path)
    assert [a.id for a in corpus] == ["a"]
    assert corpus.stats.binary_skipped == 1


def test_directory_reads_structured_files_inside(tmp_path):
    write_jsonl(tmp_path / "more.jsonl", [{"id": "j1", "text": "From a JSONL file."}])
    (tmp_path / "one.txt").write_text("From a text file.", encoding="utf-8")
    assert sorted(a.id for a in read_corpus(tmp_path)) == ["j1", "one"]


def test_bundled_sample_has_seed_and_news():
    corpus = read_corpus(SAMPLE)
    articles = list(corpus)
    assert len(articles) == 351
    assert corpus.stats.empty_skipped == 0
    dated = [a for a in articles if a.date]
    assert [(a.id, a.date) for a in dated] == [("india-russia-2025-10-09", "2025-10-09")]


def test_lines_file_one_article_per_line_with_generated_ids(tmp_path):
    path = tmp_path / "news.txt"
    path.write_text("First story about floods.\n\n  \ndate 2020-02-02 Third story about fires.\n", encoding="utf-8")
    corpus = read_corpus(path)
    articles = list(corpus)
    assert [a.id for a in articles] == ["news:1", "news:4"]
    assert articles[1].date == "2020-02-02" and articles[1].text == "Third story about fires."
    assert corpus.stats.empty_skipped == 2
    assert corpus.stats.generated_ids == 2


def test_jsonl_fields_meta_and_custom_names(tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {
                "doc": "x1",
                "body": "Text one.",
                "headline": "One",
                "published": "2021-05-06T10:00:00Z",
                "label": "sport",
            },
            {"body": "Text two without id."},
        ],
    )
    articles = list(
        read_corpus(path, text_field="body", id_field="doc", title_field="headline", date_field="published")
    )
    assert articles[0].id == "x1" and articles[0].title == "One" and articles[0].date == "2021-05-06"
    assert articles[0].meta == {"label": "sport"}
    assert articles[1].id == "a:2"


def test_gzip_variants_equal_plain(tmp_path):
    plain = tmp_path / "test.jsonl"
    with gzip.open(LEE_TEST, "rb") as f:
        plain.write_bytes(f.read())
    assert list(read_corpus(LEE_TEST)) == list(read_corpus(plain))


def test_csv_with_quoted_newlines_and_gz(tmp_path):
    content = 'id,title,date,body\n1,"A, title",2022-03-04,"Line one\nline two"\n2,B,,Plain text\n'
    (tmp_path / "a.csv").write_text(content, encoding="utf-8")
    with gzip.open(tmp_path / "b.csv.gz", "wt", encoding="utf-8") as f:
        f.write(content.replace("1,", "3,", 1).replace("2,B", "4,B"))
    articles = list(read_corpus([tmp_path / "a.csv", tmp_path / "b.csv.gz"], text_field="body"))
    assert [a.id for a in articles] == ["1", "2", "3", "4"]
    assert articles[0].title == "A, title" and articles[0].text == "Line one\nline two"
    assert articles[0].date == "2022-03-04" and articles[1].date is None


def test_csv_without_text_column_names_columns(tmp_path):
    (tmp_path / "a.csv").write_text("id,body\n1,hello\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"no column 'text' \(columns: id, body\).*--text-field"):
        list(read_corpus(tmp_path / "a.csv"))


def test_latin1_fallback_is_counted_and_warned(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\u00e9 owners in Z\u00fcrich protest.\nPlain line.\n".encode("latin-1"))
    corpus = read_corpus(path)
    with pytest.warns(TopicsWarning, match="latin-1"):
        articles = list(corpus)
    assert articles[0].text == "Café owners in Zürich protest."
    assert corpus.stats.latin1_fallbacks == 1


def test_duplicate_ids_are_an_error_naming_them(tmp_path):
    path = write_jsonl(
        tmp_path / "d.jsonl", [{"id": "a", "text": "x y"}, {"id": "b", "text": "z"}, {"id": "a", "text": "w"}]
    )
    with pytest.raises(CorpusError, match=r"duplicate article ids: 'a' \(2x\)"):
        list(read_corpus(path))


def test_empty_corpus_is_an_error(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"no articles found .*\(2 empty skipped\)"):
        list(read_corpus(tmp_path / "empty.txt"))


def test_malformed_jsonl_reports_line_or_skips(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id": "1", "text": "good"}\n{"id": "2", "text": \n{"id": "3", "text": "fine"}\n', encoding="utf-8"
    )
    with pytest.raises(CorpusError, match=r"bad.jsonl:2: not valid JSON.*--skip-bad-lines"):
        list(read_corpus(path))
    corpus = read_corpus(path, skip_bad_lines=True)
    assert [a.id for a in corpus] == ["1", "3"]
    assert [(line, reason.split(":")[0]) for _, line, reason in corpus.stats.bad_lines] == [(2, "not valid JSON")]


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nope.jsonl")


def test_corpus_is_a_restartable_stream(tmp_path):
    corpus = read_corpus(LEE_TEST)
    first = iter(corpus)
    assert next(first).id == "lee-00"  # streamed: one article at a time
    assert [a.id for a in corpus] == [a.id for a in corpus]
    assert corpus.stats.articles == 50


def test_plain_strings_become_articles():
    model = topics.fit(
        ["cats purr softly", "", "dogs bark loudly", "cats and dogs play", "dogs chase cats"],
        n_topics=2,
        min_df=1,
        max_df=1.0,
    )
    assert [model.articles_.ids[i] for i in range(len(model.articles_))] == ["0", "2", "3", "4"]
