"""Clutter an archive carries is learned and left out: broken text, repeated lines, house formulae, stubs."""

import itertools
import re
import time

import numpy as np
import pytest

import topics
from topics.analyzer import Analyzer
from topics.clean import RepeatedSpans, repair_text

SHARE_STRIP = "Send Facebook Twitter Google+ Whatsapp Tumblr linkedin stumble Digg reddit Newsvine Permalink"
APPEAL = "Anyone with information is asked to contact the Garda Confidential Line on 1800 666 111 or any garda station."


def vocabulary(model):
    return {t.decode() for t in model.vectorizer_.vocabulary_}


def test_broken_text_is_repaired_and_never_becomes_terms():
    assert repair_text("Caf\u00c3\u00a9 owners &amp; staff <b>protest</b>") == "Café owners & staff  protest "
    # a word that lost a character for good is dropped, not split into debris such as "il"
    assert "il" not in Analyzer(clean=True, repair=True)("The D\ufffd\ufffdil debated the Bus ?ireann strike")
    assert Analyzer(clean=True, repair=True)("Is it?Yes") == ["is"]
    assert repair_text('DeVos"?highly contentious') == 'DeVos" . highly contentious'  # a lost dash, words kept
    assert repair_text("Plain ASCII text? Yes.") == "Plain ASCII text? Yes."
    terms = Analyzer(repair=True)("RT @healthtalk: flu shots work http://t.co/x https…")
    assert {t for t in terms if " " not in t} == {"rt", "flu", "shots", "work"}  # no handle, no link debris


def hazard_archive(lee_records):
    """Real Lee articles with the clutter of real archives injected: a share strip glued to the last
    sentence, a police appeal with the phone number written three ways, mojibake, entities and stubs."""
    texts = []
    for i, record in enumerate(lee_records):
        text = record["text"].replace("'", "\u00e2\u20ac\u2122") if i % 7 == 0 else record["text"]  # mojibake
        if i % 4 == 0:
            text = text.rstrip() + SHARE_STRIP + f" http://dw.com/p/{i:05d}"
        if i % 6 == 1:
            phone = ("1800 666 111", "1800-666-111", "1800 666111")[i % 3]
            text += " " + APPEAL.replace("1800 666 111", phone)
        if i % 9 == 2:
            text = text.replace(" and ", " &amp; ")
        texts.append({"id": f"lee-{i}", "text": text})
    texts += [
        {"id": "stub-1", "text": " March 20"},
        {"id": "stub-2", "text": "View Comments"},
        {"id": "stub-3", "text": "Like the poll tax."},
    ]
    return texts


def test_a_hazard_archive_is_cleaned_at_fit_and_query_time(lee_records, tmp_path):
    records = hazard_archive(lee_records)
    model = topics.fit([topics.Article(id=r["id"], text=r["text"]) for r in records], n_topics=6)
    words = vocabulary(model)
    assert not words & {"digg", "reddit", "newsvine", "permalink", "confidential", "garda", "amp"}
    assert not any("\u00e2" in w for w in words)
    clutter = model.clutter()
    assert any("digg reddit newsvine permalink" in span for span in clutter["spans"])
    assert any("garda confidential line" in span for span in clutter["spans"])
    assert clutter["n_repaired"] >= len(records) // 7 and clutter["n_stubs"] == 3
    # stubs stay findable by id but stand for no topic and are never hits
    stubs = {model.row_of(i) for i in ("stub-1", "stub-2", "stub-3")}
    assert set(model.stub_rows().tolist()) == stubs
    assert "stub-1" not in [h.id for h in model.similar(text="women march on Washington", k=20)]
    assert all(
        t.articles and not {a["id"] for a in t.articles} & {"stub-1", "stub-2", "stub-3"}
        for t in model.summary(n_articles=10)
    )
    # a query carrying the strip is read as one without it, also after a save and load
    loaded = topics.load(model.save(tmp_path / "m.joblib"))
    assert_saved_stubs_are_used(loaded, stubs)
    query = lee_records[3]["text"]
    assert np.allclose(loaded.transform([query + SHARE_STRIP]), loaded.transform([query]))


