"""`topics merge`, `topics drop` and `topics reduce`: fewer topics, saved in place under the writer lock.

JSON shape (``--format json``) of all three: {"model", "action", "n_topics_before", "n_topics", "mapping"
(new id of each old id, null for a dropped topic), "groups": [{"topic", "merged", "labels", "label"}],
"dropped", "dropped_label", "n_replaced", "n_unplaced", "relative_error_before", "relative_error",
"seconds", "at"}.
"""

from __future__ import annotations

import json

import click

from ._base import cli, table, update_model
from .options import key_option, model_option, output_format_option

_format_option = output_format_option("json", shapes="edit.py")


def _edit_and_save(model_path, key_file, change):
    """Lock the model, load it, apply ``change(model) -> report``, save it in place; returns the report."""
    with update_model(model_path, key_file) as update:  # locked from load to save: no concurrent change is lost
        report = change(update.model)
        update.save()  # atomic: a crash or an error before this keeps the old file
    return report


def _echo(report, model_path, out_format, headline: str) -> None:
    if out_format == "json":
        click.echo(json.dumps({"model": str(model_path), **report.to_dict()}, ensure_ascii=False, indent=2))
        return
    click.echo(headline)
    moved = renumbered(report.mapping)
    remain = f"{report.n_topics} topic{'s' if report.n_topics != 1 else ''} remain{f'; {moved}' if moved else ''}"
    click.echo(f"{remain}. Saved {model_path}.")


def renumbered(mapping) -> str:
    """The ids that changed, as runs: "ids 7-9 are now 6-8, 12 is now 10"; "" when none did."""
    runs = []  # [old first, old last, shift]
    for old, new in enumerate(mapping):
        if new is None or new == old or _merged_away(mapping, old):
            continue
        if runs and runs[-1][1] == old - 1 and runs[-1][2] == old - new:
            runs[-1][1] = old
        else:
            runs.append([old, old, old - new])
    parts = [
        f"{a} is now {a - shift}" if a == b else f"{a}-{b} are now {a - shift}-{b - shift}" for a, b, shift in runs
    ]
    single = len(runs) == 1 and runs[0][0] == runs[0][1]
    return f"{'id' if single else 'ids'} {', '.join(parts)}" if parts else ""


def _merged_away(mapping, old: int) -> bool:
    """Whether topic ``old`` went into a merged topic of a lower id (reported as merged, not renumbered)."""
    return mapping.count(mapping[old]) > 1 and mapping.index(mapping[old]) != old


def _topic(t: int, label: str) -> str:
    return f"{t} {label!r}"


@cli.command()
@click.argument("topic_ids", nargs=-1, required=True, type=int, metavar="A B [C ...]")
@click.option("--name", default=None, help='Name the merged topic ("" for a label made from its words).')
@model_option
@key_option
@_format_option
def merge(topic_ids, name, model_path, key_file, out_format):
    """Merge topics A, B, ... into one and save the model in place.

    The merged topic takes the lowest id; later ids move down. Each article's weight in the merged
    topics is added up, so every article stays placed. Names given to the merged topics are kept
    (joined by " / ") unless --name is given.

    \b
    Example:
      topics merge 3 7
      topics merge 3 7 12 --name "Middle East"
    """
    report = _edit_and_save(model_path, key_file, lambda model: model.merge_topics(list(topic_ids), name=name))
    group = report.groups[0]
    merged = ", ".join(_topic(t, label) for t, label in zip(group["merged"], group["labels"], strict=True))
    _echo(
        report, model_path, out_format, f"Merged topics {merged} into topic {_topic(group['topic'], group['label'])}."
    )


@cli.command()
@click.argument("topic_id", type=int)
@model_option
@key_option
@_format_option
def drop(topic_id, model_path, key_file, out_format):
    """Drop topic TOPIC_ID and save the model in place; its articles are placed in the other topics.

    Later ids move down. An article whose words no other topic uses is left without a topic (counted).

    \b
    Example:
      topics drop 4
    """
    report = _edit_and_save(model_path, key_file, lambda model: model.drop_topic(topic_id))
    unplaced = f" ({report.n_unplaced:,} fit no other topic and have none now)" if report.n_unplaced else ""
    _echo(
        report,
        model_path,
        out_format,
        f"Dropped topic {_topic(report.dropped, report.dropped_label)}; the {report.n_replaced:,} articles "
        f"with weight in it were placed again in the other topics{unplaced}.",
    )


@cli.command()
@click.option("--to", "n_topics", type=int, required=True, help="How many topics to keep.")
@model_option
@key_option
@_format_option
def reduce(n_topics, model_path, key_file, out_format):
    """Merge the most similar topics until --to of them are left, and save the model in place.

    Topics are compared by the cosine of their words' weights (average over the topics of each group,
    as BERTopic's reduce_topics). Lists which topics were merged into which. A merged topic is labelled
    by its words, whatever names its topics had; the other topics keep their names.

    \b
    Example:
      topics reduce --to 20
    """
    report = _edit_and_save(model_path, key_file, lambda model: model.reduce_topics(n_topics))
    rows = [
        [
            str(g["topic"]),
            g["label"],
            ", ".join(_topic(t, label) for t, label in zip(g["merged"], g["labels"], strict=True)),
        ]
        for g in report.groups
    ]
    headline = f"Reduced {report.n_topics_before} topics to {report.n_topics} by merging:\n\n"
    _echo(report, model_path, out_format, headline + table(["topic", "label", "merged topics"], rows) + "\n")
