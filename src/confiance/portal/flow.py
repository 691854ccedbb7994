"""The picture on "My data": how one customer's data flows from categories of data to the
purposes that use them and to the recipients those purposes share it with.

The layout is computed here and drawn as SVG by the template (``portal/flow.html``), on the
server: no script, no external library, nothing for a browser to fetch. The same information is
kept as rows (:attr:`Flow.rows`) for the text version next to the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Edge", "Flow", "FlowCategory", "FlowPurpose", "FlowRow", "Node", "build_flow"]

WIDTH = 960
NODE_WIDTH = 250
NODE_HEIGHT = 44
GAP = 16
TOP = 48
COLUMNS = (10, 355, 700)
#: Characters that fit in a node at the page's font size; longer labels are cut, in full in the
#: node's tooltip and in the text version.
LABEL_CHARS = 28


@dataclass(frozen=True, slots=True)
class FlowCategory:
    key: str
    label: str
    fields: tuple[str, ...]  # labels of the fields held in this category


@dataclass(frozen=True, slots=True)
class FlowPurpose:
    key: str
    label: str
    categories: frozenset[str]  # category keys this purpose uses
    allowed: bool
    recipients: tuple[tuple[str, str], ...]  # (key, label)


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    column: int
    label: str
    full_label: str
    x: int
    y: int
    muted: bool = False

    @property
    def width(self) -> int:
        return NODE_WIDTH

    @property
    def height(self) -> int:
        return NODE_HEIGHT

    @property
    def text_x(self) -> int:
        return self.x + 12

    @property
    def text_y(self) -> int:
        return self.y + NODE_HEIGHT // 2 + 5


@dataclass(frozen=True, slots=True)
class Edge:
    path: str
    muted: bool = False


@dataclass(frozen=True, slots=True)
class FlowRow:
    category: str
    fields: tuple[str, ...]
    purposes: tuple[tuple[str, bool, tuple[str, ...]], ...]  # (label, allowed, recipients)


@dataclass(frozen=True)
class Flow:
    width: int
    height: int
    nodes: list[Node]
    edges: list[Edge]
    rows: list[FlowRow] = field(default_factory=list)

    @property
    def columns_x(self) -> tuple[int, ...]:
        return COLUMNS


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def _curve(x1: int, y1: int, x2: int, y2: int) -> str:
    middle = (x1 + x2) // 2
    return f"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}"


def _column(items: Sequence[tuple[str, str, bool]], column: int, height: int) -> list[Node]:
    """Nodes of one column, centred vertically in the picture."""
    used = len(items) * NODE_HEIGHT + max(len(items) - 1, 0) * GAP
    top = TOP + (height - TOP - used) // 2
    return [
        Node(
            id=f"c{column}-{index}",
            column=column,
            label=_cut(label),
            full_label=label,
            x=COLUMNS[column],
            y=top + index * (NODE_HEIGHT + GAP),
            muted=muted,
        )
        for index, (_, label, muted) in enumerate(items)
    ]


def build_flow(categories: Sequence[FlowCategory], purposes: Sequence[FlowPurpose]) -> Flow:
    """Lay out categories (left), purposes (middle) and recipients (right), joined where data
    goes. A purpose that may not run now (no consent, an objection) is drawn muted, and so are
    the links that lead to it: they show what would happen, not what happens."""
    held = {c.key for c in categories}
    used = [p for p in purposes if p.categories & held]
    recipients: dict[str, str] = {}
    for p in used:
        for key, label in p.recipients:
            recipients.setdefault(key, label)
    tallest = max(len(categories), len(used), len(recipients), 1)
    height = TOP + tallest * (NODE_HEIGHT + GAP) + GAP
    left = _column([(c.key, c.label, False) for c in categories], 0, height)
    middle = _column([(p.key, p.label, not p.allowed) for p in used], 1, height)
    # A recipient is muted when none of the purposes sharing with it may run now.
    live = {key for p in used if p.allowed for key, _ in p.recipients}
    right = _column([(k, v, k not in live) for k, v in recipients.items()], 2, height)
    by_category = {c.key: n for c, n in zip(categories, left, strict=True)}
    by_recipient = {k: n for k, n in zip(recipients, right, strict=True)}
    edges: list[Edge] = []
    for p, node in zip(used, middle, strict=True):
        for c in categories:
            if c.key in p.categories:
                source = by_category[c.key]
                edges.append(
                    Edge(
                        _curve(
                            source.x + NODE_WIDTH,
                            source.y + NODE_HEIGHT // 2,
                            node.x,
                            node.y + NODE_HEIGHT // 2,
                        ),
                        muted=not p.allowed,
                    )
                )
        for key, _ in p.recipients:
            target = by_recipient[key]
            edges.append(
                Edge(
                    _curve(
                        node.x + NODE_WIDTH,
                        node.y + NODE_HEIGHT // 2,
                        target.x,
                        target.y + NODE_HEIGHT // 2,
                    ),
                    muted=not p.allowed,
                )
            )
    rows = [
        FlowRow(
            category=c.label,
            fields=c.fields,
            purposes=tuple(
                (p.label, p.allowed, tuple(label for _, label in p.recipients))
                for p in used
                if c.key in p.categories
            ),
        )
        for c in categories
    ]
    return Flow(WIDTH, height, left + middle + right, edges, rows)
