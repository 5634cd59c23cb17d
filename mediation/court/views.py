"""The court portal of clerks and judges: the inbox with its clocks, an application's
documents, and the court's steps. Every handler looks the application up under the
viewer's own court, so another court's applications are not there (404)."""

from __future__ import annotations

from io import BytesIO

import filetype
from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from mediation.accounts.models import Role
from mediation.cases.workflow import NotPermittedError, TransitionError
from mediation.core.access import role_required
from mediation.core.downloads import download_name, send_stored
from mediation.core.forms import FieldError
from mediation.core.storage import storage
from mediation.extensions import db, limiter
from mediation.recording.access import playable_of_case, review_videos

from . import bundle, delegation, examination, grounds, keys, ruling, steps, withdrawal
from .application import RepeatedError
from .models import Application


def _court():
    court = steps.court_of(current_user)
    if court is None:
        abort(403)  # court staff always belong to a court
    return court


def _application(application_id: int) -> Application:
    return steps.application_of(_court(), application_id) or abort(404)


@role_required(Role.court_clerk, Role.judge)
def portal():
    court = _court()
    applications = steps.applications_of(court)
    return render_template(
        "court/portal.html",
        court=court,
        applications=applications,
        awaiting={a.id for a in applications if ruling.awaiting_signature(a)},
        to_designate=delegation.waiting_for_court(court),
    )


def _detail_context(application: Application) -> dict:
    in_hand = steps.examines(application)
    return {
        "application": application,
        "case": application.case,
        "refusal_grounds": grounds.REFUSAL,
        "rejection_grounds": grounds.REJECTION,
        "form": FlaskForm(),
        "is_judge": current_user.has_role(Role.judge),
        "in_hand": in_hand,
        "signing_mode": keys.mode(application.court),
        "awaiting": ruling.awaiting_signature(application),
        "recordings": playable_of_case(application.case, current_user) if in_hand else [],
        "reviews": review_videos(application.case, current_user) if in_hand else [],
        # Withdrawn: who withdrew it and when (SPC provisions art 5 para 2).
        "withdrawal": None if in_hand else withdrawal.words(application),
    }


@role_required(Role.court_clerk, Role.judge)
def detail(application_id: int):
    application = _application(application_id)
    return render_template(
        "court/application.html", **_detail_context(application), entered={}, error=None
    )


@role_required(Role.court_clerk, Role.judge)
def document(application_id: int, which: str):
    application = _in_hand(application_id)
    stored = {
        "application": (application.document_path, application.document_sha256)
        if application.document_path
        else None,
        "decision": ruling.decision_document(application),
        # The decision prepared for the court's signature, to sign with its own tool.
        "unsigned_decision": ruling.prepared_document(application),
    }.get(which)
    if stored is None or not storage().exists(stored[0]):
        abort(404)
    return send_stored(
        stored[0],
        sha256=stored[1],
        mimetype="application/pdf",
        download_name=download_name(
            which, application.case.number, application.id, mimetype="application/pdf"
        ),
    )


def _in_hand(application_id: int) -> Application:
    """The application's documents, while the court has the file (not after withdrawal).
    A link on a page left open meanwhile leads to the application's page, which says when
    the parties withdrew it."""
    application = _application(application_id)
    if not steps.examines(application):
        flash(steps.no_longer_in_hand(application), "error")
        abort(redirect(url_for("court.detail", application_id=application_id), 303))
    return application


