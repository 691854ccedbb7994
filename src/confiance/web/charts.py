"""Small charts drawn by the server as SVG: lines, horizontal bars and a flow diagram.

No JavaScript and no chart library in the browser: the page receives finished SVG, which the
Content Security Policy allows (it is markup, not script; colours are presentation attributes,
not ``style``). Each chart is an image with an accessible name and description (``role="img"``,
``<title>`` and ``<desc>`` referenced by ``aria-labelledby``); the page shows the same figures
as a table next to it, for screen readers and for anyone who wants the numbers.

Series differ by colour *and* by marker and dash pattern, so they stay apart for people who do
not see the colours; every colour has at least 3:1 contrast on white (WCAG 2.2, 1.4.11).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["PALETTE", "Series", "bar_chart", "flow_diagram", "line_chart", "percent"]

#: Dark enough on white for graphics (3:1 or more), distinct in hue.
PALETTE = (
    "#0a4fc2",
    "#a1111d",
    "#0b6b2f",
    "#8a4b00",
    "#5b2a86",
    "#00656e",
    "#4a4a55",
    "#b0006e",
)
_DASHES = ("", "6 3", "2 3", "8 3 2 3", "", "6 3", "2 3", "8 3 2 3")
_INK = "#1b1b1f"
_GRID = "#d6d6de"
_FONT = 'font-family="system-ui, sans-serif"'


@dataclass(frozen=True, slots=True)
class Series:
    """One line (or one bar per label): a value per label, ``None`` where there is none."""

    name: str
    values: Sequence[float | None]


def percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def _number(value: float) -> str:
    return f"{value:g}"


def _open(ident: str, width: float, height: float, title: str, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" class="chart">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]


def _close(parts: list[str]) -> Markup:
    """The finished SVG. Every text in it went through :func:`escape`; numbers are formatted
    here and colours are constants, so the markup is safe to place in a page as is."""
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built from escaped texts only


def _marker(kind: int, x: float, y: float, colour: str) -> str:
    shape = kind % 4
    if shape == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>'
    if shape == 1:
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}"/>'
    if shape == 2:
        return (
            f'<path d="M{x:.1f} {y - 4.5:.1f}L{x + 4.5:.1f} {y + 3.5:.1f}'
            f'H{x - 4.5:.1f}Z" fill="{colour}"/>'
        )
    return (
        f'<path d="M{x:.1f} {y - 4.5:.1f}L{x + 4.5:.1f} {y:.1f}L{x:.1f} {y + 4.5:.1f}'
        f'L{x - 4.5:.1f} {y:.1f}Z" fill="{colour}"/>'
    )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _legend(series: Sequence[Series], top: float, left: float, width: float) -> list[str]:
    parts: list[str] = []
    per_row = max(1, int(width // 220))
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        dash = _DASHES[index % len(_DASHES)]
        x = left + (index % per_row) * 220
        y = top + (index // per_row) * 20
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 26:.1f}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-width="2.5"{dash_attr}/>'
        )
        parts.append(_marker(index, x + 13, y, colour))
        parts.append(
            f'<text x="{x + 32:.1f}" y="{y + 4:.1f}" font-size="12" fill="{_INK}" {_FONT}>'
            f"{escape(_shorten(item.name, 28))}</text>"
        )
    return parts


def _legend_height(count: int, width: float) -> float:
    per_row = max(1, int(width // 220))
    return math.ceil(count / per_row) * 20 if count else 0


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_chart(
    *,
    ident: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    y_max: float | None = None,
    y_format: Callable[[float], str] = _number,
    width: float = 720,
    plot_height: float = 240,
) -> Markup:
    """Lines over shared x labels (days), with a y axis from 0 and a legend below."""
    left, right, top = 64.0, 16.0, 12.0
    inner_w = width - left - right
    legend_top = top + plot_height + 44
    height = legend_top + _legend_height(len(series), inner_w) + 8
    peak = max((v for s in series for v in s.values if v is not None), default=0.0)
    top_value: float = y_max if y_max is not None else _nice_max(peak)
    parts = _open(ident, width, height, title, description)

    def y_of(value: float) -> float:
        return top + plot_height - (value / top_value) * plot_height if top_value else top

    step = inner_w / max(len(labels) - 1, 1)

    def x_of(index: int) -> float:
        return left + (index * step if len(labels) > 1 else inner_w / 2)

    for tick in range(5):
        level = top_value * tick / 4
        y = y_of(level)
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + inner_w:.1f}" y2="{y:.1f}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 8:.1f}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="{_INK}" {_FONT}>{escape(y_format(level))}</text>'
        )
    base = top + plot_height
    parts.append(
        f'<line x1="{left:.1f}" y1="{base:.1f}" x2="{left + inner_w:.1f}" y2="{base:.1f}" '
        f'stroke="{_INK}" stroke-width="1"/>'
    )
    parts.append(
        f'<line x1="{left:.1f}" y1="{top:.1f}" x2="{left:.1f}" y2="{base:.1f}" '
        f'stroke="{_INK}" stroke-width="1"/>'
    )
    shown = max(1, math.ceil(len(labels) / 8))
    # Every ``shown``-th label, and the last one unless it would run into the one before.
    ticks = set(range(0, len(labels), shown))
    if labels and (len(labels) - 1) - max(ticks) >= shown / 2:
        ticks.add(len(labels) - 1)
    for index, label in enumerate(labels):
        if index not in ticks:
            continue
        x = x_of(index)
        parts.append(
            f'<line x1="{x:.1f}" y1="{base:.1f}" x2="{x:.1f}" y2="{base + 5:.1f}" '
            f'stroke="{_INK}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{base + 20:.1f}" text-anchor="middle" font-size="12" '
            f'fill="{_INK}" {_FONT}>{escape(label)}</text>'
        )
    for number, item in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        dash = _DASHES[number % len(_DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        run: list[str] = []
        markers: list[str] = []
        for index, value in enumerate(item.values):
            if value is None:
                if len(run) > 1:
                    parts.append(_polyline(run, colour, dash_attr))
                run = []
                continue
            point = f"{x_of(index):.1f},{y_of(min(value, top_value)):.1f}"
            run.append(point)
            markers.append(_marker(number, x_of(index), y_of(min(value, top_value)), colour))
        if len(run) > 1:
            parts.append(_polyline(run, colour, dash_attr))
        parts.extend(markers)
    parts.extend(_legend(series, legend_top, left, inner_w))
    return _close(parts)


def _polyline(points: list[str], colour: str, dash_attr: str) -> str:
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
        f'stroke-width="2.5"{dash_attr}/>'
    )


def bar_chart(
    *,
    ident: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    width: float = 720,
    value_format: Callable[[float], str] = _number,
) -> Markup:
    """Horizontal bars, one group per label (long names stay readable on the left), a bar
    per series in each group, each bar with its value written at its end."""
    label_w, right, top = 190.0, 56.0, 8.0
    bar_h, gap = 14.0, 12.0
    inner_w = width - label_w - right
    group_h = bar_h * len(series) + gap
    plot_h = group_h * len(labels)
    legend_top = top + plot_h + 16
    height = legend_top + _legend_height(len(series), width - label_w) + 4
    peak = max((v for s in series for v in s.values if v is not None), default=0.0)
    top_value = _nice_max(peak)
    parts = _open(ident, width, height, title, description)
    parts.append(
        f'<line x1="{label_w:.1f}" y1="{top:.1f}" x2="{label_w:.1f}" y2="{top + plot_h:.1f}" '
        f'stroke="{_INK}" stroke-width="1"/>'
    )
    for index, label in enumerate(labels):
        y0 = top + index * group_h
        parts.append(
            f'<text x="{label_w - 8:.1f}" y="{y0 + group_h / 2 + 2:.1f}" text-anchor="end" '
            f'font-size="12" fill="{_INK}" {_FONT}>{escape(_shorten(label, 28))}</text>'
        )
        for number, item in enumerate(series):
            value = item.values[index] if index < len(item.values) else None
            if value is None:
                continue
            colour = PALETTE[number % len(PALETTE)]
            length = inner_w * value / top_value if top_value else 0
            y = y0 + number * bar_h
            parts.append(
                f'<rect x="{label_w:.1f}" y="{y:.1f}" width="{max(length, 1):.1f}" '
                f'height="{bar_h - 2:.1f}" fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{label_w + length + 4:.1f}" y="{y + bar_h - 4:.1f}" font-size="11" '
                f'fill="{_INK}" {_FONT}>{escape(value_format(value))}</text>'
            )
    parts.extend(_bar_legend(series, legend_top, label_w, width - label_w))
    return _close(parts)


def _bar_legend(series: Sequence[Series], top: float, left: float, width: float) -> list[str]:
    parts: list[str] = []
    per_row = max(1, int(width // 220))
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        x = left + (index % per_row) * 220
        y = top + (index // per_row) * 20
        parts.append(f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="12" height="12" fill="{colour}"/>')
        parts.append(
            f'<text x="{x + 18:.1f}" y="{y + 4:.1f}" font-size="12" fill="{_INK}" {_FONT}>'
            f"{escape(_shorten(item.name, 28))}</text>"
        )
    return parts


def flow_diagram(
    *,
    ident: str,
    title: str,
    description: str,
    headings: Sequence[str],
    columns: Sequence[Sequence[str]],
    links: Sequence[tuple[str, str]],
    width: float = 1000,
) -> Markup:
    """Boxes in columns (e.g. categories, fields, purposes, recipients) joined by curves.

    Nodes are named ``"<column index>:<label>"`` in ``links`` so that the same label may stand
    in two columns; a label too long for its box is shortened, the whole of it kept in the
    box's own ``<title>``.
    """
    count = len(columns)
    gap = 70.0
    box_w = (width - gap * (count - 1)) / count if count else width
    box_h, row_h, top = 26.0, 34.0, 36.0
    tallest = max((len(c) for c in columns), default=0)
    height = top + tallest * row_h + 8
    parts = _open(ident, width, height, title, description)
    where: dict[str, tuple[float, float]] = {}
    for number, column in enumerate(columns):
        x = number * (box_w + gap)
        offset = (tallest - len(column)) * row_h / 2
        for row, label in enumerate(column):
            where[f"{number}:{label}"] = (x, top + offset + row * row_h)
    for source, target in links:
        if source not in where or target not in where:
            continue
        source_column = int(source.split(":", 1)[0])
        sx, sy = where[source]
        tx, ty = where[target]
        x1, y1 = sx + box_w, sy + box_h / 2
        x2, y2 = tx, ty + box_h / 2
        middle = (x1 + x2) / 2
        parts.append(
            f'<path d="M{x1:.1f} {y1:.1f}C{middle:.1f} {y1:.1f} {middle:.1f} {y2:.1f} '
            f'{x2:.1f} {y2:.1f}" fill="none" stroke="{PALETTE[source_column % len(PALETTE)]}" '
            f'stroke-opacity="0.45" stroke-width="1.5"/>'
        )
    for number, heading in enumerate(headings):
        x = number * (box_w + gap)
        parts.append(
            f'<text x="{x:.1f}" y="18" font-size="14" font-weight="700" fill="{_INK}" {_FONT}>'
            f"{escape(heading)}</text>"
        )
    limit = max(8, int(box_w / 7))
    for number, column in enumerate(columns):
        colour = PALETTE[number % len(PALETTE)]
        for label in column:
            x, y = where[f"{number}:{label}"]
            parts.append(
                f'<g><title>{escape(label)}</title><rect x="{x:.1f}" y="{y:.1f}" '
                f'width="{box_w:.1f}" height="{box_h:.1f}" rx="5" fill="#ffffff" '
                f'stroke="{colour}" stroke-width="2"/><text x="{x + 8:.1f}" y="{y + 17:.1f}" '
                f'font-size="12" fill="{_INK}" {_FONT}>{escape(_shorten(label, limit))}</text></g>'
            )
    return _close(parts)
