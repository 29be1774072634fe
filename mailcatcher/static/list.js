// Message list: renders /api/v1/messages (or /api/v1/search) and re-renders on every server-sent event,
// so new, deleted and read mail shows up without a reload. Mail fields are inserted as text, never as HTML.
"use strict";

const PAGE_SIZE = 50;
const params = new URLSearchParams(location.search);
const state = { query: params.get("q") || "", start: Number(params.get("start")) || 0, loading: false, dirty: false };

const $ = (id) => document.getElementById(id);
$("query").value = state.query;

function addressText(a) {
  if (!a) return "";
  return a.Name ? `${a.Name} <${a.Address}>` : a.Address;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function row(m) {
  const tr = document.createElement("tr");
  tr.dataset.id = m.ID;
  if (!m.Read) tr.classList.add("unread");
  tr.append(cell(addressText(m.From), "from"));
  tr.append(cell((m.To || []).map(addressText).join(", "), "to"));
  const subject = document.createElement("td");
  subject.className = "subject";
  const link = document.createElement("a");
  link.href = `/view/${encodeURIComponent(m.ID)}`;
  link.textContent = m.Subject || "(no subject)";
  subject.append(link);
  if (m.Attachments) subject.append(" 📎");
  const snippet = document.createElement("span");
  snippet.className = "snippet";
  snippet.textContent = m.Snippet || "";
  subject.append(snippet);
  tr.append(subject);
  const when = cell(new Date(m.Created).toLocaleString(), "created");
  when.title = m.Created;
  tr.append(when);
  tr.addEventListener("click", (event) => {
    if (event.target.tagName !== "A") location.href = link.href;
  });
  return tr;
}

async function load() {
  if (state.loading) { state.dirty = true; return; }
  state.loading = true;
  try {
    do {
      state.dirty = false;
      const url = state.query
        ? `/api/v1/search?query=${encodeURIComponent(state.query)}&start=${state.start}&limit=${PAGE_SIZE}`
        : `/api/v1/messages?start=${state.start}&limit=${PAGE_SIZE}`;
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) { showError(body.Error || response.statusText); return; }
      showError("");
      render(body);
    } while (state.dirty);
  } catch (err) {
    showError(`Cannot load messages: ${err}`);
  } finally {
    state.loading = false;
  }
}

function render(body) {
  const tbody = $("messages").querySelector("tbody");
  tbody.replaceChildren(...body.messages.map(row));
  $("empty").hidden = body.messages_count !== 0;
  $("messages").hidden = body.messages_count === 0;
  const first = body.messages.length ? state.start + 1 : 0;
  const last = state.start + body.messages.length;
  $("summary").textContent = state.query
    ? `${body.messages_count} of ${body.total} messages match “${state.query}” (showing ${first}–${last})`
    : `${body.total} ${body.total === 1 ? "message" : "messages"}, ${body.unread} unread (showing ${first}–${last})`;
  document.title = body.unread ? `(${body.unread}) Mailcatcher` : "Mailcatcher";
  $("newer").hidden = state.start === 0;
  $("older").hidden = last >= body.messages_count;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function go(start, query) {
  state.start = Math.max(0, start);
  state.query = query;
  const next = new URLSearchParams();
  if (query) next.set("q", query);
  if (state.start) next.set("start", String(state.start));
  history.replaceState(null, "", next.toString() ? `/?${next}` : "/");
  load();
}

$("search").addEventListener("submit", (event) => {
  event.preventDefault();
  go(0, $("query").value.trim());
});
$("newer").addEventListener("click", () => go(state.start - PAGE_SIZE, state.query));
$("older").addEventListener("click", () => go(state.start + PAGE_SIZE, state.query));
$("delete-all").addEventListener("click", async () => {
  if (!confirm("Delete all messages?")) return;
  const response = await fetch("/api/v1/messages", { method: "DELETE" });
  if (!response.ok) showError("Delete failed");
  load();
});

function connect() {
  const source = new EventSource("/api/events");
  source.onopen = () => { $("live").textContent = "live"; $("live").classList.add("on"); load(); };
  source.onmessage = () => load();
  source.onerror = () => { $("live").textContent = "offline"; $("live").classList.remove("on"); };
}

load();
connect();
