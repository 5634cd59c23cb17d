"""HTTP handlers of agency (see ``agency.py``): the party's link, the mediator's check."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from mediation.accounts import personal_links
from mediation.extensions import db, limiter

from . import agency
from .models import CaseParty
from .operations import viewable_case
from .states import FINAL_STATUSES


@limiter.limit("30 per minute", methods=["POST"])
@limiter.limit(
    lambda: current_app.config["CODE_SEND_LIMIT"],
    methods=["POST"],
    exempt_when=lambda: request.form.get("action") != "send",
)
def agency_link(token: str):
    """The link in the party's text message: who says they act for them, confirm or refuse
    (after a code, for a party not logged in)."""
    agent = agency.of_link(token)
    principal = agency.principal_row(agent.case, agent) if agent is not None else None
    if principal is None:
        if not agency.is_genuine_link(token):
            abort(404)
        # A link the platform sent, whose agent has left the case since: refused by the
        # party (perhaps from this very link, opened again) or withdrawn. Said plainly, and
        # nothing of the case: whoever holds the link may not be the party.
        return personal_links.gone(
            _("This link no longer applies: this person no longer acts in the case.")
        )
    case = agent.case
    if not (current_user.is_authenticated and current_user.id == principal.user_id):
        return personal_links.enter(
            principal.user,
            case_id=case.id,
            target=request.path,
            via="agency link",
            title=_("Your agent in case %(number)s", number=case.number),
        )
    form = FlaskForm()
    if request.method == "POST" and form.validate_on_submit():
        choice = request.form.get("choice")
        if choice == "confirm":
            agency.confirm(agent, by=current_user)
            flash(_("You confirmed %(name)s as your agent.", name=agent.user.real_name), "success")
        elif choice == "refuse":
            agency.refuse(agent, by=current_user)
            flash(
                _("%(name)s no longer acts for you in this case.", name=agent.user.real_name),
                "info",
            )
        else:
            abort(400)
        db.session.commit()
        return redirect(url_for("cases.case_detail", case_id=case.id))
    return render_template(
        "cases/agency.html",
        case=case,
        agent=agent,
        form=form,
        case_over=case.status in FINAL_STATUSES,
    )


@login_required
def confirm_agent(case_id: int, party_id: int):
    """The mediator checked the power of attorney and the party on camera."""
    case = viewable_case(case_id, current_user) or abort(404)
    if case.mediator_id != current_user.id:
        abort(403)  # the party confirms from their own link
    if not FlaskForm().validate_on_submit():
        abort(400)
    agent = db.session.get(CaseParty, party_id)
    if agent is None or agent.case_id != case.id or not agent.is_agent:
        # The case page was open while the party refused this agent (agency.refuse): the
        # row is gone, and the mediator is told why there is nothing to confirm.
        flash(_("This person no longer acts in the case: the party refused them."), "error")
        return redirect(url_for("cases.case_detail", case_id=case.id))
    try:
        agency.confirm(agent, by=current_user)
    except agency.AgencyError as error:
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The agent is confirmed."), "success")
    return redirect(url_for("cases.case_detail", case_id=case.id))
