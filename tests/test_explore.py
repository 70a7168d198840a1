"""Finding topics, topics by a metadata field, the topic tree and map, topic words over time."""

import numpy as np
import pytest

import topics
from topics.topic_space import classical_scaling, js_distances


@pytest.fixture(scope="module")
def grouped(newsgroup_records):
    """6 topics over the 200 dated newsgroup posts, each post keeping its newsgroup as its "group"."""
    from newsgroup_dates import dated_articles

    groups = {r["id"]: r["label"] for r in newsgroup_records}
    articles = [
        topics.Article(id=a.id, text=a.text, title=a.title, date=a.date, meta={"group": groups[a.id]})
        for a in dated_articles(newsgroup_records)
    ]
    return topics.fit(articles, n_topics=6, random_state=0, source_field="group")


@pytest.fixture(scope="module")
def grouped_file(tmp_path_factory, grouped):
    path = tmp_path_factory.mktemp("grouped") / "grouped.joblib"
    grouped.save(path)
    return path


def _topic_with(model, word):
    return next(t.id for t in model.summary() if word in t.words)


# -- find topics ----------------------------------------------------------------------------------------
def test_find_topics_puts_the_topic_of_the_words_first(grouped):
    space = _topic_with(grouped, "space")
    found = grouped.find_topics("space shuttle orbit launch", k=3)
    assert found[0][0].id == space and isinstance(found[0][0], topics.Topic)
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1 + 1e-9
    everything = grouped.find_topics("space shuttle orbit launch", k=6)
    assert sum(s for _, s in everything) == pytest.approx(1.0)
    # a stored article: the same ranking as its row of W
    row = np.asarray(grouped.doc_topics_[7], dtype=np.float64)
    by_id = grouped.find_topics({"id": grouped.articles_.ids[7]}, k=6)
    assert [t.id for t, _ in by_id] == [int(t) for t in np.argsort(-row, kind="stable") if row[t] > 0]
    assert by_id[0][1] == pytest.approx(row.max() / row.sum())


def test_find_topics_refuses_what_it_cannot_place(grouped):
    with pytest.raises(topics.QueryError, match="no words the model knows"):
        grouped.find_topics("qwxz zzyzx")
    with pytest.raises(topics.QueryError, match="the query text is empty"):
        grouped.find_topics("   ")
    with pytest.raises(topics.ParameterError, match="k=0 is not allowed"):
        grouped.find_topics("space", k=0)
    with pytest.raises(topics.QueryError, match="no article with id 'nope'"):
        grouped.find_topics({"id": "nope"})


