"""`TopicModel`: read → TF-IDF → NMF topics → neighbour index, and the queries over them.

Symbols: X (n_articles, V) TF-IDF rows of unit length; H (k, V) topic-term weights; W (n_articles, k)
article-topic weights (see :mod:`topics.topic_model` and :mod:`topics.index`).

Example
-------
>>> import topics
>>> model = topics.fit("data/sample", n_topics=12, random_state=0)     # doctest: +SKIP
>>> [hit.id for hit in model.similar(text="Putin visits New Delhi", k=3)]  # doctest: +SKIP
>>> model.save("models/sample.joblib")                                  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import logging
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from operator import attrgetter
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import edit, store
from .clean import SPAN_SAMPLE
from .corpus import Corpus, as_articles, read_corpus, source_of
from .duplicates import DEFAULT_THRESHOLD, check_threshold, duplicate_groups
from .edit import EditReport
from .errors import NotFittedError, ParameterError, QueryError, TopicsWarning
from .explain import Explanation, explain_pair
from .filters import HitFilter, select, select_best
from .forms import forms_language
from .incremental import AddReport, RefitReport, add_articles, carry_over, read_as_fitted
from .index import loaded_kernels, term_counts, unit_rows
from .language import archive_languages, unspaced_warning
from .matching import calibrate, check_min_match, is_calibration, level, thresholds
from .params import DEFAULT_TOPIC_WEIGHT, PARAMETER_RULES, check_params, is_int
from .state import FittedState, SearchFields
from .summary import (
    ArticleView,
    Summary,
    Topic,
    article_view,
    check_topic,
    rename,
    summarize,
    topic_labels,
    topic_sizes,
)
from .table import ArticleTable, make_snippet
from .text import make_vectorizer, saved_stub_rows, stub_rows, stubs_record
from .topic_model import (
    LARGE_ARCHIVE_ARTICLES,
    RELEVANCE_LAMBDA,
    default_n_topics,
    fit_topics,
    fit_topics_on_sample,
    nmf_transform,
    place_articles,
    term_relevance,
)
from .trends import MIN_ARTICLES, Trends, topic_trends
from .version import __version__
from .word_pairs import order_topic_words

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    """One similar article: ``score`` in [0, 1], higher is more similar; ``match``: "strong", "weak" or
    "none", where the score falls among the archive's own scores (:mod:`topics.matching`)."""

    id: str
    score: float
    title: str | None
    date: str | None
    snippet: str = ""
    explanation: Explanation | None = None
    match: str | None = None

    def to_dict(self) -> dict:
        d = {"id": self.id, "score": round(self.score, 6), "match": self.match, "title": self.title, "date": self.date}
        if self.explanation is not None:
            d["explanation"] = self.explanation.to_dict()
        return d


@dataclass(frozen=True)
class DuplicateGroup:
    """Near-identical articles: ``ids`` with the representative (earliest dated, else first) first."""

    ids: list
    titles: list
    dates: list

    @property
    def size(self) -> int:
        return len(self.ids)

    def to_dict(self) -> dict:
        return {
            "size": self.size,
            "representative": self.ids[0],
            "title": self.titles[0],
            "articles": [
                {"id": i, "title": t, "date": d} for i, t, d in zip(self.ids, self.titles, self.dates, strict=True)
            ],
        }


# Archives are read and analysed this many articles at a time (a few MB of text per worker).
FIT_CHUNK_ARTICLES = 5000
# Languages of fewer sampled articles than this share are left out of fit_info (misread fragments).
LANGUAGE_REPORT_SHARE = 0.01


class _MetadataSink:
    """Keeps what the model stores about each article while its text streams past to the vectoriser."""

    def __init__(self, *, keep_texts: bool = False, source_field: str = "source"):
        self.ids, self.titles, self.dates, self.snippets = [], [], [], []
        self.source_field = source_field
        self.sources: list = []
        self.texts = [] if keep_texts else None
        self.fingerprint = hashlib.sha256()

    def text_chunks(self, articles, size: int):
        """Lists of up to ``size`` texts; the metadata of each article is kept on the way."""
        chunk = []
        for article in articles:
            self.ids.append(article.id)
            self.titles.append(article.title)
            self.dates.append(article.date)
            self.snippets.append(make_snippet(article.text))
            self.sources.append(source_of(article, self.source_field))
            self.fingerprint.update(article.id.encode("utf-8") + b"\x00" + article.text.encode("utf-8") + b"\x00")
            chunk.append(article.text)
            if self.texts is not None:
                self.texts.append(article.text)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


# A model saved before match levels is calibrated at query time only up to this size: a few hundred queries
# over every article, about a second here, where a larger archive would pay it in every query process.
CALIBRATE_AT_QUERY_MAX = 20_000


