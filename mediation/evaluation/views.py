"""The evaluation page: public, read-only, answered from the query string."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from mediation.accounts.models import Role
from mediation.cases import categories, regions
from mediation.core.access import role_required
from mediation.core.forms import FieldError, with_prompt
from mediation.extensions import db

from . import counts, durations, fees, operations, outcomes
from .forms import EvaluationForm


def _form(data) -> EvaluationForm:
    form = EvaluationForm(data)
    form.category.choices = with_prompt(categories.choices())
    form.region_code.choices = regions.choices()
    return form


def evaluate():
    form = _form(request.args)
    estimate = similar = None
    if request.args and form.validate():
        estimate = fees.estimate(form.amount.data, form.category.data)
        similar = outcomes.similar(
            form.category.data, form.amount.data, form.region_code.data or None
        )
        # Counted for the statistics page, without the amount or who asked (models.py),
        # once per browser and answer a day: a reload is not another evaluation (counts.py).
        if counts.asked(form.category.data, form.region_code.data or None, form.amount.data):
            db.session.commit()
    return render_template(
        "evaluation/index.html",
        form=form,
        estimate=estimate,
        similar=similar,
        limits=durations.LIMITS,
        min_group=outcomes.MIN_GROUP,
    )


@role_required(Role.party)  # disputes are filed from a party's account (cases.intake_views)
def to_case():
    """The evaluated claim becomes the person's draft case, with one button."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    form = _form(request.form)
    if not form.validate():
        return redirect(url_for("evaluation.evaluate"))
    try:
        case = operations.to_case(
            current_user,
            category=form.category.data,
            amount=form.amount.data,
            region_code=form.region_code.data or None,
        )
    except FieldError as error:  # the category was withdrawn since the page was shown
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("evaluation.evaluate"))
    db.session.commit()
    flash(
        _("A draft case was made with the amount you evaluated. Check it and complete it."),
        "success",
    )
    return redirect(url_for("cases.intake_dispute", case_id=case.id))
