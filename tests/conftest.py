"""Shared fixtures: real corpora from tests/data and the bundled sample, and an in-process CLI runner."""

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import topics
from topics.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
# Real corpora the tests use, copied into the repository (sources and licences in tests/data/README.md),
# so a clone passes its suite with nothing beside it.
DATA = Path(__file__).resolve().parent / "data"
LEE_BACKGROUND = DATA / "lee-background.jsonl.gz"
LEE_TEST = DATA / "lee-test.jsonl.gz"
NEWSGROUPS = DATA / "newsgroups-mini.jsonl.gz"
WIKIPEDIA_LISTS = DATA / "wikipedia-lists.jsonl.gz"
SEED = DATA / "india-russia-2025-10-09.txt"


def read_jsonl(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="session")
def lee_records():
    """The 300 real ABC news articles of the Lee background corpus, as dicts."""
    return read_jsonl(LEE_BACKGROUND)


@pytest.fixture(scope="session")
def newsgroup_records():
    """200 real Usenet posts (alt.atheism and sci.space), with labels."""
    return read_jsonl(NEWSGROUPS)


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
