"""The dashboard's bar charts (governance.charts): a long label is written in full, over
lines of about equal length, and each bar names its label and count on hover."""

from __future__ import annotations

import re

from flask_babel import force_locale

from mediation.governance.charts import bar_chart, label_lines

LONG = "玄武区锁金村街道人民调解委员会"


def test_a_long_name_wraps_in_full_and_is_never_cut():
    assert label_lines(LONG) == ["玄武区锁金村街道", "人民调解委员会"]
    assert label_lines("短") == ["短"]
    # Words stay whole.
    english = "Suojincun Street People's Mediation Committee of Xuanwu District"
    lines = label_lines(english)
    assert len(lines) > 1 and " ".join(lines) == english


def test_the_chart_shows_every_label_whole_and_names_each_bar_on_hover(app_ctx):
    rows = [(LONG, 6), ("尚未受理", 2)]
    with app_ctx.test_request_context():
        svg = str(bar_chart("各调解组织案件数", rows, chart_id="chart-institution"))
    assert "\u2026" not in svg
    shown = "".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg))
    assert LONG in shown and "尚未受理" in shown
    assert f"<title>{LONG}：6</title>" in svg  # a full-width colon on a Chinese page
    assert f"{LONG}：6；尚未受理：2" in svg  # the description a screen reader speaks
    with app_ctx.test_request_context(), force_locale("en"):
        assert "<title>Not yet: 1</title>" in str(bar_chart("t", [("Not yet", 1)], chart_id="c"))
