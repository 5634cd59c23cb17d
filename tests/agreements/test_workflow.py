"""The agreement from the first draft to its effect: versions kept, the check's warnings,
each signer in turn with a code, one PAdES signature each, the seal last."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from agreements.verify import verify_pdf
from mediation.agreements import credentials, round_end, signing
from mediation.agreements import operations as agreements
from mediation.agreements.models import AgreementStatus
from mediation.cases.states import CaseStatus, TerminationReason
from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry

from .conftest import agreeing_case, complete_draft, drawing, last_code_to, out_for_signing


def sign_in_turn(agreement, user):
    signing.send_code(agreement, user)
    return signing.sign(
        agreement,
        user,
        code=last_code_to(user),
        shown_sha256=agreement.document_sha256,
        drawing=drawing(),
    )


def test_drafts_are_versioned_and_checked(app_ctx):
    case, _admin = agreeing_case()
    agreement = agreements.start(case, by=case.mediator)
    assert case.status == CaseStatus.agreement_drafted
    first = agreement.current
    assert first.number == 1 and first.content["obligations"]
    assert "no_deadline" in {w["code"] for w in first.warnings}  # the template sets no date
    assert not agreements.confirmable(agreement)
    agreements.save(agreement, complete_draft(case), by=case.mediator)
    assert agreement.version == 2 and agreement.current.warnings == []
    assert agreements.confirmable(agreement)
    assert [v.number for v in agreement.versions] == [1, 2]  # every version kept
    assert agreements.save(agreement, complete_draft(case), by=case.mediator).number == 2
    with pytest.raises(NotPermittedError):
        agreements.save(agreement, complete_draft(case), by=case.party_users()[0])
    with pytest.raises(FieldError) as bad:
        agreements.save(
            agreement,
            {**complete_draft(case), "obligations": [{"obligor": 999999, "amount": "1"}]},
            by=case.mediator,
        )
    assert bad.value.field == "obligations.1.obligor"


def test_every_signer_signs_in_turn_and_the_pdf_validates(app_ctx):
    case, admin = agreeing_case()
    applicant, respondent = case.party_users()
    agreement = agreements.start(case, by=case.mediator)
    agreements.save(agreement, complete_draft(case), by=case.mediator)
    signers = signing.open_round(agreement, by=case.mediator)
    assert [s.role for s in signers] == ["party", "party", "mediator", "institution"]

    with pytest.raises(NotPermittedError):
        signing.send_code(agreement, respondent)  # the applicant signs first
    signing.send_code(agreement, applicant)
    with pytest.raises(FieldError) as stale:
        signing.sign(
            agreement,
            applicant,
            code=last_code_to(applicant),
            shown_sha256="0" * 64,
            drawing=drawing(),
        )
    assert stale.value.field == "document"
    with pytest.raises(FieldError) as not_drawn:
        signing.sign(
            agreement,
            applicant,
            code=last_code_to(applicant),
            shown_sha256=agreement.document_sha256,
            drawing=b"not a png",
        )
    assert not_drawn.value.field == "drawing"

    for user in (applicant, respondent, case.mediator, admin):
        sign_in_turn(agreement, user)
    assert agreement.status == AgreementStatus.effective and agreement.effective_at
    assert case.status == CaseStatus.signed and case.signed_at == agreement.effective_at

    pdf = signing.document_bytes(agreement)
    report = verify_pdf(pdf, trust_roots=credentials.authority().trust_roots)
    assert report.ok, report
    signed = [s for s in report.signatures if s.kind == "signature"]  # B-LTA: and timestamps
    assert [s.signer for s in signed] == [
        applicant.real_name,
        respondent.real_name,
        case.mediator.real_name,
        case.institution.name,
    ]
    assert [s.role for s in signed] == ["party", "party", "mediator", "institution"]
    path = signing.document_path_of(agreement)
    checked = subprocess.run(
        [shutil.which("pdfsig"), "-nocert", str(path)], capture_output=True, text=True
    ).stdout
    assert checked.count("Signature is Valid.") == 4, checked
    entries = (
        db.session.query(JournalEntry)
        .filter_by(action="agreement.signed")
        .order_by(JournalEntry.seq)  # no order is promised without it (PostgreSQL)
        .all()
    )
    assert [e.payload["document_after"] for e in entries][-1] == agreement.document_sha256
    assert journal.verify_chain(case.id).ok


def test_an_edit_after_a_signature_voids_the_round(app_ctx):
    case, _admin = agreeing_case()
    applicant, _respondent = case.party_users()
    agreement = out_for_signing(case)
    first_document = agreement.document_sha256
    sign_in_turn(agreement, applicant)

    agreements.save(agreement, complete_draft(case, days=60), by=case.mediator)
    assert agreement.status == AgreementStatus.drafting
    assert all(s.voided_at for s in agreement.round_signatures())
    signing.open_round(agreement, by=case.mediator)
    assert agreement.round == 2 and agreement.document_sha256 != first_document
    assert signing.next_signature(agreement).user_id == applicant.id  # from the start


def test_a_party_who_refuses_to_sign_ends_the_mediation(app_ctx):
    case, _admin = agreeing_case()
    _applicant, respondent = case.party_users()
    agreement = out_for_signing(case)
    with pytest.raises(NotPermittedError):
        round_end.refuse(agreement, case.mediator, "")
    round_end.refuse(agreement, respondent, "金额不对")
    assert agreement.status == AgreementStatus.refused
    assert case.status == CaseStatus.terminated
    assert case.termination_reason == TerminationReason.refused_to_sign


def test_a_signer_who_fails_the_code_cannot_sign(app_ctx, app):
    case, _admin = agreeing_case()
    applicant = case.party_users()[0]
    agreement = out_for_signing(case)
    before = agreement.document_sha256
    signing.send_code(agreement, applicant)
    code = last_code_to(applicant)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(app.config["ONE_TIME_CODE_MAX_ATTEMPTS"]):
        with pytest.raises(FieldError) as refused:
            signing.sign(agreement, applicant, code=wrong, shown_sha256=before, drawing=drawing())
        assert refused.value.field == "code"
    # Too many tries: even the right code no longer works; a new one is needed.
    with pytest.raises(FieldError):
        signing.sign(agreement, applicant, code=code, shown_sha256=before, drawing=drawing())
    first = signing.next_signature(agreement)
    assert first.user_id == applicant.id and first.signed_at is None
    assert agreement.document_sha256 == before  # nothing was signed
    with pytest.raises(FieldError):  # nor without asking for a code at all
        signing.sign(
            agreement, case.party_users()[0], code="", shown_sha256=before, drawing=drawing()
        )


def test_going_back_to_mediation_voids_the_round_and_signing_stops(app_ctx):
    from mediation.cases import workflow
    from mediation.cases.states import Action

    case, _admin = agreeing_case()
    applicant, respondent = case.party_users()
    agreement = out_for_signing(case)
    sign_in_turn(agreement, applicant)
    workflow.transition(case, Action.revise_agreement, by=case.mediator)  # the case page's step
    assert agreement.status == AgreementStatus.drafting and agreement.document_path is None
    assert all(s.voided_at for s in agreement.round_signatures())
    assert signing.next_signature(agreement) is None
    with pytest.raises(NotPermittedError):
        round_end.refuse(agreement, respondent, "")
    with pytest.raises(NotPermittedError):  # edits wait until the mediator drafts again
        agreements.save(agreement, complete_draft(case, days=40), by=case.mediator)
    agreements.start(case, by=case.mediator)  # takes the same agreement up again
    assert agreements.of_case(case).id == agreement.id


def test_a_long_institution_name_still_seals(app_ctx):
    case, admin = agreeing_case()
    case.institution.name = "上海市浦东新区人民调解委员会医疗纠纷人民调解工作室"  # 25 characters
    agreement = out_for_signing(case)
    for user in (*case.party_users(), case.mediator, admin):
        sign_in_turn(agreement, user)
    assert agreement.status == AgreementStatus.effective
    seal = agreement.round_signatures()[-1]
    assert seal.certificate_subject and "上海市浦东新区" in seal.certificate_subject


def test_a_drawing_that_claims_to_be_huge_is_refused_cleanly(app_ctx):
    import struct
    import zlib

    case, _admin = agreeing_case()
    applicant = case.party_users()[0]
    agreement = out_for_signing(case)
    signing.send_code(agreement, applicant)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(FieldError) as refused:
        signing.sign(
            agreement, applicant, code=last_code_to(applicant),
            shown_sha256=agreement.document_sha256, drawing=bomb,
        )  # fmt: skip
    assert refused.value.field == "drawing"


def _outbox_after(mark: int) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from mediation.notify.models import OutboxMessage

    rows = db.session.execute(
        select(OutboxMessage.recipient, OutboxMessage.body)
        .where(OutboxMessage.id > mark, OutboxMessage.channel == "sms")
        .order_by(OutboxMessage.id)
    )
    return [(recipient, body) for recipient, body in rows]


def _outbox_mark() -> int:
    from sqlalchemy import func, select

    from mediation.notify.models import OutboxMessage

    return db.session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))


def test_a_new_mediator_voids_the_round_and_the_next_round_takes_effect(app_ctx):
    """The institution gives the case to another mediator while the agreement is out for
    signing (art 14): the round names the former mediator, who can no longer open the case,
    so it is voided and everyone in it is told; the new mediator fixes the text again and
    the new round reaches its effect with the new mediator's signature (PML art 29)."""
    from mediation.accounts.models import Role
    from mediation.cases import assignment
    from tests.factories import make_mediating_case, make_mediator, make_user

    case, admin = agreeing_case()
    applicant, respondent = case.party_users()
    former = case.mediator
    agreement = out_for_signing(case)
    first_document = agreement.document_sha256
    sign_in_turn(agreement, applicant)
    new = make_mediator(case.institution)
    mark = _outbox_mark()

    assignment.reassign_by_institution(
        case, mediator=new, by=make_user(Role.institution_admin, institution_id=case.institution_id)
    )

    assert case.mediator_id == new.id and case.status == CaseStatus.agreement_drafted
    assert agreement.status == AgreementStatus.drafting and agreement.document_path is None
    assert all(s.voided_at for s in agreement.round_signatures())
    assert signing.next_signature(agreement) is None
    (voided,) = db.session.query(JournalEntry).filter_by(action="agreement.signatures_voided")
    assert voided.payload == {"round": 1, "signed": [1], "reason": "mediator changed"}
    # Who signed or was to sign is told, in their language; nobody else about the round.
    sent = _outbox_after(mark)
    told = {phone for phone, body in sent if case.number in body and "本轮" in body}
    assert told == {applicant.phone, respondent.phone, former.phone}
    (text,) = {body for phone, body in sent if phone == applicant.phone and "本轮" in body}
    assert "调解员已变更" in text and "新调解员将重新确定协议文本" in text
    assert not [p for p, body in sent if p == admin.phone]  # the seal was never asked

    # Nobody but the case's mediator now starts a round: not the former mediator, a
    # party, or the mediator of another case.
    stranger = make_mediating_case().mediator
    for someone in (former, applicant, stranger):
        with pytest.raises(NotPermittedError):
            signing.open_round(agreement, by=someone)
        with pytest.raises(NotPermittedError):
            agreements.save(agreement, complete_draft(case, days=45), by=someone)

    signers = signing.open_round(agreement, by=new)
    assert agreement.round == 2 and agreement.document_sha256 != first_document
    assert [(s.role, s.user_id) for s in signers][2] == ("mediator", new.id)
    for user in (applicant, respondent):
        sign_in_turn(agreement, user)
    for someone in (former, applicant, stranger):  # the mediator's turn is the new one's
        with pytest.raises(NotPermittedError):
            signing.send_code(agreement, someone)
    sign_in_turn(agreement, new)
    sign_in_turn(agreement, admin)
    assert agreement.status == AgreementStatus.effective
    assert case.status == CaseStatus.signed

    report = verify_pdf(
        signing.document_bytes(agreement), trust_roots=credentials.authority().trust_roots
    )
    assert report.ok, report
    names = [s.signer for s in report.signatures if s.kind == "signature"]
    assert names == [
        applicant.real_name,
        respondent.real_name,
        new.real_name,
        case.institution.name,
    ]
    assert journal.verify_chain(case.id).ok


