"""The HTML report (checked in real headless Chromium) and the PNG charts."""

import html
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import SAMPLE

import topics
from topics.report import render_report

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, dated_model):
    from topics.report import write_report

    return write_report(dated_model, tmp_path_factory.mktemp("report") / "report.html", by="week")


# -- the page -------------------------------------------------------------------------------------------
def test_report_has_every_topic_and_no_external_assets(report_file, dated_model):
    page = report_file.read_text(encoding="utf-8")
    summary = dated_model.summary(n_articles=5)
    for t in summary:
        assert f'id="topic-{t.id}"' in page and html.escape(t.label) in page
        for a in t.articles:
            assert html.escape(a["title"]) in page
    assert page.count('<div class="trend">') == 6 and page.count("<polyline") >= 6  # one trend chart per topic
    assert page.count("<svg") == 7 and page.count("<circle") >= 6  # and the topic map
    # besides 5 representatives per topic, every article with topic weight is listed under the topic it leads
    n_led = int((np.asarray(dated_model.doc_topics_).sum(axis=1) > 0).sum())
    assert page.count('<li class="article"') == 6 * 5 + n_led
    assert render_report(dated_model, max_titles=10).count('<li class="article"') == 6 * 5 + 10
    # self-contained: nothing is fetched (the SVG namespace is an identifier, not a request)
    assert not re.search(r"""(src|href)\s*=|url\(|@import|<link|fetch\(|XMLHttpRequest""", page)
    assert re.findall(r"https?://[^\s\"'<]+", page) == ["http://www.w3.org/2000/svg"] * 7


def test_report_escapes_names_and_handles_undated_archives(sample_model, tmp_path):
    model = topics.load(_saved(sample_model, tmp_path))
    model.rename_topic(0, '<script>alert("x")</script> & co')
    page = render_report(model)
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert "1 dated article from 2025-10-09 to 2025-10-09, charts by month" in page
    lee = topics.fit(
        [f"bushfire report number {i} from the coast" if i % 2 else f"cricket test match {i} today" for i in range(12)],
        n_topics=2,
        random_state=0,
    )
    undated = render_report(lee)
    assert "no article has a date, so there are no trend charts" in undated and 'class="trend"' not in undated
    assert undated.count("<svg") == 1 and undated.count("<circle") == 2  # the map of the two topics


def test_a_failed_report_write_keeps_the_old_report_and_leaves_no_temporary_file(dated_model, tmp_path, monkeypatch):
    from topics.report import write_report

    path = write_report(dated_model, tmp_path / "r.html")
    before = path.read_bytes()

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("topics.files.os.replace", disk_full)
    with pytest.raises(topics.TopicsError, match=r"cannot write the report to .*r\.html: No space left on device"):
        write_report(dated_model, path, max_titles=3)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_cli_report(run_cli, dated_model_file, tmp_path):
    out = run_cli("report", "-m", dated_model_file, "--out", "r.html")
    assert out.exit_code == 0, out.stderr
    assert re.fullmatch(r"Wrote r\.html \(\d+ kB, 6 topics\)\.\n", out.stdout)
    doc = run_cli("report", "-m", dated_model_file, "--out", "r.html", "--format", "json").json()
    assert doc == {"report": "r.html", "bytes": (tmp_path / "r.html").stat().st_size, "n_topics": 6}
    bad = run_cli("report", "-m", dated_model_file, "--out", "no/such/dir/r.html")
    assert bad.exit_code == 2 and bad.stderr.startswith("topics: error: cannot write the report to no/such/dir/r.html")


# -- in a real browser ----------------------------------------------------------------------------------
def _chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed but CI is set: .ci/run must apt-get install chromium")
        pytest.skip("chromium is not installed (apt-get install chromium); the browser test runs in CI")
    return path


def _run_chromium(tmp_path, *args):
    """Run headless Chromium with a fresh profile; returns (stdout, console lines from the page)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    proc = subprocess.run(
        [
            _chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.slow
def test_console_capture_sees_page_errors(tmp_path):
    """The check below can fail: a page with an error does show up in Chromium's console log."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom'); missingFunction();</script></body></html>")
    _, console = _run_chromium(tmp_path, "--dump-dom", bad.as_uri())
    assert any("boom" in line for line in console) and any("missingFunction" in line for line in console)


