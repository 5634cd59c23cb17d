"""Pages of a question freed from the expert who took it (handover.py): the expert gives it
back, a colleague takes it over once it is late, the region's administrator puts it back in
the pool and reads the region's waiting questions with who freed which, when and why. Thin
handlers; the rules are in handover.py."""

from __future__ import annotations

from functools import partial

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from mediation.accounts.models import Role
from mediation.cases import categories, regions
from mediation.core.access import role_required
from mediation.core.db import utcnow
from mediation.core.forms import FieldError, apply_field_error
from mediation.extensions import db

from . import operations as ops
from .forms import REASON_NAMES, GiveBackForm, PutBackForm, TakeOverForm
from .models import Question
from .views import _admin_province, _question_or_404, _question_page


def _act(item, step, form=None, page_form: str = "", fields: tuple[str, ...] = ()):
    """Runs a handover ``step`` and commits it. The response to give instead of the step's
    own when it did not go through (None when it did, or when it was the same form again,
    answered as the first time): the expert freed meanwhile gets the 409 page, a refused
    field its form again (422), any other refusal its message on the question's page."""
    try:
        step()
    except ops.HandedOverAlreadyError:
        db.session.rollback()
        return None
    except ops.FreedError:
        db.session.rollback()
        return _question_page(item, status=409)
    except FieldError as error:
        db.session.rollback()
        if error.field in fields:
            apply_field_error(form, error)
            return _question_page(item, **{page_form: form}, status=422)
        flash(error.message, "error")
        return redirect(url_for("consultation.question", question_id=item.id))
    db.session.commit()
    return None


@login_required
def give_back(question_id: int):
    """放回: the expert who took the question gives it back to the pool (handover.py)."""
    given = db.session.get(Question, question_id)
    if given is not None and ops.recused(current_user, given):
        # The same tap again, after a conflict of interest: done, and no longer shown.
        flash(str(GIVEN_BACK), "success")
        return redirect(url_for("consultation.queue"))
    item = _question_or_404(question_id)
    freed = ops.freed_from(current_user, item)
    if not ops.holds(current_user, item) and freed is None:
        abort(403)
    form = GiveBackForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _question_page(item, give_back_form=form, status=422)
    step = partial(ops.give_back, item, current_user, form.reason.data or "", form.note.data or "")
    if (refused := _act(item, step, form, "give_back_form", ("reason", "note"))) is not None:
        return refused
    flash(str(GIVEN_BACK), "success")
    return redirect(url_for("consultation.queue"))


GIVEN_BACK = _l(
    "You gave the question back: the other experts of your region are told. The person "
    "who asked is still waiting for an answer by the time they were given."
)


def _holder_of(form) -> int:
    """The expert the page showed holding the question (TakeOverForm, PutBackForm)."""
    try:
        return int(form.holder.data or 0)
    except ValueError:
        return 0


@login_required
def take_over(question_id: int):
    """Late: another expert of the pool takes the question over (handover.py)."""
    item = _question_or_404(question_id)
    if ops.freed_from(current_user, item) is not None and not ops.holds(current_user, item):
        return _question_page(item, status=409)
    if not ops.in_pool(current_user, item):
        abort(403)
    form = TakeOverForm()
    if not form.validate_on_submit():
        abort(400)
    records = []  # the handover made, or None: back in the pool meanwhile, simply taken

    def step() -> None:
        records.append(ops.take_over(item, current_user, _holder_of(form)))

    if (refused := _act(item, step)) is not None:
        return refused
    if records and records[0] is None:
        flash(_("The question is yours to answer now."), "success")
    else:
        flash(
            _("The question is yours to answer now; the expert who had taken it is told."),
            "success",
        )
    return redirect(url_for("consultation.question", question_id=item.id))


@role_required(Role.platform_admin, Role.institution_admin)
def put_back(question_id: int):
    """Late: the region's administrator puts the question back in the pool (handover.py)."""
    item = _question_or_404(question_id)
    if not ops.may_put_back(current_user, item):
        abort(403)
    form = PutBackForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _question_page(item, put_back_form=form, status=422)
    step = partial(ops.put_back, item, current_user, _holder_of(form), form.note.data or "")
    if (refused := _act(item, step, form, "put_back_form", ("note",))) is not None:
        return refused
    flash(
        _(
            "The question is back with the experts of its region: they and the expert who "
            "had taken it are told."
        ),
        "success",
    )
    return redirect(url_for("consultation.question", question_id=item.id))


# -- administrators -------------------------------------------------------------------


@role_required(Role.platform_admin, Role.institution_admin)
def questions():
    """The region's questions still waiting, the late first, and who freed which from its
    expert, when and why (handover.py)."""
    own = _admin_province()
    return render_template(
        "consultation/questions.html",
        questions=ops.waiting_in_region(own),
        handovers=ops.handed_over_in_region(own),
        now=utcnow(),
        reason_names=REASON_NAMES,
        category_name=categories.category_name,
        region_name=regions.name,
    )
