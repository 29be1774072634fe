// Execution view: graph, history, state data, input/output and the tasks it waits on, re-rendered from each
// server-sent update, so an answer sent from anywhere (this page, the CLI, the email's confirm page) shows here
// without a reload. Task cards are kept by task id, so what a person is typing survives the updates.
"use strict";

const view = $("execution");
const name = view.dataset.name;
const machine = view.dataset.machine;
const base = `/workflows/api/machines/${encodeURIComponent(machine)}/executions/${encodeURIComponent(name)}`;
const cards = new Map();
let latest = null;
let selectedState = null;

function setText(id, text) { $(id).textContent = text || ""; }
function part(card, selector) { return card.querySelector(selector); }

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

function showResult(card, ok, message) {
  const result = part(card, ".task-result");
  result.textContent = message;
  result.className = `task-result ${ok ? "ok" : "bad"}`;
  result.hidden = false;
}

async function act(card, path, body) {
  card.querySelectorAll("button").forEach((button) => { button.disabled = true; });
  const result = await postJSON(`${base}/${path}`, { task: Number(card.dataset.task), ...body });
  card.querySelectorAll("button").forEach((button) => { button.disabled = false; });
  showResult(card, result.ok, result.data.message || result.data.problem || "Done.");
  checkOutput(card);
}

function checkOutput(card) {
  const problem = jsonProblem(part(card, ".success-output").value);
  part(card, ".output-error").textContent = problem;
  part(card, ".output-error").hidden = !problem;
  part(card, ".send-success").disabled = Boolean(problem);
  return !problem;
}

function newCard(task) {
  const card = $("task-template").content.firstElementChild.cloneNode(true);
  card.dataset.task = task.id;
  part(card, ".success-output").addEventListener("input", () => checkOutput(card));
  part(card, ".success-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (checkOutput(card)) act(card, "answer", { action: "success", output: part(card, ".success-output").value });
  });
  part(card, ".failure-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(card, "answer", { action: "failure", error: part(card, ".failure-error").value,
      cause: part(card, ".failure-cause").value });
  });
  part(card, ".heartbeat").addEventListener("click", () => act(card, "answer", { action: "heartbeat" }));
  part(card, ".take-button").addEventListener("click", () => act(card, "take", {}));
  return card;
}

function updateCard(card, task, demo) {
  card.dataset.state = task.state;
  card.dataset.kind = task.kind;
  part(card, ".task-state").textContent = task.state;
  part(card, ".task-kind").textContent = task.kind === "activity" ? "activity task" : "callback task";
  part(card, ".task-resource").textContent = task.resource;
  part(card, ".task-token").textContent = task.token || "(not known yet)";
  part(card, ".task-token-path").textContent = task.tokenPath ? `at ${task.tokenPath}` : "";
  part(card, ".task-scheduled").textContent = formatTime(task.scheduled);
  part(card, ".task-worker-label").hidden = part(card, ".task-worker").hidden = !task.worker;
  part(card, ".task-worker").textContent = task.worker || "";
  part(card, ".task-timeout").textContent = task.timeoutAt ? formatDeadline(task.timeoutAt) : "no timeout";
  part(card, ".task-heartbeat").textContent = task.heartbeatSeconds
    ? `every ${task.heartbeatSeconds} s; due ${formatDeadline(task.heartbeatDue)}${task.lastHeartbeat ? "" : " (no heartbeat sent from here yet)"}`
    : "not required";
  part(card, ".task-notes").textContent = (task.notes || []).join(" ");
  const answerable = Boolean(task.token);
  part(card, ".demo-answer").hidden = !demo;
  part(card, ".answer").hidden = demo || !answerable;
  part(card, ".take").hidden = answerable || task.kind !== "activity" || Boolean(task.worker);
  part(card, ".heartbeat-actions").hidden = !answerable || !task.heartbeatSeconds;  // only where one is expected
  if (demo) {
    const delivery = part(card, ".delivery");
    delivery.hidden = !task.delivery;
    delivery.textContent = task.delivery ? task.delivery.message : "";
    delivery.dataset.delivery = task.delivery ? task.delivery.state : "";
    for (const action of ["approve", "reject"]) {
      const button = part(card, `a.${action}`);
      button.hidden = !task[`${action}Url`];
      if (task[`${action}Url`]) button.href = task[`${action}Url`];
    }
  }
}

function renderTasks(data) {
  const tasks = data.tasks || [];
  const seen = new Set();
  for (const task of tasks) {
    seen.add(String(task.id));
    let card = cards.get(String(task.id));
    if (!card) {
      card = newCard(task);
      cards.set(String(task.id), card);
      $("task-list").append(card);
    }
    updateCard(card, task, data.demo);
  }
  for (const [id, card] of cards) {
    if (!seen.has(id)) { card.remove(); cards.delete(id); }
  }
  $("decide").hidden = tasks.length === 0;
  setText("waiting-in", tasks.map((t) => t.state).join(", "));
}

function showState(state) {
  selectedState = state;
  const data = (latest && latest.stateData && latest.stateData[state]) || null;
  $("state-detail").hidden = !state;
  setText("state-name", state);
  setText("state-input", data ? data.input : "(not entered)");
  setText("state-output", data && data.output !== null ? data.output : "(no output yet)");
  document.querySelectorAll("#graph g.node").forEach((node) => node.classList.toggle("selected", node.dataset.state === state));
}

function tick() {
  if (latest) setText("duration", formatDuration(elapsed(latest.started, latest.stopped)));
}

function render(data) {
  if (showProblem(data)) { $("top-actions").hidden = data.problem === "unreadable" || data.problem === "lost_in_restart"; return; }
  latest = data;
  document.title = `${data.title || data.name} · Workflows`;
  setText("title", data.title || data.name);
  statusBadge($("status"), data.status);
  view.dataset.status = data.status;
  $("meta").hidden = false;
  $("top-actions").hidden = false;
  $("decision-label").hidden = $("decision").hidden = !data.demo;
  setText("decision", data.decision);
  setText("started", formatTime(data.started));
  $("error-label").hidden = $("error").hidden = !data.error;
  setText("error", data.error ? `${data.error}${data.cause ? ": " + data.cause : ""}` : "");
  renderTasks(data);
  $("mail-link").hidden = !data.demo;
  if (data.mailUrl) $("mail").href = data.mailUrl;
  $("graph-problem").hidden = !data.graphProblem;
  setText("graph-problem", data.graphProblem);
  $("graph").innerHTML = data.graph;  // built by the server from the definition, every text escaped
  $("timeline").querySelector("tbody").replaceChildren(...data.timeline.map(timelineRow));
  setText("input", data.input);
  setText("output", data.output || (data.status === "RUNNING" ? "(not finished)" : "(no output: the execution did not succeed)"));
  if (selectedState) showState(selectedState);
  tick();
}

$("graph").addEventListener("click", (event) => {
  const node = event.target.closest("g.node");
  if (node && !node.classList.contains("marker")) showState(node.dataset.state);
});
$("rerun").addEventListener("click", async () => {
  $("rerun").disabled = true;
  const result = await postJSON(`${base}/rerun`, {});
  $("rerun").disabled = false;
  if (result.ok) { location.href = result.data.url; return; }
  $("rerun-problem").textContent = result.data.message || "Re-running failed.";
  $("rerun-problem").hidden = false;
});

live(`/workflows/api/events?machine=${encodeURIComponent(machine)}&execution=${encodeURIComponent(name)}`, render);
setInterval(tick, 1000);
