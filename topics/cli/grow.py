"""`topics add` and `topics refit`: growing a model without a refit, and refitting when it drifts.

JSON shapes (``--format json``):

- ``add``:   {"model", "n_added", "n_replaced", "n_articles", "n_without_known_terms", "relative_error",
  "fitted_relative_error", "error_ratio", "unknown_share", "fitted_unknown_share", "topic_shift",
  "topic_shares", "refit_advised", "reasons", "seconds", "at"}
- ``refit``: {"model", "n_articles_before", "n_articles", "n_missing", "matches": [{"old", "new", "cosine",
  "name"}], "seconds"}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ._base import cli, key_option, model_option, update_model


def scheduler_option(f):
    return click.option("--scheduler", default=None, metavar="ADDRESS",
                        help="Run the parallel stages on a Dask cluster: a scheduler address such as "
                             "tcp://host:8786, or local:N for a local cluster of N workers "
                             "(needs `pip install 'topics[dask]'`).")(f)


def _format_option(f):
    return click.option("--format", "out_format", type=click.Choice(["table", "json"]), default="table",
                        show_default=True, help="Output format (JSON shapes: see `topics/cli/grow.py`).")(f)


def _read(corpus):
    from ..corpus import read_corpus

    return read_corpus(corpus)


# -- add ------------------------------------------------------------------------------------------------
@cli.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(path_type=Path))
@model_option
@click.option("--replace", is_flag=True, help="Replace stored articles with the same ids instead of refusing.")
@scheduler_option
@key_option
@_format_option
def add(corpus, model_path, replace, scheduler, key_file, out_format):
    """Add the articles of CORPUS to a fitted model, in its existing topics, and save it in place.

    New articles are found by `similar` and counted by `summary` and `trends` at once. The model file
    is replaced atomically: if anything fails it is left as it was. Prints how well the existing
    topics explain the new articles, and advises `topics refit` when they no longer do.

    \b
    Example:
      topics add news/2025-11-01.jsonl --model models/news.joblib
      topics add corrections.jsonl --replace --format json
    """
    from ..parallel import use_scheduler

    with update_model(model_path, key_file) as update:  # locked from load to save: no concurrent add is lost
        with use_scheduler(scheduler):
            report = update.model.add(_read(corpus), replace=replace)
        update.save()
    if out_format == "json":
        click.echo(json.dumps({"model": str(model_path), **report.to_dict()}, ensure_ascii=False, indent=2))
        return
    click.echo(f"Added {report.n_added:,} articles ({report.n_replaced:,} replaced): {model_path} now holds "
               f"{report.n_articles:,} articles.")
    fitted_unknown = f" ({report.fitted_unknown_share:.0%} in the fit)" if report.fitted_unknown_share else ""
    click.echo(f"Drift: reconstruction error {report.error_ratio:.2f}x the fit's, "
               f"{report.unknown_share:.0%} of terms outside the vocabulary{fitted_unknown}, "
               f"topic mix shift {report.topic_shift:.2f}.")
    for reason in report.reasons:
        click.echo(f"Refit advised: {reason}.")
    if report.refit_advised:
        click.echo(f"  topics refit CORPUS... --model {model_path}   (give every file of the archive)")


# -- refit ----------------------------------------------------------------------------------------------
@cli.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(path_type=Path))
@model_option
@key_option
@_format_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def refit(corpus, model_path, key_file, out_format, quiet):
    """Fit the model afresh on CORPUS, the whole archive, keeping the names of topics that match.

    A model keeps only snippets of its articles, so give every file again: the fitted ones and every
    batch added since. The model's parameters are kept; the file is replaced atomically.

    \b
    Example:
      topics refit news/ --model models/news.joblib
    """
    from ..incremental import MIN_TOPIC_MATCH

    with update_model(model_path, key_file) as update:
        report = update.model.refit(_read(corpus), progress=not quiet and sys.stderr.isatty())
        update.save()
    if out_format == "json":
        click.echo(json.dumps({"model": str(model_path), **report.to_dict()}, ensure_ascii=False, indent=2))
        return
    kept = [m for m in report.matches if m["name"]]
    close = sum(m["cosine"] >= MIN_TOPIC_MATCH for m in report.matches)
    click.echo(f"Refitted {report.n_articles:,} articles (the model held {report.n_articles_before:,}) "
               f"in {report.seconds:.1f} s: {close} of {len(report.matches)} topics match an old one, "
               f"{len(kept)} names kept.")
    if report.n_missing:
        click.echo(f"Note: {report.n_missing:,} articles of the old model are not in CORPUS and were dropped.")
