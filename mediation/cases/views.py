"""HTTP handlers of the cases feature: lists, the case page, entering through an invitation."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from typing import NoReturn

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from mediation.accounts import operations as accounts
from mediation.accounts import personal_links
from mediation.accounts.forms import CodeForm, SendCodeForm
from mediation.accounts.models import CodePurpose, Institution, Role, User
from mediation.core.access import role_required
from mediation.core.db import utcnow
from mediation.core.downloads import download_name
from mediation.core.forms import FieldError, apply_field_error, failed_attempt, with_prompt
from mediation.extensions import db, limiter
from mediation.journal.models import JournalEntry
from mediation.journal.operations import verify_chain

from . import (
    agency,
    assignment,
    categories,
    clocks,
    conflicts,
    extension,
    identity,
    invitations,
    lapse,
    rechoice,
    respondent,
    workflow,
)
from . import operations as ops
from .caseload import CaseloadFilter, caseload_for, is_overdue, running_deadline
from .forms import AnswerForm, ChooseAgainForm, MediatorIdentityForm
from .intake_views import who_mediates
from .labels import STATUS_NAMES
from .models import Case, CaseParty, FailureRecord, Side
from .privacy import (
    actor_name,
    is_party,
    may_see_evidence,
    name_mismatch,
    shown_entries,
    shown_identity,
)
from .states import Action, CaseStatus, TerminationReason
from .timeline import who_did


@role_required(Role.party)
def my_cases():
    cases = db.session.scalars(
        select(Case)
        .join(CaseParty)
        .where(CaseParty.user_id == current_user.id)
        # Drafts are listed to the applicant only (see can_view).
        .where((Case.status != CaseStatus.draft) | (CaseParty.side == Side.applicant))
        .order_by(Case.created_at.desc())
    ).all()
    return render_template("cases/my_cases.html", cases=cases)


def _due_within(days: int | None) -> int | None:
    """The deadline filter offers 0, 3 and 7 days; anything beyond a year (999999999 would
    overflow the date it is added to) filters nothing, like a value that is no number."""
    return days if days is not None and 0 <= days <= 366 else None


@role_required(Role.mediator)
def caseload():
    args = request.args
    flt = CaseloadFilter(
        status=args.get("status") if args.get("status") in set(CaseStatus) else None,
        category=args.get("category") or None,
        party=args.get("party", "")[:50],
        due_within_days=_due_within(args.get("due", type=int)),
        sort=args.get("sort", "deadline"),
        page=args.get("page", 1, type=int),
    )
    result = caseload_for(current_user, flt)
    return render_template(
        "cases/caseload.html",
        caseload=result,
        flt=flt,
        categories=categories.choices(),
        now=utcnow(),
        zone=workflow.zone(),
        remaining_days=clocks.remaining_days,
        is_overdue=is_overdue,
        running_deadline=running_deadline,
    )


@login_required
def case_detail(case_id: int):
    return render_case(_viewable(case_id))


def _viewable(case_id: int) -> Case:
    """The case, if the user may see it; not theirs is not there (404), but a mediator it
    was taken from (by their institution, art 14, or a new choice, art 12) is told so and
    sent to their own first page."""
    case = ops.viewable_case(case_id, current_user)
    if case is None:
        turn_away(case_id)
    return case


def turn_away(case_id: int) -> NoReturn:
    """Refuse a page of a case the user may not see: 404, but a mediator the case was taken
    from (art 12, 13, 14), or an agent the party refused, is told so and sent to their own
    first page. For the pages of the features above (the agreement, the minutes, the
    sessions) as much as for the case page."""
    if assignment.was_given_to(case_id, current_user):
        flash(_("This case is no longer with you: it was given to another mediator."), "info")
        abort(redirect(url_for("accounts.home")))
    if agency.was_refused(case_id, current_user):
        # An agent whose party said they do not act for them, with a page still open.
        flash(
            _(
                "You no longer act in this case: the party you acted for said you do not "
                "represent them. Nothing was done."
            ),
            "info",
        )
        abort(redirect(url_for("accounts.home")))
    abort(404)


def render_case(case: Case, entered: dict | None = None, answer_form: AnswerForm | None = None):
    """The case page; ``entered`` holds what the user typed into a form that failed, so
    that it is shown again instead of lost."""
    visible_evidence = [e for e in case.evidence if may_see_evidence(e, current_user, case)]
    answer_form = answer_form or AnswerForm(data={"ethnicity": current_user.ethnicity})
    # Agreeing needs an ID number (SPC online mediation rules art 8) unless one is on record.
    answer_form.id_number.flags.required = not current_user.id_number
    # Art 12 para 2: the institution or mediator the applicant chose did not take it on.
    lapsed = lapse.lapsed(case)
    if lapsed is not None and not lapse.chooses_again(current_user, case):
        lapsed = None
    return render_template(
        "cases/detail.html",
        case=case,
        evidence=visible_evidence,
        clocks=case_clocks(case),
        now=utcnow(),
        zone=workflow.zone(),
        remaining_days=clocks.remaining_days,
        chain=verify_chain(case.id),
        steps=ops.available_steps(current_user, case),
        timeline=timeline(case, current_user),
        step_form=FlaskForm(),
        answer_form=answer_form,
        identity_form=MediatorIdentityForm(),
        extension_request=extension.pending(case),
        failure=db.session.get(FailureRecord, case.id),
        disclosure=conflicts.open_disclosure(case),
        change_asked_at=conflicts.change_asked_at(case, current_user),
        reasons=workflow.termination_reasons(current_user, case),
        entered=entered or {},
        shown_identity=lambda party: shown_identity(party, current_user),
        actor_name=lambda actor: actor_name(case, actor, current_user),
        who_did=lambda actor: who_did(case, actor, current_user),
        represented_name=lambda agent: next(
            shown_identity(p, current_user)[0]
            for p in case.parties
            if p.user_id == agent.represents_id and not p.is_agent
        ),
        staff_view=not is_party(current_user, case),
        name_mismatch=name_mismatch,
        waiting_for_mediator=assignment.in_queue(case),
        may_give=assignment.in_queue(case) and assignment.may_manage_queue(current_user, case),
        lapsed=lapsed,
        lapsed_mediator=lapsed and lapsed.mediator_id and db.session.get(User, lapsed.mediator_id),
        meanwhile=lapsed and rechoice.meanwhile(case, lapsed),
        choose_again_form=choose_again_form(case, lapsed) if lapsed else None,
    )


def choose_again_form(case: Case, lapsed: lapse.Lapse) -> ChooseAgainForm:
    """Whom the applicant may choose now (art 12 para 2), nothing chosen for them."""
    form = ChooseAgainForm()
    out = rechoice.left_out(case, lapsed)
    form.choice.choices = with_prompt(
        who_mediates(case, leave_out=out.mediators, refused=out.institution)
    )
    return form


def case_clocks(case: Case) -> list[tuple[str, datetime]]:
    """The running statutory clocks of a case, for countdowns on its page: only those its
    status still waits on (a respondent who refused has answered; an ended case waits on
    nothing)."""
    running = []
    if case.status in (CaseStatus.submitted, CaseStatus.declined):
        running.append((_("Acceptance due (3 working days, art 12)"), case.acceptance_due_at))
    if case.status == CaseStatus.awaiting_respondent:
        running.append((_("The respondent answers by (art 15)"), case.respondent_due_at))
    if case.status in (CaseStatus.in_mediation, CaseStatus.agreement_drafted):
        running.append((_("Mediation period ends (30 days, art 24)"), case.mediation_due_at))
    if case.status == CaseStatus.signed and case.signed_at:
        running.append(
            (
                _("Apply for judicial confirmation by (30 days, CPL art 205)"),
                clocks.period_end(case.signed_at, clocks.CONFIRMATION_DAYS, workflow.zone()),
            )
        )
    return [(label, due) for label, due in running if due is not None]


def timeline(case: Case, viewer: User) -> list[JournalEntry]:
    """The entries ``viewer`` sees (a party not the other side's own: privacy.py)."""
    shown = shown_entries(case, viewer)
    return [
        entry
        for entry in db.session.scalars(
            select(JournalEntry)
            .where(JournalEntry.case_id == case.id)
            .order_by(JournalEntry.seq)
            .options(joinedload(JournalEntry.actor))
        )
        if shown(entry.action)
    ]


@login_required
def answer(case_id: int):
    """The respondent agrees (with consent and a service address) or refuses."""
    case = ops.viewable_case(case_id, current_user) or abort(404)
    form = AnswerForm()
    agree = request.form.get("agree") == "1"
    if not form.validate_on_submit() and agree:
        for error in [e for errors in form.errors.values() for e in errors]:
            flash(error, "error")
        # Shown again with what was typed and each error beside its field.
        return render_case(case, answer_form=form), 422
    if (
        not agree
        and request.form.get("confirm") != "1"
        and Action.respondent_refuses in ops.available_steps(current_user, case)
    ):
        # A refusal ends mediation at once and cannot be undone (People's Mediation Law art
        # 17): the person ticks "I confirm" on the page (no script), as for ending it.
        flash(_("Tick the box to confirm that you do not agree to mediation."), "error")
        return render_case(case, entered=request.form.to_dict()), 422
    return _run(
        case,
        respondent.answer,
        case,
        step=Action.respondent_agrees if agree else Action.respondent_refuses,
        by=current_user,
        agree=agree,
        consent=form.consent.data,
        service_address=form.service_address.data or "",
        service_confirmed=form.service_confirmed.data,
        note=request.form.get("note", "")[:2000],
        id_number=form.id_number.data or None,
        ethnicity=form.ethnicity.data or None,
    )


def _case_for_post(case_id: int) -> Case:
    case = _viewable(case_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    return case


def _run(case: Case, action, *args, done: str | None = None, step: Action | None = None, **kwargs):
    """Call an operation for ``case``; commit, or explain and roll back. ``done``: what the
    step did, said to whoever took it (by default, the case's new status). ``step``: the
    case's move the operation makes; the same move arriving again from the same person
    (a double tap, a retried POST, a second tab) is answered as the first was."""
    try:
        action(*args, **kwargs)
    except workflow.NotPermittedError:
        db.session.rollback()
        abort(403)
    except (workflow.TransitionError, FieldError) as error:
        db.session.rollback()
        if step is not None and workflow.already_taken(case, step, current_user):
            return _done(case, done)
        flash(str(error), "error")
        # Shown again with everything typed (a long art 21 record must not be lost).
        return render_case(case, entered=request.form.to_dict()), 422
    except StaleDataError:
        db.session.rollback()
        if not ops.can_view(current_user, case):
            return _gone()  # the other change took the case from them
        if step is not None and workflow.already_taken(case, step, current_user):
            return _done(case, done)  # the same form, sent twice at once
        flash(
            _(
                "Someone else changed this case at the same time. Here it is as it is now; "
                "please try again."
            ),
            "error",
        )
    else:
        db.session.commit()
        if not ops.can_view(current_user, case):
            # A mediator who declined a case given at once to another (art 12): its page is
            # not theirs any more, and a "page not found" under "done" would say it failed.
            flash(_("Done: the case is no longer with you."), "success")
            return redirect(url_for("accounts.home"))
        return _done(case, done)
    return redirect(url_for("cases.case_detail", case_id=case.id))


def _done(case: Case, done: str | None):
    """The step went through. Said the same to the second of two taps (whose answer is
    the one the person sees; ``workflow.already_taken``: nothing moved the case since)."""
    status = STATUS_NAMES[case.status]
    flash(done or _("Done: the case is now %(status)s.", status=status), "success")
    return redirect(url_for("cases.case_detail", case_id=case.id))


def _gone():
    flash(_("This case is no longer with you: someone else changed it meanwhile."), "error")
    return redirect(url_for("accounts.home"))


@login_required
def propose_extension(case_id: int):
    case = _case_for_post(case_id)
    days = request.form.get("days", type=int) or 0
    return _run(
        case,
        extension.propose,
        case,
        by=current_user,
        days=days,
        done=_(
            "Done: the longer period is proposed; it applies once every party consents (art 24)."
        ),
    )


@login_required
def consent_to_extension(case_id: int):
    case = _case_for_post(case_id)
    return _run(
        case,
        extension.consent,
        case,
        by=current_user,
        done=_("Done: your consent to the longer period is recorded (art 24)."),
    )


@login_required
def disclose_conflict(case_id: int):
    case = _case_for_post(case_id)
    return _run(
        case,
        conflicts.disclose,
        case,
        by=current_user,
        text=request.form.get("text", "")[:2000],
        done=_(
            "Done: the parties see your disclosure on the case page and your institution is "
            "told; each party may accept you or ask for another mediator (art 13)."
        ),
    )


@login_required
def answer_disclosure(case_id: int):
    case = _case_for_post(case_id)
    accept = request.form.get("accept") == "1"
    return _run(
        case,
        conflicts.answer_disclosure,
        case,
        by=current_user,
        accept=accept,
        done=_("Done: you accept this mediator (art 13).")
        if accept
        else _(
            "Done: the institution is told that you object to this mediator; it decides "
            "whether to give the case to another one (art 13)."
        ),
    )


@login_required
def request_mediator_change(case_id: int):
    case = _case_for_post(case_id)
    return _run(
        case,
        conflicts.request_change,
        case,
        by=current_user,
        reason=request.form.get("reason", "")[:2000],
        done=_(
            "Done: your request is sent to %(institution)s, which decides on it (art 14).",
            institution=case.institution.name if case.institution else "",
        ),
    )


@login_required
def failure_record(case_id: int):
    case = _case_for_post(case_id)
    form = request.form
    return _run(
        case,
        ops.record_failure,
        case,
        by=current_user,
        situation=form.get("situation", "")[:5000],
        reasons=form.get("reasons", "")[:5000],
        cost_raising_conduct=form.get("cost_raising_conduct", "")[:5000],
        notes_for_court=form.get("notes_for_court", "")[:5000],
        done=_("Done: the record of the failed mediation is saved (art 21)."),
    )


@login_required
def referral(case_id: int):
    """The art 21 record as a PDF, for the case's parties and mediator."""
    from .referral import referral_pdf

    case = ops.viewable_case(case_id, current_user) or abort(404)
    if current_user.id != case.mediator_id and not any(
        p.user_id == current_user.id for p in case.parties
    ):
        abort(403)
    pdf = referral_pdf(case, by=current_user)
    if pdf is None:
        abort(404)
    db.session.commit()  # the journal notes who took it, once per file (cases/referral.py)
    return send_file(
        BytesIO(pdf),
        mimetype="application/pdf",
        download_name=download_name("referral", case.number, mimetype="application/pdf"),
    )


@login_required
def take_step(case_id: int, action: str):
    if action not in set(Action):
        abort(404)
    case = _case_for_post(case_id)
    reason = request.form.get("reason")
    if (
        action == Action.terminate
        and request.form.get("confirm") != "1"
        and Action.terminate in ops.available_steps(current_user, case)
    ):
        # Ending cannot be undone: the person ticks "I confirm" on the page (no script);
        # one who may not end it at all is refused as before (403), not asked to tick.
        flash(_("Tick the box to confirm that mediation ends."), "error")
        return render_case(case, entered=request.form.to_dict()), 422
    return _run(
        case,
        ops.take_step,
        case,
        Action(action),
        step=Action(action),
        by=current_user,
        reason=TerminationReason(reason) if reason in set(TerminationReason) else None,
        note=request.form.get("note", "")[:2000],
    )


@login_required
def choose_again(case_id: int):
    """Art 12 para 2 ("当事人可以…选定"): the applicant chooses another mediator or
    institution, or leaves it to the platform, once the one chosen did not take it on."""
    case = _case_for_post(case_id)
    lapsed = lapse.lapsed(case)
    if lapsed is None or not lapse.chooses_again(current_user, case):
        # Refused by the operation, with its reason (too early) or a 403 (not theirs).
        return _run(case, rechoice.choose_again, case, None, by=current_user)
    form = choose_again_form(case, lapsed)
    if not form.validate():
        flash(_("Choose a mediator or an institution from the list."), "error")
        return redirect(url_for("cases.case_detail", case_id=case.id, _anchor="choose-again"))
    kind, _sep, ident = form.choice.data.partition(":")
    mediator = db.session.get(User, int(ident)) if kind == "mediator" else None
    institution = db.session.get(Institution, int(ident)) if kind == "institution" else None
    return _run(case, rechoice.choose_again, case, institution, mediator=mediator, by=current_user)


# -- entering a case through an invitation link ------------------------------------------


def _invitation_or_404(token: str):
    invitation = invitations.find_invitation(token)
    if invitation is None:
        if invitations.expired(token):
            # Said plainly, with nothing of the case: whoever holds the link may not be
            # the party. A token the platform never issued stays "not found".
            message = _(
                "This link has expired (valid for %(days)d days). Please use the link in "
                "the latest message you received, or ask the mediator to send it again.",
                days=current_app.config["INVITATION_TTL_DAYS"],
            )
            abort(personal_links.gone(message))
        abort(404)
    return invitation


@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=failed_attempt,
)
def join(token: str):
    invitation = _invitation_or_404(token)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            user = invitations.enter_by_invitation(invitation, form.code.data)
        except accounts.FieldError as error:
            db.session.commit()  # the failed attempt is counted
            apply_field_error(form, error)
        else:
            db.session.commit()
            login_user(user)
            return redirect(url_for("cases.case_detail", case_id=invitation.case_id))
    return render_template(
        "cases/join.html", invitation=invitation, form=form, send_form=SendCodeForm()
    )


@limiter.limit(lambda: current_app.config["CODE_SEND_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["CODE_SEND_LIMIT"],
    methods=["POST"],
    key_func=lambda: "join:" + (request.view_args or {}).get("token", ""),
)
def join_send_code(token: str):
    invitation = _invitation_or_404(token)
    if SendCodeForm().validate_on_submit():
        accounts.ask_for_code(invitation.user, CodePurpose.invitation_login)
        db.session.commit()
        flash(_("A code has been sent to %(phone)s.", phone=invitation.user.phone_masked), "info")
    return redirect(url_for("cases.join", token=token))


@login_required
def party_identity(case_id: int, party_id: int):
    """The case's mediator enters, corrects or confirms a party's identity (card shown on
    camera, SPC online mediation rules art 17)."""
    case = ops.viewable_case(case_id, current_user) or abort(404)
    party = db.session.get(CaseParty, party_id)
    if party is None or party.case_id != case.id:
        abort(404)
    if case.mediator_id != current_user.id:
        abort(403)  # a party gives their own identity on their account page
    form = MediatorIdentityForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        for error in [e for errors in form.errors.values() for e in errors]:
            flash(error, "error")
        return render_case(case, entered={"identity_party": party.id}), 422
    try:
        confirmed = identity.record_by_mediator(
            case,
            party.user,
            by=current_user,
            id_number=form.id_number.data or None,
            ethnicity=form.ethnicity.data or None,
            confirm=form.confirm.data,
        )
    except workflow.NotPermittedError:
        db.session.rollback()
        abort(403)
    except FieldError as error:
        db.session.rollback()
        flash(str(error), "error")
        return render_case(case, entered={"identity_party": party.id}), 422
    db.session.commit()
    flash(
        _("The identity is confirmed.") if confirmed else _("The identity is recorded."),
        "success",
    )
    return redirect(url_for("cases.case_detail", case_id=case.id))
