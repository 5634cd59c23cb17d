"""Pages of the reception feature: thin handlers; the rules are in operations.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from mediation.accounts.models import Role, User
from mediation.booking import slots
from mediation.cases import categories
from mediation.core.db import utcnow
from mediation.core.forms import FieldError, with_prompt
from mediation.core.i18n import format_day
from mediation.extensions import db, limiter

from . import operations as ops
from .forms import BookForm, RecordForm
from .models import BookingStatus, ReceptionBooking


@dataclass(frozen=True)
class Choice:
    """A free slot as the booking form lists it, grouped by the host's local day."""

    value: str
    iso_day: str
    day: str
    slot: slots.Slot


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _host_or_404(host_id: int) -> User:
    host = db.session.get(User, host_id)
    if host is None or not host.active or not ops.is_host(host.id):
        abort(404)
    return host


def _booking_or_404(booking_id: int) -> ReceptionBooking:
    booking = db.session.get(ReceptionBooking, booking_id)
    if booking is None or not ops.can_view(current_user, booking):
        abort(404)  # never says whether someone else's booking exists
    return booking


# -- the party ------------------------------------------------------------------------


@limiter.limit(lambda: current_app.config["RECEPTION_BOOK_LIMIT"], methods=["POST"])
def book(host_id: int):
    host = _host_or_404(host_id)
    if not current_user.is_authenticated:
        # No account yet: the number is proven by a code (consultation's start), then back.
        here = url_for("reception.book", host_id=host.id)
        return redirect(url_for("consultation.start", next=here))
    now = utcnow()
    zone = slots.load_rules(host.id, now.date(), now.date()).zone
    today = now.astimezone(zone).date()
    choices = {
        s.start.isoformat(): Choice(
            s.start.isoformat(),
            s.start.astimezone(zone).date().isoformat(),
            format_day(s.start, zone),
            s,
        )
        for s in ops.free_slots(host.id, today, now=now)
    }
    form = BookForm()
    slot_error = None
    if form.validate_on_submit():
        try:
            start = datetime.fromisoformat(request.form.get("slot", ""))
            if start.tzinfo is None:
                raise ValueError
            booking = ops.book(current_user, host, start, form.subject.data, now=now)
        except ops.BookedAlreadyError as already:
            # The same form again (a double tap, two tabs): the talk the first one booked,
            # answered as the first one was.
            db.session.rollback()
            flash(_("Your talk is booked. A text message confirms it."), "success")
            return redirect(url_for("reception.booking", booking_id=already.booking_id))
        except FieldError as error:  # before ValueError, which it is
            db.session.rollback()
            if error.field == "subject":
                form.subject.errors = [error.message]
            else:
                slot_error = error.message
        except (ValueError, OverflowError):  # not a time, or one past the calendar
            db.session.rollback()
            slot_error = _("Choose a time.")
        else:
            db.session.commit()
            flash(_("Your talk is booked. A text message confirms it."), "success")
            return redirect(url_for("reception.booking", booking_id=booking.id))
    elif request.method == "POST" and not request.form.get("slot"):
        slot_error = _("Choose a time.")
    page = render_template(
        "reception/book.html",
        host=host,
        form=form,
        choices=choices,
        zone=zone,
        slot_error=slot_error,
        minutes=ops.TALK_MINUTES,
    )
    return page, 422 if (form.errors or slot_error) else 200


@login_required
def mine():
    return render_template("reception/mine.html", bookings=ops.mine(current_user, now=utcnow()))


@login_required
def booking(booking_id: int):
    item = _booking_or_404(booking_id)
    hosting = item.host_id == current_user.id
    form = RecordForm(notes=item.notes) if hosting else None
    if form is not None:
        form.category.choices = with_prompt(categories.choices())
    return _booking_page(item, form)


def _booking_page(item: ReceptionBooking, form: RecordForm | None, status: int = 200):
    page = render_template(
        "reception/booking.html",
        booking=item,
        hosting=item.host_id == current_user.id,
        cancellable=item.booker_id == current_user.id
        and item.status == BookingStatus.booked
        and item.start_at > utcnow(),
        record_form=form,
        form=FlaskForm(),
        zone=_zone(),
    )
    return page, status


@login_required
def cancel(booking_id: int):
    item = _booking_or_404(booking_id)
    if item.booker_id != current_user.id:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        ops.cancel(item, current_user)
    except ops.CancelledAlreadyError:
        # The same press again (a double tap, two tabs): answered as the first was.
        db.session.rollback()
        flash(_("Your talk is cancelled; the time is free for others."), "success")
    except FieldError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Your talk is cancelled; the time is free for others."), "success")
    return redirect(url_for("reception.booking", booking_id=booking_id))


# -- the host -------------------------------------------------------------------------


@login_required
def day_list():
    zone = _zone()
    today = utcnow().astimezone(zone).date()
    bookings = ops.day_list(current_user, today, zone)
    # A host who since gave up their reception hours still sees the talks booked; any
    # mediator (the link is theirs) sees an empty list rather than an error.
    if (
        not bookings
        and not ops.is_host(current_user.id)
        and not current_user.has_role(Role.mediator)
    ):
        abort(404)
    return render_template(
        "reception/day_list.html",
        bookings=bookings,
        today=today,
        zone=zone,
    )


@login_required
def record(booking_id: int):
    """Saves the record, and with the button pressed, files a case or keeps an answer."""
    item = _booking_or_404(booking_id)
    if item.host_id != current_user.id:
        abort(404)
    form = RecordForm()
    form.category.choices = with_prompt(categories.choices())
    action = request.form.get("action", "save")
    if not form.validate_on_submit():
        return _booking_page(item, form, 422)
    number = None
    try:
        ops.record(item, current_user, form.notes.data)
        if action == "case":
            number = ops.to_case(item, current_user, form.category.data or "").number
        elif action == "answer":
            ops.to_answer(item, current_user, form.category.data or "")
    except ops.TakenFurtherAlreadyError as already:
        # The same press again (a double tap, two tabs): what the first one did stands,
        # and the answer is the first one's.
        db.session.rollback()
        number = already.case_number
    except FieldError as error:
        db.session.rollback()
        field = getattr(form, error.field, form.notes)
        field.errors = [error.message]
        return _booking_page(item, form, 422)
    else:
        db.session.commit()
    if action == "case":
        flash(_("Case %(number)s was drafted for the party.", number=number), "success")
    elif action == "answer":
        flash(_("The talk is kept as the party's consultation answer."), "success")
    else:
        flash(_("The record is saved."), "success")
    return redirect(url_for("reception.booking", booking_id=booking_id))
