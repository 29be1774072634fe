// Workflows list: re-rendered from each server-sent update, so new executions and status changes show without
// a reload; running durations tick locally.
"use strict";

let current = [];

function row(execution) {
  const tr = document.createElement("tr");
  tr.dataset.name = execution.name;
  tr.dataset.status = execution.status;
  const link = document.createElement("a");
  link.href = `/workflows/${encodeURIComponent(execution.name)}`;
  link.textContent = execution.name;
  const cells = [link, execution.title, null, execution.decision || "", formatTime(execution.started), ""];
  cells.forEach((value, index) => {
    const td = document.createElement("td");
    if (value instanceof Node) td.append(value);
    else if (index === 2) { const badge = document.createElement("span"); statusBadge(badge, execution.status); td.append(badge); }
    else td.textContent = value;
    tr.append(td);
  });
  tr.children[3].className = `decision ${String(execution.decision || "").replace(" ", "-")}`;
  tr.children[5].className = "duration";
  tr.addEventListener("click", (event) => { if (event.target.tagName !== "A") location.href = link.href; });
  return tr;
}

function tick() {
  const rows = document.querySelectorAll("#executions tbody tr");
  rows.forEach((tr, index) => {
    const execution = current[index];
    if (execution) tr.children[5].textContent = formatDuration(elapsed(execution.started, execution.stopped));
  });
}

function render(data) {
  if (showProblem(data)) return;
  $("machine").textContent = data.stateMachine ? `of ${data.stateMachine}` : "";
  current = data.executions || [];
  const body = document.querySelector("#executions tbody");
  body.replaceChildren(...current.map(row));
  $("executions").hidden = current.length === 0;
  $("empty").hidden = current.length !== 0;
  tick();
}

live("/workflows/api/events", render);
setInterval(tick, 1000);
