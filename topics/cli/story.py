"""`topics label`, `topics show`, `topics trends` and `topics report`: the story a model tells.

JSON shapes (``--format json``):

- ``label``:  {"model", "topic", "label", "auto_label", "named"}
- ``show``:   {"id", "title", "date", "snippet", "topics": [{"topic", "label", "share"}],
  "similar": [{"id", "score", "title", "date"}]}
- ``trends``: {"by", "n_dated", "n_undated", "topics": [{"id", "label"}],
  "periods": [{"period", "n_articles", "shares": {"<topic id>": share or null}}], "compare": [A, B] or null,
  "changes": [{"topic", "label", "share_a", "share_b", "change", "direction"}]}
- ``report``: {"report", "bytes", "n_topics"}
"""

from __future__ import annotations

import math
from pathlib import Path

import click

from ._base import cli, echo_json, open_model, shorten, table, update_model
from .options import (
    date_options,
    key_option,
    min_articles_option,
    model_option,
    output_format_option,
    period_option,
    plot_option,
)


def _format_option(*choices):
    return output_format_option(*choices, shapes="story.py")


# -- label ----------------------------------------------------------------------------------------------
@cli.command()
@click.argument("topic_id", type=int)
@click.argument("name")
@model_option
@key_option
@_format_option("json")
def label(topic_id, name, model_path, key_file, out_format):
    """Name topic TOPIC_ID; the name is saved in the model file. An empty NAME ("") restores the generated label.

    \b
    Example:
      topics label 3 "India–Russia ties"
      topics label 3 ""
    """
    with update_model(model_path, key_file) as update:  # locked from load to save: no concurrent change is lost
        model = update.model = update.model.rename_topic(topic_id, name)
        update.save()  # atomic: a crash keeps the old file
    topic = model.summary(n_words=10, n_articles=0)[topic_id]
    if out_format == "json":
        echo_json(
            {
                "model": str(model_path),
                "topic": topic.id,
                "label": topic.label,
                "auto_label": topic.auto_label,
                "named": topic.named,
            }
        )
    elif topic.named:
        click.echo(f"Topic {topic.id} is now {topic.label!r} (was {topic.auto_label!r}); saved {model_path}.")
    else:
        click.echo(f"Topic {topic.id} has its generated label again: {topic.label!r}; saved {model_path}.")


# -- show -----------------------------------------------------------------------------------------------
@cli.command()
@click.argument("article_id")
@model_option
@click.option(
    "--top", "-n", type=click.IntRange(min=1), default=5, show_default=True, help="How many nearest articles."
)
@key_option
@_format_option("json")
def show(article_id, model_path, top, key_file, out_format):
    """One stored article: its topic mix and its nearest articles.

    \b
    Example:
      topics show india-russia-2025-10-09 --top 3
    """
    view = open_model(model_path, key_file).article(article_id, k=top)
    if out_format == "json":
        echo_json(view.to_dict())
        return
    click.echo(f"{view.id}  {view.date or 'undated'}  {shorten(view.title or '', 90)}".rstrip())
    click.echo(f"  {shorten(view.snippet, 110)}\n")
    click.echo(
        table(["share", "topic", "label"], [[f"{m['share']:.1%}", str(m["topic"]), m["label"]] for m in view.topics])
        if view.topics
        else "No topic weight."
    )
    click.echo("\nNearest articles:")
    click.echo(
        table(
            ["#", "score", "id", "date", "title (or start of text)"],
            [
                [str(i), f"{h.score:.3f}", h.id, h.date or "-", shorten(h.title or h.snippet, 60)]
                for i, h in enumerate(view.similar, 1)
            ],
        )
    )


