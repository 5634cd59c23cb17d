"""Where a dispute arose, chosen by name: the provincial-level divisions of GB/T 2260.

A party is never asked for a division code. The case keeps the code of the province
(``320000``), enough for the automatic pick and the assignment queue to prefer mediators and
institutions of the same province (matching._region_score compares code prefixes).
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _

from mediation.core import divisions

# GB/T 2260 two-digit province codes, with the Chinese and English names (core.divisions).
PROVINCES = divisions.PROVINCES


# The province's character in a court's code (法院代字): the first part of every case number,
# as in （2026）苏0102民特1号 (SPC provisions on case numbers, 2015, art 4; its standard of
# court codes). Mostly the province's 简称; where courts use another character, theirs:
# 内 for Inner Mongolia, 黔 for Guizhou, 云 for Yunnan. Hong Kong, Macao and Taiwan have no
# people's courts.
COURT_PROVINCE_CHARACTERS: dict[str, str] = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "内",
    "21": "辽", "22": "吉", "23": "黑",
    "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁",
    "41": "豫", "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼",
    "50": "渝", "51": "川", "52": "黔", "53": "云", "54": "藏",
    "61": "陕", "62": "甘", "63": "青", "64": "宁", "65": "新",
}  # fmt: skip


def province_code(region_code: str | None) -> str:
    """The province's six-digit code for any code within it ("" for none)."""
    return f"{region_code[:2]}0000" if region_code else ""


def choices() -> list[tuple[str, str]]:
    english = str(get_locale()).startswith("en")
    return [("", _("Not sure / choose later"))] + [
        (f"{code}0000", en if english else zh) for code, zh, en in PROVINCES
    ]


def name(region_code: str | None) -> str:
    """The province's name, in the viewer's language."""
    english = str(get_locale()).startswith("en")
    for code, zh, en in PROVINCES:
        if region_code and region_code[:2] == code:
            return en if english else zh
    return ""
