"""Pages of the consultation feature: thin handlers; the rules are in operations.py."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mediation.accounts import operations as accounts
from mediation.accounts import personal_links, registration
from mediation.accounts.identity import mask_phone
from mediation.accounts.models import CodePurpose, Role, User
from mediation.accounts.views import code_browser
from mediation.cases import categories, regions
from mediation.core.access import role_required
from mediation.core.db import utcnow
from mediation.core.downloads import download_name, send_stored
from mediation.core.forms import (
    FieldError,
    apply_field_error,
    failed_attempt,
    listed,
    with_prompt,
)
from mediation.core.storage import content_key
from mediation.core.views import safe_next
from mediation.extensions import db, limiter

from . import links
from . import operations as ops
from .forms import (
    KIND_NAMES,
    REASON_NAMES,
    AnswerForm,
    AskForm,
    ConfirmForm,
    ExpertForm,
    GiveBackForm,
    PutBackForm,
    StartForm,
)
from .models import Attachment, ExpertProfile, Question, QuestionStatus


def _question_or_404(question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is not None and ops.recused(current_user, question):
        abort(personal_links.gone(str(RECUSED)))  # told why, and shown nothing of it
    if question is None or not ops.can_view(current_user, question):
        abort(404)  # never says whether someone else's question exists
    return question


RECUSED = _l(
    "You gave this question back for a conflict of interest: it and its answer are no "
    "longer shown to you."
)


def _province_choices() -> list[tuple[str, str]]:
    return [(code, name) for code, name in regions.choices() if code]


# -- the asker ------------------------------------------------------------------------


def index():
    """What consultation is; a logged-in person's own questions."""
    mine = ops.my_questions(current_user) if current_user.is_authenticated else []
    return render_template("consultation/index.html", questions=mine, days=ops.ANSWER_WORKING_DAYS)


@limiter.limit(lambda: current_app.config["CONSULTATION_ASK_LIMIT"], methods=["POST"])
def ask():
    if not current_user.is_authenticated:
        return redirect(url_for("consultation.start"))
    form = AskForm()
    # Nothing is chosen for the person but the province the platform knows is theirs.
    form.category.choices = with_prompt(categories.choices())
    form.region_code.choices = with_prompt(_province_choices())
    if request.method == "GET":
        form.region_code.data = ops.known_province(current_user)
    if form.validate_on_submit():
        files = [
            (upload.filename or "", upload.read())
            for upload in request.files.getlist(form.files.name)
            if upload.filename
        ]
        try:
            question = ops.ask(
                current_user,
                category=form.category.data,
                region_code=form.region_code.data,
                subject=form.subject.data,
                text=form.text.data,
                files=files,
            )
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        except ops.AskedAlreadyError as already:
            db.session.rollback()
            flash(_("Your question was already sent to the experts: here it is."), "info")
            return redirect(url_for("consultation.question", question_id=already.question.id))
        else:
            db.session.commit()
            flash(_("Your question has been sent to the experts."), "success")
            return redirect(url_for("consultation.question", question_id=question.id))
    status = 422 if form.errors else 200
    page = render_template("consultation/ask.html", form=form, days=ops.ANSWER_WORKING_DAYS)
    return page, status


