"""`topics add` and `topics refit`: growing a model without a refit, and refitting when it drifts.

JSON shapes (``--format json``):

- ``add``:   {"model", "reading", "n_added", "n_replaced", "n_articles", "n_without_known_terms",
  "relative_error", "fitted_relative_error", "error_ratio", "unknown_share", "fitted_unknown_share",
  "topic_shift", "topic_shares", "refit_advised", "reasons", "seconds", "at", "skipped", "another_domain",
  "n_stubs"}
- ``refit``: {"model", "reading", "n_articles_before", "n_articles", "n_missing", "matches": [{"old", "new",
  "cosine", "name"}], "seconds", "skipped"}

"reading" holds the read_corpus options the files were read with: those given, the rest as the model's
archive was read (see `topics/cli/options.py`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ._base import cli, update_model
from .options import corpus_options, key_option, model_option, scheduler_option


def _format_option(f):
    return click.option(
        "--format",
        "out_format",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Output format (JSON shapes: see `topics/cli/grow.py`).",
    )(f)


def _read(model, corpus, reading: dict):
    """CORPUS read with the options given, the others as the model's archive was read."""
    from ..incremental import read_as_fitted

    return read_as_fitted(model.fit_info_, list(corpus), **reading)


def _echo_reading(corpus):
    from .options import describe_reading

    described = describe_reading(corpus.reading_options())
    if described:
        click.echo(f"Read with {described}.")


# -- add ------------------------------------------------------------------------------------------------
@cli.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(path_type=Path))
@model_option
@click.option("--replace", is_flag=True, help="Replace stored articles with the same ids instead of refusing.")
@corpus_options(from_model=True)
@scheduler_option
@key_option
@_format_option
def add(corpus, model_path, replace, reading, scheduler, key_file, out_format):
    """Add the articles of CORPUS to a fitted model, in its existing topics, and save it in place.

    New articles are found by `similar` and counted by `summary` and `trends` at once. The model file
    is replaced atomically: if anything fails it is left as it was. Prints how well the existing
    topics explain the new articles, and advises `topics refit` when they no longer do. Files are read
    as the model's archive was (its --input-format, --text-field, ...), except for the options given.

    \b
    Example:
      topics add news/2025-11-01.jsonl --model models/news.joblib
      topics add corrections.jsonl --replace --format json
      topics add extra.csv --text-field body
    """
    from ..parallel import use_scheduler

    with update_model(model_path, key_file) as update:  # locked from load to save: no concurrent add is lost
        articles = _read(update.model, corpus, reading)
        with use_scheduler(scheduler):
            report = update.model.add(articles, replace=replace)
        update.save()
    if out_format == "json":
        click.echo(
            json.dumps(
                {"model": str(model_path), "reading": articles.reading_options(), **report.to_dict()},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(
        f"Added {report.n_added:,} articles ({report.n_replaced:,} replaced): {model_path} now holds "
        f"{report.n_articles:,} articles."
    )
    fitted_unknown = f" ({report.fitted_unknown_share:.0%} in the fit)" if report.fitted_unknown_share else ""
    click.echo(
        f"Drift: reconstruction error {report.error_ratio:.2f}x the fit's, "
        f"{report.unknown_share:.0%} of terms outside the vocabulary{fitted_unknown}, "
        f"topic mix shift {report.topic_shift:.2f}."
    )
    _echo_reading(articles)
    if report.skipped:
        click.echo(f"Skipped or repaired: {report.skipped}.")
    for reason in report.reasons:
        click.echo(f"Refit advised: {reason}.")
    if report.refit_advised:
        click.echo(f"  topics refit CORPUS... --model {model_path}   (give every file of the archive)")


# -- refit ----------------------------------------------------------------------------------------------
@cli.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(path_type=Path))
@model_option
@corpus_options(from_model=True)
@key_option
@_format_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def refit(corpus, model_path, reading, key_file, out_format, quiet):
    """Fit the model afresh on CORPUS, the whole archive, keeping the names of topics that match.

    A model keeps only snippets of its articles, so give every file again: the fitted ones and every
    batch added since. The model's parameters are kept, and so is how its archive was read (the options
    given replace those); the file is replaced atomically.

    \b
    Example:
      topics refit news/ --model models/news.joblib
    """
    from ..incremental import MIN_TOPIC_MATCH

    with update_model(model_path, key_file) as update:
        articles = _read(update.model, corpus, reading)
        report = update.model.refit(articles, progress=not quiet and sys.stderr.isatty())
        update.save()
    if out_format == "json":
        click.echo(
            json.dumps(
                {"model": str(model_path), "reading": articles.reading_options(), **report.to_dict()},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    kept = [m for m in report.matches if m["name"]]
    close = sum(m["cosine"] >= MIN_TOPIC_MATCH for m in report.matches)
    click.echo(
        f"Refitted {report.n_articles:,} articles (the model held {report.n_articles_before:,}) "
        f"in {report.seconds:.1f} s: {close} of {len(report.matches)} topics match an old one, "
        f"{len(kept)} names kept."
    )
    _echo_reading(articles)
    if report.skipped:
        click.echo(f"Skipped or repaired: {report.skipped}.")
    if report.n_missing:
        click.echo(f"Note: {report.n_missing:,} articles of the old model are not in CORPUS and were dropped.")
