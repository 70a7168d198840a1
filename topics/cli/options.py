"""Options shared by several commands, each defined once (as sqlite-utils' ``output_options``).

A command module takes shared options from here, never from another command module, and a name means
the same on every command: ``--format`` is always the output format, ``--input-format`` how to read
an archive.

Reading options (:func:`corpus_options`) reach the command as one ``reading`` dict holding only the
options given, in :func:`topics.read_corpus` keywords (``--input-format`` is ``format``). Commands that
read more of a model's archive (`add`, `refit`, `evaluate`) fill the rest from the model, which keeps
how its archive was read; `fit` and `tune` from read_corpus's defaults.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path

import click

from ..corpus import FORMATS
from ..trends import MIN_ARTICLES, PERIODS

# option name -> read_corpus keyword, option declarations in help order
_READING = {
    "input_format": "format",
    "text_field": "text_field",
    "id_field": "id_field",
    "title_field": "title_field",
    "date_field": "date_field",
    "skip_bad_lines": "skip_bad_lines",
}


def corpus_options(f=None, *, from_model: bool = False):
    """--input-format, --text-field, --id-field, --title-field, --date-field and --skip-bad-lines.

    Use as ``@corpus_options`` (defaults: read_corpus's) or ``@corpus_options(from_model=True)`` (defaults:
    what the model stored). The command gets ``reading``: a dict of the options given, by read_corpus name.
    """
    if f is None:
        return functools.partial(corpus_options, from_model=from_model)

    def default(value: str) -> str:
        return f"default: as the model's archive was read, else {value}" if from_model else f"default: {value}"

    options = [
        click.option(
            "--input-format",
            type=click.Choice(FORMATS),
            default=None,
            help="How to read files named directly: by suffix (auto; .txt is one article per line), "
            f"or each file as one article (text), or as lines, jsonl, csv, tsv ({default('auto')}).",
        ),
        click.option("--text-field", default=None, help=f"Text field of JSONL/CSV records ({default('text')})."),
        click.option("--id-field", default=None, help=f"Id field of JSONL/CSV records ({default('id')})."),
        click.option("--title-field", default=None, help=f"Title field of JSONL/CSV records ({default('title')})."),
        click.option(
            "--date-field", default=None, help=f"Date field (YYYY-MM-DD) of JSONL/CSV records ({default('date')})."
        ),
        click.option(
            "--skip-bad-lines/--no-skip-bad-lines",
            default=None,
            help="Skip, count and report malformed JSONL/CSV lines (an unclosed CSV quote, say) instead "
            f"of stopping at the first ({default('stop')}).",
        ),
    ]

    @functools.wraps(f)
    def command(*args, **kwargs):
        legacy = kwargs.pop("legacy_format", None)
        reading = {_READING[name]: kwargs.pop(name) for name in _READING}
        if legacy is not None:
            if reading["format"] is not None and reading["format"] != legacy:
                raise click.UsageError("give the input format once, as --input-format")
            reading["format"] = legacy
        kwargs["reading"] = {name: value for name, value in reading.items() if value is not None}
        return f(*args, **kwargs)

    for option in reversed(options):
        command = option(command)
    return command


def legacy_format_option(f):
    """`fit --format`, the name --input-format had before --format meant the output format everywhere;
    hidden, kept so that existing scripts run. Apply below @corpus_options."""
    return click.option("--format", "legacy_format", type=click.Choice(FORMATS), default=None, hidden=True)(f)


def date_options(f):
    """--since and --until: dates as YYYY, YYYY-MM or YYYY-MM-DD (read by :func:`topics.filters.date_span`),
    the same on every command that has them."""
    for option in reversed(
        [
            click.option(
                "--since",
                metavar="YYYY[-MM[-DD]]",
                help="Only articles dated on or after this day (a year or month: its first day).",
            ),
            click.option(
                "--until",
                metavar="YYYY[-MM[-DD]]",
                help="Only articles dated on or before this day (a year or month: its last day).",
            ),
        ]
    ):
        f = option(f)
    return f


def min_articles_option(f):
    """--min-articles: periods with fewer articles are thin (see :mod:`topics.trends`)."""
    return click.option(
        "--min-articles",
        type=click.IntRange(min=0),
        default=MIN_ARTICLES,
        show_default=True,
        help="Periods with fewer articles are thin: shown in brackets, never a peak.",
    )(f)


def text_file_option(help: str):
    """--file/-f: a query's text from a file ('-' reads standard input), as ``file_path``."""
    return click.option(
        "--file", "-f", "file_path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), help=help
    )


