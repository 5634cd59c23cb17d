"""No English in a Chinese page or PDF (issue #16): every page the platform serves with GET,
asked by everyone who can see it in a populated world, and every document it generates
(minutes, agreement, joint application, the court's decision, the art 21 record, the court
package's PDFs), rendered in Chinese, shows no English word outside a short allow-list; and
no page a party sees shows raw JSON (the journal's entries as data are a download for
staff, not a page).

Only what people read is checked: the text of the page and the attributes shown or spoken
(placeholder, title, aria-label, alt), not scripts, styles or other attributes. Data the
world was filled with is Chinese (tests.factories), so an English word found is the
platform's own.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import lxml.html
import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from flask_migrate import upgrade

from mediation import create_app
from mediation.accounts.models import Role
from mediation.extensions import db, limiter
from tests.conftest import empty_database, login
from tests.factories import PASSWORD, make_user
from tests.security.matrix import EXEMPT, MATRIX, PARTIES
from tests.security.world import TENANT_ROLES, Tenant, build_tenant

ANONYMOUS = "anonymous"
PLATFORM = "platform_admin"

# English words a Chinese reader meets as they are, each for a reason:
ALLOWED = {
    "PDF",  # the file format, printed so on every download button in China
    "SHA",  # SHA-256, the name of the hash algorithm a court checks files with
    "MB",  # a unit (the largest file one may upload)
    "PEM",  # the certificate file format an administrator is asked for (a court's root)
    "Chrome",  # browsers, by their product names, in the device check's help
    "Safari",
}

# Text that is not the platform's words: addresses and file names (data), URLs; and a
# document's check code (agreements.operations: ten of 23456789ABCDEFGHJKMNPQRSTUVWXYZ),
# a code whatever letters it happens to draw.
NOT_WORDS = re.compile(
    r"https?://\S+|[\w.+-]+@[\w-]+(\.[\w-]+)+|"
    r"[\w.-]+\.(?i:pdf|png|jpe?g|webm|mp4|ics|zip|json|csv)\b|"
    r"(?<![A-Za-z0-9])[2-9A-HJKMNP-Z]{10}(?![A-Za-z0-9])"
)
# A word: two or more Latin letters, not part of a code with digits (hashes, case numbers).
WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z]{2,}(?![A-Za-z0-9_])")
# ASCII punctuation against Chinese text ("申请人: 李四", "劳动争议, 民间借贷", "(剩余3天)"):
# a Chinese page punctuates with the full-width marks (：，（）；). Times (10:00), numbers
# (1,000) and Latin text keep theirs: only a mark touching a Chinese character (or one space
# from it) counts.
HAN = "\u3000-\u303f\u4e00-\u9fff\uff01-\uff1f"
ASCII_PUNCTUATION = re.compile(rf"[{HAN}] ?[:,;?!()]|[:,;?!()] ?[{HAN}]")
# Raw JSON: an object's key, or a \uXXXX escape.
RAW_JSON = re.compile(r'\{\s*"[^"]+"\s*:|\\u[0-9a-fA-F]{4}')
SHOWN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
# The documents the platform generates (a court package holds several); uploads (evidence,
# a court's materials) are the parties' own.
DOCUMENTS = {
    "agreements.document",
    "confirmation.document",
    "confirmation.decision",
    "minutes.document",
    "cases.referral",
    "court.document",
    "court.package",
}


def visible_text(html: str) -> str:
    tree = lxml.html.document_fromstring(html)
    for hidden in tree.xpath("//script|//style|//template"):
        hidden.drop_tree()
    # Text marked as another language on purpose: the language chooser names English in
    # English, as choosers do, so that its reader finds it.
    for other in tree.xpath("//*[@lang][not(starts-with(@lang, 'zh'))]"):
        other.drop_tree()
    # Codes kept as they are, marked so: a dispute category's code on the administrator's
    # list (what its address and the data use), never a sentence.
    for code in tree.xpath("//*[@translate='no']"):
        if re.fullmatch(r"[a-z0-9_]+", code.text_content().strip()):
            code.drop_tree()
    said = [value for attribute in SHOWN_ATTRIBUTES for value in tree.xpath(f"//@{attribute}")]
    return "\n".join([tree.text_content(), *said])


def english_words(text: str) -> dict[str, str]:
    """Each English word found, with the text around its first appearance."""
    text = NOT_WORDS.sub(" ", text)
    found = {}
    for match in WORD.finditer(text):
        if match.group() not in ALLOWED and match.group() not in found:
            around = text[max(0, match.start() - 30) : match.end() + 30]
            found[match.group()] = " ".join(around.split())
    return found


def ascii_punctuation(text: str) -> list[str]:
    """Each distinct place where an ASCII mark touches Chinese text, with its surroundings."""
    found: list[str] = []
    for match in ASCII_PUNCTUATION.finditer(NOT_WORDS.sub(" ", text)):
        around = " ".join(match.string[max(0, match.start() - 12) : match.end() + 12].split())
        if around not in found:
            found.append(around)
    return found


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(data)
    return subprocess.run(
        [shutil.which("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@dataclass
class World:
    app: Flask
    tenants: dict[str, Tenant]
    clients: dict[tuple[str, str], FlaskClient]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """Two tenants in Chinese on SQLite (what is rendered does not depend on the database):
    "a" whose joint application is with the court, "b" whose agreement the court confirmed."""
    folder = tmp_path_factory.mktemp("zh")
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'zh.db'}",
            "INSTANCE_PATH": str(folder / "instance"),
            "SERVER_NAME": "mediation.test",
        }
    )
    with app.app_context():
        upgrade()
        tenants = {name: build_tenant(app.config["STORAGE_DIR"]) for name in ("a", "b")}
        _ruled(tenants["b"])
        platform = make_user(Role.platform_admin).phone
        db.session.commit()
        db.session.remove()
    limiter.enabled = False
    clients = {}
    for name, tenant in tenants.items():
        for role in TENANT_ROLES:
            client = app.test_client()
            assert login(client, tenant.phones[role], PASSWORD).status_code == 302
            clients[(name, role)] = client
    platform_client = app.test_client()
    assert login(platform_client, platform, PASSWORD).status_code == 302
    clients[("", PLATFORM)] = platform_client
    clients[("", ANONYMOUS)] = app.test_client()
    try:
        yield World(app, tenants, clients)
    finally:
        limiter.enabled = True
        empty_database(app)


def _ruled(tenant: Tenant) -> None:
    from mediation.court import examination, ruling
    from mediation.court.models import Application

    application = db.session.get(Application, tenant.ids["application"])
    judge = next(u for u in application.court.staff if u.has_role(Role.judge))
    examination.accept(application, by=judge)
    ruling.rule(application, True, None, "", by=judge)


def _urls(world: World) -> Iterator[tuple[str, str, str]]:
    """(endpoint, tenant, url) of every GET rule; a rule without a parameter once."""
    for rule in world.app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in EXEMPT:
            continue
        if not rule.arguments:
            yield rule.endpoint, "", rule.rule
            continue
        assert rule.endpoint in MATRIX, f"{rule.endpoint}: add it to the authorization matrix"
        for name, tenant in world.tenants.items():
            # The URL is made outside the request that asks it (one app context would share
            # the logged-in user between clients).
            with world.app.test_request_context():
                url = url_for(rule.endpoint, **MATRIX[rule.endpoint].args(tenant))
            yield rule.endpoint, name, url


def _viewers(world: World, tenant: str) -> Iterator[tuple[tuple[str, str], FlaskClient]]:
    for key, client in world.clients.items():
        if not tenant or key[0] in ("", tenant):
            yield key, client


def test_every_page_and_document_is_in_chinese(world: World, tmp_path):
    problems = []
    seen_documents = set()
    for endpoint, tenant, url in _urls(world):
        for who, client in _viewers(world, tenant):
            response = client.get(url)
            # A refusal is a page too (403, 404: the error page); a redirect is not.
            if 300 <= response.status_code < 400:
                continue
            kind = response.mimetype
            where = f"{url} ({endpoint}) as {who[1]}"
            if kind == "text/html":
                text = visible_text(response.get_data(as_text=True))
                words = english_words(text)
                if words:
                    problems.append(f"{where}: {words}")
                marks = ascii_punctuation(text)
                if marks:
                    problems.append(f"{where}: ASCII punctuation in Chinese {marks}")
                if who[1] in PARTIES | {ANONYMOUS} and RAW_JSON.search(text):
                    problems.append(f"{where}: raw JSON {RAW_JSON.search(text).group()!r}")
            elif (
                response.status_code != 200
                or endpoint not in DOCUMENTS
                or (endpoint, tenant) in seen_documents
            ):
                continue
            elif kind == "application/pdf":
                seen_documents.add((endpoint, tenant))
                text = pdf_text(response.data, tmp_path)
                words = english_words(text)
                if words:
                    problems.append(f"{where}: {words}")
                marks = ascii_punctuation(text)
                if marks:
                    problems.append(f"{where}: ASCII punctuation in Chinese {marks}")
            elif kind == "application/zip":
                seen_documents.add((endpoint, tenant))
                with zipfile.ZipFile(io.BytesIO(response.data)) as package:
                    for name in package.namelist():
                        # The platform's documents; what parties uploaded is theirs.
                        if name.endswith(".pdf") and not name.startswith("materials/"):
                            words = english_words(pdf_text(package.read(name), tmp_path))
                            if words:
                                problems.append(f"{where} {name}: {words}")
    assert {endpoint for endpoint, _ in seen_documents} == DOCUMENTS
    assert not problems, "\n".join(problems)


def test_the_reader_finds_english_where_people_read_it():
    """The checker itself: words in the text and in what is spoken are found; a script, a
    language marked as such, codes and file names are not words."""
    page = (
        '<html lang="zh"><body><p>时间按Asia/Shanghai显示</p><script>var understand;</script>'
        '<button lang="en">English</button><input placeholder="Name">'
        "<p>案号2026-000001 · 验证码 SBAENPFNRV · 收据.png · 哈希 3fa2bc9e</p></body></html>"
    )
    assert set(english_words(visible_text(page))) == {"Asia", "Shanghai", "Name"}
    assert set(english_words("understand 理解")) == {"understand"}
    assert RAW_JSON.search('{"applicants": [2]}') and RAW_JSON.search("\\u6848")
