"""Two hands on one agreement at once: the seal is applied while the mediator edits, two
administrators seal together. The agreement's row lock makes the later one see what the
earlier did, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import functools
import threading
import time

from sqlalchemy import func, select

from mediation.accounts import operations as accounts
from mediation.accounts.models import CodePurpose, Role, User
from mediation.agreements import operations as agreements
from mediation.agreements import signing
from mediation.agreements.models import Agreement, AgreementStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.booking.race import committed, race_app
from tests.booking.test_races import run_together
from tests.factories import make_user

from .conftest import agreeing_case, complete_draft, out_for_signing
from .test_workflow import sign_in_turn


def three_signed(app, *, admins: int = 1) -> tuple[int, list[int], str]:
    """An agreement the parties and the mediator signed; only the seal is missing."""
    with app.app_context():
        case, admin = agreeing_case()
        extra = [make_user(Role.institution_admin, institution_id=case.institution_id)
                 for _ in range(admins - 1)]  # fmt: skip
        agreement = out_for_signing(case)
        for user in (*case.party_users(), case.mediator):
            sign_in_turn(agreement, user)
        codes = {}
        for holder in (admin, *extra):
            codes[holder.id] = accounts.issue_code(
                holder,
                CodePurpose.agreement_signature,
                code_for=signing.code_for(agreement, agreement.document_sha256),
            )
        db.session.commit()
        return agreement.id, codes, agreement.document_sha256


def racing_app(app, tmp_path):
    """A second app on the same database and the same CA, a connection per thread."""
    racing = race_app(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path))
    racing.config.update(PKI_DIR=app.config["PKI_DIR"], STORAGE_DIR=app.config["STORAGE_DIR"])
    return racing


def seal(racing, agreement_id: int, user_id: int, code: str, shown: str, go, out: dict):
    def run() -> None:
        with racing.app_context():
            agreement = db.session.get(Agreement, agreement_id)
            user = db.session.get(User, user_id)
            go()
            try:
                signing.sign(agreement, user, code=code, shown_sha256=shown, drawing=None)
                db.session.commit()
                out[user_id] = "sealed"
            except (NotPermittedError, FieldError) as error:
                db.session.rollback()
                out[user_id] = f"refused: {error}"
            except Exception as error:  # reported to the test, which fails on anything else
                db.session.rollback()
                out[user_id] = f"error: {error!r}"
            finally:
                db.session.remove()

    return run


def test_the_seal_applied_while_the_mediator_edits_is_refused(app, tmp_path):
    agreement_id, codes, shown = three_signed(app)
    ((holder_id, code),) = codes.items()
    racing = racing_app(app, tmp_path)
    edited = threading.Event()
    out: dict = {}

    def mediator() -> None:
        with racing.app_context():
            agreement = db.session.get(Agreement, agreement_id)
            mediator = agreement.case.mediator
            agreements.save(agreement, complete_draft(agreement.case, days=45), by=mediator)
            edited.set()
            time.sleep(1)  # the seal arrives while the edit is not yet committed
            db.session.commit()
            db.session.remove()

    run_together(mediator, seal(racing, agreement_id, holder_id, code, shown,
                                lambda: edited.wait(10), out))  # fmt: skip
    with racing.app_context():
        db.engine.dispose()
    assert out[holder_id].startswith("refused")
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert agreement.status == AgreementStatus.drafting and agreement.effective_at is None
        assert agreement.case.status == "agreement_drafted"
        assert all(s.voided_at for s in agreement.signatures)


def test_two_administrators_seal_once(app, tmp_path):
    agreement_id, codes, shown = three_signed(app, admins=2)
    racing = racing_app(app, tmp_path)
    go = threading.Barrier(2)
    out: dict = {}
    sealers = [
        seal(racing, agreement_id, uid, code, shown, lambda: go.wait(10), out)
        for uid, code in codes.items()
    ]
    run_together(*sealers)
    with racing.app_context():
        db.engine.dispose()
    assert sorted(v.split(":")[0] for v in out.values()) == ["refused", "sealed"], out
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert agreement.status == AgreementStatus.effective
        assert sum(1 for s in agreement.signatures if s.signed_at) == 4
        effective = db.session.scalar(
            select(func.count(JournalEntry.id)).where(JournalEntry.action == "agreement.effective")
        )
        assert effective == 1
        assert signing.document_bytes(agreement) is not None
        import hashlib

        assert hashlib.sha256(signing.document_bytes(agreement)).hexdigest() == (
            agreement.document_sha256
        )


def test_a_comment_while_the_case_is_given_to_another_mediator_both_go_through(
    app, tmp_path, monkeypatch
):
    """A party comments on the draft at the moment the institution gives the case to
    another mediator. The comment held the agreement's lock and then waited for the case's
    journal, which the reassignment held while it waited for the agreement (to void a round
    out for signing): on PostgreSQL a deadlock, and one of the two failed (a server error
    page). Both go through."""
    from mediation.agreements import operations as agreement_ops
    from mediation.cases import assignment
    from mediation.cases.models import Case
    from mediation.journal import operations as journal
    from tests.factories import make_mediator

    with app.app_context():
        case, admin = agreeing_case()
        agreement = agreements.start(case, by=case.mediator)
        other = make_mediator(case.institution)
        db.session.commit()
        ids = {
            "case": case.id,
            "agreement": agreement.id,
            "party": case.party_users()[0].id,
            "admin": admin.id,
            "other": other.id,
        }
    racing = racing_app(app, tmp_path)
    commenting, reassigning = threading.Event(), threading.Event()
    append, changed = journal.append, agreement_ops.mediator_changed

    def paused_append(case_id, action, *args, **kwargs):
        if action == "agreement.commented":
            commenting.set()  # everything but the journal done: the reassignment comes now
            reassigning.wait(2)
        return append(case_id, action, *args, **kwargs)

    def announced(case):
        reassigning.set()
        return changed(case)

    monkeypatch.setattr(journal, "append", paused_append)
    monkeypatch.setattr(agreement_ops, "mediator_changed", announced)
    out: dict = {}

    run = functools.partial(committed, racing, out)

    def comment() -> None:
        run(
            "comment",
            lambda: agreements.comment(
                db.session.get(Agreement, ids["agreement"]),
                "请写明付款账户",
                by=db.session.get(User, ids["party"]),
            ),
        )

    def reassign() -> None:
        commenting.wait(10)
        run(
            "reassign",
            lambda: assignment.reassign_by_institution(
                db.session.get(Case, ids["case"]),
                mediator=db.session.get(User, ids["other"]),
                by=db.session.get(User, ids["admin"]),
            ),
        )

    run_together(comment, reassign)
    with racing.app_context():
        db.engine.dispose()
    assert out == {"comment": "done", "reassign": "done"}, out
    with app.app_context():
        assert db.session.get(Case, ids["case"]).mediator_id == ids["other"]
        assert [
            c.text for c in agreements.comments(db.session.get(Agreement, ids["agreement"]))
        ] == ["请写明付款账户"]


def test_a_signature_while_the_case_is_given_to_another_mediator_both_go_through(
    app, tmp_path, monkeypatch
):
    """A party signs at the moment the institution gives the case to another mediator.
    The signature held the agreement's lock and then waited for the case's journal, which
    the reassignment held while it waited for the agreement (to void the round): on
    PostgreSQL a deadlock, and one of the two failed (a server error page). Both go
    through, one after the other: the signature is added, then voided with its round."""
    from mediation.agreements import operations as agreement_ops
    from mediation.cases import assignment
    from mediation.cases.models import Case
    from mediation.journal import operations as journal
    from tests.factories import make_mediator

    from .conftest import drawing

    with app.app_context():
        case, admin = agreeing_case()
        agreement = out_for_signing(case)
        party = case.party_users()[0]
        other = make_mediator(case.institution)
        ids = {
            "case": case.id,
            "agreement": agreement.id,
            "party": party.id,
            "admin": admin.id,
            "other": other.id,
        }
        shown = agreement.document_sha256
        code = accounts.issue_code(
            party, CodePurpose.agreement_signature, code_for=signing.code_for(agreement, shown)
        )
        db.session.commit()
    racing = racing_app(app, tmp_path)
    signing_, reassigning = threading.Event(), threading.Event()
    append, changed = journal.append, agreement_ops.mediator_changed

    def paused_append(case_id, action, *args, **kwargs):
        if action == "agreement.signed":
            signing_.set()  # signed, not journaled yet: the reassignment comes now
            reassigning.wait(2)
        return append(case_id, action, *args, **kwargs)

    def announced(case):
        reassigning.set()
        return changed(case)

    monkeypatch.setattr(journal, "append", paused_append)
    monkeypatch.setattr(agreement_ops, "mediator_changed", announced)
    out: dict = {}

    run = functools.partial(committed, racing, out)

    def sign() -> None:
        run(
            "sign",
            lambda: signing.sign(
                db.session.get(Agreement, ids["agreement"]),
                db.session.get(User, ids["party"]),
                code=code,
                shown_sha256=shown,
                drawing=drawing(),
            ),
        )

    def reassign() -> None:
        signing_.wait(30)
        run(
            "reassign",
            lambda: assignment.reassign_by_institution(
                db.session.get(Case, ids["case"]),
                mediator=db.session.get(User, ids["other"]),
                by=db.session.get(User, ids["admin"]),
            ),
        )

    run_together(sign, reassign)
    with racing.app_context():
        db.engine.dispose()
    assert out == {"sign": "done", "reassign": "done"}, out
    with app.app_context():
        assert db.session.get(Case, ids["case"]).mediator_id == ids["other"]
        agreement = db.session.get(Agreement, ids["agreement"])
        assert agreement.status == AgreementStatus.drafting  # the round is void
        signed = [s for s in agreement.signatures if s.signed_by_id == ids["party"]]
        assert len(signed) == 1 and signed[0].voided_at is not None
        actions = db.session.scalars(
            select(JournalEntry.action)
            .where(JournalEntry.case_id == ids["case"])
            .order_by(JournalEntry.seq)
        ).all()
        assert actions.index("agreement.signed") < actions.index("agreement.signatures_voided")


def test_a_comment_sent_as_the_case_ends_is_refused_with_why(app, tmp_path):
    """A party comments on the draft at the moment the mediator ends the mediation. The
    comment read the case as still mediated, then waited for its turn on the case's journal
    while the end was written, and was added to a draft nobody will sign (its page said
    'added'). It reads the case once it is its turn: refused, with why."""
    from mediation.cases import workflow
    from mediation.cases.models import Case
    from mediation.cases.states import Action, TerminationReason

    with app.app_context():
        case, _admin = agreeing_case()
        agreement = agreements.start(case, by=case.mediator)
        db.session.commit()
        ids = {"case": case.id, "agreement": agreement.id, "party": case.party_users()[0].id}
    racing = racing_app(app, tmp_path)
    ending = threading.Event()
    out: dict = {}

    def end() -> None:
        with racing.app_context():
            case = db.session.get(Case, ids["case"])
            workflow.transition(
                case, Action.terminate, by=case.mediator, reason=TerminationReason.too_far_apart
            )
            ending.set()  # journaled: the case's turn is held until the commit
            time.sleep(1)  # the comment arrives while the end is not yet committed
            db.session.commit()
            db.session.remove()

    def comment() -> None:
        ending.wait(30)
        with racing.app_context():
            try:
                agreements.comment(
                    db.session.get(Agreement, ids["agreement"]),
                    "请写明付款账户",
                    by=db.session.get(User, ids["party"]),
                )
                db.session.commit()
                out["comment"] = "added"
            except NotPermittedError as error:
                db.session.rollback()
                out["comment"] = f"refused: {error}"
            except Exception as error:  # reported to the test, which fails on anything else
                db.session.rollback()
                out["comment"] = f"error: {error!r}"
            finally:
                db.session.remove()

    run_together(end, comment)
    with racing.app_context():
        db.engine.dispose()
    with app.app_context():
        assert out["comment"] == "refused: 本案调解已经结束，协议草稿不再修改或者签署。", out
        assert agreements.comments(db.session.get(Agreement, ids["agreement"])) == []
