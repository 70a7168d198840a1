"""`topics compare`, `topics duplicates` and `topics batch`: pairs, near-duplicate groups, many queries."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ._base import cli, open_model, shorten, table
from .options import hit_filter_options, key_option, model_option


# -- compare --------------------------------------------------------------------------------------------
@cli.command()
@click.argument("a")
@click.argument("b")
@model_option
@click.option(
    "--terms", "n_terms", type=click.IntRange(min=0), default=8, show_default=True, help="Shared terms to show."
)
@click.option("--topics", "n_topics", type=click.IntRange(min=0), default=3, show_default=True, help="Topics to show.")
@click.option("--format", "out_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@key_option
def compare(a, b, model_path, n_terms, n_topics, out_format, key_file):
    """How similar A and B are, and why: the shared terms and the topics behind the score.

    A and B are each a stored article id, a file, or '-' for standard input (an id wins over a file of
    the same name). The score is the one `topics similar` ranks by.

    \b
    Example:
      topics compare lee-00 lee-13
      topics compare lee-00 article.txt --format json
      echo "Bushfires threaten homes near Sydney" | topics compare lee-bg-000 -
    """
    if a == "-" and b == "-":
        raise click.UsageError("only one of A and B can be '-' (standard input)")
    model = open_model(model_path, key_file)
    query_a, query_b = _compare_query(model, a), _compare_query(model, b)
    e = model.compare(query_a, query_b, n_terms=n_terms, n_topics=n_topics)
    if out_format == "json":
        click.echo(
            json.dumps({"a": _shown(query_a, a), "b": _shown(query_b, b), **e.to_dict()}, ensure_ascii=False, indent=2)
        )
        return
    weight = model.index_.topic_weight
    lexical = "TF-IDF cosine" if e.search_share == 0 else f"lexical ({e.search_share:.0%} BM25 search)"
    click.echo(
        f"score {e.score:.3f} = {1 - weight:.2f} x {lexical} {e.lexical:.3f} + {weight:.2f} x topic cosine {e.topical:.3f}"
    )
    if e.terms:
        click.echo("\nshared terms (share of the score):")
        click.echo(table(["term", "share"], [[t["term"], f"{t['share']:.1%}"] for t in e.terms]))
    if e.topics:
        click.echo("\ntopics (share of the score):")
        click.echo(
            table(["topic", "label", "share"], [[str(t["topic"]), t["label"], f"{t['share']:.1%}"] for t in e.topics])
        )


def _compare_query(model, arg: str):
    from ..corpus import read_query_file

    if arg == "-":
        return {"text": sys.stdin.read()}
    if model.articles_.row_of(arg) is not None:
        return {"id": arg}
    if Path(arg).is_file():
        return {"text": read_query_file(arg)}
    raise click.UsageError(f"{arg!r} is neither a stored article id nor a file")


def _shown(query: dict, arg: str) -> dict:
    return query if "id" in query else {"file": arg}


# -- duplicates -----------------------------------------------------------------------------------------
@cli.command()
@model_option
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=0.8,
    show_default=True,
    help="TF-IDF cosine from which two articles count as near-duplicates.",
)
@click.option("--format", "out_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@key_option
def duplicates(model_path, threshold, out_format, key_file):
    """Groups of near-identical articles: syndicated copies, reprints, updated versions.

    Each group lists its earliest dated article first, as its representative.

    \b
    Example:
      topics duplicates
      topics duplicates --threshold 0.6 --format json
    """
    model = open_model(model_path, key_file)
    groups = model.duplicates(threshold=threshold)
    if out_format == "json":
        click.echo(
            json.dumps(
                {"model": str(model_path), "threshold": threshold, "groups": [g.to_dict() for g in groups]},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    n = sum(g.size for g in groups)
    click.echo(f"{len(groups)} groups of near-duplicates ({n} articles) at TF-IDF cosine >= {threshold:g}")
    if groups:
        rows = [
            [str(g.size), g.ids[0], shorten(", ".join(g.ids[1:]), 30), shorten(g.titles[0] or "", 60)] for g in groups
        ]
        click.echo(table(["size", "representative", "others", "title (or start of text)"], rows))


# -- batch ----------------------------------------------------------------------------------------------
@cli.command()
@click.argument("queries_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@model_option
@click.option(
    "--input",
    "input_format",
    type=click.Choice(["auto", "jsonl", "ids", "texts"]),
    default="auto",
    show_default=True,
    help='How to read QUERIES_FILE: JSON Lines ({"id": ...} or {"text": ...}), one id per line, '
    "one text per line, or auto (JSON Lines if the first line is JSON, else each line is an "
    "id if the model has it and a text if not).",
)
@click.option("--top", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="Hits per query.")
@hit_filter_options
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["jsonl", "json", "table"]),
    default="jsonl",
    show_default=True,
    help="One JSON object per query and line, one JSON document, or a table.",
)
@key_option
def batch(
    queries_file,
    model_path,
    input_format,
    top,
    hit_filters,
    out_format,
    key_file,
):
    """Similar articles for many queries at once, read from QUERIES_FILE ('-' for standard input).

    The model is opened once and the texts are vectorised together, so a thousand queries take far
    less than a thousand `topics similar` runs. Every query line gets its own record, numbered
    as the line in the file; a line that cannot be answered (an unknown id, a text of unknown words,
    bad JSON, over 5 MB) gets {"line": N, "error": "..."} instead, the others are still answered, and
    the exit code is 1.

    \b
    Example:
      topics batch queries.txt --top 5 > hits.jsonl
      printf 'lee-00\\nbushfire near Sydney\\n' | topics batch - --top 3
    """
    from ..corpus import read_query_lines
    from ..queries import answer_queries, parse_query_lines

    source = sys.stdin.buffer if str(queries_file) == "-" else queries_file
    lines = list(read_query_lines(source))
    model = open_model(model_path, key_file)

    def known(line):
        return model.articles_.row_of(line) is not None

    numbered = parse_query_lines(lines, input_format=input_format, known_id=known)
    asked = [i for i, (_, q) in enumerate(numbered) if not isinstance(q, Exception)]
    answers = dict(
        zip(
            asked,
            answer_queries(
                model,
                [numbered[i][1] for i in asked],
                k=top,
                **hit_filters,
            ),
            strict=True,
        )
    )
    answered = [(n, query, answers.get(i, query)) for i, (n, query) in enumerate(numbered)]
    records = [_batch_record(*a) for a in answered]
    if out_format == "json":
        click.echo(json.dumps({"model": str(model_path), "queries": records}, ensure_ascii=False, indent=2))
    elif out_format == "table":
        click.echo(_batch_table(answered, records))
    else:
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False))
    failed = [r["line"] for r in records if "error" in r]
    if failed:
        shown = ", ".join(map(str, failed[:10])) + (", ..." if len(failed) > 10 else "")
        answered = f"; the other {len(records) - len(failed)} were answered" if len(failed) < len(records) else ""
        click.echo(
            f"topics: error: {len(failed)} of {len(records)} queries could not be answered "
            f"(line{'s' if len(failed) > 1 else ''} {shown}){answered}",
            err=True,
        )
        return 1
    return 0


def _batch_record(n: int, query, answer) -> dict:
    """The output record of query line ``n``: its hits, or its error without the "line N: " the record says."""
    if isinstance(answer, Exception):
        return {"line": n, "error": str(answer).removeprefix(f"line {n}: ")}
    return {
        "line": n,
        "query": query if isinstance(query, dict) else {"text": query},
        "results": [h.to_dict() for h in answer],
    }


def _batch_table(answered, records) -> str:
    rows = []
    for (n, _, answer), record in zip(answered, records, strict=True):
        if "error" in record:
            rows.append([str(n), "-", "-", "-", "ERROR", record["error"]])
        elif not answer:
            rows.append([str(n), "-", "-", "-", "-", "no articles match"])
        for i, h in enumerate(answer if "error" not in record else [], 1):
            rows.append([str(n), str(i), f"{h.score:.3f}", h.match or "-", h.id, shorten(h.title or h.snippet, 60)])
    return table(["line", "#", "score", "match", "id", "title (or start of text)"], rows)
