"""HTTP handlers of the participants' side: the personal join link (and the times to choose
from, when several were offered), the device check, entering the room, "my sessions", a
party's consent to separate sessions, and a session's .ics."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm

from mediation.accounts import operations as accounts
from mediation.accounts import personal_links
from mediation.accounts.forms import CodeForm, SendCodeForm
from mediation.accounts.models import CodePurpose
from mediation.cases.models import Case
from mediation.cases.operations import viewable_case
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.i18n import format_when, user_zone
from mediation.extensions import db, limiter

from . import calendar, ics, links, notices, offers
from . import operations as booking
from .forms import ChooseForm
from .models import MediationSession, SessionParticipant, SessionStatus

REFUSAL_STATUS = {
    links.Refusal.invalid: 404,
    links.Refusal.chosen_elsewhere: 410,
    links.Refusal.cancelled: 410,
    links.Refusal.expired: 410,
    links.Refusal.not_acting: 410,
}


def _viewer():
    return current_user if current_user.is_authenticated else None


def _checked(token: str) -> SessionParticipant | Response:
    result = links.check(token, _viewer())
    if result.refusal is None:
        return result.participant
    if result.refusal == links.Refusal.other_person:
        # As every personal link answers someone else logged in: only the way out.
        return personal_links.someone_else(url_for("booking.join", token=token))
    instead = result.instead
    if instead is not None and _is_them(instead):
        # Logged in as the person: on to their place in the session the parties fixed. A
        # visitor who is not logged in is only told the time: the old link must not lead to
        # the newest one, which the mediator may have sent again to shut out other hands.
        when = format_when(instead.session.start_at, user_zone(instead.user))
        flash(
            _("Another of the times offered was chosen: the session is on %(when)s.", when=when),
            "info",
        )
        return redirect(url_for("booking.join", token=links.token_for(instead)))
    page = render_template(
        "booking/link_refused.html",
        refusal=result.refusal,
        participant=result.participant,
        instead=instead,
        zone=user_zone(result.participant.user) if result.participant else None,
    )
    return Response(page, status=REFUSAL_STATUS[result.refusal])


def _is_them(participant: SessionParticipant) -> bool:
    """Whether the visitor has shown they are the participant: logged in as them (with a
    password, or with the code sent to their phone from this page)."""
    return current_user.is_authenticated and current_user.id == participant.user_id


@limiter.limit("60 per minute")
@personal_links.limited
def join(token: str):
    participant = _checked(token)
    if isinstance(participant, Response):
        return participant
    if request.method == "POST":
        # Only someone else logged in here posts to the link (to log out and go on).
        return redirect(url_for("booking.join", token=token))
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
        verified=_is_them(participant),
        by_code=links.may_enter_by_code(participant.user),
        code_form=CodeForm(),
        send_form=SendCodeForm(),
        open_now=links.open_now(participant),
        offered=offered,
        form=form,
        zone=user_zone(participant.user),
        starts_soon=participant.session.start_at - utcnow() < timedelta(hours=3),
    )


@limiter.limit(lambda: current_app.config["CODE_SEND_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["CODE_SEND_LIMIT"],
    methods=["POST"],
    key_func=lambda: "session-link:" + (request.view_args or {}).get("token", ""),
)
def send_code(token: str):
    """Send the participant's phone a code; entering it on the link's page is the proof
    that the link is in the right hands (a forwarded link alone is not enough)."""
    participant = _checked(token)
    if isinstance(participant, Response):
        return participant
    if SendCodeForm().validate_on_submit() and links.may_enter_by_code(participant.user):
        accounts.ask_for_code(participant.user, CodePurpose.invitation_login)
        db.session.commit()
        flash(_("A code has been sent to %(phone)s.", phone=participant.user.phone_masked), "info")
    return redirect(url_for("booking.join", token=token))


@limiter.limit("10 per minute", methods=["POST"])
def verify(token: str):
    participant = _checked(token)
    if isinstance(participant, Response):
        return participant
    form = CodeForm()
    if not links.may_enter_by_code(participant.user):
        abort(403)
    if form.validate_on_submit():
        try:
            user = links.enter_by_code(participant, form.code.data.strip())
        except FieldError as error:
            db.session.commit()  # the failed attempt is counted
            flash(error.message, "error")
        else:
            db.session.commit()
            login_user(user)
            return redirect(url_for("booking.join", token=token))
    else:
        flash(_("The code has 6 digits."), "error")
    return redirect(url_for("booking.join", token=token))


def choose(token: str):
    participant = _checked(token)
    if isinstance(participant, Response):
        return participant
    if not _is_them(participant):
        flash(_("Please confirm it is you with the code sent to your phone."), "error")
        return redirect(url_for("booking.join", token=token))
    offered = booking.offered_with(participant.session)
    form = ChooseForm()
    form.chosen.choices = [(s.id, s.id) for s in offered]
    if not form.validate():
        flash(_("Choose among the times offered."), "error")
        return redirect(url_for("booking.join", token=token))
    try:
        fixed = offers.choose(participant.user, participant.session, set(form.chosen.data))
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
    """The join button, for the participant the link is for."""
    participant = _checked(token)
    if isinstance(participant, Response):
        return participant
    if not FlaskForm().validate():
        abort(400)
    if not _is_them(participant):
        flash(_("Please confirm it is you with the code sent to your phone."), "error")
        return redirect(url_for("booking.join", token=token))
    if not links.open_now(participant):
        flash(_("The room opens 15 minutes before the session starts."), "info")
        return redirect(url_for("booking.join", token=token))
    return redirect(url_for("rooms.room", session_id=participant.session_id))


@login_required
def my_sessions():
    now = utcnow()
    # A seat kept as a record, of an agent the party refused since, is not theirs to enter
    # (links.seat_holds).
    mine = [p for p in calendar.of_user(current_user.id, now=now) if links.seat_holds(p)]
    return render_template(
        "booking/my_sessions.html",
        participations=[p for p in mine if p.session.status != SessionStatus.cancelled],
        # A time offered that the parties did not choose was never a session of theirs: it
        # is not listed as cancelled (the one chosen is listed above).
        cancelled=[
            p
            for p in mine
            if p.session.status == SessionStatus.cancelled
            and links.fixed_instead(p.session) is None
        ],
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
    mine = meeting and next((p for p in meeting.participants if p.user_id == current_user.id), None)
    if mine is None or not links.seat_holds(mine):
        abort(404)
    if meeting.status == SessionStatus.offered:
        abort(404)  # not a fixed time: nothing to put in a calendar yet
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


PING_MAX_BYTES = 1_000_000


@limiter.limit("30 per minute")
def ping(token: str):
    """The device check's network test, for holders of a valid link: a payload to time
    downloads, and uploads (at most 1 MB) counted and dropped."""
    participant = _checked(token)
    if isinstance(participant, Response):
        return participant
    if request.method == "POST":
        if (request.content_length or 0) > PING_MAX_BYTES:
            abort(413)
        return {"received": len(request.get_data())}
    size = min(max(request.args.get("bytes", 1, type=int), 1), PING_MAX_BYTES)
    return Response(
        b"0" * size, mimetype="application/octet-stream", headers={"Cache-Control": "no-store"}
    )
