"""Merging, dropping and reducing topics (topics.edit), through the API and the CLI, on the bundled sample.

The sample model has 10 topics over 351 real articles; among them 2 is about bin Laden and Afghanistan,
3 about a Qantas dispute, 4 cricket and 6 canyoning.
"""

import gzip
import json
import shutil

import numpy as np
import pytest
from conftest import LEE_TEST

import topics
from topics.evaluate import relative_error


@pytest.fixture
def model(sample_model_file):
    """A fresh copy of the sample model (edits change it)."""
    return topics.load(sample_model_file)


@pytest.fixture
def model_file(sample_model_file, tmp_path):
    path = tmp_path / "sample.joblib"
    shutil.copyfile(sample_model_file, path)
    return path


def weights(model) -> np.ndarray:
    return np.array(model.doc_topics_, dtype=np.float64)


# -- merge ----------------------------------------------------------------------------------------------
def test_merge_leaves_k_minus_1_topics_and_every_article_keeps_its_weight(model):
    before, words = weights(model), [t.words for t in model.topics(n_words=10, n_articles=0)]
    report = model.merge_topics([6, 2])

    after = weights(model)
    assert model.n_topics_ == 9 and after.shape == (before.shape[0], 9)
    np.testing.assert_allclose(after.sum(axis=1), before.sum(axis=1), rtol=1e-6)
    assert ((after.sum(axis=1) > 0) == (before.sum(axis=1) > 0)).all()  # every placed article stays placed
    np.testing.assert_allclose(after[:, 2], before[:, 2] + before[:, 6], rtol=1e-6)
    # the other topics keep their order and their weights; ids after 6 move down
    assert report.mapping == [0, 1, 2, 3, 4, 5, 2, 6, 7, 8]
    np.testing.assert_array_equal(after[:, [0, 1, 3, 4, 5, 6, 7, 8]], before[:, [0, 1, 3, 4, 5, 7, 8, 9]])
    # the merged topic lists both topics' first words; the others keep their words in their fitted order
    topics_after = model.topics(n_words=10, n_articles=0)
    assert {words[2][0], words[6][0]} <= set(topics_after[2].words)
    assert [t.words for t in topics_after[3:6]] == words[3:6] and topics_after[6].words == words[7]
    assert report.groups[0]["merged"] == [2, 6] and report.groups[0]["label"] == model.topics()[2].label


def test_merged_topic_words_are_a_weighted_mix_and_the_fit_error_is_exact(model):
    H, W = np.array(model.components_, dtype=np.float64), weights(model)
    model.merge_topics([2, 6])
    m = W[:, 2] + W[:, 6]
    expected = (m @ W[:, 2] * H[2] + m @ W[:, 6] * H[6]) / (m @ m)  # least squares for the summed column
    np.testing.assert_allclose(model.components_[2], expected, rtol=1e-5, atol=1e-9)
    # the baseline topics.incremental measures new batches against follows the edit
    direct = relative_error(model.doc_terms_, model.doc_topics_, model.components_)
    assert model.fit_info_["relative_error"] == pytest.approx(direct, abs=1e-5)
    assert model.fit_info_["edits"][-1]["action"] == "merge"


def test_merge_keeps_names(model):
    model.rename_topic(2, "Afghanistan").rename_topic(6, "Canyoning").rename_topic(8, "Economy")
    model.merge_topics([2, 6])
    assert model.topic_names_ == {2: "Afghanistan / Canyoning", 7: "Economy"}
    model.merge_topics([0, 1], name="Sydney and the Middle East")
    assert model.topics()[0].label == "Sydney and the Middle East"
    auto = model.topics()[1].auto_label
    model.merge_topics([1, 2], name="")  # "" : no name, a label from its words
    assert 1 not in model.topic_names_ and model.topics()[1].label != auto
    assert model.topic_names_ == {0: "Sydney and the Middle East", 5: "Economy"}


def test_merge_changes_the_similarity_index_and_round_trips(model, tmp_path):
    model.merge_topics([2, 6])
    path = model.save(tmp_path / "merged.joblib")
    loaded = topics.load(path)
    assert [t.to_dict() for t in loaded.topics()] == [t.to_dict() for t in model.topics()]
    # the loaded index is built from the saved W: equal hits mean the in-memory index was updated too
    for article in ("lee-bg-107", "lee-bg-266"):
        assert [(h.id, round(h.score, 5)) for h in model.similar(id=article, k=5)] == [
            (h.id, round(h.score, 5)) for h in loaded.similar(id=article, k=5)
        ]
    hit = model.similar(id="lee-bg-107", k=1, explain=True)[0]
    assert {t["label"] for t in hit.explanation.to_dict()["topics"]} <= {t.label for t in model.topics()}
    assert model.get_params()["n_topics"] == 9  # a refit fits the topics kept


