"""How topics relate to one another: a tree of topics (hierarchical clustering) and a 2-D map.

Symbols as in :mod:`topics.topic_model`: H (k, V) topic-term weights, W (n_articles, k) article-topic
weights; a topic's ``weight`` is its share of all article-topic weight (:func:`topics.summary.topic_sizes`).

- **Tree** (:func:`topic_tree`): average-linkage clustering of the rows of H by cosine distance
  ``1 - cos(H_a, H_b)`` (``scipy.cluster.hierarchy``). Each inner node joins two subtrees at the mean
  distance between their topics; it is labelled with the most relevant terms of its topics' summed
  term weights (each topic's H row scaled by its weight; ranked as topic words are,
  :func:`topics.topic_model.term_relevance`), so a node reads as what its topics share.
- **Map** (:func:`topic_map`): the view LDAvis draws. Each row of H, normalised to sum 1, is a word
  distribution; topics are placed by classical multidimensional scaling (Torgerson) of the
  Jensen–Shannon distances between those distributions (base 2, in [0, 1]); ``explained`` is the share
  of the scaling's positive eigenvalues the two axes keep (1: the 2-D distances are the real ones).
  Circle areas are topic weights.

>>> tree = model.topic_tree()                             # doctest: +SKIP
>>> print(tree.text())                                    # doctest: +SKIP
>>> [(t["id"], t["x"], t["y"]) for t in model.topic_map().to_dict()["topics"]]   # doctest: +SKIP
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from .errors import QueryError
from .filters import date_window, in_window
from .summary import topic_cosines, topic_labels, topic_sizes
from .topic_model import label_from_terms, relevance_scale, top_terms


# -- tree -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TopicTree:
    """A binary tree over the k topics.

    topics : list of dict {"id", "label", "weight"}, one per topic (the leaves, ids 0..k-1)
    nodes : list of dict {"id", "children": [a, b], "distance", "topics": [leaf ids], "label", "weight"},
        the k-1 inner nodes in the order they were joined (ids k..2k-2; the last is the root)
    linkage : float array (k-1, 4), scipy's linkage matrix (children, distance, number of topics)
    """

    topics: list
    nodes: list
    linkage: np.ndarray

    @property
    def root(self) -> int:
        return len(self.topics) + len(self.nodes) - 1

    def to_dict(self) -> dict:
        return {"topics": self.topics, "nodes": self.nodes, "root": self.root}

    def text(self) -> str:
        """The tree as an indented text dendrogram, the heavier subtree first: an inner node shows
        ``[distance]`` (where its two parts join: 0 = the same words, 1 = none in common), its label and
        its topics' weight; a leaf its topic id, label and weight."""
        lines = []

        def walk(node: int, prefix: str, branch: str, rest: str) -> None:
            lines.append(prefix + branch + self._line(node))
            if node >= len(self.topics):
                children = sorted(self.nodes[node - len(self.topics)]["children"], key=lambda c: -self._weight(c))
                walk(children[0], prefix + rest, "├── ", "│   ")
                walk(children[1], prefix + rest, "└── ", "    ")

        walk(self.root, "", "", "")
        return "\n".join(lines)

    def _weight(self, node: int) -> float:
        k = len(self.topics)
        return self.topics[node]["weight"] if node < k else self.nodes[node - k]["weight"]

    def _line(self, node: int) -> str:
        k = len(self.topics)
        if node < k:
            t = self.topics[node]
            return f"{t['id']}: {t['label']}  {t['weight']:.1%}"
        n = self.nodes[node - k]
        return f"[{n['distance']:.2f}] {n['label']}  ({len(n['topics'])} topics, {n['weight']:.1%})"


