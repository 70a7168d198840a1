"""`topics similar`: the articles most like a stored article, a text or a file."""

from __future__ import annotations

import json
import sys

import click

from ..matching import best_level
from ._base import cli, open_model, shorten, table, write_csv
from .options import hit_filter_options, key_option, model_option, text_file_option


def explanation_line(e) -> str:
    """One line: the top shared terms and topics of an Explanation with their shares of the score."""
    terms = ", ".join(f"{t['term']} {t['share']:.0%}" for t in e.terms) or "none"
    topic_parts = ", ".join(f"{t['label']} {t['share']:.0%}" for t in e.topics) or "none"
    return f"shared terms: {terms} · topics: {topic_parts}"


# -- similar --------------------------------------------------------------------------------------------
@cli.command()
@click.argument("article_ids", metavar="[ID]...", nargs=-1)
@click.option("--text", "-t", help="Find articles similar to this text (with IDs: to all of them).")
@text_file_option("Find articles similar to the text of this file ('-' reads standard input).")
@click.option(
    "--unlike",
    "unlike_ids",
    multiple=True,
    metavar="ID",
    help="Push hits away from this stored article (repeatable); it is never listed.",
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
    article_ids,
    text,
    file_path,
    unlike_ids,
    model_path,
    top,
    hit_filters,
    explain,
    exact,
    out_format,
    key_file,
):
    """Articles most similar to stored articles (IDs), to a --text or --file, or to several of these.

    The query articles are never listed, nor (unless --keep-duplicates) near-duplicates of a query
    article or of a better hit. Scores run from 0 (nothing in common) to 1; each hit is labelled strong,
    weak or none by where its score falls among the archive's own scores. Several IDs and a text are
    searched together (more like these), and --unlike pushes the hits away from other articles.

    \b
    Example:
      topics similar lee-bg-000 --top 5
      topics similar --text "Reserve Bank cuts interest rates" --format json
      topics similar --file article.txt --since 2025-01-01 --min-match strong
      topics similar lee-00 lee-13 --text "bushfires" --unlike lee-bg-004
      topics similar lee-00 --top 3 --explain
    """
    from ..corpus import read_query_file

    if text is not None and file_path is not None:
        raise click.UsageError("give --text or --file, not both")
    if not article_ids and text is None and file_path is None:
        raise click.UsageError("give an ID, --text or --file")
    if file_path is not None:
        text = sys.stdin.read() if str(file_path) == "-" else read_query_file(file_path)
    model = open_model(model_path, key_file)
    like = [{"id": i} for i in article_ids] + ([{"text": text}] if text is not None else [])
    unlike = [{"id": i} for i in unlike_ids]
    if len(like) == 1 and not unlike:
        single = {"id": article_ids[0]} if article_ids else {"text": text}
        query_args = single
    else:
        query_args = {"like": like, "unlike": unlike}
    hits = model.similar(
        **query_args,
        k=top,
        **hit_filters,
        explain=explain,
        exact=exact,
    )
    query = _query_record(article_ids, text, file_path, unlike_ids)
    if out_format == "json":
        click.echo(
            json.dumps(
                {
                    "query": query,
                    "model": str(model_path),
                    "match": best_level(hits),
                    "results": [h.to_dict() for h in hits],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    elif out_format == "csv":
        extra = ["terms", "topics"] if explain else []
        write_csv(
            ["rank", "score", "id", "date", "title", "match", *extra],
            [
                [
                    i,
                    f"{h.score:.4f}",
                    h.id,
                    h.date or "",
                    h.title or "",
                    h.match or "",
                    *_csv_explanation(h.explanation),
                ]
                for i, h in enumerate(hits, 1)
            ],
        )
    else:
        stored = len(article_ids) if text is None and file_path is None else 0
        click.echo(hits_text(hits, hit_filters["min_match"], stored=stored))


def _query_record(article_ids, text, file_path, unlike_ids) -> dict:
    """The query as the JSON output shows it: as before for one id, text or file; else like/unlike lists."""
    text_part = {"file": str(file_path)} if file_path else {"text": text} if text is not None else None
    parts = [{"id": i} for i in article_ids] + ([text_part] if text_part else [])
    if len(parts) == 1 and not unlike_ids:
        return parts[0]
    return {"like": parts, "unlike": [{"id": i} for i in unlike_ids]}


def hits_text(hits, min_match=None, *, stored: int = 0) -> str:
    """The hits table, with a plain line first when no hit matches well, and each --explain line.
    ``stored``: how many stored articles the query is made of, when it is only those: the line then says
    that no other article is alike (they are in the archive themselves)."""
    if not hits:
        if min_match:
            return f"No article matches this query well enough (--min-match {min_match})."
        return "no articles match"
    rows = [
        [str(i), f"{h.score:.3f}", h.match or "-", h.id, h.date or "-", shorten(h.title or h.snippet, 64)]
        for i, h in enumerate(hits, 1)
    ]
    lines = table(["#", "score", "match", "id", "date", "title (or start of text)"], rows).splitlines()
    for i, h in enumerate(hits, 1):
        if h.explanation is not None:
            lines[i] += "\n   " + explanation_line(h.explanation)
    if best_level(hits) == "none" and hits[0].match is not None:
        weak = {0: "No article matches this query well", 1: "No other article is much like this one"}.get(
            stored, "No other article is much like these"
        )
        lines.insert(0, f"{weak}; the closest:")
    return "\n".join(lines)


def _csv_explanation(e) -> list:
    if e is None:
        return []
    return [
        ";".join(f"{t['term']}:{t['share']:.4f}" for t in e.terms),
        ";".join(f"{t['topic']}:{t['share']:.4f}" for t in e.topics),
    ]