# -- drop -----------------------------------------------------------------------------------------------
def test_drop_places_the_dropped_topics_articles_in_the_others(model):
    model.rename_topic(5, "Asylum").rename_topic(8, "Economy")
    before = weights(model)
    report = model.drop_topic(3)

    after = weights(model)
    assert model.n_topics_ == 9 and after.shape == (before.shape[0], 9)
    had_topic = before[:, 3] > 0
    assert report.n_replaced == had_topic.sum() > 0 and report.n_unplaced == 0
    assert (after[had_topic].sum(axis=1) > 0).all()  # every article of the dropped topic is placed again
    # articles without weight in the dropped topic keep their weights
    np.testing.assert_array_equal(after[~had_topic], np.delete(before[~had_topic], 3, axis=1))
    assert report.mapping == [0, 1, 2, None, 3, 4, 5, 6, 7, 8]
    assert model.topic_names_ == {4: "Asylum", 7: "Economy"}
    assert report.dropped_label.startswith("qantas")
    assert "qantas" not in {w for t in model.topics(n_words=5) for w in t.words}
    direct = relative_error(model.doc_terms_, model.doc_topics_, model.components_)
    assert model.fit_info_["relative_error"] == pytest.approx(direct, abs=1e-5)


def test_dropped_articles_get_the_weights_a_fresh_placement_gives(model):
    """Placing every article again in the remaining topics changes only the dropped topic's articles."""
    from topics.topic_model import nmf_transform

    H = np.delete(np.asarray(model.components_), 3, axis=0)
    model.drop_topic(3)
    np.testing.assert_allclose(weights(model), nmf_transform(model.doc_terms_, H), atol=1e-4)


def test_placing_on_threads_gives_the_same_weights(model, monkeypatch):
    from topics import edit

    alone, _ = edit.drop_topic(model.state_, 3)
    monkeypatch.setattr(edit, "_ROWS_PER_THREAD", 10)  # the sample's ~100 articles of topic 3 on every core
    threaded, _ = edit.drop_topic(model.state_, 3)
    np.testing.assert_array_equal(threaded.doc_topics, alone.doc_topics)


# -- reduce ---------------------------------------------------------------------------------------------
def test_reduce_to_k_merges_the_closest_topics(model):
    before = weights(model)
    report = model.reduce_topics(6)
    assert model.n_topics_ == 6 == report.n_topics and len(model.topics()) == 6
    np.testing.assert_allclose(weights(model).sum(axis=1), before.sum(axis=1), rtol=1e-6)
    merged = [t for g in report.groups for t in g["merged"]]
    assert len(merged) - len(report.groups) == 4  # 10 - 6 merges
    for g in report.groups:
        assert all(report.mapping[t] == g["topic"] for t in g["merged"])
        assert len(g["labels"]) == len(g["merged"])


def test_reduce_labels_merged_topics_by_their_words_and_keeps_other_names(model):
    model.rename_topic(4, "Cricket").rename_topic(5, "Asylum").rename_topic(9, "Hollingworth")
    report = model.reduce_topics(6)
    assert report.groups[0]["merged"] == [0, 1, 2, 5, 8]  # the sample's general news, asylum among it
    assert model.topic_names_ == {report.mapping[4]: "Cricket", report.mapping[9]: "Hollingworth"}
    assert "Asylum" in report.groups[0]["labels"] and model.topics()[0].named is False
    assert report.groups[0]["label"] == model.topics()[0].label == model.topics()[0].auto_label


def test_reduce_groups_are_average_linkage_clusters(model):
    """The same groups as scipy's average-linkage clustering of the topic rows by cosine."""
    from scipy.cluster.hierarchy import fcluster, linkage

    H = np.asarray(model.components_, dtype=np.float64)
    clusters = fcluster(linkage(H, method="average", metric="cosine"), t=5, criterion="maxclust")
    expected = sorted(sorted(np.flatnonzero(clusters == c).tolist()) for c in set(clusters))
    report = model.reduce_topics(5)
    groups = sorted(
        [g["merged"] for g in report.groups]
        + [[t] for t, n in enumerate(report.mapping) if report.mapping.count(n) == 1]
    )
    assert groups == expected


def test_reduce_adjusts_the_fit_error_exactly(model):
    model.reduce_topics(4)
    direct = relative_error(model.doc_terms_, model.doc_topics_, model.components_)
    assert model.fit_info_["relative_error"] == pytest.approx(direct, abs=1e-5)


def test_products_over_the_terms_topics_use_equal_the_plain_products(model):
    """A large archive's topics use a few percent of its terms; the edits' products skip the others."""
    from topics.edit import products_by_rows, products_by_terms

    H = np.array(model.components_, dtype=np.float64)
    H[:, np.random.default_rng(0).random(H.shape[1]) < 0.7] = 0.0  # topics that use 30% of the terms
    X = model.doc_terms_
    rows = X[np.flatnonzero(weights(model)[:, 3] > 0)]
    np.testing.assert_array_equal(products_by_rows(rows, H[[1, 3, 5]]), rows @ H[[1, 3, 5]].T)  # the same sums
    np.testing.assert_allclose(products_by_terms(model.index_.postings, H[[2, 6]]), X @ H[[2, 6]].T, rtol=1e-12)


