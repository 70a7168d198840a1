"""Archives in other languages: the language is detected, its stop words left out, English unchanged."""

import numpy as np
import pytest
from conftest import DATA, LEE_BACKGROUND, SAMPLE, read_jsonl

import topics
from topics.language import detect_language, detect_languages, language_stop_words, main_languages

DUTCH = DATA / "parlspeech-nl-600.jsonl.gz"
# The commonest Dutch function words: none may stand among a topic's words.
DUTCH_FUNCTION_WORDS = set("de het een van en dat die in is op te ik niet wij je zijn voor met er aan ook als".split())
FORMAT1 = DATA.parent / "fixtures" / "format1-lee50.joblib"


@pytest.fixture(scope="module")
def dutch_records():
    return read_jsonl(DUTCH)


@pytest.fixture(scope="module")
def dutch_model():
    """16 topics over 600 real Dutch parliamentary speeches, the language detected; read-only."""
    return topics.fit(DUTCH, random_state=0)


def words_of(model, n=10):
    return [t.words for t in model.topics(n_words=n, n_articles=0)]


def test_short_texts_are_told_apart():
    assert detect_language("Dank u wel, voorzitter. Ik geef het woord aan de minister.") == "nl"
    assert detect_language("The minister answered questions about the budget.") == "en"
    assert detect_language("Der Bundestag hat heute über den Haushalt beraten.") == "de"
    assert detect_language("12 345 -- !!") is None


def test_the_dutch_speeches_are_found_dutch(dutch_records):
    shares = detect_languages([r["text"] for r in dutch_records])
    assert next(iter(shares)) == "nl" and shares["nl"] > 0.9
    assert main_languages(shares) == ["nl"]  # stray misreadings of one-line speeches bring no stop list


def test_dutch_topics_are_not_function_words_or_formulae(dutch_model):
    assert dutch_model.fit_info_["stop_word_languages"] == ["nl"]
    formulae = set(dutch_model.fit_info_["formulae"])
    assert {"voorzitter", "vraag"} <= formulae  # the chair's address and "question" are in every debate
    junk_words = language_stop_words("nl") | formulae
    for words in words_of(dutch_model):
        assert not DUTCH_FUNCTION_WORDS & {w for term in words for w in term.split()}, words
        assert sum(w in junk_words for w in words) < 5, words


def test_contractions_of_function_words_are_not_terms(dutch_model):
    from topics.analyzer import Analyzer

    vocabulary = set(dutch_model.vectorizer_.vocabulary_.tolist())
    assert not {b"zo'n", b"m'n", b"z'n"} & vocabulary  # "such a", "my", "his": the speeches use them often
    assert b"auto" in vocabulary or b"euro" in vocabulary  # plurals such as "euro's" keep their word
    analyzer = Analyzer(stop_words=language_stop_words("nl") | {"all"})
    assert analyzer("Zo'n gesprek met m'n collega O'Sullivan, y'all") == [
        "gesprek",
        "collega",
        "o'sullivan",
        "collega o'sullivan",
    ]


def test_english_can_be_forced_and_then_function_words_lead():
    model = topics.fit(DUTCH, random_state=0, language="en")
    assert model.fit_info_["stop_word_languages"] == ["en"] and model.fit_info_["languages"] == {}
    top = {w for words in words_of(model) for term in words for w in term.split()}
    assert len(DUTCH_FUNCTION_WORDS & top) >= 3  # what detection is for


def test_an_english_archive_gives_the_same_model_as_english_stop_words(sample_model):
    assert sample_model.fit_info_["languages"] == {"en": 1.0}
    english = topics.fit(SAMPLE, n_topics=10, random_state=0, language="en")
    assert np.array_equal(english.vectorizer_.vocabulary_, sample_model.vectorizer_.vocabulary_)
    assert english.vectorizer_.analyzer.stop_words == sample_model.vectorizer_.analyzer.stop_words
    assert np.allclose(english.components_, sample_model.components_)


def test_a_mixed_archive_uses_both_stop_lists_and_queries_find_their_language(dutch_records):
    english = read_jsonl(LEE_BACKGROUND)
    records = dutch_records + english
    articles = [topics.Article(id=str(r["id"]), text=r["text"]) for r in records]
    model = topics.fit(articles, random_state=0)
    assert model.fit_info_["stop_word_languages"] == ["nl", "en"]
    stop = model.vectorizer_.analyzer.stop_words
    assert {"het", "een", "the", "which"} <= stop
    dutch_ids = {str(r["id"]) for r in dutch_records}
    hits = model.similar(text="De minister moet de motie over de begroting van justitie beantwoorden.", k=10)
    assert all(h.id in dutch_ids for h in hits)
    hits = model.similar(text="Bushfires burned homes near Sydney as firefighters fought the blaze.", k=10)
    assert not any(h.id in dutch_ids for h in hits)


