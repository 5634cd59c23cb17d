"""HTTP handlers of the assignment queue: the cases waiting for a mediator, and giving one
to a mediator (SPC online mediation rules arts 10 and 12; the rules are in assignment.py)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError

from mediation.accounts.models import Role, User
from mediation.core.access import role_required
from mediation.core.db import utcnow
from mediation.extensions import db

from . import assignment, clocks, matching, workflow
from .models import Case


@role_required(Role.platform_admin, Role.institution_admin)
def assignment_queue():
    if not assignment.may_manage_queue(current_user):
        abort(403)  # an institution administrator without an institution
    cases = assignment.queued_cases(current_user)
    return render_template(
        "cases/queue.html",
        cases=cases,
        mediators={case.id: assignment.mediators_for(current_user, case) for case in cases},
        load=matching.open_caseload(),
        why={case.id: assignment.waiting_because(case) for case in cases},
        form=FlaskForm(),
        now=utcnow(),
    )


@role_required(Role.platform_admin, Role.institution_admin)
def give_case(case_id: int):
    case = db.session.get(Case, case_id)
    # Another institution's case is not there for this administrator (as on the case page).
    if case is None or not assignment.may_manage_queue(current_user, case):
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    mediator = db.session.get(User, request.form.get("mediator_id", type=int) or 0)
    if mediator is None:
        flash(_("Choose a mediator from the list."), "error")
        return redirect(url_for("cases.assignment_queue"))
    try:
        assignment.give(case, mediator=mediator, by=current_user)
    except workflow.NotPermittedError:
        db.session.rollback()
        abort(403)
    except workflow.TransitionError as error:
        db.session.rollback()
        flash(str(error), "error")
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone else changed this case at the same time. Please try again."), "error")
    else:
        db.session.commit()
        flash(
            _(
                "%(number)s now goes to %(name)s, who has been told and has %(days)d working "
                "days to accept it.",
                number=case.number,
                name=mediator.real_name,
                days=clocks.ACCEPTANCE_WORKING_DAYS,
            ),
            "success",
        )
    return redirect(url_for("cases.assignment_queue"))
