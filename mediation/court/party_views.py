"""The parties' pages of judicial confirmation: choose the court and apply within the 30
days, sign the application in turn (a code, a drawing, the exact document), withdraw."""

from __future__ import annotations

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
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from agreements import pages
from mediation.accounts import personal_links
from mediation.accounts.models import Court
from mediation.agreements import sign_flow
from mediation.agreements import signing as agreement_signing
from mediation.agreements.forms import SignForm
from mediation.cases.models import Case
from mediation.cases.operations import viewable_case
from mediation.cases.workflow import NotPermittedError, TransitionError
from mediation.core.downloads import download_name, send_page_picture, send_stored
from mediation.core.forms import FieldError
from mediation.extensions import db

from . import application as applying
from . import materials
from .labels import STATUS_NAMES
from .models import Application, ApplicationStatus


def _case(case_id: int) -> Case:
    return viewable_case(case_id, current_user) or abort(404)


def _open(case: Case) -> Application:
    return applying.open_application(case) or abort(404)


def _moved_on(case: Case):
    last = db.session.scalar(
        select(Application).where(Application.case_id == case.id).order_by(Application.id.desc())
    )
    if last is None:
        abort(404)
    flash(
        _(
            "The application for judicial confirmation is %(status)s: there is nothing to sign.",
            status=STATUS_NAMES[last.status],
        ),
        "info",
    )
    return redirect(url_for("agreements.page", case_id=case.id), code=303)


@login_required
def start(case_id: int):
    case = _case(case_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    chosen = request.form.get("court", type=int) or 0
    court = db.session.get(Court, chosen) if chosen > 0 else None  # (bounded by hardening)
    try:
        if court is None:
            raise FieldError("court", _("Choose one of the competent courts."))
        applying.start(case, court, by=current_user)
    except applying.RepeatedError as already:
        db.session.rollback()
        flash(str(already), "info")
        return redirect(url_for("confirmation.sign", case_id=case.id))
    except (FieldError, NotPermittedError, TransitionError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("agreements.page", case_id=case.id))
    db.session.commit()
    flash(_("The application is made; each party signs it in turn."), "success")
    return redirect(url_for("confirmation.sign", case_id=case.id))


@login_required
def document(case_id: int):
    application = _open(_case(case_id))
    return send_stored(
        application.document_path,
        sha256=application.document_sha256,
        mimetype="application/pdf",
        download_name=download_name(
            "application", application.case.number, mimetype="application/pdf"
        ),
    )


@login_required
def page_picture(case_id: int, number: int):
    application = _open(_case(case_id))
    picture = agreement_signing.page_picture(
        application.document_path, application.document_sha256, number
    )
    if picture is None:
        abort(404)
    return send_page_picture(picture, f"{application.document_sha256}-{number}")


def _sign_page(application: Application, form: SignForm, status: int = 200, errors=None):
    turn = applying.next_signature(application)
    if turn is None or turn.user_id != current_user.id:
        return redirect(url_for("agreements.page", case_id=application.case_id))
    if not form.shown.data:
        form.shown.data = application.document_sha256
    page = render_template(
        "court/sign.html",
        application=application,
        case=application.case,
        form=form,
        errors=errors or {},
        page_count=pages.count(applying.document_bytes(application)),
    )
    return Response(page, status=status)


@sign_flow.code_limit("code")
@login_required
def sign(case_id: int):
    case = _case(case_id)
    application = applying.open_application(case)
    if application is None:
        # A signing link read after the application was withdrawn (or a page left open):
        # said so on the agreement's page, not "page not found".
        return _moved_on(case)
    if request.method == "GET":
        return _sign_page(application, SignForm(formdata=None))
    return sign_flow.answer(
        SignForm(),
        request.form.get("action"),
        send_code=lambda **shown: applying.send_code(application, current_user, **shown),
        sign=lambda **given: applying.sign(application, current_user, **given),
        current_sha256=lambda: application.document_sha256,
        page=lambda form, status, errors: _sign_page(application, form, status, errors),
        back=url_for("agreements.page", case_id=case_id),
        signed_message=lambda: (
            _("Everyone has signed: the application is with the court.")
            if application.status != "signing"
            else _("Your signature is added.")
        ),
    )


@login_required
def withdraw(case_id: int):
    case = _case(case_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    application = applying.open_application(case)
    if application is None:
        # Withdrawn already (the button pressed twice, a phone resending the POST): said
        # so on the agreement's page, not "page not found".
        last = db.session.scalar(
            select(Application)
            .where(Application.case_id == case.id)
            .order_by(Application.id.desc())
        )
        if last is None or last.status != ApplicationStatus.withdrawn:
            return _moved_on(case)
        flash(_("The application was already withdrawn."), "info")
        return redirect(url_for("agreements.page", case_id=case.id))
    try:
        applying.withdraw(application, by=current_user)
    except applying.RepeatedError as already:
        db.session.rollback()
        flash(str(already), "info")
    except (NotPermittedError, TransitionError) as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The application is withdrawn."), "success")
    return redirect(url_for("agreements.page", case_id=case.id))


@login_required
def add_material(case_id: int):
    case = _case(case_id)
    application = _open(case)
    if not FlaskForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise FieldError("file", _("Choose the file to add."))
        materials.add_material(
            application,
            request.form.get("kind", ""),
            upload.filename,
            upload.read(current_app.config["MAX_EVIDENCE_BYTES"] + 1),
            by=current_user,
        )
    except applying.RepeatedError as already:
        db.session.rollback()
        flash(str(already), "info")
    except (FieldError, NotPermittedError) as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The document is added to the application."), "success")
    return redirect(url_for("agreements.page", case_id=case.id))


@login_required
def decision(case_id: int):
    """The court's signed decision, for the case's parties (to seek enforcement with)."""

    case = _case(case_id)
    if not any(p.user_id == current_user.id for p in case.parties):
        abort(403)
    decided = applying.decided_application(case)
    if decided is None or decided.decision_path is None:
        abort(404)
    return send_stored(
        decided.decision_path,
        sha256=decided.decision_sha256,
        mimetype="application/pdf",
        download_name=download_name("decision", case.number, mimetype="application/pdf"),
    )


@personal_links.limited
def personal_link(token: str):
    """The signer's link from the text message: on to the application's signing page, after
    a code for a party who is not logged in (one invited by text message has no password)."""
    found = applying.of_link(token)
    if found is None:
        abort(404)
    application, user = found
    if viewable_case(application.case_id, user) is None:  # an agent the party refused, say
        return personal_links.gone(str(personal_links.NO_LONGER_IN_CASE))
    return personal_links.enter(
        user,
        case_id=application.case_id,
        target=url_for("confirmation.sign", case_id=application.case_id),
        via="application link",
        title=f"{_('Sign the application for judicial confirmation')} · {application.case.number}",
    )