# -- topics by a field ----------------------------------------------------------------------------------
def test_topics_by_a_field_matches_a_plain_reference(grouped, newsgroup_records):
    by = grouped.topics_by("group")
    assert by.values == ["alt.atheism", "sci.space"] and by.n_missing == 0
    W = np.asarray(grouped.doc_topics_, dtype=np.float64)
    group = np.array([grouped.articles_.sources[i] for i in range(len(grouped.articles_))])
    A = np.stack([W[group == g].sum(axis=0) for g in by.values])
    np.testing.assert_allclose(by.weights, A, rtol=1e-9)
    assert list(by.n_articles) == [int((group == g).sum()) for g in by.values]
    np.testing.assert_allclose(by.mix.sum(axis=1), 1.0)
    np.testing.assert_allclose(by.spread.sum(axis=0), 1.0)
    rest = A[::-1]  # with two groups, "every other value" is the other group
    ratio = (A / A.sum(axis=1, keepdims=True)) / (rest / rest.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(by.ratio, ratio, rtol=1e-9)
    led = np.stack([np.bincount(W[group == g].argmax(axis=1), minlength=6) for g in by.values])
    np.testing.assert_array_equal(by.over, (ratio >= 2) & (led >= 3))
    # the space topic is written in sci.space, and over-represented there
    space = _topic_with(grouped, "space")
    assert by.spread[1, space] > 0.9 and by.over[1, space] and not by.over[0, space]
    frame = by.to_frame()
    assert len(frame) == 2 * 6 and list(frame.columns[:3]) == ["group", "topic", "label"]
    doc = by.to_dict()
    assert [v["value"] for v in doc["values"]] == by.values and len(doc["topics"]) == 6


def test_topics_by_names_the_fields_there_are(grouped, sample_model):
    with pytest.raises(topics.QueryError, match=r"^no field 'party' in this model; its per-article fields: group$"):
        grouped.topics_by("party")
    with pytest.raises(topics.QueryError, match="its per-article fields: none"):
        sample_model.topics_by("source")
    may = grouped.topics_by("group", since="1993-05")
    assert int(may.n_articles.sum()) == 11


# -- tree and map ---------------------------------------------------------------------------------------
def test_topic_tree_joins_the_closest_topics_first(grouped):
    tree = grouped.topic_tree()
    k = 6
    assert len(tree.nodes) == k - 1 and tree.root == 2 * k - 2
    assert tree.nodes[-1]["topics"] == list(range(k))
    members = {t: {t} for t in range(k)}
    for node in tree.nodes:
        a, b = node["children"]
        members[node["id"]] = members[a] | members[b]
        assert sorted(members[node["id"]]) == node["topics"] and node["label"]
    distances = [n["distance"] for n in tree.nodes]
    assert distances == sorted(distances)  # average linkage never joins below an earlier join
    H = np.asarray(grouped.components_, dtype=np.float64)
    U = H / np.linalg.norm(H, axis=1, keepdims=True)
    cos = U @ U.T
    np.fill_diagonal(cos, -1)
    assert set(tree.nodes[0]["children"]) == set(np.unravel_index(cos.argmax(), cos.shape))
    assert distances[0] == pytest.approx(1 - cos.max(), abs=1e-6)
    lines = tree.text().splitlines()
    assert len(lines) == 2 * k - 1 and lines[0].startswith(f"[{distances[-1]:.2f}]")


def test_js_distances_match_scipy_and_scaling_recovers_a_plane():
    from scipy.spatial.distance import jensenshannon

    rng = np.random.default_rng(0)
    H = rng.random((5, 40)) * (rng.random((5, 40)) < 0.5)
    D = js_distances(H)
    for a in range(5):
        for b in range(5):
            assert D[a, b] == pytest.approx(jensenshannon(H[a], H[b], base=2) if a != b else 0.0, abs=1e-9)
    points = rng.normal(size=(8, 2))
    plane = np.linalg.norm(points[:, None] - points[None], axis=2)
    xy, explained = classical_scaling(plane)
    np.testing.assert_allclose(np.linalg.norm(xy[:, None] - xy[None], axis=2), plane, atol=1e-9)
    assert explained == pytest.approx(1.0)


def test_topic_map_sizes_are_shares(grouped):
    m = grouped.topic_map()
    assert [t["id"] for t in m.topics] == list(range(6)) and m.n_articles == 200
    assert sum(t["weight"] for t in m.topics) == pytest.approx(1.0)
    assert [t["weight"] for t in m.topics] == pytest.approx([t.weight for t in grouped.summary()])
    assert 0 < m.explained <= 1
    np.testing.assert_allclose(m.distances, m.distances.T)
    may = grouped.topic_map(since="1993-05")
    assert may.n_articles == 11 and [t["x"] for t in may.topics] == [t["x"] for t in m.topics]


# -- words over time ------------------------------------------------------------------------------------
def test_topic_words_over_time_follow_the_periods_articles(grouped):
    from topics.summary import topic_sizes
    from topics.topic_model import relevance_scale

    space = _topic_with(grouped, "space")
    words = grouped.topic_words_over_time(space, by="month", n_words=4)
    trends = grouped.trends(by="month")
    assert words.periods == trends.periods and list(words.n_articles) == list(trends.n_articles)
    W = np.asarray(grouped.doc_topics_, dtype=np.float64)
    X = grouped.doc_terms_
    month = grouped.articles_.dates.astype("datetime64[M]").astype(str)
    scale = relevance_scale(np.asarray(grouped.components_), topic_sizes(W)[0])
    for period, leading, weight in zip(words.periods, words.words, words.weights, strict=True):
        rows = np.flatnonzero(month == period)
        mass = np.asarray(X[rows].T @ W[rows, space]).ravel() * scale
        mass[~np.asarray(grouped.components_).any(axis=0)] = 0  # only terms the topics are made of
        assert leading[0] == grouped.vectorizer_.terms([int(mass.argmax())])[0]
        assert 1 <= len(leading) <= 4 and weight == pytest.approx(W[rows, space].sum())
    assert words.to_dict()["periods"][0]["words"] == words.words[0]
    with pytest.raises(topics.QueryError, match="no topic 9"):
        grouped.topic_words_over_time(9)


# -- the CLI --------------------------------------------------------------------------------------------
def test_cli_find(run_cli, grouped_file, grouped):
    out = run_cli("find", "space", "shuttle", "-m", grouped_file)
    assert out.exit_code == 0, out.stderr
    assert out.stdout.splitlines()[1].split()[1] == str(_topic_with(grouped, "space"))
    doc = run_cli("find", "--id", grouped.articles_.ids[3], "-m", grouped_file, "--format", "json").json()
    assert doc["query"] == {"id": grouped.articles_.ids[3]} and doc["topics"][0]["score"] > 0
    bad = run_cli("find", "qwxz", "-m", grouped_file)
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1 and "no words the model knows" in bad.stderr
    neither = run_cli("find", "-m", grouped_file)
    assert neither.exit_code == 2 and "give exactly one of WORDS, --file or --id" in neither.stderr


def test_cli_by_tree_map_and_words(run_cli, grouped_file, grouped, tmp_path):
    out = run_cli("by", "group", "-m", grouped_file, "--plot", "by.png")
    assert out.exit_code == 0, out.stderr
    assert "alt.atheism" in out.stdout and "sci.space" in out.stdout and "Chart: by.png" in out.stdout
    assert (tmp_path / "by.png").read_bytes()[:4] == b"\x89PNG"
    bad = run_cli("by", "party", "-m", grouped_file)
    assert bad.exit_code == 2 and bad.stderr == (
        "topics: error: no field 'party' in this model; its per-article fields: group\n"
    )
    tree = run_cli("tree", "-m", grouped_file, "--plot", "tree.png")
    assert tree.exit_code == 0 and tree.stdout.startswith("[") and (tmp_path / "tree.png").stat().st_size > 0
    assert run_cli("tree", "-m", grouped_file, "--format", "json").json()["root"] == 10
    doc = run_cli("map", "-m", grouped_file, "--plot", "map.png", "--format", "json").json()
    assert [t["id"] for t in doc["topics"]] == list(range(6)) and (tmp_path / "map.png").exists()
    space = _topic_with(grouped, "space")
    words = run_cli("trends", "--topics", space, "--words", "-m", grouped_file)
    assert words.exit_code == 0, words.stderr
    assert words.stdout.startswith(f"Topic {space}: ") and "1993-04" in words.stdout
    assert run_cli("trends", "--words", "-m", grouped_file).exit_code == 2
