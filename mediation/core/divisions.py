"""Administrative divisions as code prefixes: GB/T 2260 (province, city, county/district:
six digits, trailing pairs of zeros for the higher levels) and GB/T 10114 (the township or
street, 乡镇街道: three more digits after the county's code).

A division is kept as the prefix its codes share: ``"32"`` is Jiangsu (320000), ``"3201"``
Nanjing (320100), ``"320102"`` Xuanwu district, ``"320102001"`` a street of it. Whether a
place lies within a division is then a prefix test, which a database answers from an index
(``area_code LIKE '3201%'``).
"""

from __future__ import annotations

import re

from flask_babel import get_locale
from flask_babel import gettext as _

_CODE = re.compile(r"^(\d{6}|\d{9})$")

# Prefix length -> level.
LEVELS = {2: "province", 4: "city", 6: "district", 9: "street"}


def prefix(code: str | None) -> str:
    """The division's prefix for a 6- or 9-digit code ("" for none or a malformed one)."""
    code = (code or "").strip()
    if not _CODE.match(code):
        return ""
    if len(code) == 9:
        return code
    if code[2:] == "0000":
        return code[:2]
    if code[4:] == "00":
        return code[:4]
    return code


def level(area: str) -> str:
    return LEVELS.get(len(area), "")


def within(area: str | None, region: str) -> bool:
    """Whether the place ``area`` lies in the division ``region`` (both prefixes)."""
    return bool(area) and bool(region) and area.startswith(region)


def full_code(area: str) -> str:
    """The 6- or 9-digit code people read for a prefix ("3201" -> "320100")."""
    return area if len(area) >= 6 else area.ljust(6, "0")


# GB/T 2260 two-digit province codes, with the Chinese and English names.
PROVINCES: tuple[tuple[str, str, str], ...] = (
    ("11", "北京市", "Beijing"),
    ("12", "天津市", "Tianjin"),
    ("13", "河北省", "Hebei"),
    ("14", "山西省", "Shanxi"),
    ("15", "内蒙古自治区", "Inner Mongolia"),
    ("21", "辽宁省", "Liaoning"),
    ("22", "吉林省", "Jilin"),
    ("23", "黑龙江省", "Heilongjiang"),
    ("31", "上海市", "Shanghai"),
    ("32", "江苏省", "Jiangsu"),
    ("33", "浙江省", "Zhejiang"),
    ("34", "安徽省", "Anhui"),
    ("35", "福建省", "Fujian"),
    ("36", "江西省", "Jiangxi"),
    ("37", "山东省", "Shandong"),
    ("41", "河南省", "Henan"),
    ("42", "湖北省", "Hubei"),
    ("43", "湖南省", "Hunan"),
    ("44", "广东省", "Guangdong"),
    ("45", "广西壮族自治区", "Guangxi"),
    ("46", "海南省", "Hainan"),
    ("50", "重庆市", "Chongqing"),
    ("51", "四川省", "Sichuan"),
    ("52", "贵州省", "Guizhou"),
    ("53", "云南省", "Yunnan"),
    ("54", "西藏自治区", "Tibet"),
    ("61", "陕西省", "Shaanxi"),
    ("62", "甘肃省", "Gansu"),
    ("63", "青海省", "Qinghai"),
    ("64", "宁夏回族自治区", "Ningxia"),
    ("65", "新疆维吾尔自治区", "Xinjiang"),
    ("71", "台湾省", "Taiwan"),
    ("81", "香港特别行政区", "Hong Kong"),
    ("82", "澳门特别行政区", "Macao"),
)

# Cities and districts (GB/T 2260, as the Ministry of Civil Affairs publishes its codes) of
# the places the platform serves so far; a division not listed is named by its nearest
# listed parent and its code (:func:`name`). Prefix -> (Chinese, English).
BELOW_PROVINCE: dict[str, tuple[str, str]] = {
    "3201": ("南京市", "Nanjing"),
    "3202": ("无锡市", "Wuxi"),
    "3203": ("徐州市", "Xuzhou"),
    "3204": ("常州市", "Changzhou"),
    "3205": ("苏州市", "Suzhou"),
    "3206": ("南通市", "Nantong"),
    "3207": ("连云港市", "Lianyungang"),
    "3208": ("淮安市", "Huai'an"),
    "3209": ("盐城市", "Yancheng"),
    "3210": ("扬州市", "Yangzhou"),
    "3211": ("镇江市", "Zhenjiang"),
    "3212": ("泰州市", "Taizhou"),
    "3213": ("宿迁市", "Suqian"),
    "320102": ("玄武区", "Xuanwu District"),
    "320104": ("秦淮区", "Qinhuai District"),
    "320105": ("建邺区", "Jianye District"),
    "320106": ("鼓楼区", "Gulou District"),
    "320111": ("浦口区", "Pukou District"),
    "320113": ("栖霞区", "Qixia District"),
    "320114": ("雨花台区", "Yuhuatai District"),
    "320115": ("江宁区", "Jiangning District"),
    "320116": ("六合区", "Luhe District"),
    "320117": ("溧水区", "Lishui District"),
    "320118": ("高淳区", "Gaochun District"),
}

NAMES: dict[str, tuple[str, str]] = {
    **{code: (zh, en) for code, zh, en in PROVINCES},
    **BELOW_PROVINCE,
}


def _chinese() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "zh"


def own_name(area: str) -> str:
    """The division's own name in the viewer's language ("" when not listed)."""
    names = NAMES.get(area)
    if names is None:
        return ""
    return names[0] if _chinese() else names[1]


def name(area: str, *, full: bool = False) -> str:
    """The division as people name it: 玄武区 (``full``: 江苏省南京市玄武区; in English
    "Xuanwu District, Nanjing, Jiangsu"). One not listed is named by its nearest listed
    parent and its code: 玄武区下辖区划320102007."""
    chinese = _chinese()
    listed = [part for part in (area[:n] for n in LEVELS if n <= len(area)) if part in NAMES]
    known = listed[-1] if listed else ""
    if full:
        parts = [own_name(part) for part in listed]
        shown = "".join(parts) if chinese else ", ".join(reversed(parts))
    else:
        shown = own_name(known)
    if known == area:
        return shown
    if not shown:
        return _("Division %(code)s", code=full_code(area))
    return _("%(parent)s, division %(code)s", parent=shown, code=full_code(area))