def test_a_new_mediator_leaves_a_draft_and_an_agreement_in_force_as_they_are(app_ctx):
    from mediation.accounts.models import Role
    from mediation.cases import assignment, signals
    from tests.factories import make_mediator, make_user

    # A draft: nothing to void, nobody told; the new mediator goes on with it.
    case, admin = agreeing_case()
    agreement = agreements.start(case, by=case.mediator)
    agreements.save(agreement, complete_draft(case), by=case.mediator)
    new = make_mediator(case.institution)
    mark = _outbox_mark()
    assignment.reassign_by_institution(
        case, mediator=new, by=make_user(Role.institution_admin, institution_id=case.institution_id)
    )
    assert agreement.status == AgreementStatus.drafting and agreement.version == 2
    assert {phone for phone, _body in _outbox_after(mark)} == {new.phone}  # given the case
    assert not db.session.query(JournalEntry).filter_by(action="agreement.signatures_voided").all()
    signing.open_round(agreement, by=new)
    assert agreement.round == 1

    # In force: a record, never voided. A signed case is no longer reassigned (its status
    # is not open), so the signal is sent as a later path would send it.
    for user in (*case.party_users(), new, admin):
        sign_in_turn(agreement, user)
    assert agreement.status == AgreementStatus.effective
    in_force = agreement.document_sha256
    mark = _outbox_mark()
    signals.mediator_changed.send(case, previous=new.id)
    assert agreement.status == AgreementStatus.effective
    assert agreement.document_sha256 == in_force and agreement.effective_at
    assert not any(s.voided_at for s in agreement.round_signatures())
    assert _outbox_after(mark) == []
