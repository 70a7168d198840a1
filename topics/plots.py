"""PNG charts of topic sizes and of topic shares over time (needs the optional extra ``topics[plot]``).

Only matplotlib's object API (``Figure``) is used, never ``pyplot``: no global backend or state is
changed, so the library stays safe to call from notebooks and servers.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import numpy as np

from .errors import MissingExtraError, TopicsError
from .files import atomic_write


class PlotError(TopicsError):
    """A chart cannot be drawn (matplotlib missing, or the file cannot be written)."""


class _NoMatplotlib(MissingExtraError, PlotError):
    """matplotlib is not installed: a MissingExtraError like every missing extra, and still the
    PlotError it always was, so ``except PlotError`` keeps catching it."""


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise _NoMatplotlib("plots need matplotlib", extra="plot", module="matplotlib") from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def check_chart_path(path) -> None:
    """Raise PlotError now if a chart cannot be written to ``path`` (call it before a long computation)."""
    _figure(1, 1)  # matplotlib is there
    path = Path(path)
    if path.is_dir():
        raise PlotError(f"{path} is a directory; give a file name such as {path / 'chart.png'}")
    if not path.parent.is_dir():
        raise PlotError(f"cannot write the chart to {path}: there is no folder {path.parent}")
    if not os.access(path.parent, os.W_OK):
        raise PlotError(f"cannot write the chart to {path}: no permission to write in {path.parent}")


def _save(fig, path) -> Path:
    """Write the chart atomically: a failed or interrupted write leaves no partial file and keeps an
    earlier chart of that name. The format follows the file's extension (PNG without one, as
    matplotlib names it ``path.png``)."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    try:  # the temporary file goes also on Ctrl-C (topics.files.atomic_write)
        return atomic_write(path, partial(fig.savefig, format=path.suffix[1:].lower()), force=True)
    except (OSError, ValueError) as exc:
        raise PlotError(f"cannot write the chart to {path}: {exc}") from None


def plot_summary(summary, path, *, n_words: int = 5) -> Path:
    """Horizontal bars of each topic's share of the archive, labelled with its name and top words."""
    topic_list = sorted(summary, key=lambda t: t.weight)
    fig = _figure(9, 0.45 * len(topic_list) + 1.2)
    ax = fig.add_subplot()
    y = np.arange(len(topic_list))
    ax.barh(y, [100 * t.weight for t in topic_list], color="#4C72B0")
    ax.set_yticks(y, [f"{t.id}: {t.label}" for t in topic_list], fontsize=8)
    for i, t in enumerate(topic_list):
        ax.text(100 * t.weight, i, "  " + ", ".join(t.words[:n_words]), va="center", fontsize=7, color="#333")
    ax.set_xlabel("share of the archive's topic weight (%)")
    ax.set_xlim(0, 100 * max(t.weight for t in topic_list) * 2.2 or 1)
    ax.set_title(f"{len(topic_list)} topics over {summary.n_articles:,} articles", fontsize=10)
    return _save(fig, path)


