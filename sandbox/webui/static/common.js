// Shared by the Workflows pages: a live connection to the page's event stream and small formatting helpers.
// Text from executions is always inserted as text; only the server-built SVG graph is inserted as markup.
"use strict";

const $ = (id) => document.getElementById(id);

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function elapsed(started, stopped) {
  if (!started) return null;
  const end = stopped ? Date.parse(stopped) : Date.now();
  return (end - Date.parse(started)) / 1000;
}

function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { hour12: false });
}

function formatClock(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const ms = String(date.getMilliseconds()).padStart(3, "0");
  return `${date.toLocaleTimeString(undefined, { hour12: false })}.${ms}`;
}

function showProblem(data) {
  const problem = $("problem");
  if (data && data.problem) {
    problem.textContent = data.message || data.problem;
    problem.hidden = false;
    return true;
  }
  problem.hidden = true;
  return false;
}

// Subscribe to server-sent updates; `render` gets each JSON payload (data or {error, message}).
function live(url, render) {
  const indicator = $("live");
  const source = new EventSource(url);
  source.addEventListener("open", () => { indicator.textContent = "live"; indicator.classList.add("on"); });
  source.addEventListener("error", () => { indicator.textContent = "reconnecting…"; indicator.classList.remove("on"); });
  source.addEventListener("update", (event) => render(JSON.parse(event.data)));
  return source;
}

function statusBadge(element, status) {
  element.textContent = status || "";
  element.className = `status ${String(status || "").toLowerCase()}`;
}
