"""Bar charts as SVG made on the server: pure functions from numbers and labels to markup.

Every text (title, axis labels, legend, bar tooltips) is escaped, so a label is always shown
as text. The chart carries its title as ``<title>`` and ``aria-label``, and each bar a
``<title>`` with its value, so a screen reader can read what the eye sees; the same numbers
are meant to be shown in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Series", "bar_chart", "stacked_bar_chart"]

Number = int | float
Format = Callable[[Number], str]

WIDTH = 720
HEIGHT = 300
_LEFT = 76
_RIGHT = 16
_TOP = 36
_BOTTOM = 58
_LEGEND_ROW = 22
_BAR_COLOUR = "#0b6e4f"
_TICKS = 4


@dataclass(frozen=True, slots=True)
class Series:
    """One stacked layer: its legend label, a value per category, and its colour."""

    label: str
    values: Sequence[Number]
    colour: str


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _nice_step(span: float) -> float:
    """A step of 1, 2 or 5 times a power of ten that cuts ``span`` into about four."""
    raw = span / _TICKS
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def _axis(low: float, high: float) -> tuple[float, float, list[float]]:
    """The axis range (covering zero and every value) and its ticks."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1
    step = _nice_step(high - low)
    bottom = math.floor(low / step) * step
    top = math.ceil(high / step) * step
    count = round((top - bottom) / step)
    return bottom, top, [bottom + i * step for i in range(count + 1)]


def _frame(
    *,
    chart_id: str,
    title: str,
    height: int,
    body: list[str],
) -> str:
    title_id = f"{chart_id}-title"
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" role="img" id="{_text(chart_id)}" '
            f'aria-labelledby="{_text(title_id)}" aria-label="{_text(title)}" '
            'font-family="sans-serif" font-size="12">',
            f'<title id="{_text(title_id)}">{_text(title)}</title>',
            f'<text x="{WIDTH / 2:g}" y="20" text-anchor="middle" font-size="15" '
            f'font-weight="600" fill="#1d2430">{_text(title)}</text>',
            *body,
            "</svg>",
        ]
    )


def _axes(
    *,
    bottom: float,
    top: float,
    ticks: list[float],
    plot_bottom: float,
    plot_height: float,
    labels: Sequence[str],
    x_label: str,
    y_label: str,
    value_format: Format,
) -> tuple[list[str], Callable[[float], float], float]:
    """Grid lines, tick and category labels, axis titles; the value-to-y map; bar slot width."""
    plot_width = WIDTH - _LEFT - _RIGHT

    def y_of(value: float) -> float:
        return plot_bottom - (value - bottom) * plot_height / (top - bottom)

    parts = []
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.2f}" y2="{y:.2f}" '
            f'stroke="{"#5b6574" if tick == 0 else "#d9dee5"}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.2f}" text-anchor="end" fill="#5b6574" '
            f'class="tick">{_text(value_format(tick))}</text>'
        )
    slot = plot_width / max(len(labels), 1)
    for i, label in enumerate(labels):
        x = _LEFT + slot * (i + 0.5)
        parts.append(
            f'<text x="{x:.2f}" y="{plot_bottom + 16:.2f}" text-anchor="middle" '
            f'fill="#1d2430" class="category">{_text(label)}</text>'
        )
    parts.append(
        f'<text x="{_LEFT + plot_width / 2:.2f}" y="{plot_bottom + 36:.2f}" '
        f'text-anchor="middle" fill="#5b6574" class="x-label">{_text(x_label)}</text>'
    )
    middle = plot_bottom - plot_height / 2
    parts.append(
        f'<text x="14" y="{middle:.2f}" text-anchor="middle" fill="#5b6574" class="y-label" '
        f'transform="rotate(-90 14 {middle:.2f})">{_text(y_label)}</text>'
    )
    return parts, y_of, slot


def _bar(
    *, x: float, width: float, y_from: float, y_to: float, colour: str, value: Number, tip: str
) -> str:
    y, height = min(y_from, y_to), abs(y_to - y_from)
    return (
        f'<rect class="bar" x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" height="{height:.4f}" '
        f'fill="{_text(colour)}" data-value="{_text(value)}"><title>{_text(tip)}</title></rect>'
    )


