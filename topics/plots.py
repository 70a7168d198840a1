"""PNG charts of topic sizes and of topic shares over time (needs the optional extra ``topics[plot]``).

Only matplotlib's object API (``Figure``) is used, never ``pyplot``: no global backend or state is
changed, so the library stays safe to call from notebooks and servers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import TopicsError


class PlotError(TopicsError):
    """A chart cannot be drawn (matplotlib missing, or the file cannot be written)."""


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError("plots need matplotlib: pip install 'topics[plot]'") from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(fig, path) -> Path:
    path = Path(path)
    try:
        fig.savefig(path)
    except (OSError, ValueError) as exc:
        raise PlotError(f"cannot write the chart to {path}: {exc}") from None
    return path


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
    """Share-over-time lines of the ``max_topics`` largest topics in ``trends`` (gaps where no articles)."""
    mean = np.nan_to_num(np.nanmean(trends.shares, axis=0))
    shown = np.argsort(-mean, kind="stable")[:max_topics]
    fig = _figure(9, 4.5)
    ax = fig.add_subplot()
    x = np.arange(len(trends.periods))
    for j in shown:
        ax.plot(x, 100 * trends.shares[:, j], marker="o", markersize=3, linewidth=1.5,
                label=f"{trends.topics[j]}: {trends.labels[j]}")
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], [trends.periods[i] for i in x[::step]], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("share of the period's topic weight (%)")
    undated = f"; {trends.n_undated:,} undated articles left out" if trends.n_undated else ""
    ax.set_title(f"Topic shares by {trends.by} ({trends.n_dated:,} dated articles{undated})", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(alpha=0.3)
    return _save(fig, path)
