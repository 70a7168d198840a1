"""`topics fit`: read an archive, fit the model, save it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ._base import ShareOrCount, TopicCount, cli, human_size, save
from .options import corpus_options, key_option, legacy_format_option, model_option, scheduler_option


def clutter_summary(clutter: dict) -> str:
    """One line on what a fit left out: "repaired broken characters in 12 articles, 9 repeated lines ..."."""
    parts = []
    if clutter["n_repaired"]:
        parts.append(f"repaired broken characters in {_articles(clutter['n_repaired'])}")
    if clutter["spans"]:
        parts.append(f"cut {len(clutter['spans'])} lines repeated across articles")
    if clutter["formulae"]:
        parts.append(f"left out {len(clutter['formulae'])} house-formula terms")
    if clutter["source_terms"]:
        parts.append(f"{len(clutter['source_terms'])} terms of one source's house style")
    if clutter["n_stubs"]:
        parts.append(f"{clutter['n_stubs']:,} stub{'s' if clutter['n_stubs'] != 1 else ''} kept out of topics")
    return "; ".join(parts)


def _articles(n: int) -> str:
    return f"{n:,} article{'s' if n != 1 else ''}"


# -- fit ------------------------------------------------------------------------------------------------
@cli.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(path_type=Path))
@model_option
@click.option(
    "--topics",
    "-k",
    "n_topics",
    type=TopicCount(),
    default=None,
    help="Number of topics, or 'auto' to fit a range and keep the most coherent (as `topics tune`). "
    "Default: sqrt(articles / 2), between 2 and 50.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="Random seed: the same data and seed give the same topics.",
)
@click.option("--force", is_flag=True, help="Replace the model file if it exists.")
@corpus_options
@legacy_format_option
@click.option(
    "--min-df",
    type=ShareOrCount(),
    default=2,
    show_default=True,
    help="Drop terms in fewer articles (a count, or a share such as 0.001).",
)
@click.option(
    "--max-df",
    type=ShareOrCount(),
    default=0.5,
    show_default=True,
    help="Drop terms in more articles (a share, or a count).",
)
@click.option(
    "--stop-words",
    "stop_words_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File of extra stop words, one per line.",
)
@click.option(
    "--keep-words",
    "keep_words_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File of words to keep whatever the stop lists and the learned clutter say, one per line.",
)
@click.option(
    "--min-words",
    type=click.IntRange(0),
    default=3,
    show_default=True,
    help="Articles with fewer distinct known words are stubs: kept and findable by id, but left out "
    "of topics, duplicates and hits.",
)
@click.option(
    "--source-field",
    default="source",
    show_default=True,
    help="JSONL/CSV field naming each article's source or outlet: its house terms (name, credits) "
    "are left out of topics, and `summary` shows each topic's sources.",
)
@click.option(
    "--language",
    default=None,
    metavar="CODE",
    help="The archive's language (ISO 639-1, e.g. de), or several joined by commas (nl,en), whose stop "
    "words are left out. Default: detected from a sample of the articles.",
)
@click.option(
    "--keep-clutter",
    is_flag=True,
    help="Keep what would be learned as clutter: lines repeated across many articles and house "
    "formulae (see `topics info --clutter`).",
)
@key_option
@scheduler_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def fit(
    corpus,
    model_path,
    n_topics,
    seed,
    force,
    reading,
    min_df,
    max_df,
    stop_words_file,
    keep_words_file,
    min_words,
    source_field,
    language,
    keep_clutter,
    key_file,
    scheduler,
    quiet,
):
    """Fit topics and a similarity index on CORPUS and save the model.

    CORPUS is one or more directories (one article per .txt file; .jsonl/.csv inside are read as
    records), .txt files (one article per line), .jsonl or .csv files, or their .gz versions. The
    model keeps the reading options, so `add`, `refit` and `evaluate` read new files the same way.

    \b
    Example:
      topics fit data/sample --topics 12 --seed 1 --model models/sample.joblib
      topics fit news.csv --text-field body --id-field url --date-field published
      topics fit speeches.jsonl --language de
    """
    from ..analyzer import read_stop_words_file
    from ..corpus import read_corpus
    from ..language import languages_line
    from ..model import TopicModel
    from ..parallel import use_scheduler
    from ..store import check_writable, resolve_key

    articles = read_corpus(corpus, **reading)  # the model keeps these options: add and refit read alike
    check_writable(model_path, force=force)  # fail before a long fit, not after
    key = resolve_key(key_file)
    extra = sorted(read_stop_words_file(stop_words_file)) if stop_words_file else ()
    keep = sorted(read_stop_words_file(keep_words_file)) if keep_words_file else ()
    model = TopicModel(
        n_topics,
        random_state=seed,
        min_df=min_df,
        max_df=max_df,
        extra_stop_words=extra,
        keep_words=keep,
        min_words=min_words,
        learn_clutter=not keep_clutter,
        source_field=source_field,
        language=language,
    )
    started = time.perf_counter()
    with use_scheduler(scheduler):
        model.fit(articles, progress=not quiet and sys.stderr.isatty())
    save(model, model_path, force=force, key=key)
    info = model.fit_info_
    stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in info.get("stage_seconds", {}).items())
    click.echo(
        f"Fitted {info['n_articles']:,} articles: {info['n_terms']:,} terms, {info['n_topics']} topics "
        f"in {time.perf_counter() - started:.1f} s ({stages}, then index and save)."
    )
    click.echo(f"Languages: {languages_line(info.get('languages'), info['stop_word_languages'])}.")
    if info["skipped"]:
        click.echo(f"Skipped or repaired: {info['skipped']}.")
    cleaned = clutter_summary(model.clutter())
    if cleaned:
        click.echo(f"Cleaned: {cleaned} (`topics info --clutter` lists them).")
    signed = " signed," if key else ""
    click.echo(f"Saved{signed} {model_path} ({human_size(model_path)}).")