def test_the_cli_reports_and_lists_what_was_left_out(lee_records, run_cli, tmp_path):
    import json

    path = tmp_path / "hazard.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in hazard_archive(lee_records)), encoding="utf-8")
    result = run_cli("fit", path, "--topics", "5", "--model", "m.joblib")
    assert result.exit_code == 0, result.stderr
    assert "Cleaned: repaired broken characters in" in result.stdout and "3 stubs kept out of topics" in result.stdout
    listed = run_cli("info", "--model", "m.joblib", "--clutter")
    assert listed.exit_code == 0 and "send facebook twitter google" in listed.stdout
    clutter = run_cli("info", "--model", "m.joblib", "--clutter", "--format", "json").json()["clutter"]
    assert clutter["n_stubs"] == 3 and clutter["spans"]
    # --keep-clutter keeps the lines; a stub queried by id still answers, an article with no known words is an error
    kept = run_cli("fit", path, "--topics", "5", "--model", "kept.joblib", "--keep-clutter")
    assert kept.exit_code == 0 and "digg reddit" in vocabulary(topics.load(tmp_path / "kept.joblib"))
    (tmp_path / "empty.jsonl").write_text(json.dumps({"id": "x", "text": "the of and"}) + "\n")
    run_cli("add", "empty.jsonl", "--model", "m.joblib")
    error = run_cli("similar", "x", "--model", "m.joblib")
    assert error.exit_code == 2 and "no words the model knows" in error.stderr and "Traceback" not in error.stderr


def test_house_formulae_are_learned_and_keep_words_win(lee_records, newsgroup_records):
    rng = np.random.default_rng(0)
    records = [r["text"] for r in lee_records] + [r["text"] for r in newsgroup_records]
    # a parliament's courtesy formula, used once in most speeches whatever they are about
    texts = []
    for text in records:
        words = text.split(" ")  # line breaks (a post's headers) stay
        if rng.random() < 0.4:
            at = int(rng.integers(0, len(words) + 1))
            words[at:at] = ["my", "honourable", "colleague", "says"]
        texts.append(" ".join(words))
    model = topics.fit(texts, n_topics=8)
    assert {"honourable", "colleague", "honourable colleague"} <= set(model.clutter()["formulae"])
    assert not {"honourable", "colleague"} & vocabulary(model)
    assert {"palestinian", "space", "afghanistan"} <= vocabulary(model)  # topic words stay
    kept = topics.fit(texts, n_topics=8, keep_words=["colleague"])
    assert "colleague" in vocabulary(kept) and "honourable" not in vocabulary(kept)
    small = topics.fit(texts[:300], n_topics=4)  # too few articles to tell a formula from a topic
    assert small.clutter()["formulae"] == {}


def test_in_short_posts_a_retweet_mark_is_a_formula_and_frequent_topic_words_are_not(lee_records):
    # Posts of one sentence each: nearly every word is used once per post, evenly, whatever it means. The
    # retweet mark is used by posts on every subject; "australia" and "government" by posts on some.
    rng = np.random.default_rng(0)
    sentences = [s for r in lee_records for s in re.split(r"(?<=[.!?])\s+", r["text"]) if len(s.split()) >= 5]
    posts = [("RT @leenews: " if rng.random() < 0.3 else "") + s for s in sentences]
    model = topics.fit(posts, n_topics=8)
    formulae = set(model.clutter()["formulae"])
    assert "rt" in formulae and "rt" not in vocabulary(model)
    assert {"australia", "government"} <= vocabulary(model) and not {"australia", "government"} & formulae


def test_an_archive_of_stubs_is_a_one_line_error(run_cli, tmp_path):
    captions = ["photo", "video", "comments", "gallery", "caption", "share", "print", "email", "related", "more"]
    lines = [f"{captions[i % 10]} {captions[(i * 3 + 1) % 10]} {i}" for i in range(30)]  # two words each
    (tmp_path / "stubs.txt").write_text("\n".join(lines) + "\n")
    result = run_cli("fit", "stubs.txt", "--topics", "2", "--min-df", "1")
    assert result.exit_code == 2 and "stubs" in result.stderr and "--min-words" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "models").exists()


