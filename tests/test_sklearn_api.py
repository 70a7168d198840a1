"""TopicModel as a scikit-learn estimator (clone, Pipeline, set_params), the exported return types, and
one error type for a missing optional extra."""

import copy
import pickle
import sys
import typing

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer
from sklearn.utils import estimator_checks
from sklearn.utils.validation import check_is_fitted

import topics
from topics import Article, TopicModel

# scikit-learn's own checks that hold for an estimator of texts: the rest fit on numeric arrays, and their
# text equivalents are the tests below. A check the installed scikit-learn lacks is skipped.
API_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_get_params_invariance",
    "check_set_params",
    "check_parameters_default_constructible",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_valid_tag_types",
    "check_estimator_tags_renamed",
    "check_mixin_order",
]
EXAMPLES = [
    TopicModel(),
    TopicModel(
        5,
        random_state=None,
        min_df=0.01,
        extra_stop_words=["said", "told"],
        keep_words=("us",),
        term_weighting="log-entropy",
        learn_clutter=False,
    ),
]


@pytest.fixture(scope="module")
def lee_texts(lee_records):
    return [r["text"] for r in lee_records]


@pytest.fixture(scope="module")
def lee_model(lee_texts):
    """Three topics over the 300 Lee news articles; read-only."""
    return TopicModel(n_topics=3, extra_stop_words=("said",), keep_words=["us"]).fit(lee_texts)


@pytest.mark.parametrize("estimator", EXAMPLES, ids=["defaults", "set"])
@pytest.mark.parametrize("check_name", API_CHECKS)
def test_scikit_learn_api_checks(check_name, estimator, recwarn):
    check = getattr(estimator_checks, check_name, None)
    if check is None:
        pytest.skip(f"scikit-learn {__import__('sklearn').__version__} has no {check_name}")
    check("TopicModel", estimator)
    # check_set_params only warns when set_params validates: values must wait for fit
    assert not [w for w in recwarn if "set_params" in str(w.message)]


def test_methods_take_y_second_as_pipelines_pass_it():
    import inspect

    for method in (TopicModel.fit, TopicModel.fit_transform):
        assert list(inspect.signature(method).parameters)[:3] == ["self", "corpus", "y"]


def test_fit_leaves_its_parameters_as_given_and_adds_only_fitted_state(lee_texts):
    # check_estimators_overwrite_params and check_dont_overwrite_parameters, on texts
    model = clone(EXAMPLES[1]).set_params(n_topics=3)
    params = model.get_params()
    before, hashes = dict(vars(model)), {name: joblib.hash(value) for name, value in params.items()}
    assert model.fit(lee_texts, np.zeros(len(lee_texts))) is model
    assert all(model.get_params()[name] is value for name, value in params.items())
    assert {name: joblib.hash(value) for name, value in model.get_params().items()} == hashes
    added = set(vars(model)) - set(before)
    assert added and all(name.endswith("_") or name.startswith("_") for name in added)
    assert all(vars(model)[name] is value for name, value in before.items())


def test_clone_gives_an_unfitted_copy_with_equal_parameters(lee_model):
    copied = clone(lee_model)
    assert copied is not lee_model and type(copied) is TopicModel
    assert copied.get_params() == lee_model.get_params()
    assert copied.extra_stop_words == ("said",) and copied.keep_words == ["us"]  # as given, not sorted or cast
    assert copied.keep_words is not lee_model.keep_words  # a copy: mutating one leaves the other
    check_is_fitted(lee_model)
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(copied)
    with pytest.raises(topics.NotFittedError):
        copied.transform(["bushfire near Sydney"])


def test_set_params_sets_by_name_and_returns_self():
    model = TopicModel()
    assert model.set_params(n_topics=7, keep_words=["us"]) is model
    assert model.n_topics == 7 and model.keep_words == ["us"]
    assert model.set_params() is model
    assert model.set_params(n_topics=0) is model  # values are checked by fit, as in scikit-learn
    with pytest.raises(topics.ParameterError, match=r"n_topics=0 is not allowed"):
        model.fit(["one text", "another text"])


