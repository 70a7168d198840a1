"""Shared fixtures: real corpora from ../shared/data and the bundled sample, and an in-process CLI runner."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import topics
from topics.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
# ../shared/data from the project root; a git worktree under wt/ finds it one level further up.
SHARED = next((p for p in (ROOT.parent / "shared" / "data", ROOT.parents[1] / "shared" / "data") if p.is_dir()),
              ROOT.parent / "shared" / "data")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="session")
def lee_records():
    """The 300 real ABC news articles of the Lee background corpus, as dicts."""
    return read_jsonl(SHARED / "lee-news" / "background.jsonl")


@pytest.fixture(scope="session")
def newsgroup_records():
    """200 real Usenet posts (alt.atheism and sci.space), with labels."""
    return read_jsonl(SHARED / "newsgroups-mini" / "docs.jsonl")


@pytest.fixture(scope="session")
def sample_model():
    """A model fitted on the bundled sample (351 real articles); treat it as read-only."""
    return topics.fit(SAMPLE, n_topics=10, random_state=0)


@pytest.fixture(scope="session")
def sample_model_file(tmp_path_factory, sample_model):
    path = tmp_path_factory.mktemp("models") / "sample.joblib"
    sample_model.save(path)
    return path


class CliResult:
    def __init__(self, result):
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.exception = result.exception

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def run_cli(tmp_path, monkeypatch):
    """Run `topics ARGS...` in-process with tmp_path as the working directory."""
    monkeypatch.chdir(tmp_path)

    def run(*args, input=None):
        return CliResult(CliRunner().invoke(cli, [str(a) for a in args], input=input))

    return run


@pytest.fixture(scope="session")
def dated_model(newsgroup_records):
    """6 topics over the 200 newsgroup posts, dated 1993-04/05 by their own Date: headers; read-only."""
    from newsgroup_dates import fit_dated

    return fit_dated(newsgroup_records)


@pytest.fixture(scope="session")
def dated_model_file(tmp_path_factory, dated_model):
    path = tmp_path_factory.mktemp("dated") / "ng.joblib"
    dated_model.save(path)
    return path