@role_required(Role.court_clerk, Role.judge)
def material(application_id: int, material_id: int):
    application = _in_hand(application_id)
    found = next((m for m in application.materials if m.id == material_id), None)
    if found is None:
        abort(404)
    # What the party sent is served as the photo or PDF its content is (checked at upload),
    # downloaded, never shown as a page of the portal (Content-Security-Policy: sandbox).
    try:
        with storage().open_range(found.path, 0, 8192) as head:
            kind = filetype.guess(head.read())
    except FileNotFoundError:
        abort(404)
    mimetype = kind.mime if kind else "application/octet-stream"
    response = send_stored(
        found.path,
        sha256=found.sha256,
        mimetype=mimetype,
        as_attachment=True,
        # The party's file name (kept for the portal's list and the package) is not the
        # name the court's computer saves it under.
        download_name=download_name(
            found.kind, application.case.number, found.id, mimetype=mimetype
        ),
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@role_required(Role.court_clerk, Role.judge)
# Built, signed and timestamped on each download (bundle.py): as costly as the API's, and
# limited as it is, per person here as per token there.
@limiter.limit(
    lambda: current_app.config["COURT_API_PACKAGE_LIMIT"],
    key_func=lambda: f"court-package:{current_user.id}",
)
def package(application_id: int):
    application = _in_hand(application_id)
    data = bundle.build(application)
    return send_file(
        BytesIO(data),
        mimetype="application/zip",
        download_name=download_name(
            "confirmation", application.case.number, application.id, mimetype="application/zip"
        ),
    )


def _step(application_id: int, act, done):
    application = _application(application_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        act(application)
    except FieldError as error:
        db.session.rollback()
        # The page again, with what was typed and the complaint: reasons are not lost.
        return render_template(
            "court/application.html", **_detail_context(application), entered=request.form,
            error=error,
        ), 422  # fmt: skip
    except (NotPermittedError, TransitionError) as error:
        db.session.rollback()
        flash(str(error), "error")
    except RepeatedError as already:
        # The same step sent twice (a double tap, a second tab): done once, and said so.
        db.session.rollback()
        flash(str(already), "info")
    else:
        db.session.commit()
        flash(done() if callable(done) else done, "success")
    return redirect(url_for("court.detail", application_id=application_id))


def _days() -> int:
    try:
        return int(request.form.get("days", ""))
    except ValueError:
        return 0


@role_required(Role.court_clerk, Role.judge)
def accept(application_id: int):
    return _step(
        application_id,
        lambda a: examination.accept(a, by=current_user),
        _("Accepted; the parties are told."),
    )


@role_required(Role.court_clerk, Role.judge)
def refuse(application_id: int):
    return _step(
        application_id,
        lambda a: examination.refuse(
            a, request.form.get("ground", ""), request.form.get("reasons", ""), by=current_user
        ),
        _("Not accepted; the parties are told why."),
    )


@role_required(Role.court_clerk, Role.judge)
def materials(application_id: int):
    return _step(
        application_id,
        lambda a: examination.request_materials(
            a, request.form.get("text", ""), _days(), by=current_user
        ),
        _("The parties are asked for the materials."),
    )


@role_required(Role.judge)
def extend(application_id: int):
    return _step(
        application_id,
        lambda a: examination.extend(a, request.form.get("reasons", ""), by=current_user),
        _("The time to rule is extended by 10 days."),
    )


@role_required(Role.judge)
def rule(application_id: int):
    result = request.form.get("result")
    confirmed = result == "confirmed"

    def act(application: Application) -> None:
        if result not in ("confirmed", "rejected"):
            # A page left open: what happened meanwhile comes before what the form lacks
            # (a complete form is checked by the ruling itself, which also tells the same
            # judge's second click that the ruling was made).
            steps.check_step(application, steps.Step.rule)
            raise FieldError("result", _("Choose whether the agreement is confirmed."))
        ruling.rule(
            application,
            confirmed,
            request.form.get("ground") or None,
            request.form.get("reasons", ""),
            by=current_user,
        )

    def done() -> str:
        if ruling.awaiting_signature(_application(application_id)) is not None:
            return _("The decision is prepared. Download it, sign it with the court's key and "
                     "upload the signed file.")  # fmt: skip
        return _("The ruling is made and sent to the parties.")

    return _step(application_id, act, done)


@role_required(Role.judge)
def signed(application_id: int):
    """The decision the court signed with its own key (keys.py), uploaded by a judge."""

    def act(application: Application) -> None:
        upload = request.files.get("decision")
        data = upload.stream.read(keys.MAX_SIGNED_BYTES + 1) if upload else b""
        ruling.signed_ruling(application, data, by=current_user)

    return _step(application_id, act, _("The signed decision is accepted; the ruling is made "
                                         "and sent to the parties."))  # fmt: skip
