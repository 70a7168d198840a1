// The web app of `topics serve`: hash routes drawn from the JSON API. No libraries, no network but this server.
"use strict";

const view = document.getElementById("view");
const statusLine = document.getElementById("status");
const SVG = "http://www.w3.org/2000/svg";
let info = null;   // GET /api/model

// -- helpers ---------------------------------------------------------------------------------------------
// Every text goes in as a text node, never as HTML: titles and snippets come from the archive.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}
const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(x < 0.1 ? 1 : 0) + "%");
const articleHref = (id) => "#/articles/" + encodeURIComponent(id);
const topicHref = (id) => "#/topics/" + id;

class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const token = sessionStorage.getItem("topics-token");
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, { ...options, headers });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) throw new ApiError((body && body.error) || response.statusText, response.status);
  return body;
}

function show(title, ...content) {
  const h1 = el("h1", { tabindex: "-1" }, title);
  view.replaceChildren(h1, ...content.filter((c) => c !== null && c !== undefined));
  document.title = title + " · topics";
  return h1;
}

function showError(error) {
  if (error.status === 401) return askToken();
  const box = el("div", { class: "error", role: "alert" }, el("p", {}, error.message));
  view.replaceChildren(box);
  statusLine.textContent = "";
}

function askToken() {
  const input = el("input", { id: "token", type: "password", autocomplete: "off", required: true });
  const form = el("form", {}, el("label", { for: "token" }, "Token"),
    el("div", { class: "row" }, input, el("button", { type: "submit" }, "Use token")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("topics-token", input.value.trim());
    route();
  });
  show("This server needs a token", el("p", {}, "Ask whoever runs it; it is kept for this tab only."), form);
  input.focus();
}

// A line chart of one series (shares, null for periods without articles), as inline SVG.
function chart(periods, values, label, { width = 600, height = 160, small = false } = {}) {
  const pad = small ? { l: 2, r: 2, t: 2, b: 2 } : { l: 40, r: 10, t: 10, b: 24 };
  const known = values.filter((v) => v !== null);
  const top = Math.max(...known, 0.01);
  const x = (i) => pad.l + (periods.length > 1 ? (i * (width - pad.l - pad.r)) / (periods.length - 1) : (width - pad.l - pad.r) / 2);
  const y = (v) => height - pad.b - (v / top) * (height - pad.t - pad.b);
  let peak = 0;
  values.forEach((v, i) => { if (v !== null && v > values[peak]) peak = i; });
  const described = known.length
    ? `${label}: ${periods[0]} to ${periods[periods.length - 1]}, highest ${pct(values[peak])} in ${periods[peak]}`
    : `${label}: no dated articles`;
  const node = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: small ? "chart spark" : "chart",
    role: "img", "aria-label": described }, svg("title", {}, described));
  if (!small) {
    node.append(svg("line", { class: "axis", x1: pad.l, y1: height - pad.b, x2: width - pad.r, y2: height - pad.b }),
      svg("line", { class: "axis", x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b }),
      svg("text", { x: 2, y: pad.t + 8 }, pct(top)), svg("text", { x: 2, y: height - pad.b }, "0%"),
      svg("text", { x: pad.l, y: height - 6 }, periods[0] || ""),
      svg("text", { x: width - pad.r, y: height - 6, "text-anchor": "end" }, periods[periods.length - 1] || ""));
  }
  // one polyline per run of periods with articles, so an empty period is a gap, not a fall to zero
  let run = [];
  const flush = () => {
    if (run.length === 1) node.append(svg("circle", { class: "line", cx: run[0][0], cy: run[0][1], r: 2.5 }));
    if (run.length > 1) node.append(svg("polyline", { class: "line", points: run.map((p) => p.join(",")).join(" ") }));
    run = [];
  };
  values.forEach((v, i) => { if (v === null) flush(); else run.push([x(i).toFixed(1), y(v).toFixed(1)]); });
  flush();
  return node;
}

function hitList(hits) {
  if (!hits.length) return el("p", {}, "No articles match.");
  return el("ol", { class: "hits" }, hits.map((h) => el("li", {},
    el("span", { class: "score", title: "similarity score, 0 to 1" }, h.score.toFixed(3)),
    el("a", { href: articleHref(h.id) }, h.title || h.id),
    h.match ? el("span", { class: "match match-" + h.match, title: "how good a match this score is in this archive" },
      h.match === "none" ? "no real match" : h.match + " match") : null,
    h.date ? el("span", { class: "muted" }, " · " + h.date) : null,
    h.snippet ? el("p", { class: "snippet" }, h.snippet) : null,
    h.explanation ? el("p", { class: "why" }, why(h.explanation)) : null)));
}

