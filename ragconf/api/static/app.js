// ragconf search page: plain JS, no build step, no external assets.
"use strict";

const $ = (id) => document.getElementById(id);
const store = window.sessionStorage;
let config = { answers: false, api_key_required: false, permissions: "off" };

function headers(json) {
  const h = { Accept: json ? "application/json" : "text/event-stream" };
  const key = store.getItem("ragconf.apiKey");
  if (key) h.Authorization = "Bearer " + key;
  const user = store.getItem("ragconf.userAuth");
  if (user) h["X-Confluence-Authorization"] = user;
  return h;
}

function setStatus(text, isError) {
  const el = $("status");
  el.textContent = text || "";
  el.classList.toggle("error", !!isError);
}

async function errorText(response) {
  try {
    const body = await response.json();
    const hint = body.hint ? " — " + body.hint : "";
    return (body.message || response.statusText) + hint;
  } catch (e) {
    return response.status + " " + response.statusText;
  }
}

// "**term**" marks a matched word; everything else is text (never HTML)
function marked(text) {
  const frag = document.createDocumentFragment();
  String(text || "").split(/\*\*(.+?)\*\*/).forEach((part, i) => {
    if (!part) return;
    if (i % 2) {
      const m = document.createElement("mark");
      m.textContent = part;
      frag.appendChild(m);
    } else {
      frag.appendChild(document.createTextNode(part));
    }
  });
  return frag;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function safeHref(url) {
  return /^https?:\/\//i.test(url || "") ? url : "#";
}

function params() {
  const p = { q: $("q").value.trim(), k: 10 };
  for (const f of ["space", "label", "type", "updated_after"]) {
    const v = $(f).value.trim();
    if (v) p[f] = v;
  }
  return p;
}

async function search(event) {
  if (event) event.preventDefault();
  const p = params();
  if (!p.q) return;
  history.replaceState(null, "", "?" + new URLSearchParams(p).toString());
  setStatus("Searching…");
  $("results").replaceChildren();
  let response;
  try {
    response = await fetch("/search?" + new URLSearchParams(p), { headers: headers(true) });
  } catch (e) {
    setStatus("The search service could not be reached.", true);
    return;
  }
  if (!response.ok) {
    setStatus(await errorText(response), true);
    if (response.status === 401) $("credentials").open = true;
    return;
  }
  const body = await response.json();
  renderResults(body);
}

function renderResults(body) {
  const list = $("results");
  list.replaceChildren();
  const n = body.results.length;
  setStatus(n ? `${n} result${n === 1 ? "" : "s"} in ${Math.round(body.took_ms)} ms` :
    "No results. Try other words or fewer filters.");
  for (const r of body.results) {
    const li = el("li", "result");
    const h = el("h3");
    const a = el("a", "title", r.title || "(untitled)");
    a.href = safeHref(r.anchor_url || r.url);
    h.appendChild(a);
    li.appendChild(h);
    const meta = el("p", "meta");
    if (r.space_key) meta.appendChild(el("span", "space", r.space_key));
    meta.appendChild(el("span", "type", r.content_type));
    if (r.breadcrumbs && r.breadcrumbs.length) {
      meta.appendChild(el("span", "crumbs", r.breadcrumbs.join(" › ")));
    }
    if (r.updated_at) meta.appendChild(el("span", "date", String(r.updated_at).slice(0, 10)));
    li.appendChild(meta);
    const snip = el("p", "snippet");
    snip.appendChild(marked(r.snippet));
    li.appendChild(snip);
    const link = el("a", "url", r.anchor_url || r.url);
    link.href = safeHref(r.anchor_url || r.url);
    li.appendChild(link);
    list.appendChild(li);
  }
}

// answer text with [n] turned into links to the sources
function renderAnswer(text, sources) {
  const out = $("answer-text");
  out.replaceChildren();
  const byN = new Map((sources || []).map((s) => [s.n, s]));
  String(text).split(/(\[\d+(?:\s*,\s*\d+)*\])/).forEach((part) => {
    const m = /^\[(.+)\]$/.exec(part);
    if (!m) {
      out.appendChild(document.createTextNode(part));
      return;
    }
    const nums = m[1].split(",").map((x) => parseInt(x, 10));
    out.appendChild(document.createTextNode("["));
    nums.forEach((num, i) => {
      if (i) out.appendChild(document.createTextNode(", "));
      const src = byN.get(num);
      if (src) {
        const a = el("a", "cite", String(num));
        a.href = safeHref(src.anchor_url || src.url);
        a.title = src.title;
        out.appendChild(a);
      } else {
        out.appendChild(document.createTextNode(String(num)));
      }
    });
    out.appendChild(document.createTextNode("]"));
  });
}

function renderSources(sources, found) {
  const list = $("answer-sources");
  list.replaceChildren();
  for (const s of sources || []) {
    const li = el("li");
    if (found) li.value = s.n;
    const a = el("a", null, s.title);
    a.href = safeHref(s.anchor_url || s.url);
    li.appendChild(a);
    list.appendChild(li);
  }
}

function parseEvents(buffer, onEvent) {
  let idx;
  while ((idx = buffer.indexOf("\n\n")) >= 0) {
    const raw = buffer.slice(0, idx);
    buffer = buffer.slice(idx + 2);
    let name = "message";
    const data = [];
    for (const line of raw.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trim());
    }
    if (data.length) onEvent(name, JSON.parse(data.join("\n")));
  }
  return buffer;
}

