"""Draw a state machine (its ASL definition) as an SVG graph, coloured by an execution's progress. Pure.

The Workflows page feeds it the definition LocalStack returns for the execution, so the drawing follows the
deployed workflow, not a copy of it. ``asl`` reads the definition into scopes, ``layout`` places them; this module
draws the result and reads an execution's history into a ``Progress``: which states it visited, where it waits
on a task token or an activity, where it ended and which transitions it took (also inside Parallel branches and
Map iterations, by following each event's ``previousEventId``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from sandbox.console.asl import END, START, DefinitionError, Transition, all_states, read_scope

from .layout import Block, Node, layout_scope

__all__ = ["END", "START", "DefinitionError", "Progress", "layout", "progress_from_history", "render_svg",
           "transitions"]

MAX_LABEL = 30
LABEL_CHARS = 24
LETTER = 6.5  # px per letter of an edge label, to keep the drawing wide enough for it

# Node statuses the drawing knows; anything else is drawn as not visited.
STATUSES = ("visited", "running", "waiting", "succeeded", "failed", "end-succeeded", "end-failed")


@dataclass
class Progress:
    """What an execution did, in graph terms: a status per state it reached and the transitions it took."""

    states: dict[str, str] = field(default_factory=dict)
    taken: set[tuple[str, str]] = field(default_factory=set)


def layout(definition: Mapping) -> Block:
    return layout_scope(read_scope(definition))


def transitions(definition: Mapping) -> list[Transition]:
    """The transitions of the top-level states, in definition order, plus Start and End."""
    return read_scope(definition).transitions


# --- SVG ---------------------------------------------------------------------------------------------------------


def _short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _edge_path(source: Node, target: Node, dx: float, dy: float) -> tuple[str, float, float]:
    """A curve from the bottom of source to the top of target, round the right side for a loop, or a small loop
    on the right of the state for a retry; and where its label goes (near the arrowhead, where labels of edges
    from one state do not overlap)."""
    if source is target:
        x, top, bottom = dx + source.x + source.width / 2, dy + source.y + 10, dy + source.y + 30
        path = f"M{x:.1f},{top:.1f} C{x + 34:.1f},{top - 8:.1f} {x + 34:.1f},{bottom + 8:.1f} {x:.1f},{bottom:.1f}"
        return path, x + 30, top + 12
    if target.layer > source.layer:
        x1, y1, x2, y2 = dx + source.x, dy + source.bottom, dx + target.x, dy + target.y
        bend = max(24.0, (y2 - y1) / 2)
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}"
        return path, x2, y2 - 8
    x1, y1 = dx + source.x + source.width / 2, dy + source.y + min(source.height / 2, 30)
    x2, y2 = dx + target.x + target.width / 2, dy + target.y + min(target.height / 2, 30)
    reach = max(x1, x2) + 60
    path = f"M{x1:.1f},{y1:.1f} C{reach:.1f},{y1:.1f} {reach:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    return path, reach - 14, (y1 + y2) / 2


def _status(progress: Progress, name: str) -> str:
    status = progress.states.get(name, "")
    return status if status in STATUSES else "not-visited"


def _draw_block(block: Block, progress: Progress, dx: float, dy: float, parts: list[str]) -> float:
    """Append the block's SVG at offset (dx, dy); returns how far right its labels reach."""
    nodes = block.nodes
    reach = dx + block.width
    for edge in block.edges:
        source, target = nodes[edge.source], nodes[edge.target]
        path, label_x, label_y = _edge_path(source, target, dx, dy)
        taken = (edge.source, edge.target) in progress.taken
        marker = "arrow-taken" if taken else "arrow"
        parts.append(f'<g class="edge {edge.kind}{" taken" if taken else ""}" data-from="{escape(edge.source)}" '
                     f'data-to="{escape(edge.target)}"><path d="{path}" marker-end="url(#{marker})"/>')
        if edge.kind == "retry":  # the loop says it all; its rule shows on hover (no label to collide with)
            parts.append(f"<title>{escape(edge.detail)}</title>")
        elif edge.label:
            label = _short(edge.label, LABEL_CHARS)
            parts.append(f'<text class="edge-label" x="{label_x + 6:.1f}" y="{label_y:.1f}">'
                         f"<title>{escape(edge.detail or edge.label)}</title>{escape(label)}</text>")
            reach = max(reach, label_x + 12 + LETTER * len(label))
        parts.append("</g>")
    for node in nodes.values():
        status = _status(progress, node.name)
        left, top, centre = dx + node.x - node.width / 2, dy + node.y, dx + node.x
        size = f'x="{left:.1f}" y="{top:.1f}" width="{node.width:.0f}" height="{node.height:.0f}"'
        if node.name in (START, END):
            parts.append(
                f'<g class="node marker {status}" data-state="{node.name}" data-status="{status}">'
                f'<rect {size} rx="{node.height / 2:.0f}"/>'
                f'<text class="name" x="{centre:.1f}" y="{top + node.height / 2 + 4:.1f}">{node.kind}</text></g>')
            continue
        kind_class = node.kind.split(" ")[0].lower()
        shown = f'{escape(node.kind)}{" · " + status if status != "not-visited" else ""}'
        parts.append(
            f'<g class="node {escape(kind_class)}{" container" if node.branches else ""} {status}" '
            f'data-state="{escape(node.name)}" data-status="{status}">'
            f"<title>{escape(node.name)} ({escape(node.kind)}): {status}</title>"
            f'<rect {size} rx="6"/>'
            f'<text class="name" x="{centre:.1f}" y="{top + 20:.1f}">{escape(_short(node.name))}</text>'
            f'<text class="kind" x="{centre:.1f}" y="{top + 36:.1f}">{shown}</text></g>')
        for branch in node.branches:
            parts.append('<g class="branch">')
            reach = max(reach, _draw_block(branch, progress, left + branch.x, top + branch.y, parts))
            parts.append("</g>")
    return reach


