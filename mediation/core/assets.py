"""Where the files beside the code are: templates/ and static/ (with the npm packages
copied into static/vendor by ``make assets``)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def asset_dir(name: str) -> Path:
    """templates/ and static/ sit inside the installed package, or beside it in a checkout."""
    installed = PACKAGE_DIR / name
    return installed if installed.is_dir() else PACKAGE_DIR.parent / name
