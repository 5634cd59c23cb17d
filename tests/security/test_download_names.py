"""Downloads are saved under a name made from the record, never the uploader's (issue #15):
a name with a right-to-left override (U+202E shows "\u202egpj.exe" as "exe.jpg"), a path or
quotes reaches no one's disk."""

from __future__ import annotations

import re

from mediation.core.downloads import download_name
from tests.security.hostile_world import ROLES, build, client_for, real_paths

SAFE = re.compile(r'(?:inline|attachment); filename="?([0-9A-Za-z_-]+\.[0-9a-z]+)"?$')


def test_every_download_of_every_role_has_a_name_from_the_record(app):
    world = build(app)
    named = {}
    for role in ROLES:
        client = client_for(app, world, role)
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            for path in real_paths(app, world, rule):
                disposition = client.get(path).headers.get("Content-Disposition")
                if disposition:
                    assert SAFE.match(disposition), (role, path, disposition)
                    named[rule.endpoint] = SAFE.match(disposition).group(1)
    # The uploaded files are among them, under their record's name and recognised type.
    assert re.fullmatch(r"evidence-\d{4}-\d{6}-\d+\.png", named["cases.evidence_file"])
    assert re.fullmatch(r"identity-\d{4}-\d{6}-\d+\.png", named["court.material"])
    assert {"agreements.document", "court.package", "confirmation.document"} <= set(named)


def test_a_name_is_ascii_whatever_it_is_made_from():
    assert download_name("evidence", "2026-000042", 17, mimetype="image/png") == (
        "evidence-2026-000042-17.png"
    )
    assert download_name("a\u202e/../b", None, None, mimetype="application/pdf") == "a_b.pdf"
    assert download_name("", mimetype="application/x-unknown") == "file.bin"
