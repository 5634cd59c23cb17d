"""The browser scripts parse: a syntax error would silently break every page that loads one
(the browser tests catch it too, but only slowly and with a timeout)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "static" / "js").glob("*.js"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_script_parses(script):
    node = shutil.which("node")
    assert node, "Node.js is installed by `make` (Debian nodejs)"
    checked = subprocess.run([node, "--check", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_the_scripts_use_no_undefined_name():
    """ESLint's no-undef (eslint.config.mjs): a name a script uses but nothing defines (a
    variable left behind when code moves to another script) throws only when that line
    runs, perhaps in a path no browser test takes."""
    root = Path(__file__).resolve().parents[1]
    eslint = root / "node_modules" / ".bin" / "eslint"
    assert eslint.exists(), "ESLint is installed by `make` (package.json, devDependencies)"
    checked = subprocess.run(
        [str(eslint), "static/js"], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
