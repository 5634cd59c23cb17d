"""The court signs its ruling with its own key (issue 17, build 4), through the portal and the
court API: the judge decides, downloads the prepared decision, signs it with the court's own
tool and uploads it (or the court's system posts it); the administrator sets the court's
root; in production a court without one is told so. The operations themselves:
test_court_key.py; the court's PKI and signing tool: own_key.py.
"""

from __future__ import annotations

import io

from cryptography.hazmat.primitives import serialization

from mediation.cases.states import CaseStatus
from mediation.court import examination, keys, ruling
from mediation.court.models import Application, ApplicationStatus
from mediation.extensions import db
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD, make_user

from .conftest import apply_jointly, in_force
from .own_key import accepted_in_db, court_pki, court_signs


def _upload(client, path: str, data: bytes, form_page: str):
    token = csrf_token(client, form_page)
    return client.post(
        path,
        data={"csrf_token": token, "decision": (io.BytesIO(data), "signed.pdf")},
        content_type="multipart/form-data",
    )


def test_the_judge_downloads_signs_and_uploads_through_the_portal(app, client):
    ids = accepted_in_db(app)
    detail = f"/court/applications/{ids['application']}"
    login(client, ids["judge"], PASSWORD)
    page = client.get(detail).get_data(as_text=True)
    assert "准备裁定书供签名" in page  # the button says what happens: prepared, not ruled
    done = post_form(
        client, f"{detail}/rule", {"result": "confirmed", "reasons": "予以确认"}, form_page=detail
    )
    assert done.status_code == 302
    page = client.get(detail).get_data(as_text=True)
    assert "等待法院签名" in page and "unsigned_decision.pdf" in page and 'name="decision"' in page
    listed = client.get("/court/").get_data(as_text=True)
    assert "等待法院签名" in listed
    unsigned = client.get(f"{detail}/unsigned_decision.pdf")
    assert unsigned.status_code == 200 and unsigned.mimetype == "application/pdf"

    # Others cannot upload: a clerk, another court's judge, a party.
    signed = court_signs(ids["made"], unsigned.data)
    for who, status in (("clerk", 403), ("other_judge", 404), ("party", 403)):
        other = app.test_client()
        login(other, ids[who], PASSWORD)
        form_page = detail if who == "clerk" else "/account"
        answer = _upload(other, f"{detail}/signed", signed, form_page)
        assert answer.status_code == status, who

    bad = _upload(client, f"{detail}/signed", b"%PDF-1.7 nonsense", detail)
    assert bad.status_code == 422 and "文本" in bad.get_data(as_text=True)
    good = _upload(client, f"{detail}/signed", signed, detail)
    assert good.status_code == 302
    with app.app_context():
        application = db.session.get(Application, ids["application"])
        assert application.status == ApplicationStatus.confirmed
        assert application.case.status == CaseStatus.confirmed
        assert ruling.decision_file(application).read_bytes() == signed
    assert client.get(f"{detail}/decision.pdf").data == signed


def test_the_courts_system_signs_through_the_api(app, client):
    ids = accepted_in_db(app)
    auth = {"Authorization": f"Bearer {ids['token']}"}
    path = f"/api/court/v1/applications/{ids['application']}"
    assert client.get(f"{path}/ruling/unsigned-decision", headers=auth).status_code == 404
    ruled = client.post(f"{path}/ruling", json={"confirmed": True}, headers=auth)
    body = ruled.get_json()
    assert ruled.status_code == 200 and body["status"] == "accepted"
    assert body["awaiting_court_signature"] and body["prepared_ruling"]["confirmed"] is True
    unsigned = client.get(f"{path}/ruling/unsigned-decision", headers=auth)
    assert unsigned.status_code == 200 and unsigned.mimetype == "application/pdf"
    other = {"Authorization": f"Bearer {ids['other_token']}"}
    assert client.get(f"{path}/ruling/unsigned-decision", headers=other).status_code == 404

    signed = court_signs(ids["made"], unsigned.data)
    post = f"{path}/ruling/signed-decision"
    pdf = {"Content-Type": "application/pdf"}
    assert client.post(post, data=signed, headers={**other, **pdf}).status_code == 404
    assert client.post(post, data=signed, headers=auth).status_code == 415
    wrong = client.post(post, data=unsigned.data, headers={**auth, **pdf})
    assert wrong.status_code == 422 and wrong.get_json()["error"] == "invalid"
    assert wrong.get_json()["message"].startswith("decision: ")  # the field, as elsewhere
    huge = client.post(post, data=b"%PDF" + b"0" * keys.MAX_SIGNED_BYTES, headers={**auth, **pdf})
    assert huge.status_code == 413
    accepted = client.post(post, data=signed, headers={**auth, **pdf})
    assert accepted.status_code == 200, accepted.get_json()
    body = accepted.get_json()
    assert body["status"] == "confirmed" and body["prepared_ruling"] is None
    assert not body["awaiting_court_signature"] and body["decision_sha256"]
    # A replay (a retry after a lost answer) is told the ruling was made: it was this one.
    replay = client.post(post, data=signed, headers={**auth, **pdf})
    assert replay.status_code == 409 and replay.get_json()["error"] == "already_ruled"


def test_the_admin_sets_the_courts_root(app, client):
    with app.app_context():
        from mediation.accounts.models import Role

        world = in_force()
        admin = make_user(Role.platform_admin)
        db.session.commit()
        court_id, name, phone = world.court.id, world.court.name, admin.phone
    made = court_pki(name)
    page = f"/admin/courts/{court_id}/roots"
    login(client, phone, PASSWORD)
    assert "演示" in client.get(page).get_data(as_text=True)
    token = csrf_token(client, page)
    leaf = made.signer.public_bytes(serialization.Encoding.PEM)
    bad = client.post(
        page,
        data={"csrf_token": token, "roots": (io.BytesIO(leaf), "court.pem")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "证书颁发机构" in bad.get_data(as_text=True)
    good = client.post(
        page,
        data={"csrf_token": token, "roots": (io.BytesIO(made.pem()), "court.pem")},
        content_type="multipart/form-data",
    )
    assert good.status_code == 302
    shown = client.get(page).get_data(as_text=True)
    assert keys.fingerprint(made.root) in shown
    judge = app.test_client()
    with app.app_context():
        from mediation.accounts.models import Role

        judge_phone = make_user(Role.judge, court_id=court_id).phone
        db.session.commit()
    login(judge, judge_phone, PASSWORD)
    assert judge.get(page).status_code == 403


def test_in_production_the_judge_is_told_the_courts_certificate_is_missing(app, client):
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        examination.accept(application, by=world.clerk)
        db.session.commit()
        detail, phone = f"/court/applications/{application.id}", world.judge.phone
    login(client, phone, PASSWORD)
    app.config["ENV_NAME"] = "production"
    try:
        page = client.get(detail).get_data(as_text=True)
    finally:
        app.config["ENV_NAME"] = "testing"
    assert "尚未配置本法院自己的证书" in page and 'name="result"' not in page
    page = client.get(detail).get_data(as_text=True)  # development: the built-in seal, said so
    assert "仅供演示" in page and 'name="result"' in page
