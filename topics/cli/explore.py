"""`topics find`, `topics by`, `topics tree` and `topics map`: finding and relating topics.

JSON shapes (``--format json``):

- ``find``: {"query", "topics": [{"topic", "label", "score", "words"}]}
- ``by``:   {"field", "n_missing", "values": [{"value", "n_articles", "share", "topics": [{"topic", "share",
  "ratio", "over"}]}], "topics": [{"id", "label", "weight", "values": [{"value", "share", "ratio", "over"}]}]}
  (ratio null: no other value has the topic)
- ``tree``: {"topics": [{"id", "label", "weight"}], "nodes": [{"id", "children", "distance", "topics",
  "label", "weight"}], "root"}
- ``map``:  {"n_articles", "explained", "topics": [{"id", "label", "x", "y", "weight"}]}
"""

from __future__ import annotations

import sys

import click

from ._base import cli, echo_json, open_model, shorten, table, write_csv
from .options import date_options, key_option, model_option, output_format_option, plot_option, text_file_option


def _format_option(*choices):
    return output_format_option(*choices, shapes="explore.py")


def _chart(plot_path, draw, *args):
    """Draw a chart with ``topics.plots.<draw>`` when --plot was given; returns the path written or None."""
    if plot_path is None:
        return None
    from .. import plots

    return getattr(plots, draw)(*args, plot_path)


# -- find -----------------------------------------------------------------------------------------------
@cli.command()
@click.argument("words", nargs=-1)
@text_file_option("The text of this file ('-' reads standard input).")
@click.option("--id", "article_id", help="A stored article.")
@click.option("--top", "-n", type=click.IntRange(min=1), default=5, show_default=True, help="How many topics.")
@model_option
@key_option
@_format_option("json", "csv")
def find(words, file_path, article_id, top, model_path, key_file, out_format):
    """Which topics a word, a phrase, a file or a stored article is about.

    A score is the topic's share of the text's topic weight (all topics together make 1).

    \b
    Example:
      topics find travel ban
      topics find --file article.txt --top 3
      topics find --id news-2530 --format json
    """
    from ..corpus import read_query_file

    if sum([bool(words), file_path is not None, article_id is not None]) != 1:
        raise click.UsageError("give exactly one of WORDS, --file or --id")
    if article_id is not None:
        query, shown = {"id": article_id}, {"id": article_id}
    elif file_path is not None:
        text = sys.stdin.read() if str(file_path) == "-" else read_query_file(file_path)
        query, shown = {"text": text}, {"file": str(file_path)}
    else:
        query = {"text": " ".join(words)}
        shown = query
    found = open_model(model_path, key_file).find_topics(query, k=top)
    rows = [(t, score) for t, score in found]
    if out_format == "json":
        echo_json(
            {
                "query": shown,
                "topics": [
                    {"topic": t.id, "label": t.label, "score": round(score, 6), "words": t.words[:8]}
                    for t, score in rows
                ],
            }
        )
    elif out_format == "csv":
        write_csv(
            ["topic", "score", "label", "words"], [[t.id, f"{s:.6f}", t.label, " ".join(t.words[:8])] for t, s in rows]
        )
    else:
        click.echo(
            table(
                ["score", "topic", "label", "words"],
                [[f"{s:.0%}", str(t.id), shorten(t.label, 40), shorten(", ".join(t.words[:8]), 70)] for t, s in rows],
            )
        )


