"""HTTP handlers of the mediator's side of booking: availability, the week calendar, booking
or offering times for a case, moving and cancelling sessions, the private calendar feed."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mediation.accounts.models import Role, User
from mediation.cases.labels import SIDE_NAMES
from mediation.cases.models import Case
from mediation.cases.operations import can_view, viewable_case
from mediation.cases.views import render_case, turn_away
from mediation.cases.workflow import NotPermittedError
from mediation.core.access import role_required
from mediation.core.db import utcnow
from mediation.core.forms import FieldError, apply_field_error
from mediation.core.i18n import format_when
from mediation.extensions import db

from . import availability, calendar, ics, offers, repeats, slots
from . import operations as booking
from .forms import (
    BookForm,
    CancelForm,
    ExceptionForm,
    GuestForm,
    RescheduleForm,
    RuleForm,
    SettingsForm,
    StartNowForm,
)
from .models import (
    ENDED,
    AvailabilityException,
    AvailabilityRule,
    BookingSettings,
    MediationSession,
    SessionStatus,
)

SEARCH_DAYS = 14


def _availability_page(**forms):
    settings = availability.settings_for(current_user.id)
    forms.setdefault("settings_form", SettingsForm(obj=settings, formdata=None))
    forms.setdefault("rule_form", RuleForm(formdata=None))
    forms.setdefault("exception_form", ExceptionForm(formdata=None))
    rules = db.session.scalars(
        select(AvailabilityRule)
        .where(AvailabilityRule.mediator_id == current_user.id)
        .order_by(AvailabilityRule.weekday, AvailabilityRule.starts)
    ).all()
    today = utcnow().astimezone(ZoneInfo(settings.time_zone)).date()
    exceptions = db.session.scalars(
        select(AvailabilityException)
        .where(
            AvailabilityException.mediator_id == current_user.id,
            AvailabilityException.day >= today,
        )
        .order_by(AvailabilityException.day, AvailabilityException.starts)
    ).all()
    return render_template(
        "booking/availability.html",
        settings=settings,
        rules=rules,
        exceptions=exceptions,
        delete_form=FlaskForm(),
        feed_url=current_app.config["BASE_URL"].rstrip("/")
        + url_for("booking.feed", token=settings.feed_token),
        **forms,
    )


@role_required(Role.mediator)
def availability_page():
    return _availability_page()


@role_required(Role.mediator)
def save_settings():
    form = SettingsForm()
    settings = availability.settings_for(current_user.id)
    if form.validate():
        try:
            availability.update_settings(
                settings,
                time_zone=form.time_zone.data.strip(),
                session_minutes=form.session_minutes.data,
                buffer_minutes=form.buffer_minutes.data or 0,
                min_notice_hours=form.min_notice_hours.data or 0,
                max_sessions_per_day=form.max_sessions_per_day.data,
                holidays_off=form.holidays_off.data,
            )
        except FieldError as error:
            apply_field_error(form, error)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("booking.availability_page"))
    return _availability_page(settings_form=form), 422


@role_required(Role.mediator)
def add_rule():
    form = RuleForm()
    if form.validate():
        try:
            availability.add_rule(
                current_user.id,
                form.weekday.data,
                form.starts.data,
                form.ends.data,
                reception=form.reception.data,
                place=form.place.data or "",
            )
        except FieldError as error:
            apply_field_error(form, error)
        else:
            db.session.commit()
            return redirect(url_for("booking.availability_page"))
    return _availability_page(rule_form=form), 422


@role_required(Role.mediator)
def add_exception():
    form = ExceptionForm()
    if form.validate():
        try:
            availability.add_exception(
                current_user.id,
                form.day.data,
                form.starts.data,
                form.ends.data,
                available=form.available.data == "1",
                note=form.note.data or "",
            )
        except FieldError as error:
            apply_field_error(form, error)
        else:
            db.session.commit()
            return redirect(url_for("booking.availability_page"))
    return _availability_page(exception_form=form), 422


@role_required(Role.mediator)
def remove_entry(kind: str, entry_id: int):
    model = {"rules": AvailabilityRule, "exceptions": AvailabilityException}.get(kind)
    if model is None or not FlaskForm().validate():
        abort(400)
    if not availability.remove(model, current_user.id, entry_id):
        abort(404)
    db.session.commit()
    return redirect(url_for("booking.availability_page"))


@role_required(Role.mediator)
def renew_feed():
    if not FlaskForm().validate():
        abort(400)
    availability.renew_feed_token(availability.settings_for(current_user.id))
    db.session.commit()
    flash(_("Your calendar has a new address; the old one no longer works."), "success")
    return redirect(url_for("booking.availability_page"))


@role_required(Role.mediator)
def week_calendar():
    settings = availability.settings_for(current_user.id)
    zone = ZoneInfo(settings.time_zone)
    today = utcnow().astimezone(zone).date()
    try:
        shown = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        shown = today
    if abs((shown - today).days) > 3660:  # ten years either way: beyond is a typing error
        shown = today
    week = calendar.week_of(current_user.id, shown, zone, now=utcnow())
    db.session.commit()  # the settings row may have been created
    return render_template("booking/calendar.html", week=week, zone=zone, settings=settings)


RECEPTION_DAYS = 14


def reception():
    """Public: when mediators receive the public (接待日), so anyone can come or call."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    today = utcnow().astimezone(zone).date()
    return render_template(
        "booking/reception.html", times=calendar.reception_times(today, RECEPTION_DAYS)
    )


