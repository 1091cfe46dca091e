"""Small server-rendered SVG charts: grouped bars with CI whiskers, lines, a heat map.

Pure functions returning SVG markup, so pages need no chart library, CDN or script, and
the markup can be cached with the numbers it shows. Every element goes through ``_el``,
which escapes text and attribute values. Each chart carries a <title> and <desc> for
screen readers; pages show the same numbers in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from reports.stats.agreement import Estimate

SERIES_COLOURS: tuple[str, ...] = ("#0b6bcb", "#c2571a", "#1d7a46", "#7b3fb5")
POSITIVE_COLOUR = "#b3261e"
NEGATIVE_COLOUR = "#9aa5b5"
FONT = "system-ui, sans-serif"
GRID = "#e3e7ee"
INK = "#1c2330"

Value = Estimate | float | int | None


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _attrs(attrs: dict[str, object]) -> str:
    """Attribute names use "_" for "-" (and a trailing "_" for keywords); None is left out."""
    out = []
    for name, value in attrs.items():
        if value is not None:
            text = _fmt(value) if isinstance(value, float) else str(value)
            out.append(f'{name.rstrip("_").replace("_", "-")}="{escape(text)}"')
    return " ".join(out)


def _el(tag: str, content: str = "", /, **attrs: object) -> str:
    """One SVG element; ``content`` is markup already (escape text before passing it)."""
    if content:
        return f"<{tag} {_attrs(attrs)}>{content}</{tag}>"
    return f"<{tag} {_attrs(attrs)}/>"


def _text(
    x: float, y: float, text: str, *, size: int = 10, anchor: str = "start", **attrs: object
) -> str:
    return _el(
        "text",
        escape(text),
        x=x,
        y=y,
        font_size=size,
        text_anchor=anchor,
        font_family=FONT,
        **attrs,
    )


def _titled(tag: str, title: str, **attrs: object) -> str:
    """An element with a tooltip (and an accessible name)."""
    return _el(tag, _el("title", escape(title)), **attrs)


def _value(v: Value) -> tuple[float | None, float | None, float | None]:
    if isinstance(v, Estimate):
        return v.value, v.low, v.high
    if v is None:
        return None, None, None
    return float(v), None, None


def _svg_open(chart_id: str, width: float, height: float, title: str, desc: str) -> list[str]:
    attrs = _attrs(
        {
            "class_": "chart",
            "id": chart_id,
            "viewBox": f"0 0 {_fmt(width)} {_fmt(height)}",
            "width": width,
            "height": height,
            "role": "img",
            "aria_labelledby": f"{chart_id}-title {chart_id}-desc",
            "xmlns": "http://www.w3.org/2000/svg",
        }
    )
    return [
        f"<svg {attrs}>",
        _el("title", escape(title), id=f"{chart_id}-title"),
        _el("desc", escape(desc), id=f"{chart_id}-desc"),
    ]


def nice_max(value: float) -> float:
    """A round upper bound for a count axis: 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / count
    return [low + i * step for i in range(count + 1)]


def _legend(
    parts: list[str], names: Sequence[str], colours: Sequence[str], x: float, y: float
) -> None:
    cx = x
    for i, name in enumerate(names):
        label = name if len(name) <= 28 else name[:27] + "…"
        parts.append(
            _el("rect", x=cx, y=y - 9, width=10, height=10, fill=colours[i % len(colours)])
        )
        parts.append(_text(cx + 14, y, label, size=11))
        cx += 14 + 6.5 * len(label) + 16  # about the width of the label at 11 px


def _wrapped_label(x: float, y: float, text: str, size: int = 10) -> str:
    """A category label on up to two lines, split at the space nearest the middle."""
    words = text.split()
    lines = [text]
    if len(words) > 1 and len(text) > 10:
        cut = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(text) / 2))
        lines = [" ".join(words[:cut]), " ".join(words[cut:])]
    spans = "".join(
        _el("tspan", escape(line), x=x, dy=0 if i == 0 else size + 1)
        for i, line in enumerate(lines)
    )
    return _el("text", spans, x=x, y=y, font_size=size, text_anchor="middle", font_family=FONT)


