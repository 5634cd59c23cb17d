"""HTTP handlers of the minutes: the mediator edits and sends them for review, each party
reads, disputes passages and confirms with a code, anyone of the case downloads the PDF.
Access is checked on every request; whatever a party typed survives a wrong code."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mediation.accounts import personal_links
from mediation.booking.models import MediationSession
from mediation.cases.operations import can_view
from mediation.cases.views import turn_away
from mediation.cases.workflow import NotPermittedError
from mediation.core.downloads import download_name, send_stored
from mediation.core.forms import FieldError, apply_field_error
from mediation.extensions import db, limiter
from mediation.recording import gaps

from . import operations, passages, review
from .forms import SECTION_LABELS, ActionForm, MinutesForm, ReviewForm
from .models import SECTIONS, Minutes


def _session(session_id: int) -> MediationSession:
    """The session, if the viewer may see its case and, for a session held with one side
    alone (SPC online mediation rules art 16), is not of the other side (404 otherwise,
    for all: the other side learns nothing of its minutes, not even whether they exist).
    A mediator the case was taken from (the link of a party's dispute, say) is told so."""
    session = db.session.get(MediationSession, session_id)
    if session is None:
        abort(404)
    if not can_view(current_user, session.case):
        turn_away(session.case_id)
    if session.hidden_from(current_user):
        abort(404)
    return session


def _disputes_sent() -> dict[str, str]:
    return {
        key.removeprefix("dispute-"): request.form.get(f"note-{key.removeprefix('dispute-')}", "")
        for key in request.form
        if key.startswith("dispute-")
    }


def _with_version(form: ReviewForm, minutes: Minutes | None) -> ReviewForm:
    if not form.version.data and minutes is not None:
        form.version.data = str(minutes.version)
    return form


def _render(session: MediationSession, minutes: Minutes | None, **forms) -> str:
    # The case's mediator now, who need not be the one who held the session.
    is_mediator = review.acts_as_mediator(session, current_user)
    mine = review.review_of(minutes, current_user) if minutes else None
    if is_mediator and "edit_form" not in forms:
        forms["edit_form"] = MinutesForm(obj=minutes) if minutes else MinutesForm()
    return render_template(
        "minutes/page.html",
        session=session,
        case=session.case,
        minutes=minutes,
        is_mediator=is_mediator,
        is_party=any(p.user_id == current_user.id for p in session.case.parties),
        mine=mine,
        passages=passages.passages(minutes) if minutes else [],
        disputes=passages.disputes_by_passage(minutes.reviews) if minutes else {},
        to_decide=is_mediator and review.awaits_mediator(minutes),
        labels=SECTION_LABELS,
        sections=SECTIONS,
        review_form=_with_version(forms.pop("review_form", None) or ReviewForm(), minutes),
        sent=forms.pop("sent", {}),
        code_sent=forms.pop("code_sent", False),
        action_form=ActionForm(),
        gaps=gaps.of_session(session.id),
        gap_names=gaps.names(session.id),
        **forms,
    )


@login_required
def page(session_id: int):
    session = _session(session_id)
    minutes = operations.of_session(session.id)
    if request.method == "GET":
        return _render(session, minutes)
    # POST: the mediator saves (and perhaps sends) the text.
    if not review.acts_as_mediator(session, current_user):
        abort(403)
    form = MinutesForm()
    if not form.validate_on_submit():
        return _render(session, minutes, edit_form=form), 422
    try:
        minutes = operations.save(
            session, {name: getattr(form, name).data or "" for name in SECTIONS}, by=current_user
        )
        if request.form.get("send") and minutes.review_version is None:
            review.open_review(session, minutes, by=current_user)
    except FieldError as error:
        db.session.rollback()
        apply_field_error(form, error)
        return _render(session, operations.of_session(session.id), edit_form=form), 422
    except NotPermittedError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _render(session, operations.of_session(session.id), edit_form=form), 409
    db.session.commit()
    flash(
        _("Sent to the parties for review.")
        if minutes.review_version == minutes.version
        else _("The minutes are saved."),
        "success",
    )
    return redirect(url_for("minutes.page", session_id=session.id))


def _mediator_acts(session_id: int, act, done: str):
    """A button of the mediator's: ``act(session, minutes)``, then back to the page."""
    session = _session(session_id)
    minutes = operations.of_session(session.id)
    if not review.acts_as_mediator(session, current_user) or minutes is None:
        abort(403)
    if ActionForm().validate_on_submit():
        try:
            act(session, minutes)
        except (FieldError, NotPermittedError) as error:
            db.session.rollback()
            flash(str(error), "error")
        except review.RepeatedError as already:
            db.session.rollback()
            flash(str(already), "info")
        else:
            db.session.commit()
            flash(done, "success")
    return redirect(url_for("minutes.page", session_id=session.id))


@login_required
def send_for_review(session_id: int):
    return _mediator_acts(
        session_id,
        lambda session, minutes: review.open_review(session, minutes, by=current_user),
        _("Sent to the parties for review."),
    )


@limiter.limit(
    lambda: current_app.config["CODE_SEND_LIMIT"],
    methods=["POST"],
    exempt_when=lambda: request.form.get("action") != "code",
)
@login_required
def answer(session_id: int):
    """A party asks for a code, or confirms with it (the same form, so nothing typed is
    lost between the two)."""
    session = _session(session_id)
    minutes = operations.of_session(session.id)
    if minutes is None or review.review_of(minutes, current_user) is None:
        abort(403)
    form = ReviewForm()
    sent = _disputes_sent()
    if not form.validate_on_submit():
        return _render(session, minutes, review_form=form, sent=sent), 422
    read = form.version.data
    # A number as a browser sends it, or none: str.isdigit() also holds for "²" and "①",
    # which int() refuses, and int() refuses a number of thousands of digits.
    read = int(read) if read and read.isascii() and read.isdigit() and len(read) <= 9 else -1
    try:
        if request.form.get("action") == "code":
            review.check_disputes(minutes, sent)  # say now what the code cannot fix later
            review.send_code(minutes, current_user, version=read)  # what the code confirms
            db.session.commit()
            flash(_("A code has been sent to %(phone)s.", phone=current_user.phone_masked), "info")
            return _render(session, minutes, review_form=form, sent=sent, code_sent=True)
        review.confirm(
            session, minutes, current_user, sent, (form.code.data or "").strip(), version=read
        )
    except FieldError as error:
        db.session.commit()  # a wrong code counts as a try
        if error.field == "version":
            form.version.data = str(minutes.version)  # what they see now is the new version
            flash(error.message, "error")
        else:
            apply_field_error(form, error)
        code_sent = error.field == "code"
        return _render(session, minutes, review_form=form, sent=sent, code_sent=code_sent), 422
    except NotPermittedError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("minutes.page", session_id=session.id))
    except review.RepeatedError as already:
        db.session.rollback()
        flash(str(already), "info")
        return redirect(url_for("minutes.page", session_id=session.id))
    db.session.commit()
    if sent:
        flash(
            _(
                "Thank you: your confirmation and your objection are recorded. The mediator "
                "is told and decides whether to amend the minutes."
            ),
            "success",
        )
    else:
        flash(_("Thank you: your confirmation is recorded."), "success")
    return redirect(url_for("minutes.page", session_id=session.id))