# -- bad input ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda m: m.merge_topics([2]), topics.ParameterError),
        (lambda m: m.merge_topics([2, 2]), topics.ParameterError),
        (lambda m: m.merge_topics(2), topics.ParameterError),
        (lambda m: m.merge_topics([2, 10]), topics.QueryError),
        (lambda m: m.drop_topic(-1), topics.QueryError),
        (lambda m: m.reduce_topics(10), topics.ParameterError),
        (lambda m: m.reduce_topics(0), topics.ParameterError),
        (lambda m: m.reduce_topics(2.5), topics.ParameterError),
        (lambda m: m.merge_topics([2, 6], name=3), topics.ParameterError),
    ],
)
def test_bad_edits_raise_and_change_nothing(model, call, error):
    state = model.state_
    with pytest.raises(error):
        call(model)
    assert model.state_ is state and model.n_topics_ == 10


def test_the_last_topic_cannot_be_dropped(model):
    model.reduce_topics(1)
    assert model.n_topics_ == 1 and model.topics()[0].weight == pytest.approx(1.0)
    with pytest.raises(topics.ParameterError, match="only topic"):
        model.drop_topic(0)


# -- the command line -----------------------------------------------------------------------------------
def test_cli_merge_saves_in_place_and_says_what_moved(run_cli, model_file, model):
    result = run_cli("merge", "2", "6", "--model", model_file)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Merged topics 2 'bin laden") and "into topic 2 " in lines[0]
    assert lines[1] == f"9 topics remain; ids 7-9 are now 6-8. Saved {model_file}."
    model.merge_topics([2, 6])  # the same edit through the API
    saved = topics.load(model_file)
    assert [t.to_dict() for t in saved.topics()] == [t.to_dict() for t in model.topics()]


def test_cli_drop_and_reduce_json(run_cli, model_file):
    dropped = run_cli("drop", "3", "--model", model_file, "--format", "json")
    assert dropped.exit_code == 0, dropped.stderr
    doc = dropped.json()
    assert (doc["action"], doc["n_topics"], doc["dropped"], doc["mapping"][3]) == ("drop", 9, 3, None)
    reduced = run_cli("reduce", "--to", "5", "--model", model_file, "--format", "json")
    assert reduced.exit_code == 0, reduced.stderr
    assert reduced.json()["n_topics"] == 5 and topics.load(model_file).n_topics_ == 5
    table = run_cli("reduce", "--to", "3", "--model", model_file)
    assert table.stdout.startswith("Reduced 5 topics to 3 by merging:") and "3 topics remain" in table.stdout
    history = [e["action"] for e in topics.load(model_file).fit_info_["edits"]]
    assert history == ["drop", "reduce", "reduce"]


def test_cli_add_works_on_a_merged_model(run_cli, model_file, tmp_path):
    merged = run_cli("merge", "2", "6", "--model", model_file, "--format", "json")
    assert merged.exit_code == 0, merged.stderr
    batch = tmp_path / "batch.jsonl"
    with gzip.open(LEE_TEST, "rt", encoding="utf-8") as f:  # articles of the sample: replaced by themselves
        batch.write_text("".join(list(f)[:20]), encoding="utf-8")
    result = run_cli("add", batch, "--replace", "--model", model_file, "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["n_replaced"] == 20 and len(report["topic_shares"]) == 9
    # drift is measured against the merged topics' error on the archive, not the fitted topics'
    assert report["fitted_relative_error"] == merged.json()["relative_error"] > merged.json()["relative_error_before"]
    assert report["error_ratio"] < 1.25 and not report["refit_advised"]
    grown = topics.load(model_file)
    assert grown.doc_topics_.shape == (351, 9) and grown.n_topics_ == 9
    assert grown.similar(id="lee-00", k=3) and grown.topics()[2].label == merged.json()["groups"][0]["label"]
    assert [e["action"] for e in grown.fit_info_["edits"]] == ["merge"]


@pytest.mark.parametrize(
    "args",
    [
        ["merge", "2"],
        ["merge", "2", "2"],
        ["merge", "2", "10"],
        ["merge", "2", "x"],
        ["drop", "10"],
        ["reduce", "--to", "10"],
        ["reduce", "--to", "0"],
        ["reduce"],
    ],
)
def test_cli_bad_edits_exit_2_and_leave_the_file_as_it_was(run_cli, model_file, args):
    before = model_file.read_bytes()
    result = run_cli(*args, "--model", model_file)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(("topics: error: ", "Usage:")) and "Traceback" not in result.stderr
    assert model_file.read_bytes() == before


def test_cli_dropping_the_last_topic_is_refused(run_cli, model_file):
    assert run_cli("reduce", "--to", "1", "--model", model_file).exit_code == 0
    before = model_file.read_bytes()
    result = run_cli("drop", "0", "--model", model_file)
    assert result.exit_code == 2 and result.stderr.strip().count("\n") == 0
    assert result.stderr == "topics: error: topic 0 is the model's only topic; it cannot be dropped\n"
    assert model_file.read_bytes() == before


def test_json_report_is_plain_data(model):
    report = model.merge_topics([2, 6])
    assert json.loads(json.dumps(report.to_dict())) == report.to_dict()
