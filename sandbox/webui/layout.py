"""Where each state of a scope goes: a top-down layered layout, recursive for Parallel and Map. Pure.

States are put in layers by their longest distance from the scope's start (loops ignored), so every transition
points down; within a layer a state sits under its parents, the first transition (``Next``) straight below and the
others (``Catch``, further ``Choices``) to its right, which draws the main path as a straight column and the error
paths beside it. A Parallel or Map state is a container as large as its branches, laid out first, side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.console.asl import END, START, Scope, Transition, kind_label

NODE_WIDTH = 210
NODE_HEIGHT = 46
MARKER_WIDTH = 64
MARKER_HEIGHT = 26
COLUMN_GAP = 50
LAYER_GAP = 62
MARGIN = 20
HEADER = 40  # a container's title row, above its branches
PADDING = 14  # between a container's border and its branches
BRANCH_GAP = 24


@dataclass
class Node:
    name: str
    kind: str  # the ASL Type (with Map mode / callback), or Start / End for the markers
    layer: int = 0
    x: float = 0.0  # centre
    y: float = 0.0  # top
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT
    branches: list[Block] = field(default_factory=list)  # a container's inner layouts, positioned inside it

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass
class Block:
    """A laid-out scope: nodes and edges in the block's own coordinates, ``(x, y)`` its offset in the parent."""

    nodes: dict[str, Node]
    edges: list[Transition]
    width: float
    height: float
    x: float = 0.0
    y: float = 0.0


def _layers(start: str, edges: list[Transition]) -> dict[str, int]:
    """Longest-path layer of every node reachable from start; edges closing a loop are ignored."""
    children: dict[str, list[str]] = {}
    for edge in edges:
        if edge.source != edge.target:
            children.setdefault(edge.source, []).append(edge.target)
    order: list[str] = []
    on_path: set[str] = set()
    seen: set[str] = set()
    back: set[tuple[str, str]] = set()
    stack: list[tuple[str, int]] = [(start, 0)]  # iterative depth-first search: no recursion limit on big machines
    seen.add(start)
    on_path.add(start)
    while stack:
        node, index = stack[-1]
        targets = children.get(node, [])
        if index < len(targets):
            stack[-1] = (node, index + 1)
            child = targets[index]
            if child in on_path:
                back.add((node, child))
            elif child not in seen:
                seen.add(child)
                on_path.add(child)
                stack.append((child, 0))
            continue
        stack.pop()
        on_path.discard(node)
        order.append(node)
    layer = {node: 0 for node in order}
    for node in reversed(order):  # topological order of the forward edges
        for child in children.get(node, []):
            if (node, child) not in back:
                layer[child] = max(layer[child], layer[node] + 1)
    return layer


def _container(name: str, state: Mapping[str, Any], branches: list[Scope]) -> Node:
    blocks = [layout_scope(branch) for branch in branches]
    inner_width = sum(b.width for b in blocks) + BRANCH_GAP * max(0, len(blocks) - 1)
    node = Node(name, kind_label(state), width=max(NODE_WIDTH, inner_width + 2 * PADDING),
                height=HEADER + max((b.height for b in blocks), default=0) + PADDING, branches=blocks)
    left = (node.width - inner_width) / 2
    for block in blocks:
        block.x, block.y = left, HEADER
        left += block.width + BRANCH_GAP
    return node


def layout_scope(scope: Scope) -> Block:
    edges = scope.transitions
    entry = START if scope.top else scope.start
    layer_of = _layers(entry, edges)
    # States no path reaches (allowed by nothing, but seen in drafts) go below everything else.
    bottom = max(layer_of.values()) + 1
    nodes: dict[str, Node] = {}
    names = [START, *scope.states, END] if scope.top else list(scope.states)
    for name in names:
        if name == START:
            node = Node(START, "Start", width=MARKER_WIDTH, height=MARKER_HEIGHT)
        elif name == END:
            if END not in layer_of:
                continue
            node = Node(END, "End", width=MARKER_WIDTH, height=MARKER_HEIGHT)
        elif name in scope.children:
            node = _container(name, scope.states[name], scope.children[name])
        else:
            node = Node(name, kind_label(scope.states[name]))
        node.layer = layer_of.get(name, bottom)
        nodes[name] = node

    parents: dict[str, list[str]] = {}
    first_child: dict[str, str] = {}
    for edge in edges:
        if edge.source == edge.target:
            continue
        first_child.setdefault(edge.source, edge.target)
        if edge.target in nodes and nodes[edge.target].layer > nodes[edge.source].layer:
            parents.setdefault(edge.target, []).append(edge.source)

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
            node.x = max(wanted(node), right_edge + COLUMN_GAP + node.width / 2)
            right_edge = node.x + node.width / 2

    # Vertical placement: each layer as tall as its tallest state; markers centred in theirs.
    heights = {number: max(n.height for n in row) for number, row in by_layer.items()}
    tops: dict[int, float] = {}
    top = float(MARGIN)
    for number in sorted(heights):
        tops[number] = top
        top += heights[number] + LAYER_GAP
    left = min(n.x - n.width / 2 for n in nodes.values())
    right = max(n.x + n.width / 2 for n in nodes.values())
    for node in nodes.values():
        node.x += MARGIN - left
        marker = node.name in (START, END)
        node.y = tops[node.layer] + ((heights[node.layer] - node.height) / 2 if marker else 0)
    kept = [e for e in edges if e.target in nodes and e.source in nodes]
    return Block(nodes, kept, right - left + 2 * MARGIN, top - LAYER_GAP + MARGIN)