def test_set_params_refuses_an_unknown_name_naming_it_and_the_allowed_ones():
    model = TopicModel(n_topics=4)
    with pytest.raises(topics.ParameterError) as error:
        model.set_params(n_topics=9, n_components=9)
    message = str(error.value)
    assert "'n_components'" in message and "n_topics" in message and "keep_words" in message
    assert isinstance(error.value, ValueError)  # what scikit-learn's set_params raises
    assert model.n_topics == 4  # nothing was changed
    with pytest.raises(topics.ParameterError, match="'topics__n_topics'"):
        model.set_params(topics__n_topics=9)  # a TopicModel holds no nested estimators


def test_get_params_names_exactly_the_constructor_parameters():
    import inspect

    names = [p for p in inspect.signature(TopicModel).parameters]
    assert sorted(TopicModel().get_params(deep=True)) == sorted(names)
    assert TopicModel().get_params(deep=False) == TopicModel().get_params(deep=True)


def test_fit_transform_returns_the_fitted_articles_topic_weights(lee_texts, lee_model):
    model = clone(lee_model)
    W = model.fit_transform(lee_texts)
    assert W.shape == (len(lee_texts), 3) and W.dtype == np.float32
    np.testing.assert_array_equal(W, lee_model.doc_topics_)  # the same seed gives the same fit
    np.testing.assert_allclose(W, model.transform(lee_texts), atol=1e-6)  # stored and queried texts agree
    W[:] = -1.0
    assert (model.doc_topics_ >= 0).all()  # a copy: the model keeps its W


def test_pipeline_fits_and_transforms_texts(lee_records, lee_texts, lee_model):
    query = ["Fire fighters are battling a bushfire near Sydney as strong winds fan the flames."]
    pipeline = Pipeline([("topics", TopicModel(n_topics=3, extra_stop_words=("said",), keep_words=["us"]))])
    W = pipeline.fit(lee_texts).transform(query)
    assert W.shape == (1, 3)
    np.testing.assert_allclose(W, lee_model.transform(query), atol=1e-6)
    # as a first step (fit_transform is called with y), with labels given and ignored
    labels = [r["label"] for r in lee_records]
    normalised = Pipeline([("topics", TopicModel(n_topics=3)), ("unit", Normalizer())]).fit(lee_texts, labels)
    assert np.linalg.norm(normalised.transform(query), axis=1) == pytest.approx([1.0])
    pipeline.set_params(topics__n_topics=4)
    assert pipeline.named_steps["topics"].n_topics == 4
    assert pipeline.fit(lee_texts).transform(query).shape == (1, 4)


def test_saved_word_lists_come_back_in_order_and_answer_the_same(tmp_path, lee_texts):
    model = TopicModel(n_topics=3, extra_stop_words={"told", "said"}, keep_words=["us", "pm"]).fit(lee_texts)
    model.save(tmp_path / "m.joblib")
    loaded = topics.load(tmp_path / "m.joblib")
    assert sorted(loaded.extra_stop_words) == ["said", "told"] and sorted(loaded.keep_words) == ["pm", "us"]
    assert model.extra_stop_words == {"told", "said"} and model.keep_words == ["us", "pm"]  # saving changed nothing
    np.testing.assert_array_equal(loaded.transform(lee_texts[:5]), model.transform(lee_texts[:5]))


# -- exported types -------------------------------------------------------------------------------------
def _topics_classes(annotation):
    if isinstance(annotation, type):
        return {annotation} if annotation.__module__.startswith("topics") else set()
    return set().union(*(_topics_classes(arg) for arg in typing.get_args(annotation)))


def test_every_type_a_public_method_returns_is_exported():
    returned = set()
    for name, member in vars(TopicModel).items():
        if callable(member) and not name.startswith("_"):
            returned |= _topics_classes(typing.get_type_hints(member).get("return"))
    assert {"Summary", "ArticleView", "Trends", "Hit", "Topic", "Explanation", "DuplicateGroup"} <= {
        cls.__name__ for cls in returned
    }
    for cls in returned | {topics.AddReport, topics.RefitReport, topics.ReadStats}:
        assert cls.__name__ in topics.__all__ and getattr(topics, cls.__name__) is cls
    assert all(hasattr(topics, name) for name in topics.__all__)


