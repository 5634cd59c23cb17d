"""Charts as SVG written on the server: no script, readable by a screen reader (role="img"
with a title and a description that states the figures), printable."""

from __future__ import annotations

from markupsafe import Markup, escape

ROW = 26
LABEL_WIDTH = 210
BAR_WIDTH = 360


def bar_chart(title: str, rows: list[tuple[str, int]], *, chart_id: str) -> Markup:
    """Horizontal bars, one per (label, count), largest first as given."""
    rows = rows[:20]  # a chart past twenty bars says nothing the table does not
    top = max((n for _label, n in rows), default=0) or 1
    height = ROW * max(len(rows), 1) + 8
    width = LABEL_WIDTH + BAR_WIDTH + 70
    description = "; ".join(f"{label}: {n}" for label, n in rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
    ]
    for i, (label, n) in enumerate(rows):
        y = 4 + i * ROW
        bar = max(round(BAR_WIDTH * n / top), 1 if n else 0)
        shown = label if len(label) <= 14 else label[:13] + "\u2026"
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end" '
            f'font-size="14">{escape(shown)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{bar}" height="{ROW - 8}" '
            f'fill="#1f6f8b"></rect>'
            f'<text x="{LABEL_WIDTH + bar + 6}" y="{y + 17}" font-size="14">{n}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
