"""HTTP handlers of recording: a case's recordings, and each file with seeking (HTTP range
requests). Access is checked on every request, each byte range included."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from mediation.accounts.models import Role
from mediation.booking.models import MediationSession
from mediation.cases import operations as cases
from mediation.core.access import role_required
from mediation.core.downloads import download_name, send_stored
from mediation.extensions import db

from . import access
from . import operations as recording


@login_required
def case_recordings(case_id: int):
    case = cases.viewable_case(case_id, current_user)
    if case is None:
        abort(404)
    return render_template(
        "recording/case.html",
        case=case,
        recordings=access.playable_of_case(case, current_user),
        reviews=access.review_videos(case, current_user),
    )


@login_required
def review_file(session_id: int):
    session = db.session.get(MediationSession, session_id)
    case = session.case if session else None  # review_videos checks who may see them
    found = (
        next(
            (c for c in access.review_videos(case, current_user) if c.session_id == session_id),
            None,
        )
        if case
        else None
    )
    if found is None:
        _refused(access.review_access_ended(session_id, current_user))
    return send_stored(
        found.path,
        sha256=found.sha256,
        size=found.size,
        mimetype="video/mp4",
        download_name=download_name("review", case.number, session_id, mimetype="video/mp4"),
    )


@login_required
def recording_file(recording_id: int):
    found = access.playable(recording_id, current_user)
    if found is None:
        _refused(access.access_ended(recording_id, current_user))
    # Range requests get 206 with the bytes asked for (the player seeks), proxied from
    # object storage after the access check above.
    return send_stored(
        found.path,
        sha256=found.sha256,
        size=found.size,
        mimetype="video/webm",
        download_name=download_name(
            "recording", found.participant.session.case.number, found.id, mimetype="video/webm"
        ),
    )


def _refused(ended) -> None:
    """Not the viewer's to play: a plain 404, unless the viewer once could and is told why
    no longer (a court after the parties withdrew their application): 410 with a page that
    says so and leads back. A page, not a redirect with a flash: the player of a page left
    open fetches the file itself, and would take the flash meant for the clerk."""
    if ended is None:
        abort(404)
    abort(Response(render_template("recording/ended.html", ended=ended), status=410))


@role_required(Role.institution_admin)
def caucus_setting():
    institution = current_user.institution
    if institution is None:
        abort(403)
    if FlaskForm().validate_on_submit():
        recording.set_caucus_recording(institution, request.form.get("record_caucus") == "1")
        db.session.commit()
        flash(
            _("Caucuses are recorded from now on.")
            if institution.record_caucus
            else _("Caucuses are not recorded from now on."),
            "success",
        )
    return redirect(url_for("accounts.institution_home"))
