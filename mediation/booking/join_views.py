"""HTTP handlers of the participants' side: the personal join link (and the times to choose
from, when several were offered), the device check, entering the room, "my sessions", a
party's consent to separate sessions, and a session's .ics."""

from __future__ import annotations

import base64

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from mediation.cases.models import Case
from mediation.cases.operations import viewable_case
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.i18n import user_zone
from mediation.extensions import db, limiter

from . import calendar, ics, links, notices
from . import operations as booking
from .forms import ChooseForm
from .models import MediationSession, SessionParticipant, SessionStatus

ROOM_PASSES = "room_passes"  # session key: {session id: participant id} from join links

REFUSAL_STATUS = {
    links.Refusal.invalid: 404,
    links.Refusal.cancelled: 410,
    links.Refusal.expired: 410,
    links.Refusal.other_person: 403,
}


def _viewer():
    return current_user if current_user.is_authenticated else None


def _checked(token: str) -> SessionParticipant | Response:
    result = links.check(token, _viewer())
    if result.refusal is None:
        return result.participant
    page = render_template(
        "booking/link_refused.html",
        refusal=result.refusal,
        participant=result.participant,
        zone=user_zone(result.participant.user) if result.participant else None,
    )
    return Response(page, status=REFUSAL_STATUS[result.refusal])


@limiter.limit("60 per minute")
def join(token: str):
    participant = _checked(token)
    if isinstance(participant, Response):
        return participant
    offered = booking.offered_with(participant.session)
    form = ChooseForm(formdata=None)
    form.chosen.choices = [(s.id, s.id) for s in offered]
    form.chosen.data = [
        s.id
        for s in offered
        for p in s.participants
        if p.user_id == participant.user_id and p.confirmed_at
    ]
    return render_template(
        "booking/join.html",
        participant=participant,
        session=participant.session,
        token=token,
        open_now=links.open_now(participant),
        offered=offered,
        form=form,
        zone=user_zone(participant.user),
        when=notices.when,
    )


def choose(token: str):
    participant = _checked(token)
    if isinstance(participant, Response):
        return participant
    offered = booking.offered_with(participant.session)
    form = ChooseForm()
    form.chosen.choices = [(s.id, s.id) for s in offered]
    if not form.validate():
        flash(_("Choose among the times offered."), "error")
        return redirect(url_for("booking.join", token=token))
    try:
        fixed = booking.choose(participant.user, participant.session, set(form.chosen.data))
    except (FieldError, NotPermittedError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("booking.join", token=token))
    db.session.commit()
    if fixed is None:
        flash(_("Thank you. The session is fixed once every party has chosen."), "success")
        return redirect(url_for("booking.join", token=token))
    flash(_("Everyone can attend: the session is fixed. Details were sent to you."), "success")
    mine = next(p for p in fixed.participants if p.user_id == participant.user_id)
    return redirect(url_for("booking.join", token=links.token_for(mine)))


def device_check(token: str):
    participant = _checked(token)
    if isinstance(participant, Response):
        return participant
    return render_template("booking/device_check.html", participant=participant, token=token)


def enter(token: str):
    """The join button: a pass for this one session, then the room."""
    participant = _checked(token)
    if isinstance(participant, Response):
        return participant
    if not FlaskForm().validate():
        abort(400)
    if not links.open_now(participant):
        flash(_("The room opens 15 minutes before the session starts."), "info")
        return redirect(url_for("booking.join", token=token))
    passes = dict(session.get(ROOM_PASSES, {}))
    passes[str(participant.session_id)] = participant.id
    session[ROOM_PASSES] = passes
    return redirect(url_for("booking.room", session_id=participant.session_id))


def room_participant(session_id: int) -> SessionParticipant | None:
    """Who is entering the room of ``session_id``: the logged-in user if they take part, or
    else the holder of a pass from their join link; only while the room is open. The rooms
    feature authenticates its socket connections the same way."""
    meeting = db.session.get(MediationSession, session_id)
    if meeting is None:
        return None
    pass_id = session.get(ROOM_PASSES, {}).get(str(session_id))
    for participant in meeting.participants:
        if current_user.is_authenticated:
            mine = participant.user_id == current_user.id
        else:
            mine = participant.id == pass_id
        if mine and links.open_now(participant):
            return participant
    return None


def room(session_id: int):
    participant = room_participant(session_id)
    if participant is None:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        abort(403)
    return render_template(
        "booking/room.html", participant=participant, session=participant.session
    )


@login_required
def my_sessions():
    now = utcnow()
    mine = calendar.of_user(current_user.id, now=now)
    return render_template(
        "booking/my_sessions.html",
        participations=[p for p in mine if p.session.status != SessionStatus.cancelled],
        cancelled=[p for p in mine if p.session.status == SessionStatus.cancelled],
        token_for=links.token_for,
        open_now=links.open_now,
        when=notices.when,
    )


@login_required
def separate_sessions(case_id: int):
    case: Case = viewable_case(case_id, current_user) or abort(404)
    if not FlaskForm().validate():
        abort(400)
    try:
        booking.consent_to_separate_sessions(case, current_user, request.form.get("consent") == "1")
    except NotPermittedError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
    return redirect(url_for("cases.case_detail", case_id=case.id))


@login_required
def session_ics(session_id: int):
    """A participant's copy of the invitation, to add the session to a calendar by hand."""
    meeting = db.session.get(MediationSession, session_id)
    if meeting is None or current_user.id not in {p.user_id for p in meeting.participants}:
        abort(404)
    ev = ics.event(
        meeting,
        summary=calendar.feed_summary(meeting),
        description=meeting.note,
        location="",
    )
    body = ics.invitation(ev, cancel=meeting.status == SessionStatus.cancelled)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="session-{meeting.id}.ics"'},
    )


@limiter.limit("30 per minute")
def ping():
    """The device check's network test: a payload to time downloads, uploads echoed back."""
    if request.method == "POST":
        return {"received": len(request.get_data())}
    size = min(request.args.get("bytes", 1, type=int), 2_000_000)
    payload = base64.b64encode(b"\0" * (size * 3 // 4))[:size]
    return Response(
        payload, mimetype="application/octet-stream", headers={"Cache-Control": "no-store"}
    )
