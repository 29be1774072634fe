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

// A relative deadline ("in 42 s", "3 s ago") next to its clock time.
function formatDeadline(iso) {
  if (!iso) return "";
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  const relative = seconds >= 0 ? `in ${formatDuration(seconds)}` : `${formatDuration(-seconds)} ago`;
  return `${formatClock(iso)} (${relative})`;
}

// State-changing requests: same-origin fetch with a JSON body (which a cross-site form cannot send).
async function postJSON(url, body) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
  } catch (error) {
    return { ok: false, data: { problem: "network", message: `The sandbox did not answer (${error}).` } };
  }
  let data = {};
  try { data = await response.json(); } catch (error) { data = { message: `HTTP ${response.status}` }; }
  return { ok: response.ok, status: response.status, data };
}

// A JSON text's problem for a person ("" when it parses).
function jsonProblem(text) {
  try { JSON.parse(text); return ""; } catch (error) { return `Not valid JSON: ${error.message}`; }
}