def feed(token: str):
    """The mediator's sessions as a calendar to subscribe to; the URL is the secret."""
    settings = db.session.scalar(select(BookingSettings).where(BookingSettings.feed_token == token))
    owner = db.session.get(User, settings.mediator_id) if settings else None
    if owner is None or not owner.active or not owner.has_role(Role.mediator):
        abort(404)
    events = [
        ics.event(s, summary=calendar.feed_summary(s), description="", location="")
        for s in calendar.feed_sessions(settings.mediator_id, now=utcnow())
    ]
    body = ics.feed(events, _("Mediation sessions"))
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private"})


def _mediated_case(case_id: int) -> Case:
    case = viewable_case(case_id, current_user)
    if case is None:
        turn_away(case_id)  # a mediator the case was taken from is told so
    if case.mediator_id != current_user.id:
        abort(404)
    return case


def _slot_choices(mediator_id: int, zone: ZoneInfo, *, ignore: int | None = None):
    today = utcnow().astimezone(zone).date()
    free = slots.free_slots(mediator_id, today, SEARCH_DAYS, now=utcnow(), ignore=ignore)
    return [(s.start.isoformat(), s) for s in free]


def _parse_times(values: list[str], field: str = "times") -> list[datetime]:
    try:
        times = [datetime.fromisoformat(v) for v in values if v]
    except ValueError:
        times = []
    if not times or any(t.tzinfo is None for t in times):
        raise FieldError(field, _("Choose among the times shown."))
    return times


@role_required(Role.mediator)
def new_session(case_id: int):
    case = _mediated_case(case_id)
    settings = availability.settings_for(case.mediator_id)
    zone = ZoneInfo(settings.time_zone)
    choices = _slot_choices(case.mediator_id, zone)
    form = BookForm()
    form.times.choices = [(value, value) for value, _slot in choices]
    form.side.choices = [("", _("Everyone together")), *SIDE_NAMES.items()]
    form.at_site.choices = [(str(p.user_id), p.user.real_name) for p in case.parties]
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate():
            try:
                starts = _parse_times(form.times.data)
                options = {
                    "by": current_user,
                    "minutes": form.minutes.data,
                    "side": form.side.data or None,
                    "at_site": {int(v) for v in form.at_site.data},
                    "note": form.note.data or "",
                }
                if len(starts) == 1:
                    message = _("The session is booked and everyone is invited.")
                    booking.book(case, start=starts[0], **options)
                else:
                    message = _(
                        "The times are offered; the session is fixed when every party chose."
                    )
                    offers.offer(case, starts=starts, **options)
            except repeats.BookedAlreadyError:
                # The same form again (a double tap, two tabs): what the first one booked
                # stands, and the answer is the first one's.
                db.session.rollback()
                flash(message, "success")
                return redirect(url_for("cases.case_detail", case_id=case.id))
            except FieldError as error:
                if error.field == "start":  # the operation's name for the time chosen
                    error = FieldError("times", error.message)
                apply_field_error(form, error)
            except NotPermittedError as error:
                flash(str(error), "error")
            else:
                db.session.commit()
                flash(message, "success")
                return redirect(url_for("cases.case_detail", case_id=case.id))
        db.session.rollback()
    return render_template(
        "booking/new_session.html",
        case=case,
        form=form,
        choices=dict(choices),
        zone=zone,
        separate_allowed=all(p.separate_sessions_at for p in case.parties),
    ), status


@role_required(Role.mediator)
def start_now(case_id: int):
    """立即调解: one press creates a session starting now, texts the parties their links and
    takes the mediator into the room (see ``operations.start_now``)."""
    case = _mediated_case(case_id)
    form = StartNowForm()
    if not form.validate():  # the CSRF token (CSRFProtect refuses a bad one before this)
        abort(400)
    try:
        session = booking.start_now(
            case, by=current_user, parties_agreed=bool(form.parties_agreed.data)
        )
    except booking.StartedAlreadyError as already:
        # The same press again (a double tap, two tabs): the room it started, as the
        # first answer said.
        session = already.session
        db.session.rollback()
    except (FieldError, NotPermittedError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("cases.case_detail", case_id=case.id))
    else:
        db.session.commit()
    flash(_("The session has started and the parties were sent their links."), "success")
    return redirect(url_for("rooms.room", session_id=session.id))