def topic_tree(model) -> TopicTree:
    """The tree of a fitted model's topics; see the module docstring. QueryError for a one-topic model."""
    from scipy.cluster.hierarchy import linkage  # imported here: only the tree needs it

    H = np.asarray(model.components_)
    k = H.shape[0]
    if k < 2:
        raise QueryError("this model has one topic: there is no tree to draw")
    distance = np.clip(1.0 - topic_cosines(H), 0.0, 2.0)
    Z = linkage(distance[np.triu_indices(k, 1)], method="average")
    shares = topic_sizes(np.asarray(model.doc_topics_))[0]
    used = np.flatnonzero(H.any(axis=0))  # the terms some topic uses: no other term can label a node
    members, mass = [[t] for t in range(k)], list(shares[:, None] * H[:, used])
    for a, b, _, _ in Z:
        members.append(members[int(a)] + members[int(b)])
        mass.append(mass[int(a)] + mass[int(b)])  # the node's topics' term weights, each scaled by its share
    inner = members[k:]
    labels = _labels_of(model, np.stack(mass[k:]), used, relevance_scale(H, shares)[used])
    return TopicTree(
        topics=[{"id": t, "label": label, "weight": float(shares[t])} for t, label in enumerate(topic_labels(model))],
        nodes=[
            {
                "id": k + i,
                "children": [int(Z[i, 0]), int(Z[i, 1])],
                "distance": round(float(Z[i, 2]), 6),
                "topics": sorted(int(t) for t in m),
                "label": labels[i],
                "weight": float(shares[m].sum()),
            }
            for i, m in enumerate(inner)
        ],
        linkage=Z,
    )


def _labels_of(model, vectors: np.ndarray, columns: np.ndarray, scale: np.ndarray) -> list:
    """Labels of term-weight vectors (n, len(columns)) over the vocabulary's ``columns``, their terms ranked
    as topic words are (``scale``: :func:`topics.topic_model.relevance_scale` of those columns)."""
    best = columns[top_terms(vectors * scale, 30)]
    return [label_from_terms(model.vectorizer_.terms(c)) for c in best]


# -- map ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TopicMap:
    """Topics placed in 2-D.

    topics : list of dict {"id", "label", "x", "y", "weight"}, one per topic (weights: shares of the
        articles in the date window, summing to 1)
    distances : float array (k, k), the Jensen–Shannon distances the map scales down
    explained : share of the distances' structure the two axes keep (module docstring)
    n_articles : articles whose weights size the circles
    """

    topics: list
    distances: np.ndarray
    explained: float
    n_articles: int

    def to_dict(self) -> dict:
        return {
            "n_articles": self.n_articles,
            "explained": round(self.explained, 6),
            "topics": [
                {**t, "x": round(t["x"], 6), "y": round(t["y"], 6), "weight": round(t["weight"], 6)}
                for t in self.topics
            ],
        }


def topic_map(model, *, since=None, until=None) -> TopicMap:
    """A 2-D map of a fitted model's topics (module docstring); ``since``/``until`` (YYYY, YYYY-MM or
    YYYY-MM-DD) choose the articles whose weights size the circles, not the places."""
    H = np.asarray(model.components_)
    distances = js_distances(H)
    xy, explained = classical_scaling(distances)
    W = np.asarray(model.doc_topics_)
    n_articles = W.shape[0]
    if since is not None or until is not None:
        rows = in_window(model.articles_.dates, *date_window(since, until))
        if not rows.any():
            raise QueryError(f"no dated articles from {since or 'the start'} to {until or 'the end'}")
        W, n_articles = W[rows], int(rows.sum())
    shares = topic_sizes(W)[0]
    labels = topic_labels(model)
    return TopicMap(
        topics=[
            {"id": t, "label": labels[t], "x": float(xy[t, 0]), "y": float(xy[t, 1]), "weight": float(shares[t])}
            for t in range(H.shape[0])
        ],
        distances=distances,
        explained=explained,
        n_articles=n_articles,
    )


