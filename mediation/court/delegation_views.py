"""The court portal's delegations: clerks and judges delegate a dispute before filing it,
follow each, and download the art 21 record of a failed one (court/delegation.py)."""

from __future__ import annotations

from io import BytesIO

from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from mediation.accounts.forms import REQUIRED, Phone
from mediation.accounts.models import Institution, Role
from mediation.cases import categories
from mediation.cases.labels import STATUS_NAMES as CASE_STATUS_NAMES
from mediation.cases.referral import referral_pdf
from mediation.cases.workflow import TransitionError
from mediation.core.access import role_required
from mediation.core.downloads import download_name
from mediation.core.forms import Cents, FieldError, apply_field_error, with_prompt
from mediation.extensions import db

from . import delegation, steps
from .labels import DELEGATION_STATUS_NAMES
from .models import Delegation, DelegationStatus


class DelegationForm(FlaskForm):
    """One applicant and one respondent; the court API takes several of each."""

    reference = StringField(
        _l("The court's reference"),
        validators=[DataRequired(REQUIRED), Length(max=60)],
        description=_l("For example: (2026) Su 0102 Min Su Qian Tiao No. 1"),
    )
    category = SelectField(
        _l("Kind of dispute"),
        choices=[],
        validators=[DataRequired(_l("Choose one of the dispute categories."))],
    )
    title = StringField(
        _l("The dispute in a few words"), validators=[DataRequired(REQUIRED), Length(max=200)]
    )
    facts = TextAreaField(_l("What happened"), validators=[Length(max=10000)])
    applicant_name = StringField(
        _l("Applicant's name"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    applicant_phone = StringField(
        _l("Applicant's mobile number"), validators=[DataRequired(REQUIRED), Phone()]
    )
    applicant_address = StringField(
        _l("Applicant's address for documents"), validators=[Length(max=300)]
    )
    respondent_name = StringField(
        _l("Respondent's name"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    respondent_phone = StringField(
        _l("Respondent's mobile number"), validators=[DataRequired(REQUIRED), Phone()]
    )
    claim = StringField(_l("What the applicant asks for"), validators=[Length(max=500)])
    amount = DecimalField(
        _l("Amount in yuan (if any)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=10**11), Cents()],
        render_kw={"inputmode": "decimal"},
    )
    days = IntegerField(
        _l("Mediation period in days"),
        default=delegation.DEFAULT_DAYS,
        # InputRequired, not DataRequired: 0 is a number typed in, which the range answers.
        validators=[InputRequired(REQUIRED), NumberRange(min=1, max=delegation.MAX_DAYS)],
        description=_l(
            "30 days unless the parties agreed otherwise (SPC online mediation rules art 24)."
        ),
    )
    institution_id = SelectField(_l("Institution"), choices=[], coerce=int)


class DesignateForm(FlaskForm):
    """Another institution for a delegated dispute the chosen one did not take on (SPC
    online mediation rules art 12 para 2). Shown once per such row, each with its own id."""

    institution_id = SelectField(_l("Designate instead"), choices=[], coerce=int)


def _court():
    return steps.court_of(current_user) or abort(403)


def _form() -> DelegationForm:
    form = DelegationForm()
    form.category.choices = with_prompt(categories.choices())
    form.institution_id.choices = _institution_choices()
    return form


def _institution_choices() -> list[tuple[int, str]]:
    institutions = db.session.scalars(select(Institution).order_by(Institution.name))
    return [(0, _("Assign automatically"))] + [(i.id, i.name) for i in institutions]


def _input(form: DelegationForm) -> delegation.DelegationInput:
    claims = []
    if (form.claim.data or "").strip():
        claims.append(delegation.ClaimInput(form.claim.data, form.amount.data))
    return delegation.DelegationInput(
        reference=form.reference.data,
        category=form.category.data,
        title=form.title.data,
        facts=form.facts.data or "",
        applicants=[
            delegation.PartyInput(
                form.applicant_name.data,
                form.applicant_phone.data,
                address=form.applicant_address.data or "",
            )
        ],
        respondents=[delegation.PartyInput(form.respondent_name.data, form.respondent_phone.data)],
        claims=claims,
        days=form.days.data,
        institution_id=form.institution_id.data or None,
    )


def _done(made: Delegation) -> str:
    """What the clerk just did, said once the page reloads with a blank form: the court's
    reference, the platform's case number, and who mediates it (chosen by the court, SPC
    online mediation rules art 10, or picked by the platform)."""
    case = made.case
    if case.institution is not None:
        return _(
            "Delegated: the dispute %(reference)s is case %(number)s, mediated by %(institution)s.",
            reference=made.reference,
            number=case.number,
            institution=case.institution.name,
        )
    return _(
        "Delegated: the dispute %(reference)s is case %(number)s; the platform's "
        "administrators will choose the institution that mediates it.",
        reference=made.reference,
        number=case.number,
    )


@role_required(Role.court_clerk, Role.judge)
def delegations():
    court = _court()
    form = _form()
    if form.validate_on_submit():
        try:
            made = delegation.delegate(court, _input(form))
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            flash(_done(made), "success")
            return redirect(url_for("court.delegations"))
    found = db.session.scalars(
        select(Delegation).where(Delegation.court_id == court.id).order_by(Delegation.id.desc())
    ).all()
    return render_template(
        "court/delegations.html",
        court=court,
        form=form,
        delegations=found,
        statuses=DELEGATION_STATUS_NAMES,
        # Where the case stands in the platform's flow (accepted, the respondent asked,
        # signed, confirmed...): the court follows its dispute, as the API's case_status.
        case_statuses=CASE_STATUS_NAMES,
        failed=DelegationStatus.failed,
        # Waiting for the court (art 12 para 2): shown first, each with its own form.
        lapsed=[d for d in found if delegation.may_designate_again(d)],
        designate_form=DesignateForm(formdata=None),
        institutions=_institution_choices(),
    )


@role_required(Role.court_clerk, Role.judge)
def designate(delegation_id: int):
    """Art 12 para 2: the clerk or judge designates another institution for a dispute the
    chosen one did not take on, or leaves the choice to the platform."""
    court = _court()
    found = db.session.scalar(
        select(Delegation).where(Delegation.id == delegation_id, Delegation.court_id == court.id)
    )
    if found is None:
        abort(404)
    form = DesignateForm()
    form.institution_id.choices = _institution_choices()
    if not form.validate_on_submit():
        flash(_("Choose an institution from the list."), "error")
        return redirect(url_for("court.delegations"))
    chosen = form.institution_id.data or None
    try:
        delegation.designate_again(found, chosen, by=current_user)
    except FieldError as error:
        db.session.rollback()
        flash(error.message, "error")
    except delegation.DesignationRefused as refused:
        # What happened meanwhile, and when; the clerk's own designation pressed again is
        # said as done.
        db.session.rollback()
        flash(str(refused), "info" if refused.repeats(current_user, chosen) else "error")
    except (TransitionError, StaleDataError) as error:
        # Someone (another clerk, the worker, the institution) moved the case meanwhile.
        db.session.rollback()
        refused = delegation.designation_refusal(found)
        if refused is not None:
            flash(str(refused), "error")
        elif isinstance(error, StaleDataError):
            flash(_("The dispute changed meanwhile. Here it is as it is now."), "error")
        else:
            flash(str(error), "error")
    else:
        db.session.commit()
        case = found.case
        if case.institution is not None:
            done = _(
                "Designated: the dispute %(reference)s (case %(number)s) went to "
                "%(institution)s, which accepts it or not within 3 working days.",
                reference=found.reference,
                number=case.number,
                institution=case.institution.name,
            )
        else:
            done = _(
                "The dispute %(reference)s (case %(number)s) is left to the platform's "
                "administrators, who give it to an institution.",
                reference=found.reference,
                number=case.number,
            )
        flash(done, "success")
    return redirect(url_for("court.delegations", _anchor=f"delegation-{found.id}"))


@role_required(Role.court_clerk, Role.judge)
def failure_record(delegation_id: int):
    court = _court()
    found = db.session.scalar(
        select(Delegation).where(Delegation.id == delegation_id, Delegation.court_id == court.id)
    )
    if found is None:
        abort(404)
    pdf = (
        referral_pdf(found.case, by=current_user)
        if found.status == DelegationStatus.failed
        else None
    )
    if pdf is None:
        flash(_("There is no failure record for this delegation yet."), "error")
        return redirect(url_for("court.delegations"))
    db.session.commit()  # the journal notes who took it, once per file (cases/referral.py)
    return send_file(
        BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=download_name(
            "referral", found.case.number, found.id, mimetype="application/pdf"
        ),
    )
