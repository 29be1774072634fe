// Execution view: graph, history, input/output and the decision buttons, re-rendered from each server-sent
// update, so a decision made in the confirm page (another tab) shows here without a reload.
"use strict";

const name = $("execution").dataset.name;
let latest = null;

function setText(id, text) { $(id).textContent = text || ""; }

function timelineRow(step) {
  const tr = document.createElement("tr");
  tr.className = step.category;
  tr.dataset.type = step.type;
  const values = [step.id, formatClock(step.time), step.offset.toFixed(3), step.label, step.detail,
    step.duration === null ? "" : formatDuration(step.duration)];
  for (const value of values) {
    const td = document.createElement("td");
    td.textContent = value;
    tr.append(td);
  }
  return tr;
}

function tick() {
  if (latest) setText("duration", formatDuration(elapsed(latest.started, latest.stopped)));
}

function render(data) {
  if (showProblem(data)) return;
  latest = data;
  document.title = `${data.title || data.name} · Workflows`;
  setText("title", data.title || data.name);
  statusBadge($("status"), data.status);
  $("execution").dataset.status = data.status;
  $("meta").hidden = false;
  setText("decision", data.decision);
  setText("started", formatTime(data.started));
  $("error-label").hidden = $("error").hidden = !data.error;
  setText("error", data.error ? `${data.error}${data.cause ? ": " + data.cause : ""}` : "");
  const waiting = Boolean(data.approveUrl || data.awaitingEmail);
  $("decide").hidden = !waiting;
  $("awaiting-email").hidden = !data.awaitingEmail;
  $("approve").hidden = $("reject").hidden = !data.approveUrl;
  if (data.approveUrl) {
    $("approve").href = data.approveUrl;
    $("reject").href = data.rejectUrl;
  }
  setText("waiting-in", data.waitingIn || "");
  if (data.mailUrl) $("mail").href = $("mail-link").querySelector("a").href = data.mailUrl;
  $("mail-link").hidden = waiting;
  $("graph").innerHTML = data.graph;  // built by the server from the definition, every text escaped
  $("timeline").querySelector("tbody").replaceChildren(...data.timeline.map(timelineRow));
  setText("input", data.input);
  setText("output", data.output || (data.status === "RUNNING" ? "(not finished)" : "(no output: the execution did not succeed)"));
  tick();
}

live(`/workflows/api/events?execution=${encodeURIComponent(name)}`, render);
setInterval(tick, 1000);