def plot_trends(trends, path, *, max_topics: int = 8) -> Path:
    """Share-over-time lines of the ``max_topics`` largest topics in ``trends`` (gaps where no articles;
    thin periods as hollow dots off the lines)."""
    thin = trends.thin if trends.thin is not None else np.zeros(len(trends.periods), dtype=bool)
    mean = np.nan_to_num(np.nanmean(trends.shares, axis=0))
    shown = np.argsort(-mean, kind="stable")[:max_topics]
    fig = _figure(9, 4.5)
    ax = fig.add_subplot()
    x = np.arange(len(trends.periods))
    for j in shown:
        (line,) = ax.plot(
            x,
            np.where(thin, np.nan, 100 * trends.shares[:, j]),
            marker="o",
            markersize=3,
            linewidth=1.5,
            label=f"{trends.topics[j]}: {trends.labels[j]}",
        )
        if thin.any():
            ax.plot(x[thin], 100 * trends.shares[thin, j], "o", markersize=4, fillstyle="none", color=line.get_color())
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], [trends.periods[i] for i in x[::step]], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("share of the period's topic weight (%)")
    undated = f"; {trends.n_undated:,} undated articles left out" if trends.n_undated else ""
    thin_note = f"; hollow: fewer than {trends.min_articles} articles" if thin.any() else ""
    ax.set_title(f"Topic shares by {trends.by} ({trends.n_dated:,} dated articles{undated}{thin_note})", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_tuning(result: dict, path) -> Path:
    """NPMI, diversity and error against k (a :func:`topics.tune.tune_texts` result), the chosen k marked."""
    fig = _figure(11, 3.2)
    ks = [r["k"] for r in result["rows"]]
    for position, name in enumerate(("npmi", "diversity", "relative_error"), start=1):
        ax = fig.add_subplot(1, 3, position)
        ax.plot(ks, [r[name] for r in result["rows"]], marker="o")
        ax.axvline(result["chosen"], color="tab:red", linestyle="--", linewidth=1)
        ax.set_xlabel("number of topics k")
        ax.set_title(name)
    fig.suptitle(f"chosen k = {result['chosen']}: {result['reason']}", fontsize=9)
    return _save(fig, path)


def plot_topics_by(result, path, *, max_topics: int = 30) -> Path:
    """A heat map of each value's topic mix (a :class:`topics.explore.TopicsBy`), the ``max_topics``
    largest topics as columns; over-represented cells are marked with a dot."""
    order = np.argsort(-result.weights.sum(axis=0), kind="stable")[:max_topics]
    mix, over = 100 * result.mix[:, order], result.over[:, order]
    fig = _figure(max(6.0, 0.32 * len(order) + 3), 0.4 * len(result.values) + 2.2)
    ax = fig.add_subplot()
    image = ax.imshow(mix, aspect="auto", cmap="Blues")
    rows, columns = np.nonzero(over)
    ax.scatter(columns, rows, s=12, color="#d62728", label="over-represented (ratio ≥ 2)")
    ax.set_xticks(np.arange(len(order)), [str(result.topics[t]) for t in order], fontsize=7)
    ax.set_yticks(np.arange(len(result.values)), result.values, fontsize=8)
    ax.set_xlabel("topic (largest first)")
    fig.colorbar(image, ax=ax, label=f"share of the {result.field}'s topic weight (%)")
    ax.legend(fontsize=7, loc="upper right", bbox_to_anchor=(1.0, -0.12))
    ax.set_title(f"Topics by {result.field}", fontsize=10)
    return _save(fig, path)


def plot_tree(tree, path) -> Path:
    """The topic tree (a :class:`topics.topic_space.TopicTree`) as a dendrogram: leaves labelled with
    topic id and label, each join with the words its topics share."""
    from scipy.cluster.hierarchy import leaves_list

    k = len(tree.topics)
    y = np.zeros(k + len(tree.nodes))
    y[leaves_list(tree.linkage)] = np.arange(k)
    x = np.zeros_like(y)
    fig = _figure(11, 0.28 * k + 1.5)
    ax = fig.add_subplot()
    for node in tree.nodes:  # in the order they were joined: children are placed before their parent
        a, b = node["children"]
        i = node["id"]
        x[i], y[i] = node["distance"], (y[a] + y[b]) / 2
        ax.plot([x[a], x[i], x[i], x[b]], [y[a], y[a], y[b], y[b]], color="#1f6fb2", linewidth=1)
        ax.text(x[i], y[i], " " + node["label"], fontsize=5.5, color="#555", va="center")
    ax.set_yticks(
        np.arange(k),
        [f"{tree.topics[t]['id']}: {tree.topics[t]['label']}" for t in leaves_list(tree.linkage)],
        fontsize=7,
    )
    ax.set_xlabel("distance where topics join (1 - cosine of their word weights)")
    ax.set_title(f"Tree of {k} topics", fontsize=10)
    ax.invert_xaxis()
    ax.yaxis.tick_right()
    return _save(fig, path)


def plot_map(topic_map, path, *, n_labels: int = 30) -> Path:
    """The topic map (a :class:`topics.topic_space.TopicMap`): circles with areas as topic shares, the
    ``n_labels`` largest labelled."""
    topics = topic_map.topics
    xs, ys = np.array([t["x"] for t in topics]), np.array([t["y"] for t in topics])
    weights = np.array([t["weight"] for t in topics])
    fig = _figure(9, 8)
    ax = fig.add_subplot()
    ax.scatter(
        xs,
        ys,
        s=6000 * weights / max(float(weights.max()), 1e-12) * 0.5,
        alpha=0.3,
        color="#1f6fb2",
        edgecolors="#1f6fb2",
    )
    for i in np.argsort(-weights, kind="stable")[:n_labels]:
        ax.annotate(f"{topics[i]['id']}: {topics[i]['label']}", (xs[i], ys[i]), fontsize=7, ha="center", va="center")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(
        f"{len(topics)} topics by the Jensen–Shannon distance of their words (axes keep {topic_map.explained:.0%}); "
        "areas are shares",
        fontsize=9,
    )
    return _save(fig, path)