def test_the_fit_report_and_info_name_the_languages(run_cli, tmp_path):
    result = run_cli("fit", DUTCH, "--model", tmp_path / "nl.joblib", "--quiet")
    assert result.exit_code == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("Languages: "))
    assert line.startswith("Languages: nl 9") and line.endswith("(stop words: nl).")
    info = run_cli("info", "--model", tmp_path / "nl.joblib")
    assert "languages       nl 9" in info.stdout
    footer = run_cli("info", "--model", tmp_path / "nl.joblib", "--format", "json").json()
    assert footer["stop_word_languages"] == ["nl"] and footer["languages"]["nl"] > 0.9
    model = topics.load(tmp_path / "nl.joblib")
    assert model.get_params()["language"] is None and model.fit_info_["stop_word_languages"] == ["nl"]

    forced = run_cli("fit", DUTCH, "--model", tmp_path / "en.joblib", "--quiet", "--language", "EN")
    assert "Languages: en (given)." in forced.stdout
    assert topics.load(tmp_path / "en.joblib").get_params()["language"] == "EN"


def test_a_language_without_a_stop_list_is_refused_in_one_line(run_cli, tmp_path):
    result = run_cli("fit", DUTCH, "--model", tmp_path / "m.joblib", "--language", "xx")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "topics: error: language='xx' is not allowed; use None (detected from the archive) or language codes "
        "such as 'de' or 'nl,en'"
    ]
    assert not (tmp_path / "m.joblib").exists()
    with pytest.raises(topics.ParameterError, match="language=3"):
        topics.TopicModel(language=3).fit(["a text"])


def test_models_saved_before_languages_were_detected_refit_with_english_stop_words():
    model = topics.load(FORMAT1)
    assert model.get_params()["language"] == "en"


CHINESE = DATA / "tang-poems-300.jsonl.gz"


def test_chinese_is_cut_into_words(tmp_path):
    pytest.importorskip("jieba")
    model = topics.fit(CHINESE, random_state=0)
    assert model.fit_info_["stop_word_languages"] == ["zh"] and model.fit_info_["language_warning"] is None
    assert model.vectorizer_.analyzer.segment == "zh"
    terms = [t.decode() for t in model.vectorizer_.vocabulary_]
    assert np.median([len(t) for t in terms]) <= 2  # words of one or two characters, not whole lines
    assert {"明月", "故乡", "春风"} <= set(terms)
    query = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    hits = model.similar(text=query, k=3)  # a query is cut into words the same way
    model.save(tmp_path / "zh.joblib")
    assert topics.store.read_footer(tmp_path / "zh.joblib")["format_version"] >= 4  # 5 when it searches rare words
    reopened = topics.load(tmp_path / "zh.joblib")
    assert reopened.vectorizer_.analyzer.segment == "zh"
    assert [h.id for h in reopened.similar(text=query, k=3)] == [h.id for h in hits]


def test_without_a_segmenter_chinese_gives_a_one_line_warning(monkeypatch, run_cli, tmp_path):
    import topics.language

    def missing(code):
        raise ImportError(f"no segmenter for {code}")

    monkeypatch.setattr(topics.language, "_segmenter", missing)
    warned = pytest.warns(topics.TopicsWarning, match=r"zh \(jieba\) has no spaces .* pip install 'topics\[cjk\]'")
    # each poem's lines are whole "words" no other poem has: nothing is left to learn topics from
    with warned, pytest.raises(topics.ParameterError, match="stubs"):
        topics.fit(CHINESE, random_state=0)
    result = run_cli("fit", CHINESE, "--model", tmp_path / "zh.joblib", "--quiet")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("topics: warning: text in zh (jieba) has no spaces between words")
    assert lines[1].startswith("topics: error: all 313 articles are stubs")


def test_japanese_is_cut_into_words():
    pytest.importorskip("janome")
    from topics.language import segmenter

    assert segmenter("ja")("東京で会議が開かれた").split() == ["東京", "で", "会議", "が", "開か", "れ", "た"]
