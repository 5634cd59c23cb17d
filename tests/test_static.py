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
