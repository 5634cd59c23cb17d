"""Administrators' pages: institutions, courts and staff accounts; an institution's roster."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mediation.cases import assignment, categories, matching, workflow
from mediation.cases.models import Case
from mediation.cases.states import OPEN_STATUSES
from mediation.core.access import role_required
from mediation.core.db import utcnow
from mediation.core.forms import apply_field_error, listed
from mediation.court import keys
from mediation.extensions import db

from . import operations as ops
from .forms import CourtForm, InstitutionForm, MediatorForm, StaffForm
from .labels import COURT_LEVEL_NAMES, ROLE_NAMES
from .models import Court, Institution, MediatorProfile, Role, User

# -- an institution administrator's roster -----------------------------------------------


def _own_institution() -> Institution:
    if current_user.institution is None:
        abort(403)
    return current_user.institution


@role_required(Role.institution_admin)
def institution_home():
    institution = _own_institution()
    mediators = db.session.scalars(
        select(User)
        .join(MediatorProfile)
        .where(User.institution_id == institution.id)
        .order_by(User.real_name)
    ).all()
    cases = db.session.scalars(
        select(Case)
        .where(Case.institution_id == institution.id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.acceptance_due_at.is_(None), Case.acceptance_due_at, Case.id)
    ).all()
    return render_template(
        "accounts/institution.html",
        institution=institution,
        mediators=mediators,
        load=matching.open_caseload(),
        cases=cases,
        reassign_form=FlaskForm(),
        now=utcnow(),
    )


@role_required(Role.institution_admin)
def reassign_case(case_id: int):
    institution = _own_institution()
    case = db.session.get(Case, case_id)
    mediator = db.session.get(User, request.form.get("mediator_id", type=int) or 0)
    if case is None or case.institution_id != institution.id or mediator is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        try:
            assignment.reassign_by_institution(case, mediator=mediator, by=current_user)
        except workflow.NotPermittedError:
            db.session.rollback()
            abort(403)
        except workflow.TransitionError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(
                _("%(number)s now goes to %(name)s.", number=case.number, name=mediator.real_name),
                "success",
            )
    return redirect(url_for("accounts.institution_home"))


@role_required(Role.institution_admin)
def add_mediator():
    institution = _own_institution()
    form = MediatorForm()
    form.categories.choices = categories.choices()
    if form.validate_on_submit():
        profile = {
            "specialities": form.specialities.data or "",
            "categories": list(form.categories.data or []),
            "languages": listed(form.languages.data),
            "charges_fee": form.charges_fee.data,
            "fee_note": form.fee_note.data or "",
        }
        try:
            user = ops.create_staff(
                role=Role.mediator,
                institution_id=institution.id,
                profile=profile,
                **form.identity(),
            )
        except ops.FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s was added to the roster.", name=user.real_name), "success")
            return redirect(url_for("accounts.institution_home"))
    return render_template(
        "accounts/form_page.html",
        form=form,
        title=_("Add a mediator"),
        intro=_("The mediator receives a code by text message to choose a password."),
        submit=_("Add to the roster"),
    )


# -- the platform administrator ----------------------------------------------------------


@role_required(Role.platform_admin)
def admin_home():
    users = db.session.scalars(select(User).order_by(User.id)).all()
    institutions = db.session.scalars(select(Institution).order_by(Institution.name)).all()
    courts = db.session.scalars(select(Court).order_by(Court.name)).all()
    return render_template(
        "accounts/admin.html", users=users, institutions=institutions, courts=courts
    )


@role_required(Role.platform_admin)
def new_institution():
    form = InstitutionForm()
    if form.validate_on_submit():
        try:
            ops.create_institution(
                name=form.name.data,
                region_code=form.region_code.data,
                address=form.address.data,
                street_code=form.street_code.data or None,
            )
        except ops.FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            flash(_("The institution was created."), "success")
            return redirect(url_for("accounts.admin_home"))
    return render_template(
        "accounts/form_page.html", form=form, title=_("New institution"), submit=_("Create")
    )


@role_required(Role.platform_admin)
def new_court():
    form = CourtForm()
    form.level.choices = [(level.value, str(name)) for level, name in COURT_LEVEL_NAMES.items()]
    if form.validate_on_submit():
        try:
            ops.create_court(
                name=form.name.data,
                level=form.level.data,
                region_code=form.region_code.data,
                address=form.address.data or "",
            )
        except ops.FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            flash(_("The court was created."), "success")
            return redirect(url_for("accounts.admin_home"))
    return render_template(
        "accounts/form_page.html", form=form, title=_("New court"), submit=_("Create")
    )


@role_required(Role.platform_admin)
def court_roots(court_id: int):
    """The court's own trust roots: the rulings it signs are checked against them
    (mediation/court/keys.py). Uploading replaces them; removing returns the court to the
    built-in demonstration seal outside production, and to no ruling in production."""
    court = db.session.get(Court, court_id) or abort(404)
    form = FlaskForm()
    error = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if request.form.get("action") == "remove":
            keys.clear_roots(court)
            db.session.commit()
            flash(_("The court's root certificates were removed."), "success")
            return redirect(url_for("accounts.court_roots", court_id=court.id))
        upload = request.files.get("roots")
        try:
            keys.set_roots(court, upload.stream.read(keys.MAX_ROOTS_BYTES + 1) if upload else b"")
        except ops.FieldError as problem:
            db.session.rollback()
            error = problem.message
        else:
            db.session.commit()
            flash(_("The court's root certificates are saved."), "success")
            return redirect(url_for("accounts.court_roots", court_id=court.id))
    return render_template(
        "accounts/court_roots.html",
        court=court,
        form=form,
        roots=keys.roots_of(court),
        mode=keys.mode(court),
        fingerprint=keys.fingerprint,
        display_name=keys.display_name,
        error=error,
    ), 422 if error else 200  # fmt: skip


@role_required(Role.platform_admin)
def new_staff():
    form = StaffForm()
    form.role.choices = [(role.value, str(name)) for role, name in ROLE_NAMES.items()]
    none = (0, "—")
    form.institution_id.choices = [none] + [
        (i.id, i.name) for i in db.session.scalars(select(Institution).order_by(Institution.name))
    ]
    form.court_id.choices = [none] + [
        (c.id, c.name) for c in db.session.scalars(select(Court).order_by(Court.name))
    ]
    if form.validate_on_submit():
        try:
            user = ops.create_staff(
                role=Role(form.role.data),
                institution_id=form.institution_id.data or None,
                court_id=form.court_id.data or None,
                area_code=form.area_code.data or None,
                **form.identity(),
            )
        except ops.FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "%(name)s can now choose a password with the code sent to them.",
                    name=user.real_name,
                ),
                "success",
            )
            return redirect(url_for("accounts.admin_home"))
    return render_template(
        "accounts/form_page.html",
        form=form,
        title=_("New account"),
        intro=_("The person receives a code by text message to choose a password."),
        submit=_("Create"),
    )
