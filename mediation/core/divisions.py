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