async function ask() {
  const p = params();
  if (!p.q) { $("q").focus(); return; }
  const body = { query: p.q, stream: true, k: 5 };
  for (const f of ["space", "label", "type", "updated_after"]) if (p[f]) body[f] = [p[f]];
  if (body.updated_after) body.updated_after = p.updated_after;
  $("answer").hidden = false;
  $("answer-notes").textContent = "Thinking…";
  $("answer-sources").replaceChildren();
  renderAnswer("", []);
  let response;
  try {
    response = await fetch("/answer", {
      method: "POST",
      headers: Object.assign(headers(false), { "Content-Type": "application/json" }),
      body: JSON.stringify(body),
    });
  } catch (e) {
    $("answer-notes").textContent = "The answer service could not be reached.";
    return;
  }
  if (!response.ok) {
    $("answer-notes").textContent = await errorText(response);
    return;
  }
  let text = "";
  let sources = [];
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const onEvent = (name, data) => {
    if (name === "sources") {
      sources = data.sources;
      renderSources(sources, data.found);
    } else if (name === "token") {
      text += data.text;
      renderAnswer(text, sources);
    } else if (name === "done") {
      renderAnswer(data.answer, data.sources);
      const notes = (data.notes || []).slice();
      if (data.model) notes.unshift("Model: " + data.model);
      $("answer-notes").textContent = notes.join(" · ");
    } else if (name === "error") {
      $("answer-notes").textContent = "The model failed: " + data.message;
    }
  };
  $("answer-notes").textContent = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer = parseEvents(buffer + decoder.decode(value, { stream: true }), onEvent);
  }
}

function saveCredentials() {
  const key = $("api-key").value.trim();
  if (key) store.setItem("ragconf.apiKey", key);
  const email = $("user-email").value.trim();
  const token = $("user-token").value.trim();
  if (email && token) store.setItem("ragconf.userAuth", "Basic " + btoa(email + ":" + token));
  else if (token.toLowerCase().startsWith("bearer ")) store.setItem("ragconf.userAuth", token);
  $("api-key").value = "";
  $("user-token").value = "";
  $("credentials").open = false;
  loadSpaces();
  search();
}

function forgetCredentials() {
  store.removeItem("ragconf.apiKey");
  store.removeItem("ragconf.userAuth");
  setStatus("Credentials forgotten.");
}

async function loadSpaces() {
  try {
    const r = await fetch("/spaces", { headers: headers(true) });
    if (!r.ok) return;
    const body = await r.json();
    const select = $("space");
    const current = select.value;
    select.replaceChildren(el("option", null, "All spaces"));
    select.firstChild.value = "";
    for (const s of body.spaces) {
      const o = el("option", null, s.name ? `${s.name} (${s.key})` : s.key);
      o.value = s.key;
      select.appendChild(o);
    }
    select.value = current;
  } catch (e) { /* the filter stays "All spaces" */ }
}

async function init() {
  // before the first await: keys pressed while /ui-config loads are handled too
  document.addEventListener("keydown", (e) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    // the box is focused on load, and its placeholder says "press / to focus": a "/" that
    // starts an empty query is that shortcut, not part of the question
    const freshBox = document.activeElement === $("q") && !$("q").value;
    if (e.key === "/" && (!typing || freshBox)) { e.preventDefault(); $("q").focus(); }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && config.answers) { e.preventDefault(); ask(); }
  });
  try {
    const r = await fetch("/ui-config");
    if (r.ok) config = await r.json();
  } catch (e) { /* defaults */ }
  $("ask-button").hidden = !config.answers;
  $("api-key-row").hidden = !config.api_key_required;
  $("user-row").hidden = config.permissions === "off";
  const needs = (config.api_key_required && !store.getItem("ragconf.apiKey")) ||
    (config.permissions !== "off" && !store.getItem("ragconf.userAuth"));
  $("credentials").hidden = !(config.api_key_required || config.permissions !== "off");
  if (needs) $("credentials").open = true;

  $("search-form").addEventListener("submit", search);
  $("ask-button").addEventListener("click", ask);
  $("save-credentials").addEventListener("click", saveCredentials);
  $("forget-credentials").addEventListener("click", forgetCredentials);

  const url = new URLSearchParams(location.search);
  for (const f of ["q", "label", "type", "updated_after"]) if (url.get(f)) $(f).value = url.get(f);
  await loadSpaces();
  if (url.get("space")) $("space").value = url.get("space");
  if (url.get("q")) search();
}

init();