@limiter.limit(lambda: current_app.config["REGISTER_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["CODE_SEND_LIMIT"], methods=["POST"])
def start():
    """No account yet: the number is proven by a code, as registration proves it."""
    # Reception booking sends people here too, to come back once the number is proven.
    after = safe_next(request.args.get("next")) or url_for("consultation.ask")
    if current_user.is_authenticated:
        return redirect(after)
    form = StartForm()
    browser = code_browser("consulting")
    if form.validate_on_submit():
        try:
            locale = str(get_locale()) if get_locale() else None
            phone = registration.start_registration(form.phone.data, browser=browser, locale=locale)
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            session["consulting"] = {"phone": phone, "browser": browser, "next": after}
            flash(_("A message has been sent to %(phone)s.", phone=mask_phone(phone)), "info")
            return redirect(url_for("consultation.confirm"))
    return render_template("consultation/start.html", form=form, step=1)


@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=failed_attempt,
)
def confirm():
    consulting = session.get("consulting")
    phone = consulting.get("phone") if isinstance(consulting, dict) else None
    if not phone:
        return redirect(url_for("consultation.start"))
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            user = registration.open_by_code(
                phone,
                form.code.data.strip(),
                real_name=form.real_name.data,
                browser=consulting["browser"],
            )
        except FieldError as error:
            db.session.commit()  # a failed try at the code is counted
            apply_field_error(form, error)
        else:
            db.session.commit()
            session.pop("consulting", None)
            login_user(user)
            return redirect(safe_next(consulting.get("next")) or url_for("consultation.ask"))
    status = 422 if form.errors else 200
    page = render_template("consultation/start.html", form=form, step=2, phone=mask_phone(phone))
    return page, status


def _question_page(
    item: Question,
    *,
    answer_form: AnswerForm | None = None,
    give_back_form: GiveBackForm | None = None,
    put_back_form: PutBackForm | None = None,
    draft: str | None = None,
    answering: bool = False,
    status: int = 200,
):
    """The question's page as ``current_user`` may act on it: the asker waiting or reading
        the answer, the expert answering or giving it back, a colleague taking it over once it
        is late, the region's administrator putting it back and reading who freed it when
        (handover.py), the expert it was freed from told why it is no longer theirs (``draft``:
        the answer they sent too late, shown back to them; ``answering``: the answer form is shown
    with what the expert wrote and why it was refused)."""
    holder = ops.holds(current_user, item)
    staff = ops.may_put_back(current_user, item)
    waiting = item.status == QuestionStatus.open and ops.may_take(current_user, item)
    page = render_template(
        "consultation/question.html",
        question=item,
        asker=item.asker_id == current_user.id,
        expert_here=ops.in_pool(current_user, item),
        mine_to_answer=answering or holder or waiting,
        holder=holder,
        may_take_over=ops.may_take_over(current_user, item),
        may_put_back=staff
        and item.status == QuestionStatus.taken
        and ops.relievable_at(item) <= utcnow(),
        handovers=item.handovers if staff else [],
        reason_names=REASON_NAMES,
        moved=ops.moved_out(current_user, item),
        freed=ops.freed_notice(current_user, item),
        draft=draft,
        answer_form=answer_form or AnswerForm(),
        give_back_form=give_back_form or GiveBackForm(),
        put_back_form=put_back_form or PutBackForm(),
        form=FlaskForm(),
        category=categories.category_name(item.category),
        region=regions.name(item.region_code),
    )
    return page, status


@login_required
def question(question_id: int):
    return _question_page(_question_or_404(question_id))


@personal_links.limited
def personal_link(token: str):
    """The asker's link from the "answered" text message: on to the question and its
    answer, after a code to their phone for someone who is not logged in (a person who
    asked without choosing a password has none)."""
    item = links.question_of_link(token)
    if item is None:
        abort(404)
    return personal_links.enter(
        item.asker,
        case_id=None,
        target=url_for("consultation.question", question_id=item.id),
        via="consultation link",
        title=_("The answer to your question"),
    )


@login_required
def attachment(question_id: int, attachment_id: int):
    item = _question_or_404(question_id)
    file = db.session.get(Attachment, attachment_id)
    if file is None or file.question_id != item.id:
        abort(404)
    response = send_stored(
        content_key(file.sha256),
        mimetype=file.content_type,
        download_name=download_name(
            "consultation", str(item.id), file.id, mimetype=file.content_type
        ),
        sha256=file.sha256,
        size=file.size,
        as_attachment=request.args.get("download") == "1",
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@role_required(Role.party)  # disputes are filed from a party's account (cases.intake_views)
def to_case(question_id: int):
    item = _question_or_404(question_id)
    if item.asker_id != current_user.id:
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        case = ops.to_case(item, current_user)
    except FieldError as error:  # the category was withdrawn since the question was asked
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("consultation.question", question_id=item.id))
    db.session.commit()
    flash(_("A draft case was made from your question. Check it and complete it."), "success")
    return redirect(url_for("cases.intake_dispute", case_id=case.id))


# -- the expert -----------------------------------------------------------------------


@role_required(Role.expert)
def queue():
    """The questions waiting in the expert's pool, then a page of those they answered."""
    page = max(request.args.get("page", 1, type=int), 1)
    answered, earlier = ops.answered_by(current_user, page=page)
    return render_template(
        "consultation/queue.html",
        questions=ops.queue(current_user),
        answered=answered,
        page=page,
        earlier=earlier,
        category_name=categories.category_name,
        region_name=regions.name,
    )


@login_required
def take(question_id: int):
    item = _question_or_404(question_id)
    if ops.freed_from(current_user, item) is not None and not ops.holds(current_user, item):
        return _question_page(item, status=409)
    if not ops.may_answer(current_user, item):
        abort(403)
    if FlaskForm().validate_on_submit():
        try:
            ops.take(item, current_user)
        except FieldError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
    return redirect(url_for("consultation.question", question_id=item.id))


@login_required
def answer(question_id: int):
    item = _question_or_404(question_id)
    if ops.freed_from(current_user, item) is not None and not ops.holds(current_user, item):
        form = AnswerForm()
        return _question_page(
            item, draft=form.answer.data if form.answer.data else None, status=409
        )
    if not ops.may_answer(current_user, item):
        abort(403)
    # Taken before an administrator changed the expert's province or categories: answered
    # all the same (ops.may_answer), and the expert told why new ones no longer come.
    moved = ops.moved_out(current_user, item)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            ops.answer(item, current_user, form.answer.data)
        except FieldError as error:
            db.session.rollback()
            form.answer.errors = [error.message]
        except ops.FreedError:
            # Freed from them while the form was open (given back in another tab, taken
            # over, put back): told why, their answer shown back so nothing is lost.
            db.session.rollback()
            return _question_page(item, draft=form.answer.data, status=409)
        except ops.AnsweredAlreadyError:
            db.session.rollback()
            flash(_("Your answer was already sent; the person who asked was told."), "info")
            return redirect(url_for("consultation.question", question_id=item.id))
        else:
            db.session.commit()
            if item.case_id is None:
                flash(_("Your answer was sent; the person who asked is told."), "success")
            else:
                flash(
                    _(
                        "Your answer was sent; the person who asked is told. They turned the "
                        "question into an application for mediation: they read your answer "
                        "with the question, and their case's record notes it."
                    ),
                    "success",
                )
            if moved is not None:
                flash(
                    _(
                        "Your expert profile was changed after you took this question: new "
                        "questions like it no longer come to you."
                    ),
                    "info",
                )
            return redirect(url_for("consultation.question", question_id=item.id))
    return _question_page(item, answer_form=form, answering=True, status=422)


# -- administrators -------------------------------------------------------------------


@role_required(Role.platform_admin, Role.institution_admin)
def experts():
    profiles = db.session.scalars(
        select(ExpertProfile).order_by(ExpertProfile.region_code, ExpertProfile.user_id)
    ).all()
    own = _admin_province()
    shown = [p for p in profiles if own is None or p.region_code == own]
    return render_template(
        "consultation/experts.html", profiles=shown, kinds=KIND_NAMES, region_name=regions.name
    )


def _admin_province() -> str | None:
    """None for a platform administrator; else the province of their institution."""
    if current_user.has_role(Role.platform_admin):
        return None
    if current_user.institution is None:
        abort(403)
    return regions.province_code(current_user.institution.region_code)


@role_required(Role.platform_admin, Role.institution_admin)
def new_expert():
    own = _admin_province()
    form = ExpertForm()
    provinces = [c for c in _province_choices() if own is None or c[0] == own]
    # A platform administrator chooses among all (none preselected); an institution's
    # administrator has only their own province.
    form.region_code.choices = with_prompt(provinces) if len(provinces) > 1 else provinces
    form.categories.choices = categories.choices()
    if form.validate_on_submit():
        identity = form.identity()
        try:
            user = db.session.scalar(
                select(User).where(User.phone == accounts.normalise_identifier(identity["phone"]))
            )
            if user is None:
                user = accounts.create_user(roles=[], **identity)
                accounts.issue_code(user, CodePurpose.password_reset)
            ops.make_expert(
                user,
                kind=form.kind.data,
                region_code=form.region_code.data,
                categories_=list(form.categories.data or []),
                languages=listed(form.languages.data),
                hours=form.hours.data or "",
                admin_province=own,
            )
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s now answers consultations.", name=user.real_name), "success")
            return redirect(url_for("consultation.experts"))
    return render_template(
        "accounts/form_page.html",
        form=form,
        title=_("Add an expert"),
        intro=_(
            "A new expert receives a code by text message to choose a password; an account "
            "that already exists on the number becomes an expert as well."
        ),
        submit=_("Add the expert"),
    )
