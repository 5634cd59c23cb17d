"""Checking a signed agreement: the public verification page (by the short code or the file),
the platform root's page for courts (verify_views.py), and ``mediation agreement verify``."""

from __future__ import annotations

import io

from mediation.agreements import credentials, signing
from mediation.agreements import operations as agreements
from mediation.extensions import db
from tests.conftest import post_form

from .conftest import (
    agreeing_case,
    complete_draft,
    out_for_signing,
)
from .test_workflow import sign_in_turn


def signed_everywhere(app) -> tuple[int, str, bytes]:
    with app.app_context():
        case, admin = agreeing_case()
        agreement = out_for_signing(case)
        for user in (*case.party_users(), case.mediator, admin):
            sign_in_turn(agreement, user)
        db.session.commit()
        return case.id, agreement.short_code, signing.document_bytes(agreement)


def test_anyone_verifies_by_code_or_file_and_a_changed_byte_is_reported(app, client):
    _case_id, code, pdf = signed_everywhere(app)
    by_code = client.get(f"/verify?code={code}")
    text = by_code.get_data(as_text=True)
    assert (
        by_code.status_code == 200
        and "✔" in text
        and text.count("chains to") + text.count("平台根证书") >= 4
    )
    assert client.get("/verify?code=NOSUCHCODE").status_code == 404

    def upload(data: bytes):
        return post_form(
            client,
            "/verify",
            {"file": (io.BytesIO(data), "agreement.pdf")},
            form_page="/verify",
        )

    good = upload(pdf).get_data(as_text=True)
    assert "verification ok" in good
    changed = bytearray(pdf)
    changed[len(changed) // 3] ^= 0x01
    bad = upload(bytes(changed)).get_data(as_text=True)
    assert "verification failed" in bad


def test_the_cli_exits_0_only_for_an_intact_document(app, runner, tmp_path):
    _case_id, _code, pdf = signed_everywhere(app)
    good = tmp_path / "good.pdf"
    good.write_bytes(pdf)
    result = runner.invoke(args=["agreement", "verify", str(good)])
    assert result.exit_code == 0, result.output
    assert "VALID: 4 signature(s)" in result.output and "final, in force" in result.output
    changed = bytearray(pdf)
    changed[200] ^= 0x01
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(bytes(changed))
    result = runner.invoke(args=["agreement", "verify", str(bad)])
    assert result.exit_code == 1 and "NOT VALID" in result.output


def test_a_file_of_a_voided_round_is_not_shown_as_in_force(app, client, runner, tmp_path):
    with app.app_context():
        case, _admin = agreeing_case()
        agreement = out_for_signing(case)
        sign_in_turn(agreement, case.party_users()[0])
        partly = signing.document_bytes(agreement)
        agreements.save(agreement, complete_draft(case, days=50), by=case.mediator)
        db.session.commit()
        code = agreement.short_code
    path = tmp_path / "partly.pdf"
    path.write_bytes(partly)
    result = runner.invoke(args=["agreement", "verify", str(path)])
    assert "VOIDED" in result.output  # the one signature is intact, but it no longer counts
    page = post_form(
        client, "/verify", {"file": (io.BytesIO(partly), "partly.pdf")}, form_page="/verify"
    ).get_data(as_text=True)
    assert "已作废" in page and "不具效力" in page
    assert client.get(f"/verify?code={code}").status_code == 404  # no document until re-signed


def test_the_root_page_publishes_the_platform_root_and_its_fingerprint(app, client, tmp_path):
    import hashlib

    from asn1crypto import pem

    from mediation import create_app

    with app.app_context():
        root = credentials.authority().root.dump()
    page = client.get("/verify/root")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "平台根证书" in text
    assert hashlib.sha256(root).hexdigest() in text
    download = client.get("/verify/root.pem")
    assert download.status_code == 200 and download.data == pem.armor("CERTIFICATE", root)
    assert "attachment" in download.headers["Content-Disposition"]
    assert "/verify/root" in client.get("/verify").get_data(as_text=True)
    # An installation that has signed nothing has no root to show, and makes none for it.
    fresh = create_app(
        {
            "ENV_NAME": "testing",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}",
        }
    ).test_client()
    assert fresh.get("/verify/root").status_code == 404
    assert fresh.get("/verify/root.pem").status_code == 404
    assert not (tmp_path / "instance" / "pki").exists()
