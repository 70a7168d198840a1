"""One self-contained HTML page about a model's topics: open it in any browser, offline.

The page has no external assets and makes no network requests: styles and script are inline, trend
charts are inline SVG. For every topic it shows the label, top words with weights, size, a trend chart
of its share over time (when the archive has dates) and its representative articles. A search box
filters topics and articles by title, label and words; the search can be given in the address as
``report.html#q=words`` (handy for links and for testing the page headless).

>>> from topics.report import write_report
>>> write_report(model, "report.html")                   # doctest: +SKIP
"""

from __future__ import annotations

import html
import math
from functools import partial
from pathlib import Path

import numpy as np

from .errors import TopicsError
from .files import atomic_write
from .trends import MIN_ARTICLES

MAX_TITLES = 5000  # titles listed for the search box; keeps the page a few hundred kB
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1f3b5a;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px} header p{margin:0;opacity:.85} header p.note{margin-top:4px;font-size:13px}
#map{margin:12px 28px 0} #map svg{background:#fff;border:1px solid #dde2ea;border-radius:8px;max-width:100%;height:auto}
#search{margin:16px 28px 4px;width:min(560px,90%);padding:9px 12px;font-size:15px;border:1px solid #b8c0cc;border-radius:6px}
#count{margin:0 28px 12px;color:#556} main{display:grid;grid-template-columns:repeat(auto-fill,minmax(430px,1fr));gap:16px;padding:0 28px 28px}
.topic{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:14px 16px}
.topic h2{font-size:17px;margin:0 0 4px} .meta{color:#556;font-size:13px;margin-bottom:8px}
.words{display:flex;flex-wrap:wrap;gap:4px;margin:6px 0}
.word{background:#e7eef8;border-radius:4px;padding:1px 6px;font-size:13px}
.trend{margin:6px 0} .trend svg{background:#fafbfc;border:1px solid #eef0f4}
ul{padding-left:18px;margin:6px 0} li{margin-bottom:6px} .date{color:#556;font-size:12px} .snip{color:#445;font-size:13px}
.hidden{display:none} details.all{font-size:13px;color:#334} details.all summary{cursor:pointer;color:#1f6fb2}
"""

_JS = """
(function(){
  var box=document.getElementById('search'), count=document.getElementById('count');
  var topics=Array.prototype.slice.call(document.querySelectorAll('.topic'));
  function apply(){
    var q=box.value.trim().toLowerCase(), shownTopics=0, shownArticles=0;
    topics.forEach(function(t){
      var head=t.getAttribute('data-search'), any=false;
      t.querySelectorAll('li.article').forEach(function(li){
        var hit=!q||li.getAttribute('data-title').indexOf(q)>=0||head.indexOf(q)>=0;
        li.classList.toggle('hidden',!hit); if(hit){any=true;shownArticles++;}
      });
      t.querySelectorAll('details.all').forEach(function(d){
        d.open=!!q&&d.querySelector('li.article:not(.hidden)')!==null&&head.indexOf(q)<0;
      });
      var show=!q||any||head.indexOf(q)>=0;
      t.classList.toggle('hidden',!show); if(show){shownTopics++;}
    });
    count.textContent=q?('"'+box.value.trim()+'": '+shownTopics+' topics, '+shownArticles+' articles'):
      (topics.length+' topics');
  }
  box.addEventListener('input',apply);
  var m=/[#&]q=([^&]*)/.exec(location.hash);
  if(m){box.value=decodeURIComponent(m[1].replace(/\\+/g,' '));}
  apply();
  document.body.setAttribute('data-ready','1');
})();
"""


def render_report(
    model,
    *,
    n_words: int = 10,
    n_articles: int = 5,
    by: str = "month",
    title: str | None = None,
    max_titles: int = MAX_TITLES,
    since=None,
    until=None,
    min_articles: int = MIN_ARTICLES,
) -> str:
    """The report as one HTML string (UTF-8 text); trend charts only when some articles have dates.

    Besides its ``n_articles`` representative articles, each topic lists the titles of the articles it
    leads (heaviest first), for the search box, up to ``max_titles`` titles in the whole page.
    ``since``, ``until`` and ``min_articles`` shape the trend charts as in :meth:`topics.TopicModel.trends`
    (thin periods are hollow dots, never the peak); the topic map (:func:`topics.topic_space.topic_map`)
    sits above the topics.
    """
    summary = model.summary(n_words=n_words, n_articles=n_articles)
    led = _led_rows(np.asarray(model.doc_topics_), max_titles)
    trends = None
    if summary.n_dated:
        trends = model.trends(by=by, since=since, until=until, min_articles=min_articles)
    title = title or f"Topics of {summary.n_articles:,} articles"
    dated = (
        f"{trends.n_dated:,} dated article{'s' if trends.n_dated != 1 else ''} from {trends.first_day} to "
        f"{trends.last_day}, charts by {by}"
        if trends is not None
        else "no article has a date, so there are no trend charts"
    )
    notes = "".join(f'<p class="note">{_e(note)}</p>' for note in trends.notes()) if trends is not None else ""
    cards = [
        _topic_card(t, trends, j, [_title_of(model.articles_, r) for r in led[t.id]]) for j, t in enumerate(summary)
    ]
    order = np.argsort([-t.weight for t in summary], kind="stable")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
            f"<header><h1>{_e(title)}</h1><p>{len(summary)} topics · {dated} · largest topics first</p>{notes}</header>",
            _map_section(model),
            '<input id="search" type="search" placeholder="Search titles, labels and words…" aria-label="Search">',
            f'<p id="count">{len(summary)} topics</p>',
            "<main>",
            *[cards[i] for i in order],
            "</main>",
            f"<script>{_JS}</script>",
            "</body></html>",
        ]
    )


def write_report(model, path, *, force: bool = True, **options) -> Path:
    """Write :func:`render_report` to ``path`` atomically (:func:`topics.files.atomic_write`); returns the path."""
    path = Path(path)
    if path.exists() and not force:
        raise TopicsError(f"{path} exists; pass force=True to replace it")
    text = render_report(model, **options)
    try:  # a failed or interrupted write leaves no temporary file and the old report as it was
        return atomic_write(path, partial(Path.write_text, data=text, encoding="utf-8"), force=True)
    except OSError as exc:
        raise TopicsError(f"cannot write the report to {path}: {exc.strerror or exc}") from None


def _led_rows(W: np.ndarray, max_titles: int) -> list:
    """Rows of the articles each topic leads, heaviest first; the heaviest overall are kept within max_titles."""
    has_topic = np.flatnonzero(W.sum(axis=1) > 0)
    lead = W[has_topic].argmax(axis=1)
    strength = W[has_topic, lead]
    keep = np.argsort(-strength, kind="stable")[:max_titles]
    rows = [[] for _ in range(W.shape[1])]
    for i in keep:
        rows[lead[i]].append(int(has_topic[i]))
    return rows


def _title_of(table, row: int) -> tuple:
    title = table.titles[row] or table.snippets[row][:100]
    return table.ids[row], title, table.date(row)


def _topic_card(topic, trends, column: int, led: list) -> str:
    words = "".join(
        f'<span class="word" title="weight {w:.3f}">{_e(word)}</span>'
        for word, w in zip(topic.words, topic.word_weights, strict=True)
    )
    nearest = (
        f" · nearest topic {topic.nearest_topic} (distinctness {topic.distinctness:.2f})"
        if topic.nearest_topic is not None
        else ""
    )
    articles = "".join(
        f'<li class="article" data-title="{_e((a["title"] or a["snippet"] or "").lower())}">'
        f'<b>{_e(a["title"] or a["id"])}</b> <span class="date">{_e(a["date"] or "undated")} · {_e(a["id"])}</span>'
        f'<br><span class="snip">{_e(a["snippet"])}</span></li>'
        for a in topic.articles
    )
    titles = "".join(
        f'<li class="article" data-title="{_e(title.lower())}">{_e(title)} '
        f'<span class="date">{_e(date or "undated")} · {_e(article_id)}</span></li>'
        for article_id, title, date in led
    )
    more = (
        f'<details class="all"><summary>All {len(led):,} articles it leads</summary><ul>{titles}</ul></details>'
        if led
        else ""
    )
    search = " ".join([topic.label, topic.auto_label, *topic.words]).lower()
    chart = _sparkline(trends, column) if trends is not None else ""
    return (
        f'<section class="topic" id="topic-{topic.id}" data-search="{_e(search)}">'
        f"<h2>{topic.id}: {_e(topic.label)}</h2>"
        f'<div class="meta">{topic.weight:.1%} of the archive · leads in {topic.n_articles:,} articles{nearest}</div>'
        f'<div class="words">{words}</div>{chart}<ul>{articles}</ul>{more}</section>'
    )


def _sparkline(trends, column: int, width: int = 400, height: int = 70) -> str:
    """Inline SVG of one topic's share per period: empty periods are gaps, thin periods hollow dots off the
    line (they neither set the scale nor count as the peak)."""
    values = trends.shares[:, column]
    solid = np.where(trends.thin, np.nan, values)
    top = float(np.nanmax(np.where(trends.thin[:, None], np.nan, trends.shares))) if np.isfinite(solid).any() else 1.0
    top = top if np.isfinite(top) and top > 0 else 1.0
    n = len(values)
    xs = [4 + (width - 8) * (i / (n - 1) if n > 1 else 0.5) for i in range(n)]

    def y(v):
        return f"{height - 14 - (height - 22) * min(v, top) / top:.1f}"

    segments, current = [], []
    for x, v in zip(xs, solid, strict=True):
        if math.isnan(v):
            segments, current = segments + ([current] if current else []), []
            continue
        current.append(f"{x:.1f},{y(v)}")
    segments += [current] if current else []
    lines = "".join(
        f'<polyline fill="none" stroke="#1f6fb2" stroke-width="2" points="{" ".join(s)}"/>' for s in segments
    )
    dots = "".join(
        f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="#1f6fb2"/>'
        for s in segments
        for p in s
        if len(s) == 1
    )
    hollow = "".join(
        f'<circle class="thin" cx="{x:.1f}" cy="{y(v)}" r="2.5" fill="none" stroke="#8a94a6"/>'
        for x, v, thin in zip(xs, values, trends.thin, strict=True)
        if thin and not math.isnan(v)
    )
    label = (
        f'<text x="4" y="{height - 2}" font-size="10" fill="#556">{_e(trends.periods[0])}</text>'
        f'<text x="{width - 4}" y="{height - 2}" font-size="10" fill="#556" text-anchor="end">'
        f"{_e(trends.periods[-1])}</text>"
    )
    latest = next((v for v in solid[::-1] if not math.isnan(v)), float("nan"))
    peak = trends.peak(column)
    summary = (
        f"share by {trends.by}: peak {peak[1]:.1%} ({peak[0]}), latest {latest:.1%}"
        if peak is not None
        else f"share by {trends.by}: every {trends.by} has fewer than {trends.min_articles} articles"
    )
    return (
        f'<div class="trend"><svg role="img" aria-label="{_e(summary)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{_e(summary)}</title>'
        f'{lines}{dots}{hollow}{label}</svg><div class="date">{_e(summary)}</div></div>'
    )


def _map_section(model) -> str:
    """The topic map as inline SVG (:func:`topics.topic_space.map_svg`), or "" for a one-topic model."""
    from .topic_space import map_svg

    svg = map_svg(model.topic_map()) if model.n_topics_ > 1 else ""
    return f'<section id="map"><h2>Topic map</h2>{svg}</section>' if svg else ""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


__all__ = ["render_report", "write_report"]