def _own_session(session_id: int) -> MediationSession:
    session = db.session.get(MediationSession, session_id)
    if session is None or session.mediator_id != current_user.id:
        abort(404)
    if not can_view(current_user, session.case):
        # Their session of a case since given to another mediator (who has it cancelled):
        # told what happened, not shown the case's page again.
        turn_away(session.case_id)
    return session


@role_required(Role.mediator)
def reschedule(session_id: int):
    session = _own_session(session_id)
    zone = ZoneInfo(availability.settings_for(session.mediator_id).time_zone)
    choices = _slot_choices(session.mediator_id, zone, ignore=session.id)
    form = RescheduleForm()
    form.start.choices = [(value, value) for value, _slot in choices]
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate():
            try:
                booking.reschedule(
                    session,
                    by=current_user,
                    start=_parse_times([form.start.data], "start")[0],
                    reason=form.reason.data,
                )
            except booking.MovedAlreadyError:
                # The same form again (a double tap, two tabs): answered as the first was.
                db.session.rollback()
                flash(_("The session is moved and everyone is told."), "success")
                return redirect(url_for("cases.case_detail", case_id=session.case_id))
            except FieldError as error:
                apply_field_error(form, error)
            except NotPermittedError as error:
                flash(str(error), "error")
            else:
                db.session.commit()
                flash(_("The session is moved and everyone is told."), "success")
                return redirect(url_for("cases.case_detail", case_id=session.case_id))
        db.session.rollback()
    return render_template(
        "booking/reschedule.html", session=session, form=form, choices=dict(choices), zone=zone
    ), status


@role_required(Role.mediator)
def cancel(session_id: int):
    session = _own_session(session_id)
    form = CancelForm()
    if form.validate():
        try:
            booking.cancel(session, by=current_user, reason=form.reason.data)
        except booking.CancelledAlreadyError:
            # The same form again (a double tap, two tabs): answered as the first was.
            db.session.rollback()
            flash(_("The session is cancelled and everyone is told."), "success")
        except (FieldError, NotPermittedError) as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("The session is cancelled and everyone is told."), "success")
    else:
        flash(_("Please give the reason; everyone is told."), "error")
    return redirect(url_for("cases.case_detail", case_id=session.case_id))


@role_required(Role.mediator)
def invite_guest(session_id: int):
    session = _own_session(session_id)
    form = GuestForm()
    if form.validate():
        try:
            booking.invite_guest(
                session,
                by=current_user,
                real_name=form.real_name.data,
                phone=form.phone.data,
                id_number=form.id_number.data or None,
                relation=form.relation.data,
                side=form.side.data,
            )
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        except booking.GuestInvitedAlreadyError:
            db.session.rollback()
            flash(_("This person was already invited and has their own link."), "info")
            return redirect(url_for("cases.case_detail", case_id=session.case_id))
        except NotPermittedError as error:
            # The session is not there to invite anyone to any more (cancelled, held,
            # the case ended): said on the case page as it is now.
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("cases.case_detail", case_id=session.case_id))
        else:
            db.session.commit()
            flash(_("The person was invited and has their own link."), "success")
            return redirect(url_for("cases.case_detail", case_id=session.case_id))
    # Shown again on the case page with what was typed and what is wrong with it.
    return render_case(session.case, entered={"guest": form, "guest_session": session.id}), 422


@role_required(Role.mediator)
def resend_links(session_id: int):
    session = _own_session(session_id)
    if not FlaskForm().validate():
        abort(400)
    sent = _("New links were sent; the earlier ones no longer work.")
    try:
        # The links the page showed (repeats.links_shown), a number: anything else names
        # none (a page from before the form had it), and is done as asked.
        shown = request.form.get("links", "")
        shown = shown if shown.isascii() and shown.isdigit() and len(shown) <= 10 else None
        waits = booking.resend_links(session, by=current_user, shown=shown)
    except NotPermittedError as error:
        db.session.rollback()
        flash(str(error), "error")
    except booking.LinksJustSentError:
        # The same form again: done by the first request, and answered as it was.
        db.session.rollback()
        flash(sent, "success")
    else:
        db.session.commit()
        if waits is None:
            flash(sent, "success")
        else:
            flash(
                _(
                    "New links were made; the earlier ones no longer work. Some participants "
                    "were sent a message a moment ago: their new link goes to them at "
                    "%(when)s at the latest.",
                    when=format_when(waits),
                ),
                "success",
            )
    return redirect(url_for("cases.case_detail", case_id=session.case_id))


def session_statuses() -> dict[str, str]:
    return {
        SessionStatus.offered: _("Times offered"),
        SessionStatus.scheduled: _("Booked"),
        SessionStatus.cancelled: _("Cancelled"),
        ENDED: _("Ended"),
    }
