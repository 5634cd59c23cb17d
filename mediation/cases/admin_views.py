"""The platform administrator's pages of the cases feature: dispute categories."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mediation.accounts.models import Role
from mediation.core.access import role_required
from mediation.core.forms import FieldError, apply_field_error
from mediation.extensions import db

from . import categories, statistics
from .forms import CategoryForm


@role_required(Role.platform_admin)
def category_list():
    return render_template(
        "cases/categories.html", categories=categories.all_categories(active_only=False)
    )


@role_required(Role.platform_admin)
def category_edit(code: str | None = None):
    existing = categories.get_category(code) if code else None
    if code and existing is None:
        abort(404)
    form = CategoryForm(obj=existing)
    if existing is not None:
        form.code.data = existing.code  # the code of a category in use never changes
        form.code.render_kw = {"readonly": True}
    if form.validate_on_submit():
        try:
            categories.save_category(
                code=existing.code if existing else form.code.data,
                name_zh=form.name_zh.data,
                name_en=form.name_en.data,
                judicial_confirmation=form.judicial_confirmation.data,
                active=form.active.data,
                new=existing is None,
            )
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            flash(_("The category was saved."), "success")
            return redirect(url_for("cases.category_list"))
    title = _("Edit category") if existing else _("New category")
    return render_template("accounts/form_page.html", form=form, title=title, submit=_("Save"))


def _scope() -> int | None:
    """A platform administrator sees everything; an institution's, its own cases."""
    if current_user.has_role(Role.platform_admin):
        return None
    if current_user.institution_id is None:
        abort(403)
    return current_user.institution_id


@role_required(Role.platform_admin, Role.institution_admin)
def statistics_page():
    data = statistics.figures(_scope())
    return render_template("cases/statistics.html", data=data)


@role_required(Role.platform_admin, Role.institution_admin)
def statistics_csv():
    headings = {
        "mediator": _("Mediator"),
        "cases": _("Cases"),
        "settled": _("Agreements"),
        "ended": _("Terminated"),
        "success_rate": _("Success rate"),
        "median_days": _("Median days to agreement"),
        "total": _("Total"),
    }
    body = statistics.to_csv(statistics.figures(_scope()), headings)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=mediation-statistics.csv"},
    )
