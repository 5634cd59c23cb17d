"""Nothing slow under a lock (core/locks.py): a signature's file is stored (a network call
with object storage) before the agreement's lock and the case's turn are taken, and only
recorded under them; so is the document a round opens with, made (WeasyPrint, seconds) from
the editor's words before the draft is saved under the lock. Whether they are held is
asked of another connection, which may not wait for them (PostgreSQL: NOWAIT; SQLite: no
busy timeout for the write lock)."""

from __future__ import annotations

from mediation.accounts import operations as accounts
from mediation.accounts.models import CodePurpose
from mediation.agreements import operations as agreements
from mediation.agreements import signing
from mediation.agreements.models import Agreement, AgreementStatus
from mediation.core import storage as storage_module
from mediation.extensions import db
from tests.conftest import login, post_form
from tests.core.held import held as rows_held
from tests.core.held import watch_slow
from tests.factories import PASSWORD

from .conftest import agreeing_case, complete_draft, drawing, last_code_to, out_for_signing
from .test_views import form_fields


def held(agreement) -> bool:
    """Whether another transaction holds the agreement's row (on SQLite: any write)."""
    return rows_held("agreements", "id", agreement.id)


def test_a_signature_s_file_is_stored_before_the_agreement_s_lock(app_ctx, monkeypatch):
    case, _admin = agreeing_case()
    agreement = out_for_signing(case)
    party = case.party_users()[0]
    accounts.issue_code(
        party,
        CodePurpose.agreement_signature,
        code_for=signing.code_for(agreement, agreement.document_sha256),
    )
    db.session.commit()
    stores: list[bool] = []
    put = storage_module.LocalStorage.put

    def watched(self, key, data):
        if key.startswith("agreements/"):
            stores.append(held(agreement))
        return put(self, key, data)

    monkeypatch.setattr(storage_module.LocalStorage, "put", watched)
    signing.sign(
        agreement,
        party,
        code=last_code_to(party),
        shown_sha256=agreement.document_sha256,
        drawing=drawing(),
    )
    db.session.commit()
    assert stores == [False]
    assert agreement.signatures[0].signed_at is not None
    assert signing.document_bytes(agreement) is not None


def test_the_document_of_a_round_is_made_before_the_agreement_s_lock(app_ctx, monkeypatch):
    case, _admin = agreeing_case()
    agreement = agreements.start(case, by=case.mediator)
    agreements.save(agreement, complete_draft(case), by=case.mediator)
    db.session.commit()
    seen = watch_slow(
        monkeypatch, stored="agreements/", rows=("agreements", "id", agreement.id), case_id=case.id
    )
    signing.open_round(agreement, by=case.mediator)
    db.session.commit()
    assert seen == [("rendered", False, False), ("stored", False, False)]
    assert agreement.status == AgreementStatus.signing and agreement.round == 1
    assert agreement.document_sha256[:16] in agreement.document_path
    assert signing.document_bytes(agreement) is not None


def test_saved_and_sent_for_signing_from_the_editor(app, client, monkeypatch):
    """ "Save and ask everyone to sign": the words are saved and the round opened under one
    lock; the document is made from the words sent before it."""
    with app.app_context():
        case, _admin = agreeing_case()
        agreements.start(case, by=case.mediator)
        db.session.commit()
        case_id, agreement_id, phone = case.id, agreements.of_case(case).id, case.mediator.phone
        fields = form_fields(complete_draft(case))
    page = f"/cases/{case_id}/agreement"
    login(client, phone, PASSWORD)
    seen = watch_slow(
        monkeypatch, stored="agreements/", rows=("agreements", "id", agreement_id), case_id=case_id
    )
    fixed = post_form(client, f"{page}/save", {**fields, "sign": "1"}, form_page=page)
    assert fixed.status_code == 302
    assert seen == [("rendered", False, False), ("stored", False, False)]
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert (agreement.status, agreement.round, agreement.version) == ("signing", 1, 2)
        assert signing.document_bytes(agreement) is not None