def grouped_bar_chart(
    *,
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[str],
    values: Sequence[Sequence[Value]],
    domain: tuple[float, float] | None = None,
    colours: Sequence[str] = SERIES_COLOURS,
    counts: bool = False,
) -> str:
    """Bars per category, one per series (``values[category][series]``), with CI whiskers
    where a value is an Estimate with an interval."""
    points = [_value(v) for row in values for v in row]
    if domain is None:
        top = max((h if h is not None else (v or 0)) for v, _, h in points) if points else 1
        bottom = min((lo if lo is not None else (v or 0)) for v, lo, _ in points) if points else 0
        domain = (
            min(0.0, math.floor(bottom * 10) / 10),
            nice_max(top) if counts else max(1.0, top),
        )
    low, high = domain
    n_series = max(1, len(series))
    bar_w = 18 if n_series > 1 else 26
    group_w = max(n_series * bar_w + 22, 72)  # room for a two-line category label
    gap = group_w - n_series * bar_w
    left, top_pad, plot_h, bottom_pad = 46, 30, 150, 40
    width = left + len(categories) * group_w + 10
    height = top_pad + plot_h + bottom_pad

    def y_of(v: float) -> float:
        v = min(max(v, low), high)
        return top_pad + plot_h * (high - v) / (high - low)

    def shown(v: Value) -> str:
        value = _value(v)[0]
        if value is None:
            return "n/a"
        if counts:
            return _fmt(value)
        return str(v) if isinstance(v, Estimate) else f"{value:.3f}"

    desc = "; ".join(
        f"{cat}: " + ", ".join(f"{name} {shown(v)}" for name, v in zip(series, row, strict=True))
        for cat, row in zip(categories, values, strict=True)
    )
    parts = _svg_open(chart_id, width, height, title, desc)
    for tick in _ticks(low, high):
        y = y_of(tick)
        parts.append(_el("line", x1=left, x2=width - 6, y1=y, y2=y, stroke=GRID))
        parts.append(
            _text(left - 6, y + 4, f"{tick:.0f}" if counts else f"{tick:.1f}", anchor="end")
        )
    if low < 0 < high:
        parts.append(_el("line", x1=left, x2=width - 6, y1=y_of(0), y2=y_of(0), stroke="#5d6778"))
    base = y_of(max(low, 0))
    for c, (category, row) in enumerate(zip(categories, values, strict=True)):
        gx = left + c * group_w + gap / 2
        for s, v in enumerate(row):
            value, lo, hi = _value(v)
            x = gx + s * bar_w
            if value is None:
                parts.append(_text(x + bar_w / 2, base - 4, "n/a", size=9, anchor="middle"))
                continue
            top = y_of(value)
            name = series[s] if s < len(series) else ""
            parts.append(
                _titled(
                    "rect",
                    f"{name} · {category}: {shown(v)}",
                    x=x + 1,
                    y=min(base, top),
                    width=bar_w - 2,
                    height=abs(base - top),
                    fill=colours[s % len(colours)],
                )
            )
            if lo is not None and hi is not None:
                cx, ya, yb = _fmt(x + bar_w / 2), _fmt(y_of(lo)), _fmt(y_of(hi))
                left_cap = _fmt(x + bar_w / 2 - 4)
                whisker = f"M{cx} {ya}V{yb}M{left_cap} {ya}h8M{left_cap} {yb}h8"
                parts.append(_el("path", d=whisker, stroke=INK, stroke_width="1.2", fill="none"))
        label = category if len(category) <= 26 else category[:25] + "…"
        parts.append(_wrapped_label(gx + n_series * bar_w / 2, top_pad + plot_h + 15, label))
    if len(series) > 1:
        _legend(parts, list(series), colours, left, 14)
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    *,
    chart_id: str,
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    y_label: str,
    domain: tuple[float, float] | None = None,
    dashed: Sequence[bool] = (),
    colours: Sequence[str] = SERIES_COLOURS,
) -> str:
    """One polyline per (name, [(x, y)]) series; x is the epoch."""
    xs = [x for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts]
    x_low, x_high = (min(xs), max(xs)) if xs else (0, 1)
    if x_high == x_low:
        x_high = x_low + 1
    if domain is None:
        domain = (min(0.0, min(ys, default=0.0)), nice_max(max(ys, default=1.0)))
    low, high = domain
    if high == low:
        high = low + 1
    left, top_pad, plot_w, plot_h = 46, 40, 300, 140
    width, height = left + plot_w + 14, top_pad + plot_h + 36

    def px(x: float) -> float:
        return left + plot_w * (x - x_low) / (x_high - x_low)

    def py(y: float) -> float:
        return top_pad + plot_h * (high - min(max(y, low), high)) / (high - low)

    desc = "; ".join(
        f"{name}: " + ", ".join(f"epoch {x:g} {y:.3f}" for x, y in pts[:50]) for name, pts in series
    )
    parts = _svg_open(chart_id, width, height, title, desc)
    for tick in _ticks(low, high, 4):
        parts.append(_el("line", x1=left, x2=left + plot_w, y1=py(tick), y2=py(tick), stroke=GRID))
        parts.append(_text(left - 6, py(tick) + 4, f"{tick:.2g}", anchor="end"))
    for epoch in sorted({x_low, x_high, round((x_low + x_high) / 2)}):
        parts.append(_text(px(epoch), top_pad + plot_h + 14, f"{epoch:g}", anchor="middle"))
    parts.append(_text(left + plot_w / 2, height - 4, "epoch", anchor="middle"))
    parts.append(_text(4, top_pad - 14, y_label))
    for i, (name, pts) in enumerate(series):
        colour = colours[i % len(colours)]
        dash = "5 3" if i < len(dashed) and dashed[i] else None
        if len(pts) == 1:
            parts.append(
                _titled("circle", name, cx=px(pts[0][0]), cy=py(pts[0][1]), r=3, fill=colour)
            )
        elif pts:
            path = " ".join(f"{_fmt(px(x))},{_fmt(py(y))}" for x, y in pts)
            parts.append(
                _titled(
                    "polyline",
                    name,
                    points=path,
                    fill="none",
                    stroke=colour,
                    stroke_width=2,
                    stroke_dasharray=dash,
                )
            )
    _legend(parts, [name for name, _ in series], colours, left, 14)
    parts.append("</svg>")
    return "".join(parts)


