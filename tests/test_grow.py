"""Growing a model: `add` (findable at once, unique ids, atomic file replacement, drift), `refit`, and Dask."""

import json
import shutil

import numpy as np
import pytest
from conftest import NEWSGROUPS, SAMPLE

import topics
from topics import Article, ParameterError
from topics.incremental import add_articles, match_topics


def _articles(records, prefix=""):
    return [
        Article(id=prefix + str(r["id"]), text=r["text"], title=r.get("title"), date=r.get("date")) for r in records
    ]


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def model_file(tmp_path, sample_model_file):
    path = tmp_path / "model.joblib"
    shutil.copy(sample_model_file, path)
    return path


def test_added_articles_are_found_by_similar_at_once(model_file, newsgroup_records):
    model = topics.load(model_file)
    batch = _articles(newsgroup_records[:40], prefix="ng-")
    report = model.add(batch)
    assert (report.n_added, report.n_articles, len(model.articles_)) == (40, 391, 391)
    stubs = set(model.stub_rows().tolist())
    assert model.row_of(batch[0].id) in stubs  # a post with under 3 words a news model knows is a stub
    for article in batch[:6]:
        top = model.similar(text=article.text, k=1)[0].id
        assert (top != article.id) if model.row_of(article.id) in stubs else (top == article.id)
    first = "ng-" + str(newsgroup_records[0]["id"])
    neighbours = [h.id for h in model.similar(id=first, k=5)]
    assert first not in neighbours and any(i.startswith("ng-") for i in neighbours)  # other Usenet posts are near
    assert sum(t.n_articles for t in model.topics(n_articles=0)) == 391
    # The loaded (memory-mapped) file is untouched and the grown model round-trips.
    assert len(topics.load(model_file).articles_) == 351
    model.save(model_file, force=True)
    again = topics.load(model_file)
    assert [h.id for h in again.similar(text=batch[0].text, k=3)] == [
        h.id for h in model.similar(text=batch[0].text, k=3)
    ]
    assert again.fit_info_["adds"][0]["n_added"] == 40


def test_duplicate_ids_are_refused_then_replaced(model_file, lee_records):
    model = topics.load(model_file)
    with pytest.raises(ParameterError, match=r"300 of the 300 articles are already in the model \('lee-bg-000'"):
        model.add(_articles(lee_records))
    with pytest.raises(topics.CorpusError, match="duplicate article ids: 'x'"):
        model.add([Article(id="x", text="rain in Sydney"), Article(id="x", text="more rain")])
    assert len(model.articles_) == 351
    changed = [
        dict(r, text="Bushfires burn near Canberra. Firefighters battle bushfires and strong winds.")
        for r in lee_records[:3]
    ]
    report = model.add(_articles(changed), replace=True)
    assert (report.n_added, report.n_replaced, len(model.articles_)) == (3, 3, 351)
    ids = list(model.articles_.ids)
    assert len(set(ids)) == len(ids) == 351
    row = model.row_of("lee-bg-000")
    assert row >= 348 and model.articles_.snippets[row].startswith("Bushfires burn near Canberra")


def test_drift_flags_a_foreign_batch_but_not_more_of_the_same(sample_model, lee_records, newsgroup_records):
    same = add_articles(sample_model.state_, _articles(lee_records[:60], prefix="again-"), sample_model.get_params())[1]
    foreign = add_articles(sample_model.state_, _articles(newsgroup_records), sample_model.get_params())[1]
    for report in (same, foreign):
        assert report.fitted_relative_error == sample_model.fit_info_["relative_error"] > 0
        assert 0 < report.relative_error <= 1 and report.error_ratio > 0
        assert len(report.topic_shares) == 10 and abs(sum(report.topic_shares) - 1) < 1e-3
        assert 0 <= report.topic_shift <= 1
    assert not same.refit_advised and same.unknown_share < 1.25 * same.fitted_unknown_share  # articles of the fit
    assert foreign.unknown_share > 1.5 * foreign.fitted_unknown_share
    assert foreign.refit_advised and foreign.another_domain and not same.another_domain
    assert "another kind of text" in foreign.reasons[0] and "outside the vocabulary" in foreign.reasons[1]


