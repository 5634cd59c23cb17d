"""Chinese by default, English on request; every user-visible string is translated."""

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "mediation" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"


def test_pages_are_chinese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-Hans-CN">' in page
    assert "手机号或电子邮箱" in page


def test_the_header_switches_to_english_and_back(client):
    token = csrf_token(client, "/login")
    response = client.post(
        "/language", data={"csrf_token": token, "locale": "en", "next": "/login"}
    )
    assert response.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Phone number or e-mail" in page
    client.post(
        "/language", data={"csrf_token": csrf_token(client, "/login"), "locale": "zh_Hans_CN"}
    )
    assert "手机号或电子邮箱" in client.get("/login").get_data(as_text=True)


def test_language_switch_does_not_redirect_off_site(client):
    token = csrf_token(client, "/login")
    response = client.post(
        "/language", data={"csrf_token": token, "locale": "en", "next": "//evil.example/"}
    )
    assert "evil.example" not in response.headers["Location"]


def test_every_string_in_the_code_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            "--no-location",
            "mediation",
            "signaling",
            "agreements",
            "templates",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    assert len(wanted) > 150, "extraction found almost nothing: check babel.cfg"
    with (CATALOG / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        m.id
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(str(m) for m in wanted - translated)
    assert not missing, f"run `make translations` and translate: {missing}"


def _plain(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def test_the_compiled_catalog_matches_the_source(tmp_path):
    with (CATALOG / "messages.po").open("rb") as handle:
        source = {_plain(m.id): _plain(m.string) for m in read_po(handle) if m.id and not m.fuzzy}
    with (CATALOG / "messages.mo").open("rb") as handle:
        compiled = {_plain(m.id): _plain(m.string) for m in read_mo(handle) if m.id}
    assert compiled == source, "run `make translations` to compile the catalog"


def test_chinese_translations_punctuate_in_chinese():
    """A translation punctuates with the full-width marks (：，（）；？！) where they touch
    Chinese text: "申请人: 李四" or "(剩余3天)" is a slip a reader sees on every page that uses
    it. Placeholders and URLs are set aside; times and numbers keep their ASCII marks."""
    from tests.core.test_no_english import ascii_punctuation

    with (CATALOG / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    slips = {}
    for message in catalog:
        for text in message.string if isinstance(message.string, tuple) else [message.string]:
            found = ascii_punctuation(re.sub(r"%\(\w+\)[sd]|\{\w+\}", "", text or ""))
            if message.id and found:
                slips[str(message.id)] = found
    assert not slips, slips