def test_spans_need_copies_that_stand_apart():
    names = ["".join(p) for p in itertools.product("bdfgkl", "aeiou", "nrst")][:40]
    inside = [
        f"Story about {name} where White House press secretary Sean Spicer said it was {name}ish. More on {name}."
        for name in names
    ]
    assert not RepeatedSpans.learn([f"Title {i}.\n{t}" for i, t in enumerate(inside)])  # a phrase inside sentences
    credit = [
        f"Title {i}.\nThe story of {name} and {name}ville. Source: Al Jazeera and news agencies"
        for i, name in enumerate(names)
    ]
    assert RepeatedSpans.learn(credit).spans == {"source al jazeera and news agencies": 40}


@pytest.mark.parametrize(
    "text",
    [
        "a" * 100_000 + "?",
        "a@" * 50_000,
        ("x" * 60 + "@") * 2000,
        "In article <" * 10_000,
        "\n" * 50_000 + "By ",
        "\ufffd" * 50_000,
        "D?" * 50_000,
        "&amp" * 25_000,
        "<a " * 30_000,
    ],
)
def test_analysis_is_linear_on_adversarial_text(text):
    analyzer = Analyzer(clean=True, repair=True, spans=RepeatedSpans(["a b c d e f"]).get_config())
    started = time.perf_counter()
    analyzer(text)
    assert time.perf_counter() - started < 5  # quadratic patterns took minutes on 100 KB


def test_a_sources_house_terms_do_not_lead_topics(lee_records, tmp_path):
    import json

    rng = np.random.default_rng(1)
    records = []
    for i, record in enumerate(lee_records):
        source = ("zorblax.example", "planet.example", "daily.example")[i % 3]
        words = record["text"].split()
        if source == "zorblax.example":  # the outlet names itself once in every story, wherever
            at = int(rng.integers(0, len(words) + 1))
            words[at:at] = ["(Zorblax)"]
        records.append({"id": f"a{i}", "source": source, "text": " ".join(words)})
    path = tmp_path / "sourced.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    model = topics.fit(path, n_topics=6)
    assert model.clutter()["source_terms"] == {"zorblax": "zorblax.example"}
    assert "zorblax" not in vocabulary(model)
    sources = {name for t in model.summary() for name, _ in t.sources}
    assert sources == {"zorblax.example", "planet.example", "daily.example"}
    assert all(abs(sum(share for _, share in t.sources) - 1) < 0.2 for t in model.summary())
    assert model.summary().to_dict()["topics"][0]["sources"][0]["source"] in sources
    kept = topics.fit(path, n_topics=6, keep_words=["zorblax"])
    assert "zorblax" in vocabulary(kept) and kept.clutter()["source_terms"] == {}
    other_field = topics.fit(path, n_topics=6, source_field="missing")
    assert other_field.clutter()["source_terms"] == {} and not other_field.summary()[0].sources


def test_evaluate_flags_clutter_topics_and_tune_is_not_drawn_to_them(lee_records, tmp_path, run_cli):
    from topics.tune import choose_k

    # a share strip glued to a third of the articles, kept in the model on purpose
    texts = [r["text"] + (" " + SHARE_STRIP if i % 3 == 0 else "") for i, r in enumerate(lee_records)]
    kept = topics.fit(texts, n_topics=8, learn_clutter=False)
    result = kept.evaluate(texts, stability=False)
    strip_topics = [t for t in result["topics"] if {"digg", "reddit", "newsvine"} & set(t["words"])]
    assert strip_topics and all(t["clutter"] and t["span_share"] >= 0.3 for t in strip_topics)
    assert result["n_clutter"] == len(strip_topics) and result["npmi_clean"] < result["npmi"]
    clean = topics.fit(texts, n_topics=8).evaluate(texts, stability=False)
    assert clean["n_clutter"] == 0
    # the CLI lists a flagged topic after every clean one, saying why
    (tmp_path / "texts.txt").write_text("\n".join(t.replace("\n", " ") for t in texts) + "\n", encoding="utf-8")
    kept.save(tmp_path / "kept.joblib")
    listed = run_cli("evaluate", tmp_path / "texts.txt", "--model", "kept.joblib", "--no-stability")
    assert listed.exit_code == 0, listed.stderr
    rows = listed.stdout.splitlines()[2:]
    flagged = [i for i, row in enumerate(rows) if "lines " in row]
    assert flagged and flagged == list(range(len(rows) - len(flagged), len(rows)))
    # choose_k prefers the clean score: a k whose NPMI comes from clutter loses
    rows = [
        {"k": 5, "npmi": 0.20, "npmi_clean": 0.20, "diversity": 0.9},
        {"k": 10, "npmi": 0.30, "npmi_clean": 0.15, "diversity": 0.9},
    ]
    assert choose_k(rows)[0] == 5