class TopicModel:
    """Topics and similar articles for a news archive.

    Parameters
    ----------
    n_topics : int, "auto" or None, default=None
        Number of NMF topics, k. None picks sqrt(n_articles / 2) between 2 and 50; "auto" fits a range
        of k and keeps the most coherent (the rule of ``topics tune``, see :mod:`topics.tune`).
    random_state : int or None, default=0
        Seed for NMF; the same data and seed give the same topics.
    min_df : int or float, default=2
        Terms in fewer articles are dropped (a float is a share of the articles).
    max_df : float or int, default=0.5
        Terms in more articles are dropped: in news they are filler, not topics.
    max_features : int or None, default=None
        Keep at most this many terms, the most frequent.
    ngram_max : {1, 2}, default=2
        2 adds two-word phrases ("prime minister") to the vocabulary.
    extra_stop_words : list of str, default=()
        Added to the English and news stop words.
    topic_weight : float, default=0.1
        Share of the topical cosine in the similarity score; the rest is TF-IDF cosine. Topic cosines
        spread about seven times as widely as TF-IDF cosines over news pairs, so 0.1 gives the two parts
        about equal say; on the development benchmark (``benchmarks/similarity.py``) it keeps the
        same-story retrieval of plain TF-IDF and the same-theme precision of the old 0.3.
    term_weighting : {"tfidf", "log-entropy"}, default="tfidf"
        Global term weight of the term vectors (see :class:`topics.text.Vectorizer`). Log-entropy gives
        slightly better similarity figures on the development benchmark but less coherent topics (NPMI
        0.246 against 0.278 on the Lee news, seed 0) whose neighbours depend more on the seed, so tf-idf stays.
    max_iter : int, default=400
        Iterations for NMF fitting.
    keep_words : list of str, default=()
        Words kept whatever the stop lists and the learned clutter say.
    min_words : int, default=3
        Articles with fewer distinct known words are stubs (captions, "View Comments"): they stay in the
        model, findable by id and placed in the topics like a query, but do not shape the topics (the NMF
        is fitted without them), stand for a topic, form duplicate groups or come back as hits.
    learn_clutter : bool, default=True
        Learn the archive's clutter and leave it out: spans repeated verbatim across many articles
        (:class:`topics.clean.RepeatedSpans`), house formulae (:func:`topics.house_terms.find_formulae`) and, where
        articles name their source, each source's house terms (:func:`topics.house_terms.find_source_terms`).
    source_field : str, default="source"
        The metadata field (JSONL or CSV) that names an article's source or outlet; kept per article
        (``summary`` says which sources a topic draws from).
    language : str or None, default=None
        The archive's language as an ISO 639-1 code ("de"), or several joined by commas ("nl,en"), whose
        stop words are left out. None detects them from a sample of the articles
        (:func:`topics.language.detect_languages`): every language of at least a tenth of them.

    Attributes
    ----------
    state_ : FittedState
        Everything fit learned, in one object (:mod:`topics.state`); the attributes below are its fields.
    vectorizer_ : Vectorizer
    components_ : ndarray of shape (k, V), float32 — H
    doc_topics_ : ndarray of shape (n_articles, k), float32 — W
    doc_terms_ : csr_matrix of shape (n_articles, V), float32 — X
    articles_ : ArticleTable
    fit_info_ : dict — counts, timings and the corpus fingerprint of the fit
    """

    def __init__(
        self,
        n_topics=None,
        *,
        random_state=0,
        min_df=2,
        max_df=0.5,
        max_features=None,
        ngram_max=2,
        extra_stop_words=(),
        topic_weight=DEFAULT_TOPIC_WEIGHT,
        max_iter=400,
        term_weighting="tfidf",
        keep_words=(),
        min_words=3,
        learn_clutter=True,
        source_field="source",
        language=None,
    ):
        self.n_topics = n_topics
        self.random_state = random_state
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.ngram_max = ngram_max
        self.extra_stop_words = extra_stop_words
        self.topic_weight = topic_weight
        self.max_iter = max_iter
        self.term_weighting = term_weighting
        self.keep_words = keep_words
        self.min_words = min_words
        self.learn_clutter = learn_clutter
        self.source_field = source_field
        self.language = language

    # -- scikit-learn's estimator API: clone, Pipeline, GridSearchCV ------------------------------------
    def get_params(self, deep: bool = True) -> dict:
        """The parameters, exactly the objects given to ``__init__`` or :meth:`set_params`.

        ``deep`` is there for scikit-learn; a TopicModel holds no other estimators, so it changes nothing.
        """
        return {name: getattr(self, name) for name in PARAMETER_RULES}

    def set_params(self, **params) -> TopicModel:
        """Set parameters by name; returns self. Values are checked by the next :meth:`fit`, which is also
        when they take effect: a fitted model keeps answering as it was fitted until then.

        Raises ParameterError, before changing anything, for a name that is not a parameter.
        """
        unknown = [name for name in params if name not in PARAMETER_RULES]
        if unknown:
            raise ParameterError(
                f"TopicModel has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters are {', '.join(PARAMETER_RULES)}"
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self):
        fitted = f", fitted on {len(self.articles_)} articles" if self._is_fitted() else ""
        return f"TopicModel(n_topics={self.n_topics!r}, random_state={self.random_state!r}{fitted})"

    def _validate_params(self):
        check_params(self.get_params())

    def __sklearn_tags__(self):
        """What scikit-learn may assume: a transformer of texts (a list of str), never of numeric arrays.
        Only scikit-learn (>= 1.6) calls it, so importing scikit-learn here costs a query process nothing."""
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(
            estimator_type="transformer",
            target_tags=TargetTags(required=False),
            transformer_tags=TransformerTags(preserves_dtype=[]),
            input_tags=InputTags(two_d_array=False, string=True),
        )

    def fit_transform(self, corpus, y=None, *, progress: bool = False, n_jobs: int | None = None) -> np.ndarray:
        """:meth:`fit`, then the topic weights W of the fitted articles.

        Returns a copy of ``doc_topics_``: ndarray of shape (n_articles, k), float32, rows in the order
        the articles were read. ``y`` is ignored.
        """
        return self.fit(corpus, progress=progress, n_jobs=n_jobs).doc_topics_.copy()

    # -- fitting ------------------------------------------------------------------------------------
    def fit(self, corpus, y=None, *, progress: bool = False, n_jobs: int | None = None) -> TopicModel:
        """Fit on an archive: a path (or list of paths), a :class:`Corpus`, Articles, or plain strings.
        ``y`` is ignored: it is there so that scikit-learn's Pipeline can call ``fit(X, y)``.

        The archive is streamed in chunks and analysed on ``n_jobs`` worker processes (None: every
        core; 1: this process only); the result does not depend on ``n_jobs``. Archives larger than
        ``LARGE_ARCHIVE_ARTICLES`` learn their topics on a seeded sample of that many articles, then
        place every article in them (see :func:`topics.topic_model.fit_topics_on_sample`).

        Returns self. Raises CorpusError for unreadable or empty archives, ParameterError for bad
        parameters (including more topics than articles).
        """
        self._validate_params()
        started = time.perf_counter()
        articles = as_articles(corpus)
        # Text flows from the reader to the vectoriser's workers chunk by chunk; only metadata stays
        # (and the texts themselves only when choosing the number of topics needs them).
        meta = _MetadataSink(keep_texts=self.n_topics == "auto", source_field=self.source_field)
        chunks = meta.text_chunks(_progress(articles, progress, "reading"), FIT_CHUNK_ARTICLES)
        first = next(chunks, [])
        # A small archive is its own first chunk; a larger one is sampled evenly in a quick extra read, so a
        # publisher (or a language) whose articles come late is seen too. Clutter, languages and the order
        # of topic words are learned from it.
        sample = first if len(first) < FIT_CHUNK_ARTICLES else _text_sample(articles)
        shares, languages = archive_languages(sample, self.language)
        language_warning = unspaced_warning(languages)
        if language_warning:
            warnings.warn(language_warning, TopicsWarning, stacklevel=2)
        vectorizer = make_vectorizer(
            min_df=self.min_df,
            max_df=self.max_df,
            max_features=self.max_features,
            ngram_max=self.ngram_max,
            extra_stop_words=self.extra_stop_words,
            keep_words=self.keep_words,
            weighting=self.term_weighting,
            learn_clutter=self.learn_clutter,
            languages=languages,
        )
        analyzer = vectorizer.analyzer
        # the sample read, its languages detected, stop lists and scikit-learn imported
        stages = {"start": time.perf_counter() - started}
        if self.learn_clutter:
            analyzer.learn_spans(sample)
        chunks = itertools.chain([first] if first else [], chunks)
        try:
            X, rare_words, rare_counts = vectorizer.fit_transform_chunks(
                chunks, n_jobs=n_jobs, sources=meta.sources, rare_words=True
            )
        except ParameterError:
            if not meta.ids:
                raise ParameterError("the corpus has no articles with text") from None
            clutter = _all_clutter_error(analyzer, vectorizer) if self.learn_clutter else None
            if clutter is None:
                raise
            raise clutter from None
        n_articles = len(meta.ids)
        stages["read and vectorise"] = time.perf_counter() - started - sum(stages.values())
        stubs = stub_rows(X, vectorizer.vocabulary_, self.min_words)
        if stubs.size == n_articles:
            raise ParameterError(
                f"all {n_articles} articles are stubs with fewer than {self.min_words} known words "
                "(captions, headlines, fragments): nothing to learn topics from "
                "(lower --min-words to keep them)"
            )
        X_topics = X if stubs.size == 0 else X[np.setdiff1d(np.arange(n_articles), stubs)]
        texts = meta.texts
        if texts is not None and stubs.size:
            stub_set = set(stubs.tolist())
            texts = [t for i, t in enumerate(texts) if i not in stub_set]
        n_topics, k_rule = self._choose_n_topics(X_topics, vectorizer.vocabulary_, texts)
        logger.info("fitting %d topics on %d articles x %d terms", n_topics, X_topics.shape[0], X.shape[1])
        if X_topics.shape[0] > LARGE_ARCHIVE_ARTICLES:
            H = fit_topics_on_sample(
                X_topics,
                n_topics,
                sample_size=LARGE_ARCHIVE_ARTICLES,
                random_state=self.random_state,
                max_iter=self.max_iter,
            )
        else:
            H = fit_topics(X_topics, n_topics, random_state=self.random_state, max_iter=self.max_iter)
        del X_topics
        stages["topics"] = time.perf_counter() - started - sum(stages.values())
        W, fit_error = place_articles(X, H, n_jobs=n_jobs)
        stages["place articles"] = time.perf_counter() - started - sum(stages.values())
        word_order = order_topic_words(
            term_relevance(H, None, topic_shares=topic_sizes(W)[0]),
            vectorizer.terms,
            sample,
            np.bincount(X.indices, minlength=X.shape[1]),  # articles holding each term
        )
        stages["order words"] = time.perf_counter() - started - sum(stages.values())

        stats = articles.stats if isinstance(articles, Corpus) else None
        fit_info = {
            "n_articles": n_articles,
            "n_terms": int(X.shape[1]),
            "n_topics": int(n_topics),
            "n_topics_rule": k_rule,
            "seconds": round(time.perf_counter() - started, 3),
            # Where a fit's time goes: what to look at when a large archive is slow.
            "stage_seconds": {name: round(seconds, 3) for name, seconds in stages.items()},
            "corpus_fingerprint": meta.fingerprint.hexdigest()[:32],
            "sources": [str(p) for p in articles.paths] if isinstance(articles, Corpus) else [],
            "skipped": stats.describe() if stats else "",
            # how the archive was read (read_corpus keywords), so add, refit and evaluate read it the same way
            "reading": articles.reading_options() if isinstance(articles, Corpus) else {},
            "relative_error": round(fit_error, 6),
            "n_stubs": int(stubs.size),
            # the stub rows themselves, so a cold query need not read all of X to find them again
            "stubs": stubs_record(self.min_words, 0, stubs),
            "n_repaired": int(vectorizer.n_repaired_),
            "formulae": vectorizer.formulae_,
            # words above max_df: never taken for rare words that `add` meets for the first time
            "common_words": vectorizer.common_words_,
            "source_terms": vectorizer.source_terms_,
            # each detected language's share of the sampled articles ({} when given), and whose stop words
            "languages": {code: share for code, share in shares.items() if share >= LANGUAGE_REPORT_SHARE},
            "stop_word_languages": list(languages),
            # the Snowball stemmer whose word forms text queries count (topics.forms), or None
            "search_forms": forms_language(languages),
            "language_warning": language_warning,
            "unknown_share": vectorizer.first_unknown_share_,  # the baseline for drift in topics.incremental
            "word_order": word_order,  # each topic's words in the order they are shown (topics.word_pairs)
            "topics_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        table = ArticleTable.build(meta.ids, meta.titles, meta.dates, meta.snippets, meta.sources)
        self.state_ = FittedState.build(
            vectorizer=vectorizer,
            components=H,
            doc_topics=W,
            doc_terms=X,
            fit_info=fit_info,
            articles=table,
            topic_weight=self.topic_weight,
            # the words min_df keeps out of the vocabulary are searched for too
            search_fields=SearchFields(vectorizer, table, rare_words=rare_words, rare_counts=rare_counts),
        )
        fit_info["match_calibration"] = self._calibrate()
        return self

    def _choose_n_topics(self, X, vocabulary, texts) -> tuple[int, str]:
        if self.n_topics == "auto":
            from .tune import auto_range, tune_topics

            result = tune_topics(
                X, vocabulary, texts, auto_range(X.shape[0]), random_state=self.random_state, max_iter=self.max_iter
            )
            return result["chosen"], f"auto: {result['reason']}"
        if self.n_topics is None:
            return default_n_topics(X.shape[0]), "default: sqrt(articles / 2)"
        return self.n_topics, "given"

    def evaluate(self, corpus=None, *, stability: bool = True) -> dict:
        """Topic quality, overall and per topic (:func:`topics.evaluate.evaluate_model`): NPMI, diversity,
        relative reconstruction error and stability.

        NPMI needs the articles' full texts, which a model does not keep: pass ``corpus`` (what was given
        to :meth:`fit`) or leave it None to re-read the files the model was fitted from.
        """
        from .evaluate import evaluate_model

        self._check_fitted()
        if corpus is None:
            sources = self.fit_info_.get("sources") or []
            if not sources or not all(os.path.exists(p) for p in sources):
                raise ParameterError(
                    "evaluate needs the articles' texts: pass corpus=... (the model was fitted "
                    "on in-memory articles or its files have moved)"
                )
            corpus = read_corpus(sources, **self.fit_info_.get("reading", {}))
        texts = [a.text for a in as_articles(corpus)]
        return evaluate_model(self, texts, stability=stability)

    # -- queries ------------------------------------------------------------------------------------
    def transform(self, texts) -> np.ndarray:
        """Topic weights W of shape (n_texts, k), float32, for new texts (a string or a list)."""
        self._check_fitted()
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise QueryError(f"text {i} is {type(text).__name__}, not a string")
        return nmf_transform(self.vectorizer_.transform(texts), self.components_)

    def similar(
        self,
        id: str | None = None,
        text: str | None = None,
        k: int = 10,
        *,
        like=None,
        unlike=None,
        since=None,
        until=None,
        min_score=None,
        min_match=None,
        keep_duplicates: bool = False,
        explain: bool = False,
        exact: bool = False,
    ) -> list[Hit]:
        """The k articles most similar to a stored article (``id``), to a new ``text``, or to several.

        A stored article is never its own hit. ``like``: a list of queries (ids as ``{"id": ...}``, texts
        as str or ``{"text": ...}``) asked together, as Elasticsearch's More Like This does: their TF-IDF
        rows and topic weights are summed; ``unlike``: queries whose rows are subtracted (weights below
        zero dropped), pushing their kind of article away. Every stored article in ``like`` and
        ``unlike`` is left out of the hits. ``since``/``until`` (``YYYY-MM-DD`` or dates, inclusive)
        keep articles dated in that range (undated articles are left out when either is given);
        ``min_score`` drops weaker hits, and ``min_match`` ("weak" or "strong") hits of a lower match
        level, so fewer than k may come back. Unless ``keep_duplicates``, near-duplicates of the query
        article and of better hits are left out (for a text query the best copy of it stays: it is how
        a text is found in the archive). ``explain`` fills each hit's ``explanation`` (see
        :meth:`compare`). Each hit's ``match`` says how good a match its score is for this archive
        (:mod:`topics.matching`). ``exact`` scores every article instead of only those that can still
        reach the k best: the same hits, slower; the reference the fast path is tested against. Raises
        QueryError for an unknown id or a text with no known words.
        """
        self._check_fitted()
        if like is not None or unlike is not None:
            if id is not None or text is not None:
                raise QueryError("give an id or a text, or like=[...] (with unlike=[...]), not both")
            row, terms, topics, exclude = self._combine(like, unlike)
            unknown, rare, forms = 0.0, (), ()
        else:
            if (id is None) == (text is None):
                raise QueryError("give exactly one of an article id or a text")
            row, exclude, unknown, rare, forms = None, (), 0.0, (), ()
            if id is not None:
                row = self.row_of(id)
                if self.doc_terms_.indptr[row] == self.doc_terms_.indptr[row + 1]:
                    raise QueryError(
                        f"article {id!r} has no words the model knows (it is empty, or only stop words "
                        "and clutter): nothing to compare it by"
                    )
                terms = topics = None  # the index reads a stored article's rows itself
            else:
                terms, topics = self._vectorise_query(text)
                topics = topics[0]
                rare, _, unknown = self._search_words(text, terms.nnz)
                forms, missing = self._word_forms(text, terms.nnz)
                unknown += missing
        _check_k(k)
        hit_filter = HitFilter.build(since=since, until=until, min_score=min_score, keep_duplicates=keep_duplicates)
        query = (
            self.index_.article_query(row)
            if row is not None
            else self.index_.query(terms, topics, unknown, rare, [columns for _, columns in forms])
        )
        bounds = self._match_bounds(query.share)
        hit_filter = _with_min_match(hit_filter, check_min_match(min_match), bounds)
        text_query = None if row is not None else (terms, topics, unknown, rare, forms)
        if exact:
            scores = self.index_.score_all(query)
            return self._hits(scores, k, hit_filter, row, text_query, explain, bounds=bounds, exclude=exclude)
        return self._best_hits(query, row, k, hit_filter, text_query, explain, bounds=bounds, exclude=exclude)

    def _combine(self, like, unlike):
        """(None, terms, topics, rows to exclude) of a More Like This query: the liked queries' unit
        TF-IDF rows and topic weights summed, the unliked ones' subtracted, negatives dropped."""
        like, unlike = _query_list(like, "like"), _query_list(unlike, "unlike")
        if not like:
            raise QueryError("like=[...] needs at least one id or text")
        rows, terms, topics = self._resolve_many(like + unlike)
        sign = np.array([1.0] * len(like) + [-1.0] * len(unlike))
        combined = sp.csr_matrix(sp.csr_matrix(sign[None, :]) @ unit_rows(terms))
        combined.data = np.maximum(combined.data, 0.0)
        combined.eliminate_zeros()
        if combined.nnz == 0:
            raise QueryError("the unliked queries cancel every word of the liked ones: nothing is left to search by")
        weights = np.maximum(sign @ unit_rows(np.asarray(topics, dtype=np.float32)), 0.0)
        exclude = np.array(sorted({r for r in rows if r is not None}), dtype=np.int64)
        return None, unit_rows(combined), weights.astype(np.float32), exclude

    def similar_batch(
        self,
        queries,
        *,
        k: int = 10,
        since=None,
        until=None,
        min_score=None,
        min_match=None,
        keep_duplicates: bool = False,
    ) -> list[list[Hit]]:
        """:meth:`similar` for many queries at once: one list of hits per query, in order.

        ``queries``: an iterable of texts (str) or mappings with exactly one of ``id`` or ``text``.
        All texts are vectorised (and placed in topics) together; each query is then answered as
        :meth:`similar` answers it, scoring only the articles that can still reach its top k (a product
        of the queries with every article costs more per query). Raises QueryError naming the first
        query (counting from 1) that cannot be answered.
        """
        self._check_fitted()
        _check_k(k)
        hit_filter = HitFilter.build(since=since, until=until, min_score=min_score, keep_duplicates=keep_duplicates)
        min_match = check_min_match(min_match)
        queries = list(queries)
        rows, terms, topics = self._resolve_many(queries)
        lengths = np.diff(terms.indptr)
        index = self.index_
        results = []
        for i, (query_item, row) in enumerate(zip(queries, rows, strict=True)):
            if row is not None:
                query = index.article_query(row)
            else:
                text = _query_kind(query_item)[1]
                rare, _, unknown = self._search_words(text, lengths[i])
                forms, missing = self._word_forms(text, lengths[i])
                query = index.query(terms[i], topics[i], unknown + missing, rare, [columns for _, columns in forms])
            bounds = self._match_bounds(query.share)
            query_filter = _with_min_match(hit_filter, min_match, bounds)
            results.append(self._best_hits(query, row, k, query_filter, None, False, bounds=bounds))
        return results

    def similarity(self, a, b) -> float:
        """Similarity in [0, 1] of two texts (or ``{"id": ...}`` / ``{"text": ...}`` queries), with the
        same score as :meth:`similar`."""
        return self.compare(a, b, n_terms=0, n_topics=0).score

    def compare(self, a, b, *, n_terms: int = 8, n_topics: int = 3) -> Explanation:
        """The score of two texts or stored articles and why: the terms and topics that contribute most.

        ``a`` and ``b`` are each a text (str) or a mapping with exactly one of ``id`` (a stored article)
        or ``text``. Term and topic shares are parts of the score and sum to 1 over all terms and topics;
        every listed term occurs in both.
        """
        self._check_fitted()
        for name, value in (("n_terms", n_terms), ("n_topics", n_topics)):
            if not is_int(value, 0):
                raise ParameterError(f"{name}={value!r} is not allowed; use an integer >= 0")
        (row_a, terms_a, topics_a), (row_b, terms_b, topics_b) = self._resolve(a), self._resolve(b)
        rare, _, unknown = ((), (), 0.0) if row_a is not None else self._search_words(_query_kind(a)[1], terms_a.nnz)
        forms, missing = ((), 0) if row_a is not None else self._word_forms(_query_kind(a)[1], terms_a.nnz)
        unknown += missing
        rare_b = None if row_b is not None else self._search_words(_query_kind(b)[1], 0)
        return self._explain(
            terms_a,
            topics_a,
            terms_b,
            topics_b,
            n_terms,
            n_topics,
            rows=(row_a, row_b),
            unknown=unknown,
            rare=rare,
            rare_b=rare_b,
            forms=forms,
        )

    def duplicates(self, threshold: float = DEFAULT_THRESHOLD) -> list[DuplicateGroup]:
        """Groups of near-identical articles (TF-IDF cosine >= ``threshold``), largest first.

        See :mod:`topics.duplicates`; each group lists its earliest dated article first.
        """
        self._check_fitted()
        groups = duplicate_groups(self.doc_terms_, check_threshold(threshold))
        stubs = self.stub_rows()
        if stubs.size:  # stubs ("View Comments") are alike by accident, not copies of one story
            groups = [rows for rows in (np.setdiff1d(g, stubs) for g in groups) if rows.size > 1]
        table = self.articles_
        result = []
        for rows in groups:
            dates = table.dates[rows]
            first = np.lexsort((rows, np.isnat(dates), dates))  # earliest date, undated last, then row
            ordered = rows[first]
            result.append(
                DuplicateGroup(
                    ids=[table.ids[r] for r in ordered],
                    titles=[table.titles[r] or table.snippets[r] for r in ordered],
                    dates=[table.date(r) for r in ordered],
                )
            )
        return result

    def row_of(self, article_id: str) -> int:
        """Row of a stored article; QueryError naming the id when it is unknown."""
        self._check_fitted()
        row = self.articles_.row_of(str(article_id))
        if row is None:
            raise QueryError(f"no article with id {article_id!r} in this model ({len(self.articles_)} articles)")
        return row

    def _search_words(self, text: str, n_known: int) -> tuple[np.ndarray, np.ndarray, float]:
        """A text query's words outside the vocabulary (:meth:`topics.state.SearchFields.query_words`): the
        B columns and counts of its rare words and the number of the others; none for a text of
        ``n_known`` vocabulary terms, long enough to be scored by the cosine alone, or without B."""
        fields = self.state_.search_fields
        if fields is None or self.index_.search_share(n_known) == 0.0:
            return np.zeros(0, dtype=np.int64), np.zeros(0), 0.0
        columns, counts, unknown = fields.query_words(text)
        return columns, counts, float(unknown)

    def _word_forms(self, text: str, n_known: int) -> tuple[list, int]:
        """A text query's word forms (:meth:`topics.forms.WordForms.of_words`): ``(word, B columns)`` of each,
        and the number of its forms no article holds (they count with its unknown words); none for a model
        without them or a text long enough to be scored by the cosine alone."""
        forms = self.state_.word_forms
        if forms is None or self.index_.search_share(n_known) == 0.0:
            return [], 0
        return forms.of_words(self.state_.search_fields.query_terms(text))

    def _vectorise_query(self, text: str):
        _check_text(text)
        terms = self.vectorizer_.transform([text])
        if terms.nnz == 0 and not self._search_words(text, 0)[0].size and not self._word_forms(text, 0)[0]:
            raise QueryError(_NO_KNOWN_WORDS)
        return terms, nmf_transform(terms, self.components_, gram=self._gram(), kernels=loaded_kernels())

    def _gram(self) -> np.ndarray:
        """H Hᵀ (k, k) float64 of the current state, kept in memory: every text query needs it."""
        cached = self.__dict__.get("_gram_cache")
        if cached is None or cached[0] is not self.state_:
            H = np.asarray(self.components_, dtype=np.float64)
            cached = (self.state_, H @ H.T)
            self._gram_cache = cached
        return cached[1]

    def _hit(self, row: int, score: float, explanation: Explanation | None = None, match=None) -> Hit:
        table = self.articles_
        return Hit(
            id=table.ids[row],
            score=min(1.0, max(0.0, score)),
            title=table.titles[row],
            date=table.date(row),
            snippet=table.snippets[row],
            explanation=explanation,
            match=match,
        )

    def clutter(self) -> dict:
        """What the fit learned to leave out, as plain data: ``spans`` (repeated lines, as lowercase words
        with "#" for numbers, and the number of sampled articles that held each), ``formulae`` (house-formula
        terms and the number of articles using each), ``source_terms`` (terms and the source whose house
        style they are), ``n_stubs`` and ``n_repaired`` (articles whose broken
        text was mended). Empty for models fitted without ``learn_clutter``."""
        self._check_fitted()
        info = self.fit_info_
        spans = self.vectorizer_.analyzer.spans.spans
        return {
            "spans": dict(sorted(spans.items(), key=lambda item: (-item[1], item[0]))),
            "formulae": dict(sorted(info.get("formulae", {}).items(), key=lambda item: (-item[1], item[0]))),
            "source_terms": dict(sorted(info.get("source_terms", {}).items(), key=lambda item: (item[1], item[0]))),
            "n_stubs": int(info.get("n_stubs", 0)),
            "n_repaired": int(info.get("n_repaired", 0)),
        }

    def _calibrate(self) -> dict:
        return calibrate(
            self.index_,
            self.vectorizer_,
            self.components_,
            self.articles_,
            self.stub_rows(),
            words=self._calibration_words,
        )

    def _calibration_words(self, text: str, n_known: int) -> tuple[tuple, float, list]:
        """What :func:`topics.matching.calibrate` counts of a text beside its vocabulary terms: no rare or
        unknown words, as calibration counted before word forms (so the levels keep their meaning), and the
        forms of its vocabulary words, as :meth:`similar` counts them."""
        fields, forms = self.state_.search_fields, self.state_.word_forms
        if forms is None or self.index_.search_share(n_known) == 0.0:
            return (), 0.0, []
        found, _ = forms.of_words(fields.vocabulary_words(text))
        return (), 0.0, [columns for _, columns in found]

    def match_calibration(self) -> dict:
        """The score percentiles the match levels are judged by (:mod:`topics.matching`): saved at fit
        (and by ``add``), computed here (and kept in memory) for a smaller model saved before they existed;
        {} for a larger one, whose hits then carry no level until ``add`` or a refit saves them."""
        self._check_fitted()
        saved = self.fit_info_.get("match_calibration")
        if is_calibration(saved):
            return saved
        if len(self.articles_) > CALIBRATE_AT_QUERY_MAX:
            return {}
        cached = self.__dict__.get("_calibration")
        if cached is None or cached[0] is not self.state_:
            cached = (self.state_, self._calibrate())
            self._calibration = cached
        return cached[1]

    def _match_bounds(self, share: float):
        """(weak, strong) score thresholds for a query of search share ``share``, or None (no calibration)."""
        calibration = self.match_calibration()
        return thresholds(calibration, share) if calibration else None

    def stub_rows(self) -> np.ndarray:
        """Rows of the stubs: articles with fewer than ``min_words`` distinct known words (see
        :func:`stub_rows`). They stay findable by id but never come back as hits or duplicates."""
        self._check_fitted()
        state = self.state_  # a grown or refitted model has a new state
        cached = self.__dict__.get("_stubs")
        if cached is None or cached[0] is not state or cached[1] != self.min_words:
            rows = saved_stub_rows(state.fit_info, self.min_words, state.doc_terms.shape[0])
            if rows is None:
                rows = stub_rows(state.doc_terms, state.vectorizer.vocabulary_, self.min_words)
            cached = (state, self.min_words, rows)
            self._stubs = cached
        return cached[2]

    def _hits(self, scores, k, hit_filter, row, text_query, explain, *, bounds=None, exclude=()) -> list[Hit]:
        """Hits for one query's scores of every article (the exhaustive path): ``row`` is the query's
        stored row (or None), ``text_query`` its (terms, topics, unknown) when it is a text; ``bounds`` the
        match thresholds; ``exclude`` rows never shown."""
        query_terms = self.doc_terms_[row] if row is not None else None
        rows = select(
            scores,
            k,
            hit_filter,
            dates=self.articles_.dates,
            doc_terms=self.doc_terms_,
            exclude=self._excluded(row, exclude),
            query=query_terms,
        )
        return self._hits_of(rows, scores[rows], row, text_query, explain, bounds)

    def _best_hits(self, query, row, k, hit_filter, text_query, explain, *, bounds=None, exclude=()) -> list[Hit]:
        """Hits for one :class:`topics.index.Query` by the pruned search (:func:`topics.filters.select_best`);
        the other arguments as in :meth:`_hits`."""
        rows, scores = select_best(
            self.index_,
            query,
            k,
            hit_filter,
            dates=self.articles_.dates,
            exclude=self._excluded(row, exclude),
            duplicate_of=query if row is not None else None,
        )
        return self._hits_of(rows, scores, row, text_query, explain, bounds)

    def _excluded(self, row, exclude=()) -> np.ndarray:
        """Rows never returned as hits: the stubs, the query's own row (or None) and ``exclude``."""
        rows = np.append(self.stub_rows(), np.asarray(exclude, dtype=np.int64))
        return rows if row is None else np.append(rows, row)

    def _hits_of(self, rows, scores, row, text_query, explain, bounds) -> list[Hit]:
        """Hits of ``rows`` with their ``scores`` (same order); the other arguments as in :meth:`_hits`. A text
        query's hits that score 0 share nothing with it (it may have rare words only, and no topics) and
        are left out."""
        if row is None:
            rows, scores = rows[scores > 0], scores[scores > 0]
        if not explain:
            return [
                self._hit(r, float(score), match=_level(score, bounds)) for r, score in zip(rows, scores, strict=True)
            ]
        terms, topics, unknown, rare, forms = (
            text_query if row is None else (self.doc_terms_[row], self.doc_topics_[row], 0.0, (), ())
        )
        labels = self._topic_labels()
        return [
            self._hit(
                r,
                float(score),
                self._explain(
                    terms,
                    topics,
                    self.doc_terms_[r],
                    self.doc_topics_[r],
                    labels=labels,
                    rows=(row, r),
                    unknown=unknown,
                    rare=rare,
                    forms=forms,
                ),
                match=_level(score, bounds),
            )
            for r, score in zip(rows, scores, strict=True)
        ]

    def _explain(
        self,
        terms_a,
        topics_a,
        terms_b,
        topics_b,
        n_terms=8,
        n_topics=3,
        labels=None,
        rows=(None, None),
        unknown=0.0,
        rare=(),
        rare_b=None,
        forms=(),
    ) -> Explanation:
        """Explain the pair; ``rows``: the stored rows of a and b, None for a text (a text query a is
        scored partly by search, see :mod:`topics.index`); ``unknown`` and ``rare``: a text a's words outside
        the vocabulary (:meth:`_search_words`), ``rare_b`` those of a text b; ``forms``: a text a's word
        forms (:meth:`_word_forms`)."""
        search = None
        n_columns = self.index_.n_search_terms
        if rows[0] is None:
            text_counts = None if rows[1] is not None else self._text_search_counts(terms_b, rare_b)
            search = self.index_.search_part(
                sp.csr_matrix(terms_a).indices,
                row=rows[1],
                text_counts=text_counts,
                unknown=unknown,
                rare=rare,
                forms=[columns for _, columns in forms],
            )
        names = [word + "*" for word, _ in forms]  # a word in any of its forms

        def term_names(columns):
            columns = np.asarray(columns)
            return [names[c - n_columns] if c >= n_columns else self._term_names([c])[0] for c in columns.tolist()]

        return explain_pair(
            terms_a,
            topics_a,
            terms_b,
            topics_b,
            topic_weight=self.index_.topic_weight,
            term_names=term_names,
            n_columns=n_columns,
            topic_labels=labels if labels is not None else self._topic_labels() if n_topics else [],
            n_terms=n_terms,
            n_topics=n_topics,
            search=search,
        )

    def _text_search_counts(self, terms, rare=None):
        """Raw counts (1, V + R) of a text that is not a stored article, over B's columns: its vocabulary
        terms read back from its TF-IDF row ``terms``, and its rare words ``rare`` (from :meth:`_search_words`)."""
        counts = sp.csr_matrix(term_counts(terms, self.vectorizer_.idf_), dtype=np.float64)
        n = self.index_.n_search_terms
        columns, values = (np.zeros(0, dtype=np.int64), np.zeros(0)) if rare is None else rare[:2]
        extra = sp.csr_matrix((values, columns, [0, len(columns)]), shape=(1, n))
        return sp.hstack([counts, sp.csr_matrix((1, n - counts.shape[1]))], format="csr") + extra

    def _term_names(self, columns) -> list[str]:
        """Names of B's columns: vocabulary terms, then rare words (:class:`topics.state.SearchFields`)."""
        fields = self.state_.search_fields
        return fields.term_names(columns) if fields is not None else self.vectorizer_.terms(columns)

    def _topic_labels(self) -> list[str]:
        """Every topic's label (:func:`topics.summary.topic_labels`), computed once per fitted state, topic
        names and parameters: explanations, trends and article views ask for them on every request."""
        self._check_fitted()
        key = (self.state_, tuple(sorted(self.topic_names_.items())), repr(sorted(self.get_params().items())))
        cached = self.__dict__.get("_labels")
        if cached is None or cached[0][0] is not key[0] or cached[0][1:] != key[1:]:
            cached = (key, topic_labels(self))
            self._labels = cached
        return list(cached[1])

    def _resolve(self, query):
        """(row or None, terms (1, V), topics (k,)) of a text or an ``{"id"}``/``{"text"}`` mapping."""
        kind, value = _query_kind(query)
        if kind == "id":
            row = self.row_of(value)
            return row, self.doc_terms_[row], np.asarray(self.doc_topics_[row])
        terms, topics = self._vectorise_query(value)
        return None, terms, topics[0]

    def _resolve_many(self, queries):
        """Rows (or None), terms (n, V) csr and topics (n, k) of many queries; texts vectorised together."""
        rows, texts = [], {}
        for i, query in enumerate(queries):
            try:
                kind, value = _query_kind(query)
                rows.append(self.row_of(value) if kind == "id" else None)
                if kind == "text":
                    _check_text(value)
                    texts[i] = value
            except QueryError as exc:
                raise QueryError(f"query {i + 1}: {exc}") from None
        text_terms = self.vectorizer_.transform(list(texts.values()))
        positions = list(texts)
        for i in np.flatnonzero(np.diff(text_terms.indptr) == 0).tolist():  # rare words alone will do
            if not self._search_words(texts[positions[i]], 0)[0].size:
                raise QueryError(f"query {positions[i] + 1}: {_NO_KNOWN_WORDS}")
        text_topics = nmf_transform(text_terms, self.components_, gram=self._gram())
        # Stack the texts' rows and the stored articles' rows once, then put them in query order.
        stored = np.array([r for r in rows if r is not None], dtype=np.int64)
        is_text = np.array([r is None for r in rows], dtype=bool)
        order = np.empty(len(rows), dtype=np.int64)
        order[is_text] = np.arange(is_text.sum())
        order[~is_text] = is_text.sum() + np.arange(stored.size)
        terms = sp.vstack([text_terms, self.doc_terms_[stored]], format="csr")[order]
        topics = np.concatenate([text_topics, np.asarray(self.doc_topics_)[stored]])[order]
        return rows, terms, topics

    # -- topics -------------------------------------------------------------------------------------
    def topics(self, n_words: int = 10, n_articles: int = 3) -> list[Topic]:
        """Every topic with its label, top ``n_words`` words and ``n_articles`` representative articles.

        ``weight`` is the topic's share of all article-topic weight (shares sum to 1); ``n_articles``
        counts the articles where it is the heaviest topic. See :mod:`topics.summary`.
        """
        return list(self.summary(n_words=n_words, n_articles=n_articles))

    def summary(self, *, n_words: int = 10, n_articles: int = 3, relevance: float = RELEVANCE_LAMBDA) -> Summary:
        """A :class:`topics.summary.Summary` of every topic (label, words, size, articles, distinctness).

        ``relevance``: λ of the words' ranking, from 0 (words most particular to the topic) to 1 (its
        heaviest terms); see :func:`topics.topic_model.term_relevance`.
        """
        self._check_fitted()
        return summarize(self, n_words=n_words, n_articles=n_articles, relevance=relevance)

    def rename_topic(self, topic_id: int, name: str | None) -> TopicModel:
        """Name a topic; the name replaces its generated label and is saved with the model. "" or None resets."""
        self._check_fitted()
        rename(self, topic_id, name)
        return self

    def article(self, id: str, *, k: int = 5) -> ArticleView:
        """A stored article's topic mix and its k nearest articles (:class:`topics.summary.ArticleView`)."""
        self._check_fitted()
        return article_view(self, id, k=k)

    def trends(
        self, by: str = "month", *, topics=None, compare=None, since=None, until=None, min_articles=MIN_ARTICLES
    ) -> Trends:
        """Each topic's share per ``by`` period ("day", "week", "month", "year") from the article dates.

        ``topics`` limits the topics shown (ids); ``since``/``until`` (YYYY, YYYY-MM or YYYY-MM-DD) the
        dates; periods with fewer than ``min_articles`` articles are marked thin and never peaks; stray
        dates and changes in the mix of sources are reported. ``compare=("2025-01:2025-06",
        "2025-07:2025-12")`` adds rising and falling topics between two date ranges. See :mod:`topics.trends`.
        """
        self._check_fitted()
        return topic_trends(
            self.doc_topics_,
            self.articles_.dates,
            self._topic_labels(),
            by=by,
            topics=topics,
            compare=compare,
            since=since,
            until=until,
            min_articles=min_articles,
            sources=self.articles_.sources,
        )

    # -- exploring topics (topics.explore, topics.topic_space) ----------------------------------------
    def find_topics(self, query, k: int = 5) -> list:
        """The k topics a text (or ``{"id": ...}`` / ``{"text": ...}``) is most about, as
        ``[(Topic, score)]`` with score its share of the text's topic weight, largest first.
        QueryError for a text with no known words. See :func:`topics.explore.find_topics`."""
        from .explore import find_topics

        self._check_fitted()
        return find_topics(self, query, k=k)

    def topics_by(self, field: str = "source", *, since=None, until=None):
        """Topics × values of a metadata field (such as ``source``): each value's topic mix, each topic's
        values and where a topic is over-represented. See :func:`topics.explore.topics_by`."""
        from .explore import topics_by

        self._check_fitted()
        return topics_by(self, field, since=since, until=until)

    def topic_tree(self):
        """The hierarchy of topics by the cosine of their words (:func:`topics.topic_space.topic_tree`)."""
        from .topic_space import topic_tree

        self._check_fitted()
        return topic_tree(self)

    def topic_map(self, *, since=None, until=None):
        """Topics in 2-D by the Jensen–Shannon distance of their words, sized by weight
        (:func:`topics.topic_space.topic_map`)."""
        from .topic_space import topic_map

        self._check_fitted()
        return topic_map(self, since=since, until=until)

    def topic_words_over_time(
        self, topic, by: str = "month", *, n_words: int = 5, since=None, until=None, min_articles=MIN_ARTICLES
    ):
        """A topic's leading words per period (:func:`topics.explore.topic_words_over_time`)."""
        from .explore import topic_words_over_time

        self._check_fitted()
        return topic_words_over_time(
            self, topic, by=by, n_words=n_words, since=since, until=until, min_articles=min_articles
        )

    # -- growing ------------------------------------------------------------------------------------
    def add(self, corpus, *, replace: bool = False) -> AddReport:
        """Append the articles of ``corpus`` in the existing topic space; returns the drift report.

        Ids already stored are refused unless ``replace``. The model's arrays are replaced by new ones,
        never written in place, so a memory-mapped file is left as it is. See :mod:`topics.incremental`.
        """
        self._check_fitted()
        self.state_, report = add_articles(self.state_, corpus, self.get_params(), replace=replace)
        if not is_calibration(self.state_.fit_info.get("match_calibration")):  # a model from before match levels
            self.state_.fit_info["match_calibration"] = self._calibrate()
        return report

    def refit(self, corpus, *, progress: bool = False) -> RefitReport:
        """Fit afresh on ``corpus`` (the whole archive), keeping names of matching topics; returns the report.

        A model stores only snippets, so ``corpus`` must be the whole archive again (the fitted sources and
        every added batch); paths are read as the fitted archive was. See :func:`topics.incremental.carry_over`.
        """
        self._check_fitted()
        started = time.perf_counter()
        fresh = TopicModel(**self.get_params()).fit(read_as_fitted(self.fit_info_, corpus), progress=progress)
        self.state_, report = carry_over(self.state_, fresh.state_, started=started)
        return report

    # -- editing topics -----------------------------------------------------------------------------
    # Each edit replaces the fitted state by a new one (topics.edit never changes a state) and sets the
    # n_topics parameter to the new count, so a later refit fits as many topics as the user kept.
    def merge_topics(self, topics, *, name: str | None = None) -> EditReport:
        """Make the topics with these ids (two or more) one topic; returns the :class:`topics.edit.EditReport`.

        The merged topic's weight in each article is the sum of theirs, so every article keeps its topic
        weight; its words are their rows of H weighted by how much of the merged weight each brings. It
        takes the lowest of the ids and the later ids move down (``report.mapping``). ``name``: its name;
        None keeps the names given to the merged topics, "" none (a label made from its words). The
        change is in memory: save the model to keep it (``topics merge`` saves under the writer lock).
        """
        self._check_fitted()
        if isinstance(topics, (str, bytes)) or not hasattr(topics, "__iter__"):
            raise ParameterError(f"topics={topics!r} is not allowed; give a list of two or more topic ids")
        ids = [check_topic(self, t) for t in topics]
        return self._edit(edit.merge_topics, ids, name=name)

    def drop_topic(self, topic) -> EditReport:
        """Remove a topic; its articles are placed again in the remaining topics (the topic's weight moves to
        the topics that share their words). Later ids move down. Returns the :class:`topics.edit.EditReport`."""
        self._check_fitted()
        return self._edit(edit.drop_topic, check_topic(self, topic))

    def reduce_topics(self, n_topics: int) -> EditReport:
        """Merge the most similar topics (cosine of their words' weights) until ``n_topics`` are left, as
        BERTopic's ``reduce_topics``; ``report.groups`` says which were merged. A merged topic's label is
        made from its words, whatever names its topics had; other topics keep theirs. See :mod:`topics.edit`."""
        self._check_fitted()
        return self._edit(edit.reduce_topics, n_topics)

    def _edit(self, operation, *args, **kwargs) -> EditReport:
        before = self._topic_labels()
        self.state_, report = operation(self.state_, *args, **kwargs)
        self.n_topics = self.state_.n_topics
        return edit.with_labels(report, before, self._topic_labels())

    # -- persistence --------------------------------------------------------------------------------
    def save(self, path, *, force: bool = False, key: bytes | None = None) -> Path:
        """Write the model to ``path`` atomically; an existing file is replaced only with ``force``."""
        return save_model(self, path, force=force, key=key)

    # -- fitted state -------------------------------------------------------------------------------
    # What fit learned lives in one FittedState (``state_``, see topics.state); these show its fields
    # under scikit-learn's names. Unfitted, each raises AttributeError, so hasattr() says "not fitted".
    vectorizer_ = property(attrgetter("state_.vectorizer"), doc="Vectorizer: analyser, vocabulary and term weights")
    components_ = property(attrgetter("state_.components"), doc="ndarray of shape (k, V), float32: H")
    doc_topics_ = property(attrgetter("state_.doc_topics"), doc="ndarray of shape (n_articles, k), float32: W")
    doc_terms_ = property(attrgetter("state_.doc_terms"), doc="csr_matrix of shape (n_articles, V), float32: X")
    articles_ = property(attrgetter("state_.articles"), doc="ArticleTable of the n_articles rows")
    topic_names_ = property(attrgetter("state_.topic_names"), doc="dict of int to str: names given to topics")
    index_ = property(attrgetter("state_.index"), doc="SimilarityIndex over X and W")
    fit_info_ = property(attrgetter("state_.fit_info"), doc="dict: counts, timings and history of the fit")

    def __setstate__(self, state: dict) -> None:
        # A model pickled before FittedState kept each fitted attribute in its __dict__ (components_, ...),
        # where the properties above would hide them: gather them into a state.
        if "state_" not in state and "components_" in state:
            state = {k: v for k, v in state.items() if k != "_stubs"}
            fields = {name: state.pop(f"{name}_") for name in FittedState.__dataclass_fields__ if f"{name}_" in state}
            state["state_"] = FittedState(**fields)  # search_fields, newer than such pickles, stays None
        self.__dict__.update(state)

    # -- helpers ------------------------------------------------------------------------------------
    def _is_fitted(self) -> bool:
        return "state_" in self.__dict__

    def _check_fitted(self):
        if not self._is_fitted():
            raise NotFittedError("this TopicModel is not fitted yet; call fit() or topics.load() first")

    @property
    def n_topics_(self) -> int:
        self._check_fitted()
        return self.components_.shape[0]


def _check_k(k):
    if not is_int(k, 1):
        raise ParameterError(f"k={k!r} is not allowed; use an integer >= 1")


_NO_KNOWN_WORDS = "the query text has no words the model knows (only stop words, numbers or unseen words)"


def _check_text(text):
    if not isinstance(text, str) or not text.strip():
        raise QueryError("the query text is empty")


def _level(score, bounds):
    return None if bounds is None else level(float(score), bounds)


def _with_min_match(hit_filter: HitFilter, min_match, bounds) -> HitFilter:
    """The filter with its minimum score raised to the threshold of ``min_match`` for this query."""
    if min_match not in (None, "none") and bounds is None:
        raise QueryError(
            "this model has no match levels (it was saved before they existed): "
            "run `topics add` with new articles or `topics refit` to add them, or leave out --min-match"
        )
    if min_match in (None, "none"):
        return hit_filter
    threshold = bounds[0] if min_match == "weak" else bounds[1]
    return replace(hit_filter, min_score=max(hit_filter.min_score, min(1.0, max(0.0, threshold))))


def _query_list(value, name: str) -> list:
    """``like``/``unlike`` as a list of queries: a single id mapping or text is a list of one."""
    if value is None:
        return []
    if isinstance(value, (str, Mapping)):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise QueryError(f"{name} is a list of queries (ids as {{'id': ...}} and texts), not {_brief(value)}") from None


def _query_kind(query) -> tuple[str, str]:
    """("id", id) or ("text", text) for a text or a mapping with exactly one of 'id' or 'text'."""
    if isinstance(query, str):
        return "text", query
    if isinstance(query, Mapping) and len(query.keys() & {"id", "text"}) == 1:
        return ("id", str(query["id"])) if "id" in query else ("text", query["text"])
    raise QueryError(f"a query is a text or a mapping with exactly one of 'id' or 'text', not {_brief(query)}")


def _brief(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fit(corpus, n_topics=None, *, random_state=0, progress: bool = False, **params) -> TopicModel:
    """Fit a :class:`TopicModel` on ``corpus`` (a path, list of paths, Corpus, Articles or strings)."""
    return TopicModel(n_topics, random_state=random_state, **params).fit(corpus, progress=progress)


# Spans are learned from this many articles of a large archive, drawn in one extra reading pass.
_SPAN_SAMPLE_SEED = 0


def _text_sample(articles, size: int = SPAN_SAMPLE) -> list[str]:
    """An even sample of ``size`` texts of an archive, seeded (the same archive gives the same sample), in
    archive order: from files by :meth:`Corpus.sample_texts` (which parses only the chosen lines), from a
    list by choosing positions."""
    if isinstance(articles, Corpus):
        return articles.sample_texts(size, seed=_SPAN_SAMPLE_SEED)
    articles = list(articles)
    if len(articles) <= size:
        return [a.text for a in articles]
    rows = np.sort(np.random.default_rng(_SPAN_SAMPLE_SEED).choice(len(articles), size=size, replace=False))
    return [articles[r].text for r in rows]


def _all_clutter_error(analyzer, vectorizer) -> ParameterError | None:
    """The error for an archive whose every term was learned clutter, naming what removed them and how to
    keep it; None when no clutter was learned (the vectoriser's own error says more)."""
    removed = []
    if analyzer.spans:
        removed.append(f"{len(analyzer.spans.spans)} repeated spans")
    if getattr(vectorizer, "formulae_", None):
        removed.append(f"{len(vectorizer.formulae_)} house-formula terms")
    if not removed:
        return None
    return ParameterError(
        f"no terms are left: the archive is all clutter ({' and '.join(removed)} removed); "
        "fit with --keep-clutter to keep them"
    )


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, unit=" articles", leave=False, mininterval=0.5)


# -- files: the format is topics.store's; these turn its (params, state) into a TopicModel and back ---------
def save_model(model: TopicModel, path, *, force: bool = False, key: bytes | None = None, replacing=None) -> Path:
    """Write ``model`` to ``path`` atomically and return the path (see :func:`topics.store.save_state`).
    The in-memory model is not changed. ``replacing``: the stamp :func:`load_for_update` returned."""
    model._check_fitted()
    return store.save_state(model.state_, model.get_params(), path, force=force, key=key, replacing=replacing)


def load_model(path, *, key: bytes | None = None, mmap: bool = True) -> TopicModel:
    """Open a saved model, verifying it before anything is unpickled (see :func:`topics.store.load_state`)."""
    params, state = store.load_state(path, key=key, mmap=mmap)
    return _from_state(params, state)


def load_for_update(path, *, key: bytes | None = None) -> tuple[TopicModel, object]:
    """``(model, stamp)``: the model at ``path``, to change and save again with
    ``save_model(model, path, force=True, key=key, replacing=stamp)``. Hold :func:`topics.store.lock_model`
    around both. A signed model is refused without its key."""
    params, state, stamp = store.load_state_for_update(path, key=key)
    return _from_state(params, state), stamp


def _from_state(params: dict, state: FittedState) -> TopicModel:
    model = TopicModel(**params)
    model.state_ = state
    return model