# -- trends ---------------------------------------------------------------------------------------------
@cli.command()
@click.argument("topic_args", metavar="[TOPIC]...", type=int, nargs=-1)
@model_option
@period_option("Period length.")
@click.option(
    "--topics",
    "topic_ids",
    type=int,
    multiple=True,
    help="Only these topics: --topics 8 10 12 (or repeated, or as arguments). Shares stay shares of all topics.",
)
@date_options
@min_articles_option
@click.option(
    "--words",
    "n_words",
    type=click.IntRange(min=1),
    default=None,
    is_flag=False,
    flag_value=5,
    help="Instead of shares: each chosen topic's leading N words per period (default N: 5).",
)
@click.option(
    "--compare",
    nargs=2,
    type=str,
    default=None,
    metavar="A B",
    help="Rising and falling topics from range A to range B, e.g. 2025-01:2025-06 2025-07:2025-12.",
)
@plot_option
@key_option
@_format_option("json", "csv")
def trends(
    topic_args, model_path, by, topic_ids, since, until, min_articles, n_words, compare, plot_path, key_file, out_format
):
    """Each topic's share of every day, week, month or year, from the article dates.

    Articles without a date are counted and reported, never given one. A share is the topic's part of
    all topic weight in that period; empty periods show "-", thin ones (fewer than --min-articles
    articles) are in brackets. Stray dates far from the rest and changes in the mix of sources are
    reported below the table. Dates are YYYY, YYYY-MM or YYYY-MM-DD.

    \b
    Example:
      topics trends --by month --since 2017-01
      topics trends --by week --topics 2 5 --plot trends.png
      topics trends --topics 7 --words           # how topic 7's words change
      topics trends --compare 2025-01:2025-06 2025-07:2025-12
    """
    model = open_model(model_path, key_file)
    chosen = list(dict.fromkeys([*topic_ids, *topic_args])) or None
    if n_words is not None:
        if not chosen:
            raise click.UsageError("--words needs the topics to follow: trends --topics 7 --words")
        _words_over_time(model, chosen, by, since, until, min_articles, n_words, out_format)
        return
    result = model.trends(by=by, topics=chosen, compare=compare, since=since, until=until, min_articles=min_articles)
    if plot_path is not None:
        from ..plots import plot_trends

        plot_path = plot_trends(result, plot_path)
    if out_format == "json":
        echo_json(result.to_dict())
        return
    rows = zip(result.periods, result.n_articles, result.thin, result.shares, strict=True)
    if out_format == "csv":
        from ._base import write_csv

        write_csv(
            [by, "articles", "thin", *[str(t) for t in result.topics]],
            [[p, n, int(thin), *["" if math.isnan(s) else f"{s:.6f}" for s in row]] for p, n, thin, row in rows],
        )
        return
    click.echo(
        f"Topic shares by {by}: {_plural(result.n_dated, 'dated article')}, {result.first_day} to {result.last_day}.\n"
    )
    click.echo(table([by, "articles", *[str(t) for t in result.topics]], [_trend_row(*r) for r in rows]))
    click.echo("\n" + "\n".join(f"  {t}: {label}" for t, label in zip(result.topics, result.labels, strict=True)))
    notes = result.notes()
    if notes:
        click.echo("\n" + "\n".join(f"Note: {note}" for note in notes))
    if result.changes:
        click.echo(f"\nFrom {compare[0]} to {compare[1]}:")
        click.echo(
            table(
                ["change", "from", "to", "topic", "label", ""],
                [
                    [
                        f"{c['change']:+.1%}",
                        f"{c['share_a']:.1%}",
                        f"{c['share_b']:.1%}",
                        str(c["topic"]),
                        shorten(c["label"], 50),
                        c["direction"],
                    ]
                    for c in result.changes
                ],
            )
        )
    if plot_path is not None:
        click.echo(f"\nChart: {plot_path}")


def _trend_row(period, n, thin, shares) -> list:
    cells = ["-" if math.isnan(s) else f"({s:.0%})" if thin else f"{s:.0%}" for s in shares]
    return [period, f"{n} thin" if thin else str(n), *cells]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _words_over_time(model, chosen, by, since, until, min_articles, n_words, out_format):
    """`trends --words`: each chosen topic's leading words per period."""
    results = [
        model.topic_words_over_time(t, by=by, n_words=n_words, since=since, until=until, min_articles=min_articles)
        for t in chosen
    ]
    if out_format == "json":
        echo_json({"topics": [r.to_dict() for r in results]})
        return
    if out_format == "csv":
        from ._base import write_csv

        write_csv(
            ["topic", by, "articles", "thin", "weight", "words"],
            [
                [r.topic, p["period"], p["n_articles"], int(p["thin"]), f"{p['weight']:.6f}", " | ".join(p["words"])]
                for r in results
                for p in r.to_dict()["periods"]
            ],
        )
        return
    for r in results:
        click.echo(f"Topic {r.topic}: {r.label}  (overall: {', '.join(r.overall)})")
        click.echo(
            table(
                [by, "articles", "weight", "leading words"],
                [
                    [p, f"{n} thin" if thin else str(n), f"{w:.1f}", ", ".join(words) or "-"]
                    for p, n, thin, w, words in zip(r.periods, r.n_articles, r.thin, r.weights, r.words, strict=True)
                ],
            )
        )
        click.echo("")
    click.echo(
        "weight: the topic's article weight in the period; words: its heaviest terms there, ranked as the "
        "topic's words are (relevance)."
    )


# -- report ---------------------------------------------------------------------------------------------
@cli.command()
@model_option
@click.option(
    "--out",
    "-o",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="The HTML file to write (replaced if it exists).",
)
@period_option("Period of the trend charts.")
@date_options
@min_articles_option
@click.option("--words", "-w", "n_words", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--articles", "-a", "n_articles", type=click.IntRange(min=0), default=5, show_default=True)
@key_option
@_format_option("json")
def report(model_path, out_path, by, since, until, min_articles, n_words, n_articles, key_file, out_format):
    """Write one self-contained HTML page (no network, no external files) about every topic.

    The page has a map of the topics and, when articles have dates, each topic's share over time
    (--since/--until: the dates charted; thin periods are hollow dots, never the peak).

    \b
    Example:
      topics report --out report.html
      topics report --since 2017-01 --by week
    """
    from ..report import write_report

    model = open_model(model_path, key_file)
    path = write_report(
        model,
        out_path,
        by=by,
        n_words=n_words,
        n_articles=n_articles,
        since=since,
        until=until,
        min_articles=min_articles,
    )
    if out_format == "json":
        echo_json({"report": str(path), "bytes": path.stat().st_size, "n_topics": model.n_topics_})
    else:
        click.echo(f"Wrote {path} ({path.stat().st_size / 1e3:.0f} kB, {model.n_topics_} topics).")
