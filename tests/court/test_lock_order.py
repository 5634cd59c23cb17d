"""Judicial confirmation and the one order of locks (core/locks.py).

A party applies while another step holds the case's turn: ``start`` locked the case's row
first and asked for the case's turn (its journal) after: the opposite of the one order, in
which a step on a case takes the turn, then writes the case (as ``workflow.transition``
does). No step of the platform takes the turn and then writes a signed case while an
application can start, so the deadlock below is shown with such a step made for the test;
the order is fixed all the same.

A party signs the application: ``sign`` took the application's row without the case's turn,
then signed the file (a TSA call, over the network with TSA_URL) and stored it (a network
call with object storage) under that lock, and journaled after it. The signed file is made
and stored before any lock now, and the application's lock takes the case's turn first."""

from __future__ import annotations

import secrets

from mediation.accounts import operations as accounts
from mediation.accounts.models import CodePurpose, Court, User
from mediation.cases.models import Case
from mediation.core import storage as storage_module
from mediation.core.locks import lock_rows
from mediation.court import application as applying
from mediation.court import materials
from mediation.court.models import Application
from mediation.extensions import db
from mediation.journal import operations as journal
from tests.agreements.conftest import drawing, last_code_to
from tests.booking.race import race_at_the_turn
from tests.core.held import held, turn_held

from .conftest import in_force


def test_an_application_started_while_a_step_holds_the_case_s_turn(app, tmp_path, monkeypatch):
    with app.app_context():
        world = in_force()
        db.session.commit()
        case_id, court_id = world.case.id, world.court.id
        applicant_id = world.case.party_users()[0].id

    def step() -> None:
        """A step in the order: the case's turn, then the case's row."""
        journal.turn(case_id)
        lock_rows(Case.id, case_id)

    def apply() -> None:
        applying.start(
            db.session.get(Case, case_id),
            db.session.get(Court, court_id),
            by=db.session.get(User, applicant_id),
        )

    out = race_at_the_turn(app, tmp_path, monkeypatch, step, apply)
    assert out == {"step": "done", "job": "done"}, out
    with app.app_context():
        made = db.session.query(Application).filter_by(case_id=case_id).count()
    assert made == 1


def being_signed() -> tuple[int, int, int, str]:
    """An application just started: (its id, its case's, the first signer's, its hash)."""
    world = in_force()
    applicant = world.case.party_users()[0]
    application = applying.start(world.case, world.court, by=applicant)
    db.session.commit()
    return application.id, world.case.id, applicant.id, application.document_sha256


def test_an_application_is_signed_and_stored_before_its_lock(app_ctx, monkeypatch):
    application_id, case_id, signer_id, shown = being_signed()
    application, signer = (
        db.session.get(Application, application_id),
        db.session.get(User, signer_id),
    )
    applying.send_code(application, signer)
    db.session.commit()
    seen: list[tuple[str, bool, bool]] = []

    def locks(what: str) -> None:
        seen.append((what, held("confirmation_applications", "id", application_id),
                     turn_held(case_id)))  # fmt: skip

    real_sign, real_put = applying.sign_pdf, storage_module.LocalStorage.put

    def signed(*args, **kwargs):
        locks("signed")  # its timestamps come from the TSA
        return real_sign(*args, **kwargs)

    def put(self, key, data):
        if key.startswith("court/"):
            locks("stored")
        return real_put(self, key, data)

    monkeypatch.setattr(applying, "sign_pdf", signed)
    monkeypatch.setattr(storage_module.LocalStorage, "put", put)
    turn = applying.sign(
        application, signer, code=last_code_to(signer), shown_sha256=shown, drawing=drawing()
    )
    db.session.commit()
    assert seen == [("signed", False, False), ("stored", False, False)]
    application = db.session.get(Application, application_id)
    assert turn.signed_at is not None and turn.result_sha256 == application.document_sha256
    assert application.document_sha256 != shown
    assert application.document_sha256[:16] in application.document_path
    assert applying.document_bytes(application) is not None


def test_an_application_signed_while_a_step_holds_the_case_s_turn(app, tmp_path, monkeypatch):
    """``sign`` held the application's row and asked for the case's turn (its journal)
    after; a step in the one order holds the turn and goes on to the application's row."""
    with app.app_context():
        application_id, case_id, signer_id, shown = being_signed()
        code = accounts.issue_code(
            db.session.get(User, signer_id),
            CodePurpose.agreement_signature,
            code_for=applying.code_for(db.session.get(Application, application_id), shown),
        )
        db.session.commit()

    def step() -> None:
        """A step in the order: the case's turn, then the application's row."""
        journal.turn(case_id)
        lock_rows(Application.id, application_id)

    def sign() -> None:
        applying.sign(
            db.session.get(Application, application_id),
            db.session.get(User, signer_id),
            code=code,
            shown_sha256=shown,
            drawing=drawing(),
        )

    out = race_at_the_turn(app, tmp_path, monkeypatch, step, sign)
    assert out == {"step": "done", "job": "done"}, out
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.signatures[0].signed_at is not None
        assert applying.document_bytes(application) is not None


def test_a_material_is_stored_before_the_application_s_lock(app_ctx, monkeypatch):
    """A party's file for the court is stored (a network call with object storage) before
    the application's lock and the case's turn, and recorded under them."""
    application_id, case_id, party_id, _shown = being_signed()
    seen: list[tuple[bool, bool]] = []
    real_put = storage_module.LocalStorage.put

    def put(self, key, data):
        seen.append((held("confirmation_applications", "id", application_id), turn_held(case_id)))
        return real_put(self, key, data)

    monkeypatch.setattr(storage_module.LocalStorage, "put", put)
    # A file of its own: one the storage holds already (another test's) is not stored again.
    pdf = (
        b"%PDF-1.4\n%"
        + secrets.token_hex(8).encode()
        + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    )
    material = materials.add_material(
        db.session.get(Application, application_id),
        "identity",
        "身份证.pdf",
        pdf,
        by=db.session.get(User, party_id),
    )
    db.session.commit()
    assert seen == [(False, False)]
    assert storage_module.storage().get(material.path, material.sha256) == pdf
