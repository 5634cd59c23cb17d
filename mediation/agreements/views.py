"""HTTP handlers of the agreement: the mediator's editor with a live preview, the parties'
comments, the document, and the signing page. Access is checked on every request, and
whatever was typed survives a refusal."""

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
from sqlalchemy.orm.exc import StaleDataError

from agreements import pages
from agreements.render import TEMPLATES, render_html
from mediation.accounts import personal_links
from mediation.cases import assignment
from mediation.cases.models import Case
from mediation.cases.operations import viewable_case
from mediation.cases.states import FINAL_STATUSES
from mediation.cases.views import turn_away
from mediation.cases.workflow import NotPermittedError, TransitionError
from mediation.core.downloads import download_name, send_page_picture, send_stored
from mediation.core.forms import FieldError
from mediation.extensions import db

from . import draft, round_end, sign_flow, signing
from . import operations as agreements
from .forms import ActionForm, CommentForm, SignForm, draft_from_form
from .models import Agreement, AgreementStatus

EXTRA_ROWS = 2  # empty rows offered below the filled ones, for forms without JavaScript


def _case(case_id: int) -> Case:
    # A mediator the case was taken from (with a signing link of theirs, say) is told so.
    return viewable_case(case_id, current_user) or turn_away(case_id)


def _agreement(case: Case) -> Agreement:
    return agreements.of_case(case) or abort(404)


def _mediator_posts(case_id: int) -> tuple[Case, Agreement]:
    """The case and its agreement, for a form only the case's mediator may send."""
    case = _case(case_id)
    agreement = _agreement(case)
    if current_user.id != case.mediator_id:
        abort(403)
    if not ActionForm().validate_on_submit():
        abort(400)
    return case, agreement


def _page(case: Case, agreement: Agreement | None, *, typed: dict | None = None, error=None):
    content = typed or (agreement.current.content if agreement and agreement.current else {})
    turn = signing.next_signature(agreement) if agreement else None
    return render_template(
        "agreements/page.html",
        case=case,
        agreement=agreement,
        content=content,
        obligations=list(content.get("obligations") or []) + [{}] * EXTRA_ROWS,
        issues=list(content.get("issues") or []) + [{}] * EXTRA_ROWS,
        parties=[p for p in case.parties if not p.is_agent],
        is_mediator=current_user.id == case.mediator_id,
        comments=agreements.comments(agreement) if agreement else [],
        comment_form=CommentForm(),
        case_over=case.status in FINAL_STATUSES,
        action_form=ActionForm(),
        turn=turn,
        page_count=pages.count(signing.document_bytes(agreement))
        if agreement and agreement.document_path
        else 0,
        my_turn=turn is not None and signing.may_sign(turn, current_user, case),
        error=error,
        kinds=draft.KINDS,
        concerns=agreements.concerns(agreement) if agreement else [],
    )


@login_required
def page(case_id: int):
    case = _case(case_id)
    return _page(case, agreements.of_case(case))


@login_required
def start(case_id: int):
    case = _case(case_id)
    if ActionForm().validate_on_submit():
        try:
            agreements.start(case, by=current_user)
        except (NotPermittedError, TransitionError) as error:
            db.session.rollback()
            flash(str(error), "error")
        except StaleDataError:
            # The same click twice at once: the other request started the draft.
            db.session.rollback()
            if agreements.of_case(case) is None:
                raise
            flash(_("The draft was already started."), "info")
        else:
            db.session.commit()
    return redirect(url_for("agreements.page", case_id=case.id))


@login_required
def save(case_id: int):
    case, agreement = _mediator_posts(case_id)
    typed = draft_from_form(request.form)
    fixed_already = False
    sign = bool(request.form.get("sign"))
    try:
        # The document to sign is made from the words sent before the save locks the
        # agreement (core/locks.py: nothing slow under a lock).
        prepared = signing.prepare_round(agreement, typed, by=current_user) if sign else None
        version = agreements.save(agreement, typed, by=current_user)
        if sign:
            # Still out for signing after the save: these very words were fixed already
            # (the same form sent twice; an edit would have voided the round).
            fixed_already = agreement.status == AgreementStatus.signing
            if not fixed_already:
                signing.open_round(agreement, by=current_user, prepared=prepared)
    except FieldError as error:
        db.session.rollback()
        return _page(case, agreement, typed=typed, error=error), 422
    except (NotPermittedError, TransitionError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return _page(case, agreement, typed=typed), 409
    db.session.commit()
    if fixed_already:
        flash(_("The document was already fixed; the signers are asked in turn."), "info")
    elif agreement.status == "signing":
        flash(_("The document is fixed; the signers are asked in turn."), "success")
    elif version.warnings:
        flash(_("Saved, with points a court would object to: see below."), "warning")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("agreements.page", case_id=case.id))