function why(e) {
  const terms = e.terms.map((t) => `${t.term} ${pct(t.share)}`).join(", ") || "none";
  const topics = e.topics.map((t) => `${t.label} ${pct(t.share)}`).join(", ") || "none";
  return `Why: shared terms ${terms}; topics ${topics}`;
}

// -- pages -----------------------------------------------------------------------------------------------
async function searchPage(params) {
  const q = params.get("q") || "";
  document.getElementById("q").value = q;
  if (!q.trim()) {
    show("Search the archive", el("p", {}, "Type or paste a text above: the most similar articles are listed here."));
    document.getElementById("q").focus();
    return "keep-focus";
  }
  statusLine.textContent = "Searching…";
  const doc = await api("/api/similar?" + new URLSearchParams({ text: q, k: 10, explain: "true" }));
  const notice = doc.match === "none" && doc.results.length
    ? el("p", { class: "notice" }, "No article matches this text well; the closest:") : null;
  show("Articles like your text", notice, el("section", { id: "results", "aria-label": "Results" }, hitList(doc.results)));
  statusLine.textContent = `${doc.results.length} articles found.`;
  return "keep-focus";
}

// The topic map (GET /api/map, as `topics map`): near topics share words; circle areas are shares.
function topicMap(map, { width = 600, height = 360 } = {}) {
  const pad = 40;
  const xs = map.topics.map((t) => t.x), ys = map.topics.map((t) => t.y);
  const span = (v) => Math.max(...v) - Math.min(...v) || 1;
  const scale = Math.min((width - 2 * pad) / span(xs), (height - 2 * pad) / span(ys));
  const cx = (t) => pad + (t.x - Math.min(...xs)) * scale, cy = (t) => pad + (t.y - Math.min(...ys)) * scale;
  const biggest = Math.max(...map.topics.map((t) => t.weight), 1e-9);
  const described = `Topic map of ${map.topics.length} topics: near topics share words, circle areas are shares; ` +
    `the two axes keep ${pct(map.explained)} of the distances between topics.`;
  const node = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "map", role: "group", "aria-label": described },
    svg("title", {}, described));
  for (const t of [...map.topics].sort((a, b) => b.weight - a.weight)) {   // small circles drawn last, on top
    const r = 6 + 28 * Math.sqrt(t.weight / biggest);
    const link = svg("a", { href: topicHref(t.id), "aria-label": `${t.label}, ${pct(t.weight)}` },
      svg("title", {}, `${t.label} (${pct(t.weight)})`),
      svg("circle", { class: "topic", cx: cx(t).toFixed(1), cy: cy(t).toFixed(1), r: r.toFixed(1) }),
      svg("text", { x: cx(t).toFixed(1), y: (cy(t) + 4).toFixed(1), "text-anchor": "middle" }, String(t.id)));
    node.append(link);
  }
  return el("figure", {}, node, el("figcaption", { class: "muted" }, described));
}