def heat_map(
    *,
    chart_id: str,
    title: str,
    labels: Sequence[str],
    matrix: Sequence[Sequence[int]],
    row_title: str,
    column_title: str,
) -> str:
    """A K x K count matrix, darker for more; rows are the reference."""
    k = len(labels)
    cell, left, top_pad = 46, 70, 40
    width, height = left + k * cell + 10, top_pad + k * cell + 10
    peak = max((max(row) for row in matrix), default=0) or 1
    desc = "; ".join(
        f"{row_title} {labels[i]}: "
        + ", ".join(f"{column_title} {labels[j]} {matrix[i][j]}" for j in range(k))
        for i in range(k)
    )
    parts = _svg_open(chart_id, width, height, title, desc)
    parts.append(_text(left + k * cell / 2, 12, f"{column_title} →", size=11, anchor="middle"))
    parts.append(_text(4, top_pad - 6, f"{row_title} ↓", size=11))
    for j, label in enumerate(labels):
        parts.append(
            _text(left + j * cell + cell / 2, top_pad - 6, label, size=11, anchor="middle")
        )
    for i, row in enumerate(matrix):
        y = top_pad + i * cell
        parts.append(_text(left - 8, y + cell / 2 + 4, labels[i], size=11, anchor="end"))
        for j, count in enumerate(row):
            share = count / peak
            x = left + j * cell
            parts.append(
                _titled(
                    "rect",
                    f"{row_title} {labels[i]}, {column_title} {labels[j]}: {count}",
                    x=x,
                    y=y,
                    width=cell,
                    height=cell,
                    fill="#0b6bcb",
                    fill_opacity=f"{0.06 + 0.94 * share:.3f}",
                    # The diagonal (agreement) is outlined.
                    stroke=INK if i == j else "#fff",
                    stroke_width=1.5 if i == j else None,
                )
            )
            # Light cells get dark text and dark cells light text, for contrast.
            ink = "#fff" if share > 0.55 else INK
            parts.append(
                _text(
                    x + cell / 2, y + cell / 2 + 4, str(count), size=12, anchor="middle", fill=ink
                )
            )
    parts.append("</svg>")
    return "".join(parts)