# -- by -------------------------------------------------------------------------------------------------
@cli.command(name="by")
@click.argument("field")
@model_option
@date_options
@click.option(
    "--top",
    "-n",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Topics per value and values per topic.",
)
@plot_option
@key_option
@_format_option("json", "csv")
def by_field(field, model_path, since, until, top, plot_path, key_file, out_format):
    """Topics by a metadata field (source, party, section: what the model keeps per article).

    For each value, its largest topics (share of its topic weight); for each topic, the values it comes
    from. "*" marks over-representation: the topic takes at least twice as large a part of this value's
    topic weight as of all the other values' together (ratio >= 2), in at least 3 articles it leads.

    \b
    Example:
      topics by source
      topics by source --since 2017-03 --plot sources.png
      topics by source --format csv > by-source.csv
    """
    result = open_model(model_path, key_file).topics_by(field, since=since, until=until)
    plot_path = _chart(plot_path, "plot_topics_by", result)
    if out_format == "json":
        echo_json(result.to_dict())
        return
    doc = result.to_dict()
    if out_format == "csv":
        write_csv(
            [field, "topic", "label", "mix", "spread", "ratio", "over"],
            [
                [value, t, label, f"{m:.6f}", f"{s:.6f}", f"{r:.6f}", int(o)]
                for value, row_m, row_s, row_l, row_o in zip(
                    result.values, result.mix, result.spread, result.ratio, result.over, strict=True
                )
                for t, label, m, s, r, o in zip(result.topics, result.labels, row_m, row_s, row_l, row_o, strict=True)
            ],
        )
        return
    labels = dict(zip(result.topics, result.labels, strict=True))

    def cell(name, entry):
        return f"{name} {entry['share']:.0%}{'*' if entry['over'] else ''}"

    click.echo(f"Topics by {field}: each {field}'s largest topics (share of its topic weight; * over-represented)\n")
    click.echo(
        table(
            [field, "articles", "share", "topics"],
            [
                [
                    v["value"],
                    str(v["n_articles"]),
                    f"{v['share']:.1%}",
                    "  ".join(cell(str(e["topic"]), e) for e in v["topics"][:top]),
                ]
                for v in doc["values"]
            ],
        )
    )
    click.echo(f"\nEach topic's {field}s (share of the topic's weight; * over-represented):\n")
    click.echo(
        table(
            ["topic", "label", f"{field}s"],
            [
                [str(t["id"]), shorten(labels[t["id"]], 36), "  ".join(cell(e["value"], e) for e in t["values"][:top])]
                for t in sorted(doc["topics"], key=lambda t: -t["weight"])
            ],
        )
    )
    if result.n_missing:
        click.echo(f"\n{result.n_missing:,} articles without a {field} are left out.")
    if plot_path is not None:
        click.echo(f"\nChart: {plot_path}")


# -- tree -----------------------------------------------------------------------------------------------
@cli.command()
@model_option
@plot_option
@key_option
@_format_option("json")
def tree(model_path, plot_path, key_file, out_format):
    """The topics as a tree: topics with similar words join early (cosine of their word weights).

    Each inner node shows [where its two parts join: 0 same words, 1 none shared], the words its
    topics share, and their share of the archive.

    \b
    Example:
      topics tree
      topics tree --plot tree.png
    """
    result = open_model(model_path, key_file).topic_tree()
    plot_path = _chart(plot_path, "plot_tree", result)
    if out_format == "json":
        echo_json(result.to_dict())
        return
    click.echo(result.text())
    if plot_path is not None:
        click.echo(f"\nChart: {plot_path}")


# -- map ------------------------------------------------------------------------------------------------
@cli.command(name="map")
@model_option
@date_options
@plot_option
@key_option
@_format_option("json", "csv")
def topic_map(model_path, since, until, plot_path, key_file, out_format):
    """A 2-D map of the topics, as LDAvis draws it: near topics use similar words (Jensen–Shannon
    distance, scaled to 2-D); circle areas are topic shares (of the articles from --since to --until).

    \b
    Example:
      topics map --plot map.png
      topics map --since 2017-03 --format json
    """
    result = open_model(model_path, key_file).topic_map(since=since, until=until)
    plot_path = _chart(plot_path, "plot_map", result)
    if out_format == "json":
        echo_json(result.to_dict())
        return
    rows = [[t["id"], f"{t['x']:.4f}", f"{t['y']:.4f}", f"{t['weight']:.6f}", t["label"]] for t in result.topics]
    if out_format == "csv":
        write_csv(["topic", "x", "y", "weight", "label"], rows)
        return
    click.echo(
        f"{len(rows)} topics by the Jensen–Shannon distance of their words; the two axes keep "
        f"{result.explained:.0%} of it.\n"
    )
    click.echo(
        table(
            ["topic", "x", "y", "share", "label"],
            [[str(r[0]), r[1], r[2], f"{float(r[3]):.1%}", shorten(r[4], 50)] for r in rows],
        )
    )
    if plot_path is not None:
        click.echo(f"\nChart: {plot_path}")