def test_cli_add_replaces_the_file_atomically_and_info_shows_history(
    run_cli, model_file, tmp_path, newsgroup_records, monkeypatch
):
    batch = _write_jsonl(tmp_path / "new.jsonl", newsgroup_records[:50])
    result = run_cli("add", batch, "--model", model_file, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert (doc["n_added"], doc["n_articles"]) == (50, 401)
    assert {"error_ratio", "unknown_share", "topic_shares", "refit_advised"} <= set(doc)
    assert len(topics.load(model_file).articles_) == 401
    # no temporary left; the writers' lock file stays (removing it would let two writers lock different files)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.joblib.lock", "model.joblib", "new.jsonl"]

    before = model_file.read_bytes()
    again = run_cli("add", batch, "--model", model_file)
    assert again.exit_code == 2 and again.stderr.count("\n") == 1 and "already in the model" in again.stderr

    from topics import store

    def broken_footer(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_append_footer", broken_footer)
    failed = run_cli("add", batch, "--model", model_file, "--replace")
    assert failed.exit_code == 2 and "No space left on device" in failed.stderr
    assert model_file.read_bytes() == before  # old file intact after failed adds
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.joblib.lock", "model.joblib", "new.jsonl"]
    monkeypatch.undo()

    info = run_cli("info", "--model", model_file)
    assert info.exit_code == 0 and "+50 (0 replaced)" in info.stdout
    text = run_cli("add", _write_jsonl(tmp_path / "more.jsonl", newsgroup_records[50:60]), "--model", model_file)
    assert text.exit_code == 0 and text.stdout.startswith("Added 10 articles (0 replaced)")
    assert "Drift: reconstruction error" in text.stdout


def test_refit_keeps_names_of_matching_topics(run_cli, model_file, tmp_path, newsgroup_records):
    model = topics.load(model_file)
    named = int(np.argmax(np.asarray(model.doc_topics_).sum(axis=0)))
    model.rename_topic(named, "Main news")
    model.save(model_file, force=True)
    batch = _write_jsonl(tmp_path / "new.jsonl", newsgroup_records[:30])
    assert run_cli("add", batch, "--model", model_file).exit_code == 0
    result = run_cli("refit", SAMPLE, batch, "--model", model_file, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert (doc["n_articles_before"], doc["n_articles"], doc["n_missing"]) == (381, 381, 0)
    match = next(m for m in doc["matches"] if m["old"] == named)
    assert match["cosine"] >= 0.5 and match["name"] == "Main news"
    refitted = topics.load(model_file)
    assert refitted.topic_names_ == {match["new"]: "Main news"}
    assert "adds" not in refitted.fit_info_ and refitted.fit_info_["refit"]["n_articles_before"] == 381


def test_match_topics_pairs_permuted_topics():
    rng = np.random.default_rng(0)
    H = rng.random((4, 30)).astype(np.float32) ** 4
    vocabulary = np.array([f"w{i:02d}".encode() for i in range(30)])
    order = [2, 0, 3, 1]
    pairs = match_topics(H, vocabulary, H[order], vocabulary)
    assert sorted((p["old"], p["new"]) for p in pairs) == sorted((o, n) for n, o in enumerate(order))
    assert all(p["cosine"] == pytest.approx(1.0) for p in pairs)


def test_dask_cluster_gives_the_same_model_as_local(tmp_path, run_cli, newsgroup_records):
    distributed = pytest.importorskip("distributed", reason="dask is not installed: pip install 'topics[dask]'")
    from topics.parallel import use_scheduler

    corpus = NEWSGROUPS
    local = topics.fit(corpus, n_topics=6, random_state=3)
    local_report = add_articles(local.state_, _articles(newsgroup_records[:40], prefix="n-"), local.get_params())[1]
    # Threads, not processes: on 2 cores a process cluster takes seconds to start; the tasks still go
    # through the scheduler, the joblib Dask backend and (de)serialisation.
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with use_scheduler(cluster.scheduler_address) as client, distributed.get_task_stream(client) as stream:
            on_dask = topics.fit(corpus, n_topics=6, random_state=3)
            dask_report = add_articles(
                on_dask.state_, _articles(newsgroup_records[:40], prefix="n-"), on_dask.get_params()
            )[1]
        assert len(stream.data) >= 4  # the chunks really ran on the cluster
        result = run_cli(
            "fit",
            corpus,
            "--topics",
            6,
            "--seed",
            3,
            "--model",
            tmp_path / "m.joblib",
            "--scheduler",
            cluster.scheduler_address,
        )
        assert result.exit_code == 0, result.stderr
    assert np.array_equal(local.vectorizer_.vocabulary_, on_dask.vectorizer_.vocabulary_)
    assert np.allclose(local.components_, on_dask.components_, atol=1e-6)
    assert np.allclose(local.doc_topics_, on_dask.doc_topics_, atol=1e-6)
    assert local_report.relative_error == pytest.approx(dask_report.relative_error, abs=1e-6)
    from_cli = topics.load(tmp_path / "m.joblib")
    assert np.allclose(from_cli.doc_topics_, local.doc_topics_, atol=1e-6)


def test_bad_scheduler_is_a_one_line_error(run_cli, model_file):
    result = run_cli("add", SAMPLE, "--model", model_file, "--scheduler", "local:0")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "local:0" in result.stderr


def test_add_keeps_the_saved_stub_rows_up_to_date(sample_model_file, tmp_path):
    """Adding (and replacing) articles carries the stub rows a cold query reads from the file: they equal
    the rows found again from X, with no pass over X."""
    import shutil

    from topics.text import stub_rows

    path = tmp_path / "m.joblib"
    shutil.copyfile(sample_model_file, path)
    model = topics.load(path)
    first = model.articles_.ids[0]
    model.add(
        [
            topics.Article(id="stub-new", text="View Comments"),
            topics.Article(id="news-new", text="The Reserve Bank has cut interest rates again to help the economy."),
        ]
    )
    model.add([topics.Article(id=first, text="Like the poll tax.")], replace=True)
    model.save(path, force=True)
    loaded = topics.load(path)
    X, vocabulary = loaded.doc_terms_, loaded.vectorizer_.vocabulary_
    saved = loaded.fit_info_["stubs"]
    assert saved["n_adds"] == 2 and saved["rows"] == stub_rows(X, vocabulary, loaded.min_words).tolist()
    assert {loaded.row_of("stub-new"), loaded.row_of(first)} <= set(saved["rows"])
    assert loaded.row_of("news-new") not in saved["rows"]


def _same_arrays(a, b):
    """Two sparse matrices hold the same bytes: shape, index types, indptr, indices and data."""
    assert a.shape == b.shape
    for name in ("indptr", "indices", "data"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


def test_add_gives_the_postings_and_search_matrix_of_a_full_rebuild(model_file, newsgroup_records, monkeypatch):
    """add appends the new rows' postings and builds B in compiled loops; both are byte for byte what
    converting the grown X and the numpy build of B (term counts read back from X, plus L) give."""
    from topics import state as state_module
    from topics.index import search_postings, term_counts
    from topics.state import build_search

    monkeypatch.setattr(state_module, "COMPILED_SEARCH_ENTRIES", 0)  # the compiled build, on a small model too
    builds = []
    compiled = state_module.compiled_search_postings
    monkeypatch.setattr(state_module, "compiled_search_postings", lambda *a: builds.append(1) or compiled(*a))
    model = topics.load(model_file)
    n_rare = model.state_.search_fields.n_rare
    model.add(_articles(newsgroup_records[:25], prefix="ng-"))
    state = model.state_
    assert state.search_fields.n_rare > n_rare  # the posts bring new rare words: B gains columns
    _same_arrays(state.index.postings, state.doc_terms.tocsc())
    fields = state.search_fields
    counts = term_counts(state.doc_terms, state.vectorizer.idf_, extra_columns=fields.n_rare) + fields.matrix()
    _same_arrays(state.index.search, search_postings(counts))
    assert builds  # B came from the compiled loops
    _same_arrays(build_search(state.vectorizer, state.doc_terms, fields), state.index.search)  # numpy, from X