@pytest.mark.slow
def test_report_in_headless_chromium(report_file, dated_model, tmp_path):
    dom, console = _run_chromium(tmp_path, "--dump-dom", report_file.as_uri())
    assert console == []
    assert 'data-ready="1"' in dom  # the page script ran to its end
    assert len(re.findall(r'<section class="topic"', dom)) == 6
    assert '<p id="count">6 topics</p>' in dom

    # the search box filters: the address '#q=...' fills it, as typing would
    word = "station"
    summary = dated_model.summary(n_articles=5)
    W = np.asarray(dated_model.doc_topics_)
    led_titles = {t.id: [] for t in summary}
    for row in np.flatnonzero(W.sum(axis=1) > 0):
        led_titles[int(W[row].argmax())].append(dated_model.articles_.titles[row].lower())
    expected = [
        t.id
        for t in summary
        if word in " ".join([t.label, *t.words]).lower()
        or any(word in (a["title"] or "").lower() for a in t.articles)
        or any(word in title for title in led_titles[t.id])
    ]
    assert 0 < len(expected) < 6
    dom, console = _run_chromium(tmp_path, "--dump-dom", report_file.as_uri() + f"#q={word}")
    assert console == []
    shown = [int(i) for i in re.findall(r'<section class="topic" id="topic-(\d+)"', dom)]
    hidden = [int(i) for i in re.findall(r'<section class="topic hidden" id="topic-(\d+)"', dom)]
    assert sorted(shown) == sorted(expected) and len(shown) + len(hidden) == 6
    assert f'"{word}": {len(expected)} topics' in dom
    assert dom.count('<details class="all" open') == sum(  # the full lists open where they hold a match
        1
        for t in expected
        if word not in " ".join([summary[t].label, *summary[t].words]).lower()
        and any(word in title for title in led_titles[t])
    )

    shot = tmp_path / "report.png"
    _run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", report_file.as_uri())
    _assert_not_blank(shot)


# -- charts ---------------------------------------------------------------------------------------------
def test_plots_from_the_cli(run_cli, dated_model_file, tmp_path):
    pytest.importorskip("matplotlib")
    out = run_cli("summary", "-m", dated_model_file, "--plot", "sizes.png")
    assert out.exit_code == 0 and out.stdout.rstrip().endswith("Chart: sizes.png")
    _assert_not_blank(tmp_path / "sizes.png")
    out = run_cli("trends", "-m", dated_model_file, "--by", "week", "--plot", "trend.png", "--format", "json")
    assert out.exit_code == 0 and out.json()["by"] == "week"
    _assert_not_blank(tmp_path / "trend.png")


def test_missing_matplotlib_is_one_clear_line(run_cli, dated_model_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails as if not installed
    out = run_cli("trends", "-m", dated_model_file, "--plot", "t.png")
    assert out.exit_code == 2
    assert out.stderr == "topics: error: plots need matplotlib: pip install 'topics[plot]'\n"


def _assert_not_blank(png):
    image = pytest.importorskip("matplotlib.image").imread(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image[..., :3].reshape(-1, 3)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert len(np.unique(np.round(pixels * 255).astype(np.uint8), axis=0)) > 20  # not one flat colour


def _saved(model, tmp_path):
    path = tmp_path / "copy.joblib"
    model.save(path)
    return path


def test_charts_are_written_whole_or_not_at_all(run_cli, dated_model_file, tmp_path):
    pytest.importorskip("matplotlib")
    assert run_cli("summary", "-m", dated_model_file, "--plot", "sizes.png").exit_code == 0
    before = (tmp_path / "sizes.png").read_bytes()
    # An unknown format fails before a byte is written: one line, the earlier chart kept, no temporary file.
    out = run_cli("summary", "-m", dated_model_file, "--plot", "sizes.nochart")
    assert out.exit_code == 2 and out.stderr.startswith("topics: error: cannot write the chart to sizes.nochart: ")
    assert (tmp_path / "sizes.png").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("sizes")) == ["sizes.png"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # No extension: a PNG named as matplotlib names it, and the command says where.
    out = run_cli("trends", "-m", dated_model_file, "--plot", "trend")
    assert out.exit_code == 0 and out.stdout.rstrip().endswith("Chart: trend.png")
    _assert_not_blank(tmp_path / "trend.png")


def test_tune_checks_the_chart_path_before_fitting(run_cli, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")

    def no_fits(*args, **kwargs):
        raise AssertionError("tune fitted before finding that the chart cannot be written")

    monkeypatch.setattr("topics.tune.tune_texts", no_fits)
    out = run_cli("tune", SAMPLE, "--topics", "3,6", "--plot", "missing/k.png")
    assert out.exit_code == 2
    assert out.stderr == "topics: error: cannot write the chart to missing/k.png: there is no folder missing\n"
    assert not (tmp_path / "missing").exists()
