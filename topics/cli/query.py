"""`topics similar`: the articles most like a stored article, a text or a file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ._base import cli, key_option, model_option, open_model, shorten, table, write_csv
from .options import hit_filter_options


def explanation_line(e) -> str:
    """One line: the top shared terms and topics of an Explanation with their shares of the score."""
    terms = ", ".join(f"{t['term']} {t['share']:.0%}" for t in e.terms) or "none"
    topic_parts = ", ".join(f"{t['label']} {t['share']:.0%}" for t in e.topics) or "none"
    return f"shared terms: {terms} · topics: {topic_parts}"


# -- similar --------------------------------------------------------------------------------------------
@cli.command()
@click.argument("article_id", required=False)
@click.option("--text", "-t", help="Find articles similar to this text.")
@click.option(
    "--file",
    "-f",
    "file_path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Find articles similar to the text of this file ('-' reads standard input).",
)
@model_option
@click.option("--top", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="How many articles.")
@hit_filter_options
@click.option("--explain", is_flag=True, help="Show the shared terms and the topics behind each score.")
@click.option(
    "--exact",
    is_flag=True,
    help="Score every article instead of only those that can still reach the top (the same hits, slower).",
)
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@key_option
def similar(
    article_id,
    text,
    file_path,
    model_path,
    top,
    since,
    until,
    min_score,
    keep_duplicates,
    explain,
    exact,
    out_format,
    key_file,
):
    """Articles most similar to a stored article (ID), to --text, or to a --file.

    The query article itself is never listed, nor (unless --keep-duplicates) near-duplicates of it or
    of a better hit. Scores run from 0 (nothing in common) to 1.

    \b
    Example:
      topics similar lee-bg-000 --top 5
      topics similar --text "Reserve Bank cuts interest rates" --format json
      topics similar --file article.txt --since 2025-01-01 --min-score 0.2
      topics similar lee-00 --top 3 --explain
    """
    from ..corpus import read_query_file

    given = [v is not None for v in (article_id, text, file_path)]
    if sum(given) != 1:
        raise click.UsageError("give exactly one of ID, --text or --file")
    if file_path is not None:
        text = sys.stdin.read() if str(file_path) == "-" else read_query_file(file_path)
    model = open_model(model_path, key_file)
    hits = model.similar(
        id=article_id,
        text=text,
        k=top,
        since=since,
        until=until,
        min_score=min_score,
        keep_duplicates=keep_duplicates,
        explain=explain,
        exact=exact,
    )
    query = {"id": article_id} if article_id is not None else {"file": str(file_path)} if file_path else {"text": text}
    if out_format == "json":
        click.echo(
            json.dumps(
                {"query": query, "model": str(model_path), "results": [h.to_dict() for h in hits]},
                ensure_ascii=False,
                indent=2,
            )
        )
    elif out_format == "csv":
        extra = ["terms", "topics"] if explain else []
        write_csv(
            ["rank", "score", "id", "date", "title", *extra],
            [
                [i, f"{h.score:.4f}", h.id, h.date or "", h.title or "", *_csv_explanation(h.explanation)]
                for i, h in enumerate(hits, 1)
            ],
        )
    else:
        rows = [
            [str(i), f"{h.score:.3f}", h.id, h.date or "-", shorten(h.title or h.snippet, 70)]
            for i, h in enumerate(hits, 1)
        ]
        lines = table(["#", "score", "id", "date", "title (or start of text)"], rows).splitlines()
        for i, h in enumerate(hits, 1):
            if h.explanation is not None:
                lines[i] += "\n   " + explanation_line(h.explanation)
        click.echo("\n".join(lines) if hits else "no articles match")


def _csv_explanation(e) -> list:
    if e is None:
        return []
    return [
        ";".join(f"{t['term']}:{t['share']:.4f}" for t in e.terms),
        ";".join(f"{t['topic']}:{t['share']:.4f}" for t in e.topics),
    ]
