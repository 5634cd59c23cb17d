"""Charts as SVG written on the server: no script, readable by a screen reader (role="img"
with a title and a description that states the figures), printable.

A long label (an institution's name: 玄武区锁金村街道人民调解委员会) is written in full on
as many lines as it takes, never cut; each bar also names its label and count on hover."""

from __future__ import annotations

import math
import unicodedata

from flask_babel import gettext as _
from markupsafe import Markup, escape

ROW = 26
LINE = 17
FONT = 14
LABEL_WIDTH = 210
BAR_WIDTH = 360
# The label's room in ems of the font: a Chinese character is one em wide, a Latin letter
# or digit about half of one.
LABEL_EMS = (LABEL_WIDTH - 12) / FONT


def _width(char: str) -> float:
    return 1.0 if unicodedata.east_asian_width(char) in ("W", "F") else 0.55


def label_lines(label: str) -> list[str]:
    """The label cut into lines of about equal length that fit beside the bars (玄武区锁金村
    街道 / 人民调解委员会, not a lone 会 on the second), at a space when it has one."""
    total = sum(_width(c) for c in label)
    room = total / max(math.ceil(total / LABEL_EMS), 1) + 0.5
    lines: list[str] = []
    line, width = "", 0.0
    for char in label:
        if width + _width(char) > room and line:
            head, space, tail = line.rpartition(" ")
            if space and head:  # words: move the one begun to the next line
                lines.append(head)
                line = tail
            else:
                lines.append(line.rstrip())
                line = ""
            width = sum(_width(c) for c in line)
            if char == " " and not line:
                continue
        line += char
        width += _width(char)
    if line or not lines:
        lines.append(line)
    return lines


def bar_chart(title: str, rows: list[tuple[str, int]], *, chart_id: str) -> Markup:
    """Horizontal bars, one per (label, count), largest first as given."""
    rows = rows[:20]  # a chart past twenty bars says nothing the table does not
    top = max((n for _label, n in rows), default=0) or 1
    width = LABEL_WIDTH + BAR_WIDTH + 70
    named = [_("%(label)s: %(count)s", label=label, count=n) for label, n in rows]
    description = _("; ").join(named)
    parts = []
    y = 4
    for (label, n), text in zip(rows, named, strict=True):
        lines = label_lines(label)
        height = max(ROW, LINE * len(lines) + 9)
        bar = max(round(BAR_WIDTH * n / top), 1 if n else 0)
        middle = y + height / 2  # the bar and its count centred on the label's lines
        first = middle - LINE * (len(lines) - 1) / 2 + 5
        spans = "".join(
            f'<tspan x="{LABEL_WIDTH - 8}" y="{first + LINE * i:g}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        parts.append(
            f"<g><title>{escape(text)}</title>"
            f'<text text-anchor="end" font-size="{FONT}">{spans}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{middle - (ROW - 8) / 2:g}" width="{bar}" '
            f'height="{ROW - 8}" fill="#1f6f8b"></rect>'
            f'<text x="{LABEL_WIDTH + bar + 6}" y="{middle + 5:g}" font-size="{FONT}">{n}</text>'
            "</g>"
        )
        y += height
    height = max(y, ROW + 4) + 4
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width} {height:g}" aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
    ]
    return Markup("".join([*head, *parts, "</svg>"]))  # noqa: S704 - every text escaped
