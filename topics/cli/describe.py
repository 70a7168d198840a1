"""`topics summary` and `topics info`: what a model is about and what its file holds."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..topic_model import RELEVANCE_LAMBDA
from ._base import cli, md_escape, open_model, shorten, table
from .options import key_option, model_option, plot_option


# -- summary --------------------------------------------------------------------------------------------
@cli.command()
@model_option
@click.option(
    "--words", "-w", "n_words", type=click.IntRange(min=1), default=8, show_default=True, help="Top words per topic."
)
@click.option(
    "--articles",
    "-a",
    "n_articles",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Representative articles per topic.",
)
@click.option(
    "--relevance",
    "-r",
    type=click.FloatRange(0.0, 1.0),
    default=RELEVANCE_LAMBDA,
    show_default=True,
    help="How words are ranked: 1 lists each topic's heaviest terms, lower values favour terms "
    "particular to the topic over terms common to the whole archive. Labels do not change.",
)
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@plot_option
@key_option
def summary(model_path, n_words, n_articles, relevance, out_format, plot_path, key_file):
    """What each topic is about: label, top words, share of the archive, representative articles.

    Share is the topic's part of all topic weight; "leads in" counts the articles where it is the
    heaviest topic; distinctness is 1 - the word similarity to the nearest other topic.

    \b
    JSON: {"model", "n_articles", "n_dated", "topics": [{"id", "label", "auto_label", "named", "words",
           "word_weights", "weight", "n_articles", "nearest_topic", "nearest_similarity", "distinctness",
           "articles": [{"id", "title", "date", "snippet", "weight"}], "sources": [{"source", "share"}]}]}
    ("sources" only when the articles name their source.)

    \b
    Example:
      topics summary --words 10 --articles 2
      topics summary --relevance 1      # each topic's heaviest terms
      topics summary --format json > topics.json
      topics summary --plot topics.png
    """
    model = open_model(model_path, key_file)
    result = model.summary(n_words=n_words, n_articles=n_articles, relevance=relevance)
    topic_list = list(result)
    if plot_path is not None:
        from ..plots import plot_summary

        plot_path = plot_summary(result, plot_path)  # with .png added if it had no extension
    if out_format == "json":
        click.echo(json.dumps({"model": str(model_path), **result.to_dict()}, ensure_ascii=False, indent=2))
        return
    if out_format == "markdown":
        click.echo(_summary_markdown(topic_list, len(model.articles_)))
        return
    click.echo(f"{len(topic_list)} topics over {len(model.articles_):,} articles (share = part of all topic weight)\n")
    for t in sorted(topic_list, key=lambda t: -t.weight):
        click.echo(f"Topic {t.id}: {t.label}   {t.weight:.1%} · leads in {t.n_articles} articles")
        click.echo(f"  words: {', '.join(f'{w} {x:.2f}' for w, x in zip(t.words, t.word_weights, strict=True))}")
        if t.nearest_topic is not None:
            click.echo(f"  nearest topic: {t.nearest_topic} (distinctness {t.distinctness:.2f})")
        if t.sources:
            click.echo(f"  sources: {', '.join(f'{name} {share:.0%}' for name, share in t.sources)}")
        for a in t.articles:
            date = f"{a['date']}  " if a["date"] else ""
            click.echo(f"  · {a['id']}  {date}{shorten(a['title'] or a['snippet'], 80)}")
        click.echo("")
    if plot_path is not None:
        click.echo(f"Chart: {plot_path}")


def _summary_markdown(topic_list, n_total: int) -> str:
    lines = ["| topic | label | share | articles | top words |", "|---:|---|---:|---:|---|"]
    for t in sorted(topic_list, key=lambda t: -t.weight):
        lines.append(
            f"| {t.id} | {md_escape(t.label)} | {t.weight:.1%} | {t.n_articles} | {md_escape(', '.join(t.words))} |"
        )
    return "\n".join(lines)


# -- info -----------------------------------------------------------------------------------------------
_SIGNATURE_TEXT = {
    "none": "no",
    "unverified": "unverified (give the key with --key-file or TOPICS_MODEL_KEY to check the signature)",
    "verified": "verified",
    "payload verified": "payload verified; footer (history, creation time) unsigned: saved by an older topics",
}


@cli.command()
@model_option
@key_option
@click.option("--format", "out_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--clutter", is_flag=True, help="Also list what the fit learned to leave out (loads the model).")
def info(model_path, key_file, out_format, clutter):
    """What a model file holds, read from its footer without loading it.

    With a key (--key-file or $TOPICS_MODEL_KEY) the signature is verified, and a file changed after
    it was signed is refused; without one a signed file shows as "unverified".

    \b
    JSON: {"path", "file_bytes", "signature": "none"|"unverified"|"verified"|"payload verified", ...footer}

    \b
    Example:
      topics info --model models/default.joblib
    """
    from ..store import read_footer, resolve_key, signature_status

    key = resolve_key(key_file)
    footer = read_footer(model_path, key=key)
    ours = {
        "path": str(model_path),
        "file_bytes": Path(model_path).stat().st_size,
        "signature": signature_status(footer, key),
    }
    footer = {**ours, **{k: v for k, v in footer.items() if k not in ours}}  # a footer cannot claim "verified"
    learned = open_model(model_path, key_file).clutter() if clutter else None
    if out_format == "json":
        click.echo(json.dumps(footer if learned is None else {**footer, "clutter": learned}, indent=2))
        return
    rows = [
        [k, str(footer.get(k))]
        for k in (
            "path",
            "file_bytes",
            "format_version",
            "topics_version",
            "created",
            "n_articles",
            "n_terms",
            "n_topics",
        )
    ]
    if footer.get("stop_word_languages"):  # models saved before languages were detected lack them
        from ..language import languages_line

        rows.append(["languages", languages_line(footer.get("languages"), footer["stop_word_languages"])])
    rows.append(["signed", _SIGNATURE_TEXT[footer["signature"]]])
    rows += [["added", _add_line(a)] for a in footer.get("adds", [])]
    click.echo(table(["field", "value"], rows))
    if learned is not None:
        click.echo("")
        click.echo(clutter_table(learned))


def clutter_table(learned: dict) -> str:
    """The learned clutter as a table: what, how many articles, and the text."""
    rows = [
        ["repaired", f"{learned['n_repaired']:,}", "articles with broken characters mended"],
        ["stubs", f"{learned['n_stubs']:,}", "articles too short to shape topics"],
    ]
    rows += [["line", f"{count:,}", shorten(span, 90)] for span, count in learned["spans"].items()]
    rows += [["formula", f"{count:,}", term] for term, count in learned["formulae"].items()]
    rows += [["source term", source, term] for term, source in learned["source_terms"].items()]
    return table(["kind", "articles", "text"], rows)


def _add_line(add: dict) -> str:
    def number(key, fmt):
        value = add.get(key)
        return format(value, fmt) if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"

    advised = ", refit advised" if add.get("refit_advised") is True else ""
    return (
        f"{add.get('at')}: +{number('n_added', '')} ({number('n_replaced', '')} replaced), "
        f"error x{add.get('error_ratio')}, unknown terms {number('unknown_share', '.0%')}{advised}"
    )