def test_add_and_refit_return_exported_reports(lee_records):
    articles = [Article(id=r["id"], text=r["text"], title=r.get("title"), date=r.get("date")) for r in lee_records]
    model = TopicModel(n_topics=3).fit(articles[:250])
    assert isinstance(model.add(articles[250:]), topics.AddReport)
    assert isinstance(model.refit(articles), topics.RefitReport)


def test_summary_view_and_trends_are_the_exported_types(lee_model, dated_model):
    assert isinstance(lee_model.summary(), topics.Summary)
    assert isinstance(lee_model.article(lee_model.articles_.ids[0], k=2), topics.ArticleView)
    assert isinstance(dated_model.trends(by="month"), topics.Trends)


# -- a missing optional extra -----------------------------------------------------------------------------
def _assert_missing_extra(error, extra, module):
    assert isinstance(error, topics.MissingExtraError)
    assert isinstance(error, topics.TopicsError) and isinstance(error, ImportError)
    assert error.extra == extra and error.name == module
    assert str(error).endswith(f": pip install 'topics[{extra}]'") and "\n" not in str(error)


def test_missing_pandas_names_the_pandas_extra(monkeypatch, lee_model, dated_model):
    summary, trends = lee_model.summary(), dated_model.trends(by="month")
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now fails as if not installed
    for result in (summary, trends):
        with pytest.raises(topics.MissingExtraError) as error:
            result.to_frame()
        _assert_missing_extra(error.value, "pandas", "pandas")
        assert str(error.value) == "to_frame() needs pandas: pip install 'topics[pandas]'"


def test_missing_matplotlib_names_the_plot_extra_and_is_still_a_plot_error(monkeypatch, tmp_path, lee_model):
    from topics.plots import PlotError, plot_summary

    summary = lee_model.summary()
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(PlotError) as error:  # what callers caught before MissingExtraError existed
        plot_summary(summary, tmp_path / "sizes.png")
    _assert_missing_extra(error.value, "plot", "matplotlib")
    assert list(tmp_path.iterdir()) == []


def test_missing_dask_names_the_dask_extra(monkeypatch, run_cli, tmp_path, lee_records):
    from topics.parallel import use_scheduler

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(topics.MissingExtraError) as error, use_scheduler("local:1"):
        pass
    _assert_missing_extra(error.value, "dask", "distributed")
    (tmp_path / "a.txt").write_text(lee_records[0]["text"], encoding="utf-8")
    result = run_cli("fit", tmp_path / "a.txt", "--model", tmp_path / "m.joblib", "--scheduler", "local:1")
    assert result.exit_code == 2
    assert result.stderr == "topics: error: scheduler='local:1' needs Dask: pip install 'topics[dask]'\n"
    assert not (tmp_path / "m.joblib").exists()


def test_missing_extra_error_survives_pickling_and_copying():
    error = topics.MissingExtraError("to_frame() needs pandas", extra="pandas", module="pandas")
    for again in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert type(again) is type(error) and str(again) == str(error)
        assert (again.extra, again.name) == ("pandas", "pandas")


def test_a_model_pickled_before_fitted_state_existed_still_answers(lee_model):
    # Until the fitted state had its own object, each fitted attribute sat in the model's __dict__.
    old = {name: value for name, value in vars(lee_model).items() if name != "state_"}
    for name in ("vectorizer", "components", "doc_topics", "doc_terms", "articles", "topic_names", "fit_info", "index"):
        old[f"{name}_"] = getattr(lee_model.state_, name)
    restored = TopicModel.__new__(TopicModel)
    restored.__setstate__(old)
    check_is_fitted(restored)
    assert all(getattr(restored.state_, name) is getattr(lee_model.state_, name) for name in ("components", "index"))
    assert restored.get_params() == lee_model.get_params()
    query = lee_model.articles_.ids[3]
    assert [h.to_dict() for h in restored.similar(query, k=5)] == [h.to_dict() for h in lee_model.similar(query, k=5)]
    assert pickle.loads(pickle.dumps(restored)).state_.components.tobytes() == lee_model.components_.tobytes()