@login_required
def preview(case_id: int):
    """The document as it would be printed, from the editor's unsaved fields."""
    case, agreement = _mediator_posts(case_id)
    try:
        content = draft.read(case, draft_from_form(request.form))
    except FieldError as error:
        return Response(error.message, status=422, mimetype="text/plain")
    context = signing.document_context(
        agreement, content, list(range(1, len(signing.signers_of(case)) + 1))
    )
    html = render_html("agreement.html", **context)
    # The preview is shown in a sandboxed frame: the stylesheet goes inline.
    css = (TEMPLATES / "document.css").read_text()
    html = html.replace(
        '<link rel="stylesheet" href="asset:document.css">', f"<style>{css}</style>"
    )
    return Response(html, mimetype="text/html")


@login_required
def comment(case_id: int):
    case = _case(case_id)
    agreement = _agreement(case)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            agreements.comment(agreement, form.text.data or "", by=current_user)
        except (FieldError, NotPermittedError) as error:
            db.session.rollback()
            flash(str(error), "error")
            return _page(case, agreement), 422
        except agreements.CommentRepeatedError:
            db.session.rollback()
            flash(_("Your comment was already added."), "info")
            return redirect(url_for("agreements.page", case_id=case.id))
        db.session.commit()
        flash(_("Your comment is added."), "success")
    return redirect(url_for("agreements.page", case_id=case.id))


@login_required
def document(case_id: int):
    """The current document: unsigned, partly or fully signed."""
    case = _case(case_id)
    agreement = _agreement(case)
    if agreement.document_path is None:
        abort(404)
    return send_stored(
        agreement.document_path,
        sha256=agreement.document_sha256,
        mimetype="application/pdf",
        download_name=download_name("agreement", case.number, mimetype="application/pdf"),
    )


@login_required
def page_picture(case_id: int, number: int):
    """A page of the current document as a picture (the same access as the PDF)."""
    case = _case(case_id)
    agreement = _agreement(case)
    if agreement.document_path is None:
        abort(404)
    picture = signing.page_picture(agreement.document_path, agreement.document_sha256, number)
    if picture is None:
        abort(404)
    return send_page_picture(picture, f"{agreement.document_sha256}-{number}")


def _sign_page(
    case: Case,
    agreement: Agreement,
    form: SignForm,
    status: int = 200,
    errors: dict[str, str] | None = None,
):
    turn = signing.next_signature(agreement)
    if turn is None or not signing.may_sign(turn, current_user, case):
        return redirect(url_for("agreements.page", case_id=case.id))
    if not form.shown.data:
        form.shown.data = agreement.document_sha256
    page = render_template(
        "agreements/sign.html",
        case=case,
        agreement=agreement,
        turn=turn,
        form=form,
        errors=errors or {},
        page_count=pages.count(signing.document_bytes(agreement)),
        is_seal=turn.role == "institution",
        labels=dict(
            (n, label) for n, (_r, _u, label) in enumerate(signing.signers_of(case), start=1)
        ),
    )
    return Response(page, status=status)


@sign_flow.code_limit("code")
@login_required
def sign(case_id: int):
    """The signer's page: read the exact PDF, draw, get a code, sign (or refuse)."""
    case = _case(case_id)
    agreement = _agreement(case)
    if request.method == "GET":
        return _sign_page(case, agreement, SignForm(formdata=None))
    return sign_flow.answer(
        SignForm(),
        request.form.get("action"),
        send_code=lambda **shown: signing.send_code(agreement, current_user, **shown),
        sign=lambda **given: signing.sign(agreement, current_user, **given),
        refuse=lambda reason: round_end.refuse(agreement, current_user, reason),
        current_sha256=lambda: agreement.document_sha256,
        page=lambda form, status, errors: _sign_page(case, agreement, form, status, errors),
        back=url_for("agreements.page", case_id=case.id),
        signed_message=lambda: (
            _("The agreement is signed by everyone and in force.")
            if agreement.status == "effective"
            else _("Your signature is added.")
        ),
    )


@personal_links.limited
def personal_link(token: str):
    """The signer's link from the text message: on to the signing page, after a code for a
    party who is not logged in."""
    found = signing.of_link(token)
    if found is None:
        abort(404)
    agreement, user = found
    # An agent the party refused, say, is told the link no longer applies; a mediator the
    # case was taken from, once logged in, that the case went to another (``_case``).
    gone = viewable_case(agreement.case_id, user) is None
    if gone and not assignment.was_given_to(agreement.case_id, user):
        return personal_links.gone(str(personal_links.NO_LONGER_IN_CASE))
    return personal_links.enter(
        user,
        case_id=agreement.case_id,
        target=url_for("agreements.sign", case_id=agreement.case_id),
        via="agreement link",
        title=f"{_('Sign the agreement')} · {agreement.case.number}",
    )