@login_required
def close(session_id: int):
    return _mediator_acts(
        session_id,
        lambda session, minutes: review.close_review(session, minutes, by=current_user),
        _("The review is closed and the minutes PDF is made, with every objection marked."),
    )


@login_required
def document(session_id: int):
    session = _session(session_id)
    minutes = operations.of_session(session.id)
    if minutes is None or minutes.document_path is None:
        abort(404)
    return send_stored(
        minutes.document_path,
        sha256=minutes.document_sha256,
        mimetype="application/pdf",
        download_name=download_name(
            "minutes", session.case.number, session.id, mimetype="application/pdf"
        ),
    )


@limiter.limit("30 per minute", methods=["POST"])
@limiter.limit(
    lambda: current_app.config["CODE_SEND_LIMIT"],
    methods=["POST"],
    exempt_when=lambda: request.form.get("action") != "send",
)
def personal_link(token: str):
    """The link sent by SMS: on to the minutes, after a code for a party not logged in."""
    participant = review.participant_of_link(token)
    if participant is None:
        abort(404)
    if not can_view(participant.user, participant.session.case):
        return personal_links.gone(str(personal_links.NO_LONGER_IN_CASE))  # an agent refused
    return personal_links.enter(
        participant.user,
        case_id=participant.session.case_id,
        target=url_for("minutes.page", session_id=participant.session_id),
        via="minutes link",
        title=f"{_('Minutes')} · {participant.session.case.number}",
    )