def render_svg(definition: Mapping, progress: Progress | None = None) -> str:
    """The state machine as an SVG element. Each state is a ``<g class="node TYPE STATUS" data-state=NAME
    data-status=STATUS>`` (Parallel and Map also ``container``, their branches drawn inside); each transition a
    ``<g class="edge KIND [taken]" data-from data-to>``. Colours come from CSS classes (the page's stylesheet), so
    the page's CSP needs no inline styles."""
    progress = progress or Progress()
    drawing = layout(definition)
    body: list[str] = []
    width = max(drawing.width, _draw_block(drawing, progress, 0, 0, body))
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-graph" role="img" '
        f'aria-label="State machine graph" viewBox="0 0 {width:.0f} {drawing.height:.0f}" '
        f'width="{width:.0f}" height="{drawing.height:.0f}">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker>'
        '<marker id="arrow-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead taken"/></marker></defs>'
    )
    return head + "".join(body) + "</svg>"


# --- progress from an execution's history --------------------------------------------------------------------------

_STARTS = {"TaskScheduled", "ActivityScheduled", "LambdaFunctionScheduled"}
_TASK_ENDS = {"TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed",
              "ActivitySucceeded", "ActivityFailed", "ActivityTimedOut", "ActivityScheduleFailed"}
_FAILURES = {"TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed", "ActivityFailed",
             "ActivityTimedOut", "ActivityScheduleFailed", "LambdaFunctionFailed", "LambdaFunctionTimedOut",
             "LambdaFunctionStartFailed", "LambdaFunctionScheduleFailed"}
_EXECUTION_FAILED = {"ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}


@dataclass(frozen=True)
class _Context:
    """Where an event happens in its branch: the state it is in (None between states) and the last it left."""

    current: str | None
    last: str | None


def progress_from_history(events: Sequence[Mapping], definition: Mapping) -> Progress:
    """Which states an execution visited, where it waits or ended, which transitions it took.

    ``events`` are GetExecutionHistory events in order (boto3 shapes: ``type``, ``previousEventId``,
    ``stateEnteredEventDetails``...). Each event continues the branch of its ``previousEventId`` (or of the event
    before it when there is none), so concurrent Parallel branches and Map iterations are followed apart.
    """
    try:
        states = all_states(read_scope(definition))
    except DefinitionError:
        states = {}
    progress = Progress()
    contexts: dict[object, _Context] = {}
    waiting: dict[str, int] = {}  # state -> tasks in it that wait for a callback or an activity worker
    previous: _Context = _Context(None, None)
    ended = ""
    for event in events:
        kind = str(event.get("type", ""))
        parent = event.get("previousEventId")
        context = contexts.get(parent, previous) if parent is not None else previous
        if kind.endswith("StateEntered"):
            name = str((event.get("stateEnteredEventDetails") or {}).get("name", ""))
            progress.states[name] = "running"
            if context.current is None:  # not the first state of a branch: the branch moved on from `last`
                progress.taken.add((context.last or START, name))
            context = _Context(name, None)
        elif kind.endswith("StateExited"):
            name = str((event.get("stateExitedEventDetails") or {}).get("name", ""))
            progress.states[name] = "visited"
            context = _Context(None, name)
        elif context.current is not None and (kind in _STARTS or kind in _TASK_ENDS or kind in _FAILURES):
            name = context.current
            details = event.get("taskScheduledEventDetails") or {}
            if kind in _STARTS:  # a retry runs the state again
                progress.states[name] = "running"
            if kind == "ActivityScheduled" or str(details.get("resource", "")).endswith(".waitForTaskToken"):
                waiting[name] = waiting.get(name, 0) + 1
            elif kind in _TASK_ENDS and waiting.get(name):
                waiting[name] -= 1
            if kind in _FAILURES:
                progress.states[name] = "failed"
        elif kind == "ExecutionSucceeded":
            last = context.current or context.last or START
            progress.states[last] = progress.states[END] = "end-succeeded"
            progress.taken.add((last, END))
            ended = "succeeded"
        elif kind in _EXECUTION_FAILED:
            last = context.current or context.last or START
            if (states.get(last) or {}).get("Type") == "Fail":
                progress.states[last] = progress.states[END] = "end-failed"
                progress.taken.add((last, END))
            elif last != START:
                progress.states[last] = "failed"
            ended = "failed"
        contexts[event.get("id", len(contexts))] = previous = context
    for name, status in progress.states.items():
        if status != "running":
            continue
        if ended:  # a branch the end cut short
            progress.states[name] = "failed" if ended == "failed" else "visited"
        elif waiting.get(name):
            progress.states[name] = "waiting"
    if progress.taken:
        progress.states.setdefault(START, "visited")
    return progress
