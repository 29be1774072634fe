// Workflows overview: waiting tasks, state machines (with Start execution) and the executions of all of them,
// filtered by machine, status and a search; re-rendered from each server-sent update. The filters live in the
// URL, so a reload or a shared link shows the same list.
"use strict";

const params = new URLSearchParams(location.search);
let limit = Number(params.get("limit")) || 50;
let current = [];
let source = null;

function cell(value) {
  const td = document.createElement("td");
  if (value instanceof Node) td.append(value); else td.textContent = value ?? "";
  return td;
}

function link(url, text) {
  const a = document.createElement("a");
  a.href = url;
  a.textContent = text;
  return a;
}

function badge(status) {
  const span = document.createElement("span");
  statusBadge(span, status);
  return span;
}

function executionRow(execution) {
  const tr = document.createElement("tr");
  tr.dataset.name = execution.name;
  tr.dataset.machine = execution.machine;
  tr.dataset.status = execution.status;
  const described = execution.unreadable ? "(unreadable)" : (execution.title || execution.input || "");
  const request = cell(described);
  request.className = execution.unreadable ? "input unreadable" : "input";
  if (execution.unreadable) request.title = execution.unreadable;
  const status = cell(badge(execution.status));
  if (execution.decision) {
    const decision = document.createElement("span");
    decision.className = `decision ${execution.decision.replace(" ", "-")}`;
    decision.textContent = execution.decision;
    status.append(" ", decision);
  }
  tr.append(cell(execution.machine), cell(link(execution.url, execution.name)), request, status,
    cell(formatTime(execution.started)), cell(""));
  tr.children[5].className = "duration";
  tr.addEventListener("click", (event) => { if (event.target.tagName !== "A") location.href = execution.url; });
  return tr;
}

function taskRow(task) {
  const tr = document.createElement("tr");
  tr.dataset.execution = task.execution;
  tr.dataset.state = task.state;
  tr.append(cell(task.machine), cell(link(task.url, task.execution)), cell(task.state),
    cell(task.kind === "activity" ? `activity ${task.resource.split(":").pop()}` : task.resource),
    cell(formatTime(task.scheduled)), cell(formatDeadline(task.heartbeatDue)), cell(formatDeadline(task.timeoutAt)));
  tr.addEventListener("click", (event) => { if (event.target.tagName !== "A") location.href = task.url; });
  return tr;
}

function machineCard(machine) {
  const card = document.createElement("div");
  card.className = `machine${machine.demo ? " demo" : ""}`;
  card.dataset.machine = machine.name;
  const title = document.createElement("h3");
  title.append(link(`?machine=${encodeURIComponent(machine.name)}`, machine.name));
  if (machine.demo) { const tag = document.createElement("span"); tag.className = "tag demo"; tag.textContent = "demo"; title.append(" ", tag); }
  if (machine.type !== "STANDARD") { const tag = document.createElement("span"); tag.className = "label"; tag.textContent = ` ${machine.type}`; title.append(tag); }
  const counts = document.createElement("p");
  counts.className = "counts";
  for (const [status, count] of Object.entries(machine.counts || {})) {
    if (!count) continue;
    const part = document.createElement("span");
    part.className = `count-${status.toLowerCase()}`;
    part.textContent = `${count} ${status.toLowerCase().replace("_", " ")}`;
    counts.append(part, " ");
  }
  if (!counts.childNodes.length) counts.textContent = "no executions";
  card.append(title, counts);
  if (machine.problem) { const note = document.createElement("p"); note.className = "hint"; note.textContent = machine.problem; card.append(note); }
  const start = document.createElement("button");
  start.type = "button";
  start.className = "start";
  start.textContent = "Start execution";
  start.addEventListener("click", () => openStart(machine.name));
  card.append(start);
  return card;
}

function tick() {
  document.querySelectorAll("#executions tbody tr").forEach((tr, index) => {
    const execution = current[index];
    if (execution) tr.children[5].textContent = formatDuration(elapsed(execution.started, execution.stopped));
  });
}