def js_distances(H: np.ndarray) -> np.ndarray:
    """Jensen–Shannon distances (square root of the divergence, base 2, in [0, 1]) between the rows of H
    as word distributions: float64 array (k, k). Terms no topic uses are left out first (a large
    archive's topics use a fraction of its vocabulary)."""
    H = np.asarray(H, dtype=np.float64)
    H = H[:, H.sum(axis=0) > 0]
    totals = H.sum(axis=1, keepdims=True)
    P = H / np.where(totals > 0, totals, 1.0)
    entropy = -_xlogx(P).sum(axis=1)
    k = P.shape[0]
    divergence = np.zeros((k, k))
    for i in range(k - 1):
        M = 0.5 * (P[i] + P[i + 1 :])
        divergence[i, i + 1 :] = -_xlogx(M).sum(axis=1) - 0.5 * (entropy[i] + entropy[i + 1 :])
    divergence = np.maximum(divergence + divergence.T, 0.0) / np.log(2)
    return np.sqrt(np.minimum(divergence, 1.0))


def _xlogx(a: np.ndarray) -> np.ndarray:
    return a * np.log(np.where(a > 0, a, 1.0))


def classical_scaling(distances: np.ndarray):
    """Torgerson's classical scaling of a (k, k) distance matrix to 2-D: ``(xy (k, 2), explained)``.

    Each axis's sign is fixed so that its largest coordinate is positive (the same model, the same map).
    """
    k = distances.shape[0]
    J = np.eye(k) - 1.0 / k
    B = -0.5 * J @ (distances**2) @ J
    values, vectors = np.linalg.eigh(B)
    order = np.argsort(-values)[:2]
    top = np.clip(values[order], 0.0, None)
    xy = vectors[:, order] * np.sqrt(top)
    if xy.shape[1] < 2:
        xy = np.hstack([xy, np.zeros((k, 2 - xy.shape[1]))])
    for axis in range(2):
        if -xy[:, axis].min() > xy[:, axis].max():
            xy[:, axis] = -xy[:, axis]
    positive = values[values > 0].sum()
    return xy, float(top.sum() / positive) if positive > 0 else 0.0


def map_svg(topic_map: TopicMap, *, width: int = 760, height: int = 520, n_labels: int = 25) -> str:
    """The map as inline SVG for the HTML report: circles with areas as weights, the ``n_labels`` largest
    topics labelled, every circle titled with its id, label and weight."""
    topics = topic_map.topics
    xs, ys = np.array([t["x"] for t in topics]), np.array([t["y"] for t in topics])
    weights = np.array([t["weight"] for t in topics])
    pad = 60
    span = max(float(np.ptp(xs)), float(np.ptp(ys)), 1e-9)
    scale = min((width - 2 * pad) / span, (height - 2 * pad) / span)
    cx = (width - scale * (xs.min() + xs.max())) / 2 + scale * xs
    cy = (height + scale * (ys.min() + ys.max())) / 2 - scale * ys
    radius = np.maximum(32 * np.sqrt(weights / max(float(weights.max()), 1e-12)), 2.0)  # area ∝ weight
    labelled = set(np.argsort(-weights, kind="stable")[:n_labels].tolist())
    parts = []
    for i in np.argsort(-weights, kind="stable"):  # small circles drawn last, on top
        t = topics[i]
        tip = html.escape(f"{t['id']}: {t['label']} ({t['weight']:.1%})", quote=True)
        parts.append(
            f'<circle cx="{cx[i]:.1f}" cy="{cy[i]:.1f}" r="{radius[i]:.1f}" fill="#1f6fb2" fill-opacity="0.28" '
            f'stroke="#1f6fb2"><title>{tip}</title></circle>'
        )
    for i in sorted(labelled):
        t = topics[i]
        text = html.escape(f"{t['id']}: {t['label'].split(' / ')[0]}", quote=True)
        parts.append(
            f'<text x="{cx[i]:.1f}" y="{cy[i] + 4:.1f}" font-size="11" text-anchor="middle" fill="#1d2330">{text}</text>'
        )
    caption = html.escape(
        f"{len(topics)} topics placed by the Jensen–Shannon distance of their words "
        f"(the two axes keep {topic_map.explained:.0%} of it); circle areas are topic shares",
        quote=True,
    )
    return (
        f'<svg role="img" aria-label="{caption}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{caption}</title>{"".join(parts)}</svg>'
        f'<div class="date">{caption}</div>'
    )
