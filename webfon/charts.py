"""Server-rendered SVG bar charts (no script, printable): the geometry, the template draws it."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, TOP = 720, 160, 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    over: bool  # above the reference (e.g. the pool's size): drawn in the warning colour


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    reference_points: str  # SVG polyline of the reference series, "" without one
    maximum: float
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def bar_chart(points: list[tuple[str, float]], *, reference: list[float] | None = None) -> BarChart:
    """Bars for ``points`` (label, value), scaled to the largest value or reference."""
    maximum = max([value for _label, value in points] + list(reference or []) + [1])
    step = WIDTH / max(len(points), 1)
    usable = HEIGHT - TOP

    def y_of(value: float) -> float:
        return round(HEIGHT - usable * value / maximum, 2)

    bars = []
    for index, (label, value) in enumerate(points):
        top = y_of(value)
        bars.append(
            Bar(
                x=round(index * step + step * 0.1, 2),
                y=top,
                width=round(step * 0.8, 2),
                height=round(HEIGHT - top, 2),
                label=label,
                value=value,
                over=reference is not None and value >= reference[index] > 0,
            )
        )
    line = ""
    if reference:
        line = " ".join(
            f"{round(index * step, 2)},{y_of(value)} {round((index + 1) * step, 2)},{y_of(value)}"
            for index, value in enumerate(reference)
        )
    return BarChart(bars=bars, reference_points=line, maximum=maximum)
