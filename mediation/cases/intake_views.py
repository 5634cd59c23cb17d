"""HTTP handlers of filing a dispute (see ``intake.py``), and of reading evidence files."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from mediation.accounts.models import Institution, MediatorProfile, Role, User, UserRole
from mediation.core.access import role_required
from mediation.core.downloads import download_name, send_stored
from mediation.core.forms import FieldError, apply_field_error, with_prompt
from mediation.core.storage import content_key
from mediation.extensions import db

from . import categories, intake, regions
from .assignment import eligible_mediator, waiting_because
from .clocks import ACCEPTANCE_WORKING_DAYS
from .forms import DisputeForm, EvidenceForm, RespondentForm, SubmitForm
from .matching import takes_kind
from .models import Case, Evidence, Side
from .operations import viewable_case
from .privacy import may_see_evidence
from .states import CaseStatus

STEPS = ("dispute", "respondent", "evidence", "submit")


def _draft_or_404(case_id: int) -> Case:
    """Only the applicant of a case still in draft reaches its intake steps."""
    case = db.session.get(Case, case_id)
    if case is None or case.status != CaseStatus.draft:
        abort(404)
    # The applicant who filed, or their agent, edits the draft.
    if not any(p.user_id == current_user.id and p.side == Side.applicant for p in case.parties):
        abort(404)
    return case


def _page(step: str, form, case: Case | None, **extra):
    return render_template(
        f"cases/intake_{step}.html", form=form, case=case, steps=STEPS, step=step, **extra
    )


@role_required(Role.party)
def dispute(case_id: int | None = None):
    case = _draft_or_404(case_id) if case_id else None
    form = DisputeForm(obj=case if request.method == "GET" else None)
    form.category.choices = with_prompt(categories.choices())
    form.region_code.choices = regions.choices()
    if request.method == "GET" and case is not None:
        form.region_code.data = regions.province_code(case.region_code)
    if form.validate_on_submit():
        claims = [
            intake.ClaimInput(e.form.text.data or "", e.form.amount.data) for e in form.claims
        ]
        try:
            case = intake.save_dispute(
                case,
                applicant=current_user,
                category=form.category.data,
                title=form.title.data,
                facts=form.facts.data or "",
                region_code=form.region_code.data or None,
                claims=claims,
                for_principal=(form.principal_phone.data or "") if form.as_agent.data else None,
            )
            if form.as_agent.data:
                if not form.principal_name.data or not form.principal_phone.data:
                    raise FieldError(
                        "principal_name",
                        _("Give the name and mobile number of the party you act for."),
                    )
                intake.set_principal(
                    case,
                    agent=current_user,
                    real_name=form.principal_name.data,
                    phone=form.principal_phone.data,
                    id_number=form.principal_id_number.data or None,
                )
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            return redirect(url_for("cases.intake_respondent", case_id=case.id))
    return _page("dispute", form, case)


@role_required(Role.party)
def respondent(case_id: int):
    case = _draft_or_404(case_id)
    form = RespondentForm()
    current = case.party_users(Side.respondent)
    if current and request.method == "GET":
        # Only the number typed: an existing account's registered name is never shown,
        # so the step cannot tell anyone who owns a number.
        form.phone.data = current[0].phone
    if form.validate_on_submit():
        try:
            intake.set_respondent(
                case,
                by=current_user,
                real_name=form.real_name.data,
                phone=form.phone.data,
                id_number=form.id_number.data or None,
            )
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            return redirect(url_for("cases.intake_evidence", case_id=case.id))
    return _page("respondent", form, case)


@role_required(Role.party)
def evidence(case_id: int):
    case = _draft_or_404(case_id)
    form = EvidenceForm()
    if form.validate_on_submit():
        stored = 0
        for upload in request.files.getlist(form.files.name):
            if not upload.filename:
                continue
            try:
                intake.add_evidence(
                    case,
                    by=current_user,
                    filename=upload.filename,
                    data=upload.read(),
                    shared=form.shared.data,
                    kind="power_of_attorney" if form.power_of_attorney.data else "evidence",
                )
            except FieldError as error:
                form.files.errors = [*form.files.errors, error.message]
            else:
                stored += 1
        db.session.commit()  # the files that were fine are kept
        if stored and not form.files.errors:
            flash(_("%(n)d file(s) added.", n=stored), "success")
            return redirect(url_for("cases.intake_evidence", case_id=case.id))
    return _page("evidence", form, case)


def who_mediates(
    case: Case, *, leave_out: set[int] = frozenset(), refused: int | None = None
) -> list[tuple[str, str]]:
    """Whom the applicant may choose to mediate ``case`` (art 10): the platform, a mediator
    by name (one who takes its kind of dispute and may mediate it, art 13), or an
    institution; when choosing again (art 12 para 2), without the mediators in
    ``leave_out`` and the institution that ``refused`` (nor its mediators)."""
    mediators = db.session.scalars(
        select(User)
        .join(MediatorProfile)
        .join(UserRole)
        .where(UserRole.role == Role.mediator, User.active.is_(True))
        .order_by(User.real_name)
    ).all()
    institutions = db.session.scalars(select(Institution).order_by(Institution.name)).all()
    return (
        [("auto", _("Let the platform choose (the nearest available mediator)"))]
        + [
            (
                f"mediator:{m.id}",
                _(
                    "Mediator %(name)s, %(institution)s",
                    name=m.real_name,
                    institution=m.institution.name,
                ),
            )
            for m in mediators
            if takes_kind(case, m)
            and m.id not in leave_out
            and m.institution_id != refused
            and eligible_mediator(case, m)
        ]
        + [
            (f"institution:{i.id}", _("Institution: %(name)s", name=i.name))
            for i in institutions
            if i.id != refused
        ]
    )


def _submitted_message(case: Case) -> str:
    """What happens next, as it really is (SPC online mediation rules arts 10 and 12)."""
    days = ACCEPTANCE_WORKING_DAYS
    if case.mediator is not None:
        return _(
            "Your application was submitted. Mediator %(name)s will say within %(days)d "
            "working days whether they accept it; you will be told by text message.",
            name=case.mediator.real_name,
            days=days,
        )
    if case.institution is not None and waiting_because(case) == "chosen":
        return _(
            "Your application was submitted to %(institution)s, which you chose: it will give "
            "it to one of its mediators; you will be told by text message who it is and when "
            "they accept (usually within %(days)d working days).",
            institution=case.institution.name,
            days=days,
        )
    if case.institution is not None:
        return _(
            "Your application was submitted. No mediator could be picked for it "
            "automatically, so %(institution)s will give it to one of its mediators; you will "
            "be told by text message who it is and when they accept (usually within "
            "%(days)d working days).",
            institution=case.institution.name,
            days=days,
        )
    return _(
        "Your application was submitted. No mediator could be picked for it automatically, "
        "so the platform's administrators will give it to a mediator; you will be told by "
        "text message who it is and when they accept (usually within %(days)d working days).",
        days=days,
    )


def _submitted_already(case_id: int):
    """The applicant's case is no longer a draft: the submission arrived again (a double
    tap, a phone retrying the POST, the back button). Said so, with the case's page,
    rather than "page not found"."""
    case = db.session.get(Case, case_id)
    if (
        case is None
        or case.status == CaseStatus.draft
        or not any(p.user_id == current_user.id and p.side == Side.applicant for p in case.parties)
    ):
        return None
    if case.status == CaseStatus.submitted:
        # Nothing happened since: most often the second of two taps, whose answer is the
        # one the person sees. It says what the first would have said: what comes next.
        flash(_submitted_message(case), "success")
    else:
        flash(_("Your application was already submitted: here is your case."), "info")
    return redirect(url_for("cases.case_detail", case_id=case.id))


@role_required(Role.party)
def submit(case_id: int):
    already = _submitted_already(case_id)
    if already is not None:
        return already
    case = _draft_or_404(case_id)
    form = SubmitForm()
    form.choice.choices = who_mediates(case)
    if form.validate_on_submit():
        kind, _sep, ident = form.choice.data.partition(":")
        try:
            intake.submit(
                case,
                by=current_user,
                consent=form.consent.data,
                service_address=form.service_address.data,
                service_confirmed=form.service_confirmed.data,
                mediator_id=int(ident) if kind == "mediator" else None,
                institution_id=int(ident) if kind == "institution" else None,
            )
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        except StaleDataError:
            # The same submission sent twice at once: the other one went through.
            db.session.rollback()
            already = _submitted_already(case_id)
            if already is None:
                raise
            return already
        else:
            db.session.commit()
            flash(_submitted_message(case), "success")
            return redirect(url_for("cases.case_detail", case_id=case.id))
    return _page("submit", form, case, region_name=regions.name)


@login_required
def evidence_file(case_id: int, evidence_id: int):
    """A party sees their own files and what the other side shared; staff see all."""
    case = viewable_case(case_id, current_user)
    item = db.session.get(Evidence, evidence_id)
    if case is None or item is None or item.case_id != case.id:
        abort(404)
    if not may_see_evidence(item, current_user, case):
        abort(404)
    response = send_stored(
        content_key(item.sha256),
        sha256=item.sha256,
        size=item.size,
        mimetype=item.content_type,
        download_name=download_name(item.kind, case.number, item.id, mimetype=item.content_type),
        as_attachment=request.args.get("download") == "1",
        max_age=None,
    )  # range requests too, for large PDFs on weak networks
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