function renderMachineFilter(machines) {
  const select = $("filter-machine");
  const names = machines.map((m) => m.name);
  const existing = [...select.options].slice(1).map((o) => o.value);
  if (existing.join("\n") !== names.join("\n")) {
    select.replaceChildren(select.options[0], ...names.map((name) => new Option(name, name)));
  }
  select.value = params.get("machine") || "";
}

function render(data) {
  if (showProblem(data)) return;
  const machines = data.machines || [];
  $("machines").replaceChildren(...machines.map(machineCard));
  $("no-machines").hidden = machines.length !== 0;
  renderMachineFilter(machines);
  current = data.executions || [];
  $("executions").querySelector("tbody").replaceChildren(...current.map(executionRow));
  $("executions").hidden = current.length === 0;
  $("empty").hidden = current.length !== 0;
  $("executions-count").textContent = data.total ? `(${data.total})` : "";
  $("more").hidden = !(data.total > current.length);
  const searched = data.searchedInputs >= 1000 ? " (the search read the inputs of the newest 1000 executions, and the names of all)" : "";
  $("more-text").textContent = `Showing the newest ${current.length} of ${data.total}.${searched}`;
  const tasks = data.tasks || [];
  $("tasks").querySelector("tbody").replaceChildren(...tasks.map(taskRow));
  $("tasks-panel").hidden = tasks.length === 0;
  $("tasks-count").textContent = `(${tasks.length})`;
  tick();
}

function connect() {
  if (source) source.close();
  const query = new URLSearchParams();
  for (const key of ["machine", "status", "q"]) if (params.get(key)) query.set(key, params.get(key));
  if (limit !== 50) query.set("limit", String(limit));
  history.replaceState(null, "", query.toString() ? `?${query}` : location.pathname);
  source = live(`/workflows/api/events?${query}`, render);
}

function setFilter(key, value) {
  if (value) params.set(key, value); else params.delete(key);
  limit = 50;
  connect();
}

$("filter-status").value = params.get("status") || "";
$("filter-q").value = params.get("q") || "";
$("filter-machine").addEventListener("change", (event) => setFilter("machine", event.target.value));
$("filter-status").addEventListener("change", (event) => setFilter("status", event.target.value));
let typing = null;
$("filter-q").addEventListener("input", (event) => {
  clearTimeout(typing);
  typing = setTimeout(() => setFilter("q", event.target.value.trim()), 300);
});
$("filters").addEventListener("submit", (event) => event.preventDefault());
$("show-more").addEventListener("click", () => { limit = Math.min(limit * 4, 1000); connect(); });

// --- Start execution ---------------------------------------------------------------------------------------------

let startMachine = "";

function openStart(machine) {
  startMachine = machine;
  $("start-machine").textContent = machine;
  $("start-problem").hidden = true;
  checkStartInput();
  $("start-dialog").showModal();
  $("start-input").focus();
}

function checkStartInput() {
  const problem = jsonProblem($("start-input").value);
  $("start-input-error").textContent = problem;
  $("start-input-error").hidden = !problem;
  $("start-submit").disabled = Boolean(problem);
  return !problem;
}

$("start-input").addEventListener("input", checkStartInput);
$("start-cancel").addEventListener("click", () => $("start-dialog").close());
$("start-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!checkStartInput()) return;
  $("start-submit").disabled = true;
  const name = $("start-name").value.trim();
  const result = await postJSON(`/workflows/api/machines/${encodeURIComponent(startMachine)}/executions`,
    { input: $("start-input").value, ...(name ? { name } : {}) });
  $("start-submit").disabled = false;
  if (result.ok) { location.href = result.data.url; return; }
  $("start-problem").textContent = result.data.message || "Starting failed.";
  $("start-problem").hidden = false;
});

connect();
setInterval(tick, 1000);