def _empty(chart_id: str, title: str, empty_text: str) -> str:
    return _frame(
        chart_id=chart_id,
        title=title,
        height=HEIGHT,
        body=[
            f'<text x="{WIDTH / 2:g}" y="{HEIGHT / 2:g}" text-anchor="middle" fill="#5b6574" '
            f'class="empty">{_text(empty_text)}</text>'
        ],
    )


def bar_chart(
    *,
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[Number],
    x_label: str,
    y_label: str,
    empty_text: str,
    value_format: Format = str,
    colour: str = _BAR_COLOUR,
    max_value: Number | None = None,
) -> str:
    """One bar per label, its height proportional to its value (``max_value`` at least
    fixes the top of the axis, e.g. 100 for percentages)."""
    if len(labels) != len(values):
        raise ValueError("one value per label")
    if not labels:
        return _empty(chart_id, title, empty_text)
    high = max([*values, max_value or 0])
    bottom, top, ticks = _axis(min(values), high)
    plot_bottom = HEIGHT - _BOTTOM
    parts, y_of, slot = _axes(
        bottom=bottom,
        top=top,
        ticks=ticks,
        plot_bottom=plot_bottom,
        plot_height=plot_bottom - _TOP,
        labels=labels,
        x_label=x_label,
        y_label=y_label,
        value_format=value_format,
    )
    width = slot * 0.6
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        parts.append(
            _bar(
                x=_LEFT + slot * i + (slot - width) / 2,
                width=width,
                y_from=y_of(0),
                y_to=y_of(value),
                colour=colour,
                value=value,
                tip=f"{label}: {value_format(value)}",
            )
        )
    return _frame(chart_id=chart_id, title=title, height=HEIGHT, body=parts)


def stacked_bar_chart(
    *,
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    empty_text: str,
    value_format: Format = str,
) -> str:
    """A stacked bar per label: positive layers stack up from zero, negative ones (refunds)
    down from it, in the order given; a legend names each layer."""
    if any(len(s.values) != len(labels) for s in series):
        raise ValueError("one value per label in every series")
    if not labels or not series:
        return _empty(chart_id, title, empty_text)
    ups = [sum(max(s.values[i], 0) for s in series) for i in range(len(labels))]
    downs = [sum(min(s.values[i], 0) for s in series) for i in range(len(labels))]
    bottom, top, ticks = _axis(min(downs), max(ups))
    legend_rows = math.ceil(len(series) / 4)
    height = HEIGHT + legend_rows * _LEGEND_ROW + 8
    plot_bottom = HEIGHT - _BOTTOM
    parts, y_of, slot = _axes(
        bottom=bottom,
        top=top,
        ticks=ticks,
        plot_bottom=plot_bottom,
        plot_height=plot_bottom - _TOP,
        labels=labels,
        x_label=x_label,
        y_label=y_label,
        value_format=value_format,
    )
    width = slot * 0.6
    for i, label in enumerate(labels):
        x = _LEFT + slot * i + (slot - width) / 2
        up = down = 0.0
        for layer in series:
            value = layer.values[i]
            if value == 0:
                continue
            start = up if value > 0 else down
            end = start + value
            if value > 0:
                up = end
            else:
                down = end
            parts.append(
                _bar(
                    x=x,
                    width=width,
                    y_from=y_of(start),
                    y_to=y_of(end),
                    colour=layer.colour,
                    value=value,
                    tip=f"{label} · {layer.label}: {value_format(value)}",
                )
            )
    legend_top = HEIGHT + 8
    column = (WIDTH - _LEFT) / 4
    for n, layer in enumerate(series):
        x = _LEFT + column * (n % 4)
        y = legend_top + _LEGEND_ROW * (n // 4)
        parts.append(
            f'<g class="legend"><rect x="{x:.2f}" y="{y - 10:.2f}" width="12" height="12" '
            f'fill="{_text(layer.colour)}"/><text x="{x + 18:.2f}" y="{y:.2f}" '
            f'fill="#1d2430">{_text(layer.label)}</text></g>'
        )
    return _frame(chart_id=chart_id, title=title, height=height, body=parts)
