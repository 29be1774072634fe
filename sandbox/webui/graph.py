"""Draw a state machine (its ASL definition) as an SVG graph, top-down, coloured by an execution's progress.

Pure: a dict in, a string out. The Workflows page feeds it the definition LocalStack returns from
DescribeStateMachine, so the drawing follows the deployed workflow, not a copy of it.

Layout: a "Start" marker, one box per top-level state, an "End" marker after the terminal states. States are put
in layers by their longest distance from StartAt (loops ignored), so every transition points down; within a layer
a state sits under its parents, the first transition (``Next``) straight below and the others (``Catch``,
further ``Choices``) to its right, which draws the main path as a straight column and the error paths beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

START = "__start__"
END = "__end__"

NODE_WIDTH = 210
NODE_HEIGHT = 46
MARKER_WIDTH = 64
MARKER_HEIGHT = 26
COLUMN_GAP = 50
LAYER_GAP = 62
MARGIN = 20
MAX_LABEL = 30
LABEL_CHARS = 24

# Node statuses the drawing knows; anything else is drawn as not visited.
STATUSES = ("visited", "running", "waiting", "succeeded", "failed", "end-succeeded", "end-failed")


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    kind: str  # next | default | choice | catch | end | start
    label: str = ""


@dataclass
class Node:
    name: str
    kind: str  # the ASL Type, or Start / End for the markers
    layer: int = 0
    x: float = 0.0  # centre
    y: float = 0.0  # top
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass
class Layout:
    nodes: dict[str, Node]
    edges: list[Transition]
    width: float
    height: float


@dataclass
class Progress:
    """What an execution did, in graph terms: a status per state it reached and the transitions it took."""

    states: dict[str, str] = field(default_factory=dict)
    taken: set[tuple[str, str]] = field(default_factory=set)


class DefinitionError(ValueError):
    """The definition is not a state machine this module can draw (no States, StartAt missing...)."""


def _is_terminal(state: Mapping) -> bool:
    return state.get("Type") in ("Succeed", "Fail") or bool(state.get("End"))


def _catch_label(errors: list[str]) -> str:
    return ", ".join(errors)


def transitions(definition: Mapping) -> list[Transition]:
    """Every transition of the top-level states, in definition order, plus Start and End."""
    states = definition.get("States")
    start = definition.get("StartAt")
    if not isinstance(states, Mapping) or not states:
        raise DefinitionError("the definition has no States")
    if start not in states:
        raise DefinitionError(f"StartAt {start!r} is not one of the States")
    edges = [Transition(START, str(start), "start")]
    for name, state in states.items():
        if not isinstance(state, Mapping):
            raise DefinitionError(f"state {name!r} is not an object")
        if state.get("Next"):
            edges.append(Transition(name, state["Next"], "next"))
        for choice in state.get("Choices") or ():
            if isinstance(choice, Mapping) and choice.get("Next"):
                edges.append(Transition(name, choice["Next"], "choice"))
        if state.get("Default"):
            edges.append(Transition(name, state["Default"], "default", "default"))
        for catcher in state.get("Catch") or ():
            if isinstance(catcher, Mapping) and catcher.get("Next"):
                edges.append(Transition(name, catcher["Next"], "catch",
                                        _catch_label(list(catcher.get("ErrorEquals") or []))))
        if _is_terminal(state):
            edges.append(Transition(name, END, "end"))
    unknown = sorted({e.target for e in edges if e.target != END and e.target not in states})
    if unknown:
        raise DefinitionError(f"transitions to unknown states: {', '.join(unknown)}")
    return edges


def _layers(edges: list[Transition]) -> dict[str, int]:
    """Longest-path layer of every node reachable from Start; edges closing a loop are ignored."""
    children: dict[str, list[str]] = {}
    for edge in edges:
        children.setdefault(edge.source, []).append(edge.target)
    # Depth-first order, to tell loop-closing (back) edges apart.
    order: list[str] = []
    on_path: set[str] = set()
    seen: set[str] = set()
    back: set[tuple[str, str]] = set()

    def visit(node: str) -> None:
        seen.add(node)
        on_path.add(node)
        for child in children.get(node, []):
            if child in on_path:
                back.add((node, child))
            elif child not in seen:
                visit(child)
        on_path.discard(node)
        order.append(node)

    visit(START)
    layer = {node: 0 for node in order}
    for node in reversed(order):  # topological order of the forward edges
        for child in children.get(node, []):
            if (node, child) not in back:
                layer[child] = max(layer[child], layer[node] + 1)
    return layer


def layout(definition: Mapping) -> Layout:
    edges = transitions(definition)
    states = definition["States"]
    layer_of = _layers(edges)
    # States no path reaches (allowed by nothing, but seen in drafts) go below everything else.
    bottom = max(layer_of.values()) + 1
    nodes: dict[str, Node] = {}
    for name in [START, *states, END]:
        if name == START:
            node = Node(START, "Start", width=MARKER_WIDTH, height=MARKER_HEIGHT)
        elif name == END:
            if END not in layer_of:
                continue
            node = Node(END, "End", width=MARKER_WIDTH, height=MARKER_HEIGHT)
        else:
            node = Node(name, str(states[name].get("Type", "")))
        node.layer = layer_of.get(name, bottom)
        nodes[name] = node

    parents: dict[str, list[str]] = {}
    for edge in edges:
        if edge.target in nodes and nodes[edge.target].layer > nodes[edge.source].layer:
            parents.setdefault(edge.target, []).append(edge.source)
    first_child: dict[str, str] = {}
    for edge in edges:
        first_child.setdefault(edge.source, edge.target)

    # Horizontal placement, layer by layer: under the parents, pushed right until nothing overlaps.
    by_layer: dict[int, list[Node]] = {}
    for node in nodes.values():
        by_layer.setdefault(node.layer, []).append(node)
    sequence = {name: i for i, name in enumerate(nodes)}
    for number in sorted(by_layer):
        row = by_layer[number]

        def wanted(node: Node) -> float:
            sources = [nodes[p].x for p in parents.get(node.name, [])]
            return sum(sources) / len(sources) if sources else 0.0

        def main_path_first(node: Node) -> tuple[float, int, int]:
            is_first = any(first_child.get(p) == node.name for p in parents.get(node.name, []))
            return (wanted(node), 0 if is_first else 1, sequence[node.name])

        row.sort(key=main_path_first)
        right_edge = float("-inf")
        for node in row:
            x = max(wanted(node), right_edge + COLUMN_GAP + node.width / 2)
            node.x = x
            right_edge = x + node.width / 2

    row_height = NODE_HEIGHT + LAYER_GAP
    left = min(n.x - n.width / 2 for n in nodes.values())
    right = max(n.x + n.width / 2 for n in nodes.values())
    for node in nodes.values():
        node.x += MARGIN - left
        node.y = MARGIN + node.layer * row_height + (NODE_HEIGHT - node.height) / 2
    height = MARGIN * 2 + (max(n.layer for n in nodes.values()) + 1) * row_height - LAYER_GAP
    return Layout(nodes, [e for e in edges if e.target in nodes], right - left + 2 * MARGIN, height)


# --- SVG ---------------------------------------------------------------------------------------------------------


def _short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _edge_path(source: Node, target: Node) -> tuple[str, float, float]:
    """A curve from the bottom of source to the top of target (or round the right side for a loop), and where
    its label goes: just above the arrowhead, where labels of edges from one state do not overlap."""
    if target.layer > source.layer:
        x1, y1, x2, y2 = source.x, source.bottom, target.x, target.y
        bend = max(24.0, (y2 - y1) / 2)
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}"
        return path, x2, y2 - 8
    # Loop back up (or sideways): leave right, come back in on the right.
    x1, y1 = source.x + source.width / 2, source.y + source.height / 2
    x2, y2 = target.x + target.width / 2, target.y + target.height / 2
    reach = max(x1, x2) + 60
    path = f"M{x1:.1f},{y1:.1f} C{reach:.1f},{y1:.1f} {reach:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    return path, reach - 14, (y1 + y2) / 2


def render_svg(definition: Mapping, progress: Progress | None = None) -> str:
    """The state machine as an SVG element. Each state is a ``<g class="node STATUS" data-state=NAME
    data-status=STATUS>``; each transition a ``<g class="edge KIND [taken]" data-from data-to>``. Colours come
    from CSS classes (the page's stylesheet), so the page's CSP needs no inline styles."""
    progress = progress or Progress()
    drawing = layout(definition)
    nodes = drawing.nodes
    # Labels sit right of their arrowhead; widen the drawing so the last one is not cut off (~6.5 px a letter).
    width = max([drawing.width] + [nodes[e.target].x + 12 + 6.5 * len(_short(e.label, LABEL_CHARS))
                                   for e in drawing.edges if e.label])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-graph" role="img" '
        f'aria-label="State machine graph" viewBox="0 0 {width:.0f} {drawing.height:.0f}" '
        f'width="{width:.0f}" height="{drawing.height:.0f}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker>'
        '<marker id="arrow-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead taken"/></marker></defs>',
    ]
    for edge in drawing.edges:
        source, target = nodes[edge.source], nodes[edge.target]
        path, label_x, label_y = _edge_path(source, target)
        taken = (edge.source, edge.target) in progress.taken
        classes = f"edge {edge.kind}" + (" taken" if taken else "")
        marker = "arrow-taken" if taken else "arrow"
        parts.append(
            f'<g class="{classes}" data-from="{escape(edge.source)}" data-to="{escape(edge.target)}">'
            f'<path d="{path}" marker-end="url(#{marker})"/>'
        )
        if edge.label:
            parts.append(
                f'<text class="edge-label" x="{label_x + 6:.1f}" y="{label_y:.1f}">'
                f"<title>{escape(edge.label)}</title>{escape(_short(edge.label, LABEL_CHARS))}</text>"
            )
        parts.append("</g>")
    for node in nodes.values():
        status = progress.states.get(node.name, "")
        status = status if status in STATUSES else "not-visited"
        left, top = node.x - node.width / 2, node.y
        if node.name in (START, END):
            parts.append(
                f'<g class="node marker {status}" data-state="{node.name}" data-status="{status}">'
                f'<rect x="{left:.1f}" y="{top:.1f}" width="{node.width:.0f}" height="{node.height:.0f}" '
                f'rx="{node.height / 2:.0f}"/>'
                f'<text class="name" x="{node.x:.1f}" y="{top + node.height / 2 + 4:.1f}">{node.kind}</text></g>'
            )
            continue
        parts.append(
            f'<g class="node {escape(node.kind.lower())} {status}" data-state="{escape(node.name)}" '
            f'data-status="{status}"><title>{escape(node.name)} ({escape(node.kind)}): {status}</title>'
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{node.width:.0f}" height="{node.height:.0f}" rx="6"/>'
            f'<text class="name" x="{node.x:.1f}" y="{top + 20:.1f}">{escape(_short(node.name))}</text>'
            f'<text class="kind" x="{node.x:.1f}" y="{top + 36:.1f}">{escape(node.kind)}'
            f'{" · " + status if status != "not-visited" else ""}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


# --- progress from an execution's history --------------------------------------------------------------------------


def progress_from_history(events: Sequence[Mapping], definition: Mapping) -> Progress:
    """Which states an execution visited, where it waits or ended, which transitions it took.

    ``events`` are GetExecutionHistory events in order (boto3 shapes: ``type``, ``stateEnteredEventDetails``...).
    """
    states = definition.get("States") or {}
    progress = Progress()
    previous = START
    current: str | None = None
    callback_pending = False
    for event in events:
        kind = event.get("type", "")
        if kind.endswith("StateEntered"):
            name = (event.get("stateEnteredEventDetails") or {}).get("name", "")
            progress.states[name] = "running"
            progress.taken.add((previous, name))
            current, callback_pending = name, False
        elif kind.endswith("StateExited"):
            name = (event.get("stateExitedEventDetails") or {}).get("name", "")
            progress.states[name] = "visited"
            previous, current = name, None
        elif kind == "TaskScheduled":
            resource = str((event.get("taskScheduledEventDetails") or {}).get("resource", ""))
            callback_pending = resource.endswith(".waitForTaskToken")
        elif kind in ("TaskSucceeded", "TaskFailed", "TaskTimedOut"):
            callback_pending = False
        elif kind == "ExecutionSucceeded":
            last = current or previous
            progress.states[last] = "end-succeeded"
            progress.taken.add((last, END))
            progress.states[END] = "end-succeeded"
        elif kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            last = current or previous
            if (states.get(last) or {}).get("Type") == "Fail":
                progress.states[last] = "end-failed"
                progress.taken.add((last, END))
                progress.states[END] = "end-failed"
            elif last != START:
                progress.states[last] = "failed"
    if current is not None and progress.states.get(current) == "running" and callback_pending:
        progress.states[current] = "waiting"
    if progress.taken:
        progress.states.setdefault(START, "visited")
    return progress
