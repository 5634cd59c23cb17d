"""Pages of the follow-up feature: thin handlers; the rules are in operations.py. Each
action has its own short page (the obligation, then the form), reached from the case
page's next step, the performance section, the mediator's list or the obligee's text."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mediation.accounts import personal_links
from mediation.accounts.models import Role
from mediation.cases.models import Case
from mediation.core.access import role_required
from mediation.core.forms import FieldError, apply_field_error
from mediation.core.i18n import format_day
from mediation.extensions import db

from . import links
from . import operations as ops
from .forms import ConfirmForm, FollowUpForm
from .models import Obligation


def _obligation_or_404(obligation_id: int) -> tuple[Obligation, Case]:
    obligation = db.session.get(Obligation, obligation_id)
    case = db.session.get(Case, obligation.case_id) if obligation else None
    if case is None or not ops.may_see(current_user, case):
        abort(404)  # never says whether another case's obligation exists
    return obligation, case


def _back(case: Case):
    return redirect(url_for("cases.case_detail", case_id=case.id) + "#performance")


@login_required
def confirm(obligation_id: int):
    """The obligee says the obligation was performed, in full or in part."""
    obligation, case = _obligation_or_404(obligation_id)
    if ops.already_performed(current_user, obligation):
        # The obligee back at the link of an old text message: nothing left to do, and
        # the case page shows what was recorded.
        return _confirmed_already(obligation, case)
    if not ops.may_confirm(current_user, obligation):
        abort(403)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            ops.confirm(obligation, current_user, full=form.how.data == "full", note=form.note.data)
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        except (ops.RepeatedError, ops.NotAllowedError):
            # The same confirmation sent again (or at once from another tab): recorded once.
            db.session.rollback()
            if ops.already_performed(current_user, obligation):
                return _confirmed_already(obligation, case)
            if not ops.may_confirm(current_user, obligation):
                abort(403)
            flash(_("Your confirmation was already recorded."), "info")
            return _back(case)
        else:
            db.session.commit()
            flash(_("Thank you: the performance is recorded."), "success")
            return _back(case)
    page = render_template("followup/confirm.html", form=form, obligation=obligation, case=case)
    return page, 422 if form.errors else 200


def _confirmed_already(obligation: Obligation, case: Case):
    day = format_day(obligation.performed_at)
    flash(
        _(
            "This obligation was already confirmed as performed on %(day)s. There is "
            "nothing more to do.",
            day=day,
        ),
        "info",
    )
    return _back(case)


@login_required
def follow_up(obligation_id: int):
    """The mediator records a call or a visit about an obligation (回访记录)."""
    obligation, case = _obligation_or_404(obligation_id)
    if not ops.may_follow_up(current_user, obligation):
        abort(403)
    form = FollowUpForm()
    if form.validate_on_submit():
        try:
            ops.record(
                obligation,
                current_user,
                kind=form.kind.data,
                result=form.result.data,
                outcome=form.outcome.data,
            )
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        except ops.RepeatedError:
            db.session.rollback()
            flash(_("This follow-up was already recorded."), "info")
            return _back(case)
        else:
            db.session.commit()
            flash(_("The follow-up is recorded."), "success")
            return _back(case)
    page = render_template("followup/record.html", form=form, obligation=obligation, case=case)
    return page, 422 if form.errors else 200


@role_required(Role.mediator)
def missed():
    """The mediator's obligations whose date passed unperformed: whom to follow up."""
    return render_template("followup/missed.html", obligations=ops.missed_for(current_user))


@personal_links.limited
def personal_link(token: str):
    """The obligee's link from the "date missed" text message: on to the confirmation,
    after a code to their phone for a party who is not logged in (one invited by text
    message has no password)."""
    found = links.of_link(token)
    if found is None:
        abort(404)
    obligation, user = found
    return personal_links.enter(
        user,
        case_id=obligation.case_id,
        target=url_for("followup.confirm", obligation_id=obligation.id),
        via="obligation link",
        title=f"{_('Confirm performance')} · {obligation.case.number}",
    )