def test_adding_another_kind_of_text_says_so_and_advises_a_refit(lee_records, newsgroup_records, run_cli, tmp_path):
    import json

    model = topics.fit(
        [topics.Article(id=f"lee-{i}", text=r["text"]) for i, r in enumerate(lee_records[:250])], n_topics=8
    )
    model.save(tmp_path / "news.joblib")
    more_news = model.add([topics.Article(id=f"more-{i}", text=r["text"]) for i, r in enumerate(lee_records[250:])])
    assert not more_news.another_domain
    (tmp_path / "posts.jsonl").write_text(
        "".join(json.dumps({"id": f"p{r['id']}", "text": r["text"]}) + "\n" for r in newsgroup_records[:80]),
        encoding="utf-8",
    )
    result = run_cli("add", "posts.jsonl", "--model", "news.joblib")
    assert result.exit_code == 0, result.stderr
    assert "Refit advised: the new articles read like another kind of text than the archive" in result.stdout
    assert "topics refit CORPUS" in result.stdout
    report = run_cli("add", "posts.jsonl", "--model", "news.joblib", "--replace", "--format", "json").json()
    assert report["another_domain"] and report["refit_advised"]


def test_copies_of_a_syndicated_story_are_content_not_clutter(lee_records):
    # eight outlets print the same wire story; a promo follows a fifth of all articles
    story = lee_records[0]["text"]
    texts = [r["text"] for r in lee_records[1:200]] + [f"Outlet {i} headline.\n{story}" for i in range(8)]
    texts = [
        t
        + (
            "\nDo you have a story you want to share with the Daily Planet? Here's how to reach us."
            if i % 5 == 0
            else ""
        )
        for i, t in enumerate(texts)
    ]
    spans = RepeatedSpans.learn(texts)
    promo = "do you have a story you want to share with the daily planet here s how to reach us"
    assert spans.spans and all(span.endswith(promo) and len(span) < len(promo) + 10 for span in spans.spans)
    copy = texts[-1]  # a copy without the promo is left whole
    assert spans.strip(copy) == copy
    promo_alone = "Just a promo.\nDo you have a story you want to share with the Daily Planet? Here's how to reach us."
    alone = spans.strip(promo_alone)
    assert re.findall(r"\w+", alone) == ["Just", "a", "promo"]  # a text that is mostly clutter loses it too


def test_a_late_publishers_line_is_learned_from_a_sample_of_the_whole_archive(lee_records, tmp_path):
    import json

    from topics.corpus import read_corpus

    credit = "(Late Herald Weekly, page {page})"
    lines = []
    for i in range(6000):  # more than the first 5,000 articles: the late outlet's lines are all after them
        text = lee_records[i % len(lee_records)]["text"]
        if i >= 5000:
            text = text.rstrip() + credit.format(page=i % 30)
        lines.append(json.dumps({"id": f"a{i}", "body": text}))
    (tmp_path / "archive.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = read_corpus(tmp_path / "archive.jsonl", text_field="body")
    sample = corpus.sample_texts(1000, seed=0)
    assert len(sample) == 1000 and sample == corpus.sample_texts(1000, seed=0)
    late = sum("Late Herald" in t for t in sample)
    assert 100 < late < 250  # about a sixth of an even sample, not none as the first articles would give
    assert any("late herald weekly" in span for span in RepeatedSpans.learn(sample).spans)


def assert_saved_stubs_are_used(model, stubs):
    """A loaded model takes its stub rows from the file (a cold query would otherwise read all of X), but
    finds them again for another min_words."""
    import topics.model as model_module

    real = model_module.stub_rows
    model_module.stub_rows = lambda *a: (_ for _ in ()).throw(AssertionError("X was read for stubs"))
    try:
        assert set(model.stub_rows().tolist()) == stubs
    finally:
        model_module.stub_rows = real
    model.set_params(min_words=1)
    assert model.stub_rows().size < len(stubs)  # one-word stubs pass now: found again from X
    model.set_params(min_words=3)
