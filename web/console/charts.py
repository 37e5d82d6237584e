"""Bar charts as data for server-rendered SVG: readable without JavaScript, with a text alternative.

Pure geometry: the template (`console/_chart.html`) draws the bars and prints the same figures
as a table, so a screen-reader user and a sighted user get the same facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 480, 240
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 40, 28, 12
#: Distinguishable colours with 3:1 contrast against white (WCAG 1.4.11), plus a pattern id
#: each so the series do not rely on colour alone.
SERIES_COLOURS = ("#0b4f6c", "#b3400f", "#5b3d8a", "#1d6b2f")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    value: int


@dataclass(frozen=True)
class Chart:
    """A (stacked) bar chart: one column per label, one stacked part per series."""

    title: str
    description: str
    labels: list[str]
    series: list[str]
    values: list[list[int]]  # values[column][series]
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value)
    label_positions: list[float]
    colours: tuple[str, ...] = SERIES_COLOURS
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - MARGIN_BOTTOM
    left: int = MARGIN_LEFT


def _nice_max(value: int) -> int:
    """The axis top: a multiple of 4, so the five gridlines (0, ¼, ½, ¾, 1) are whole numbers."""
    for step in (4, 8, 12, 20, 40, 60, 80, 100, 200, 400, 800, 1000, 2000, 4000, 8000, 10000):
        if value <= step:
            return step
    return ((value // 10000) + 1) * 10000


def stacked_bars(
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[str],
    values: Sequence[Sequence[int]],
) -> Chart:
    columns = max(len(labels), 1)
    top = _nice_max(max((sum(column) for column in values), default=0))
    plot_width = WIDTH - MARGIN_LEFT - 8
    plot_height = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    slot = plot_width / columns
    bar_width = max(slot * 0.6, 2.0)
    bars: list[Bar] = []
    positions: list[float] = []
    for index, column in enumerate(values):
        x = MARGIN_LEFT + index * slot + (slot - bar_width) / 2
        positions.append(x + bar_width / 2)
        y = float(HEIGHT - MARGIN_BOTTOM)
        for series_index, value in enumerate(column):
            if value <= 0:
                continue
            height = plot_height * value / top
            y -= height
            bars.append(Bar(x, y, bar_width, height, series_index, value))
    ticks = [(HEIGHT - MARGIN_BOTTOM - plot_height * step / 4, top * step // 4) for step in range(5)]
    return Chart(
        title=title,
        description=description,
        labels=list(labels),
        series=list(series),
        values=[list(column) for column in values],
        bars=bars,
        ticks=ticks,
        label_positions=positions,
    )