def period_option(help: str):
    """--by: the period of a trend (day, week, month or year; default month)."""
    return click.option("--by", type=click.Choice(PERIODS), default="month", show_default=True, help=help)


def output_format_option(*choices: str, shapes: str):
    """--format: "table" (the default) or one of ``choices``; ``shapes`` names the module that documents
    the JSON shapes, e.g. ``"edit.py"`` for `topics/cli/edit.py`."""
    return click.option(
        "--format",
        "out_format",
        type=click.Choice(["table", *choices]),
        default="table",
        show_default=True,
        help=f"Output format (JSON shapes: see `topics/cli/{shapes}`).",
    )


_HIT_FILTERS = ("since", "until", "min_score", "min_match", "keep_duplicates")


def hit_filter_options(f):
    """--since, --until, --min-score, --min-match and --keep-duplicates, shared by `similar` and `batch`.

    The command gets ``hit_filters``: a dict of them by :meth:`topics.TopicModel.similar` keyword.
    """

    @functools.wraps(f)
    def command(*args, **kwargs):
        kwargs["hit_filters"] = {name: kwargs.pop(name) for name in _HIT_FILTERS}
        return f(*args, **kwargs)

    for option in reversed(
        [
            click.option(
                "--min-score",
                type=click.FloatRange(0.0, 1.0),
                default=None,
                help="Leave out hits scoring below this (so fewer than --top may be listed).",
            ),
            click.option(
                "--min-match",
                type=click.Choice(["weak", "strong"]),
                default=None,
                help="Leave out hits that match less well than this, judged against the archive's own "
                "scores (every hit is labelled strong, weak or none).",
            ),
            click.option(
                "--keep-duplicates",
                is_flag=True,
                help="Also list near-duplicates of the query and of better hits (left out by default).",
            ),
        ]
    ):
        command = option(command)
    return date_options(command)


def plot_option(f):
    return click.option(
        "--plot",
        "plot_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Also draw a PNG chart to this file (needs `pip install 'topics[plot]'`).",
    )(f)


def scheduler_option(f):
    return click.option(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Run the parallel stages on a Dask cluster: a scheduler address such as "
        "tcp://host:8786, or local:N for a local cluster of N workers "
        "(needs `pip install 'topics[dask]'`).",
    )(f)


def describe_reading(reading: dict) -> str:
    """The reading options as command-line options, e.g. ``--id-field url --skip-bad-lines``; '' for defaults."""
    from ..corpus import read_corpus

    defaults = {name: p.default for name, p in inspect.signature(read_corpus).parameters.items()}
    names = {keyword: name for name, keyword in _READING.items()}
    parts = []
    for keyword, value in reading.items():
        if keyword in defaults and value != defaults[keyword]:
            option = "--" + names[keyword].replace("_", "-")
            parts.append(option if value is True else f"{option} {value}")
    return " ".join(parts)


DEFAULT_MODEL = Path("models") / "default.joblib"


def model_option(f):
    return click.option(
        "--model",
        "-m",
        "model_path",
        type=click.Path(path_type=Path),
        default=DEFAULT_MODEL,
        show_default=True,
        help="The model file.",
    )(f)


def key_option(f):
    return click.option(
        "--key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Sign (fit) or verify (queries) the model with the key in this file; default: $TOPICS_MODEL_KEY if set.",
    )(f)
