"""`topics evaluate` (how good a model's topics are) and `topics tune` (which number of topics to use)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._base import cli, open_model, table
from .options import corpus_options, key_option, model_option


def _echo_json(data):
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _clutter_note(topic: dict) -> str:
    """Why a topic is flagged: "lines 64%", "source 95%", "stubs 60%"; "-" when it is not."""
    from ..evaluate import CLUTTER_LIMITS

    if not topic["clutter"]:
        return "-"
    names = {"span_share": "lines", "source_share": "source", "stub_share": "stubs"}
    return ", ".join(f"{names[k]} {topic[k]:.0%}" for k, limit in CLUTTER_LIMITS.items() if topic[k] >= limit)


@cli.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@model_option
@key_option
@corpus_options(from_model=True)
@click.option("--no-stability", is_flag=True, help="Skip the stability refit (faster).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def evaluate(corpus, model_path, key_file, reading, no_stability, fmt):
    """Measure the topics of a model against CORPUS, the archive it was fitted on.

    NPMI: coherence of each topic's top-10 words (gensim's c_npmi, windows of 10 words of the texts
    without stop words or Usenet boilerplate, as published figures count them; higher is better, 0 is
    chance). Clutter: a topic is flagged when its words stand mostly inside lines the archive repeats
    (share strips, credits), its weight comes from one source, or its best articles are stubs; flagged
    topics are listed last, and npmi_clean counts each at most 0. Diversity: share of distinct words in all topics' top 25. Error: relative
    reconstruction error. Stability: how closely a refit on 80% of the articles finds the same topics.
    CORPUS is read as the model's archive was, except for the reading options given.

    \b
    Example:
      topics evaluate data/sample --model models/default.joblib --format json
    """
    from ..incremental import read_as_fitted

    model = open_model(model_path, key_file)
    articles = read_as_fitted(model.fit_info_, list(corpus), **reading)
    result = model.evaluate(articles, stability=not no_stability)
    skipped = articles.stats.describe()
    if fmt == "json":
        _echo_json({**result, "skipped": skipped} if skipped else result)
        return
    overall = [
        f"{name} {result[name]:.3f}"
        for name in ("npmi", "npmi_clean", "diversity", "relative_error", "stability")
        if name in result
    ]
    click.echo(f"{result['n_topics']} topics: " + ", ".join(overall) + f"; {result['n_clutter']} flagged as clutter")
    # Best first, and a flagged topic after every clean one: clutter co-occurs perfectly, so its NPMI is high.
    ranked = sorted(result["topics"], key=lambda t: (t["clutter"], -t["npmi"]))
    rows = [
        [
            t["id"],
            f"{t['npmi']:.3f}",
            f"{t['unique_words']:.2f}",
            f"{t['stability']:.2f}" if "stability" in t else "-",
            _clutter_note(t),
            " ".join(t["words"][:8]),
        ]
        for t in ranked
    ]
    click.echo(table(["topic", "npmi", "unique", "stable", "clutter", "top words"], rows))
    if skipped:
        click.echo(f"Skipped or repaired while reading CORPUS: {skipped}.")


@cli.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--topics",
    "-k",
    "spec",
    default=None,
    help="Numbers of topics to try: START:STOP:STEP (stop included), or a list 5,10,20. "
    "Default: about 8 values from 3 up to articles / 8 (at most 50), as --topics auto.",
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--stability", is_flag=True, help="Also measure stability (a second fit per k).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes; default: all cores.")
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save a PNG of the metrics against k (needs matplotlib: pip install 'topics[plot]').",
)
@corpus_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def tune(corpus, spec, seed, stability, jobs, plot_path, reading, fmt):
    """Fit CORPUS with each number of topics, measure each fit and choose one.

    The rule (also used by `topics fit --topics auto`): among the k whose diversity is at least 0.85,
    the highest NPMI, where a larger k must gain more than 0.01. Archives over 3,000 articles are
    tuned on a random sample of 3,000.

    \b
    Example:
      topics tune data/sample --topics 5:30:5 --plot tune.png
    """
    from ..corpus import read_corpus
    from ..tune import parse_k_range, tune_texts

    k_values = parse_k_range(spec) if spec else None
    if plot_path is not None:
        from ..plots import check_chart_path

        check_chart_path(plot_path)  # before the fits, not after
    articles = read_corpus(list(corpus), **reading)
    texts = [a.text for a in articles]
    result = tune_texts(texts, k_values, random_state=seed, stability=stability, n_jobs=jobs)
    if plot_path is not None:
        from ..plots import plot_tuning

        plot_path = plot_tuning(result, plot_path)
    skipped = articles.stats.describe()
    if fmt == "json":
        _echo_json({**result, "skipped": skipped} if skipped else result)
        return
    names = [n for n in ("npmi", "diversity", "relative_error", "stability") if n in result["rows"][0]]
    rows = [
        [r["k"], *(f"{r[n]:.3f}" for n in names), "<- chosen" if r["k"] == result["chosen"] else ""]
        for r in result["rows"]
    ]
    click.echo(table(["k", *names, ""], rows))
    click.echo(f"Chosen k = {result['chosen']}: {result['reason']}.")
    if skipped:
        click.echo(f"Skipped or repaired while reading CORPUS: {skipped}.")
    if plot_path is not None:
        click.echo(f"Plot saved to {plot_path}.")