async function topicsPage() {
  const [doc, map] = await Promise.all([api("/api/topics?words=8&articles=0"), api("/api/map").catch((e) => e)]);
  const rows = [...doc.topics].sort((a, b) => b.weight - a.weight).map((t) => el("tr", {},
    el("td", {}, el("a", { href: topicHref(t.id) }, t.label)),
    el("td", { class: "num" }, el("span", { class: "bar", "aria-hidden": "true", "data-w": t.weight }), pct(t.weight)),
    el("td", { class: "num" }, t.n_articles), el("td", { class: "words" }, t.words.join(", "))));
  show(`${doc.topics.length} topics`, el("p", {}, `over ${doc.n_articles.toLocaleString()} articles`),
    map instanceof Error || map.topics.length < 2 ? null : topicMap(map),
    el("table", {}, el("caption", { class: "muted" }, "Share is the topic's part of all topic weight; articles counts those it leads."),
      el("thead", {}, el("tr", {}, ["Topic", "Share", "Articles", "Top words"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
  for (const bar of view.querySelectorAll(".bar")) bar.style.width = (Number(bar.dataset.w) * 20).toFixed(1) + "rem";
}

async function topicPage(id) {
  const [t, trend] = await Promise.all([api(`/api/topics/${id}?words=12&articles=10`),
    api(`/api/trends?by=month&topic=${id}`).catch((e) => e)]);
  const content = [
    el("p", {}, `${pct(t.weight)} of the archive · leads in ${t.n_articles} articles` +
      (t.named ? ` · generated label: ${t.auto_label}` : "")),
    el("h2", {}, "Words"), el("p", { class: "words" }, t.words.join(", ")),
    el("h2", {}, "Share by month")];
  if (trend instanceof Error) content.push(el("p", {}, trend.message));
  else content.push(chart(trend.periods.map((p) => p.period), trend.periods.map((p) => p.shares[String(id)]), t.label));
  content.push(el("h2", {}, "Articles"), el("ol", { class: "hits" }, t.articles.map((a) => el("li", {},
    el("span", { class: "score", title: "topic weight" }, a.weight.toFixed(3)),
    el("a", { href: articleHref(a.id) }, a.title || a.id), a.date ? el("span", { class: "muted" }, " · " + a.date) : null,
    a.snippet ? el("p", { class: "snippet" }, a.snippet) : null))));
  if (info && info.allow_edits) content.push(renameForm(t));
  show(`Topic ${t.id}: ${t.label}`, ...content);
}

function renameForm(t) {
  const input = el("input", { id: "name", value: t.named ? t.label : "", placeholder: t.auto_label, maxlength: 200 });
  const form = el("form", {}, el("h2", {}, "Rename"), el("label", { for: "name" }, "Name (empty: the generated label)"),
    el("div", { class: "row" }, input, el("button", { type: "submit" }, "Save")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const updated = await api(`/api/topics/${t.id}/label`, { method: "POST",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: input.value }) });
      statusLine.textContent = `Saved: topic ${updated.id} is now ${updated.label}.`;
      await route();
    } catch (e) { showError(e); }
  });
  return form;
}

async function articlePage(id) {
  const [a, similar] = await Promise.all([api(`/api/articles/${encodeURIComponent(id)}?k=1`),
    api("/api/similar?" + new URLSearchParams({ id, k: 8, explain: "true" }))]);
  show(a.title || a.id,
    el("p", { class: "muted" }, [a.id, a.date].filter(Boolean).join(" · ")),
    el("p", { class: "snippet" }, a.snippet),
    el("h2", {}, "Topic mix"),
    a.topics.length ? el("ul", { class: "plain" }, a.topics.map((m) => el("li", {},
      el("span", { class: "score" }, pct(m.share)), el("a", { href: topicHref(m.topic) }, m.label))))
      : el("p", {}, "No topic weight."),
    el("h2", {}, "Nearest articles"), hitList(similar.results));
}

async function trendsPage(params) {
  const by = params.get("by") || "month";
  const doc = await api("/api/trends?by=" + encodeURIComponent(by));
  const select = el("select", { id: "by" }, ["day", "week", "month", "year"].map((p) =>
    el("option", { value: p, selected: p === by }, p)));
  select.addEventListener("change", () => { location.hash = "#/trends?by=" + select.value; });
  const periods = doc.periods.map((p) => p.period);
  const rows = doc.topics.map((t) => {
    const values = doc.periods.map((p) => p.shares[String(t.id)]);
    const last = [...values].reverse().find((v) => v !== null);
    return el("tr", {}, el("td", {}, el("a", { href: topicHref(t.id) }, t.label)),
      el("td", {}, chart(periods, values, t.label, { width: 200, height: 32, small: true })),
      el("td", { class: "num" }, pct(last)));
  });
  show("Trends", el("p", {}, el("label", { for: "by" }, "Period "), select),
    el("p", {}, `${doc.n_dated.toLocaleString()} dated articles` + (doc.n_undated ? `; ${doc.n_undated.toLocaleString()} undated left out` : "")),
    el("table", {}, el("thead", {}, el("tr", {}, ["Topic", `Share by ${by}`, "Latest"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}

// -- routing ---------------------------------------------------------------------------------------------
async function route() {
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  statusLine.textContent = "Loading…";
  let kept = null;
  try {
    info = await api("/api/model");   // small; the served model may have been replaced since the last view
    document.getElementById("model").textContent =
      `${info.model}: ${info.n_articles.toLocaleString()} articles, ${info.n_topics} topics`;
    if (parts[0] === "topics" && parts.length === 2) await topicPage(parts[1]);
    else if (parts[0] === "topics") await topicsPage();
    else if (parts[0] === "articles" && parts.length >= 2) await articlePage(parts.slice(1).join("/"));
    else if (parts[0] === "trends") await trendsPage(params);
    else kept = await searchPage(params);
    if (statusLine.textContent === "Loading…") statusLine.textContent = "";
    const h1 = view.querySelector("h1");
    if (kept !== "keep-focus" && h1 && document.activeElement !== document.getElementById("q")) h1.focus();
  } catch (error) {
    showError(error);
  }
  document.body.dataset.ready = String(Number(document.body.dataset.ready || 0) + 1);
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = document.getElementById("q").value;
  const target = "#/search?" + new URLSearchParams({ q });
  if (location.hash === target) route(); else location.hash = target;
});
window.addEventListener("hashchange", route);
route();
