"""Dispute categories: a table the platform administrator edits, read by every feature.

``judicial_confirmation`` is False where a court cannot confirm an agreement: identity
relations (marriage, adoption, parent-child) and confirming ownership of property or
intellectual property (SPC CPL interpretation 2022 art 355). The defaults are written by the
migration that creates the table.
"""

from __future__ import annotations

from flask import g
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from mediation.core.forms import FieldError
from mediation.extensions import db

from .models import Category


def all_categories(*, active_only: bool = True) -> list[Category]:
    query = select(Category).order_by(Category.position, Category.code)
    if active_only:
        query = query.where(Category.active.is_(True))
    return list(db.session.scalars(query))


def get_category(code: str) -> Category | None:
    return db.session.get(Category, code)


def category_name(code: str) -> str:
    """The category's name in the viewer's language (one query per request)."""
    names = g.get("category_names")
    if names is None:
        english = str(get_locale()).startswith("en")
        names = {
            c.code: c.name_en if english else c.name_zh for c in all_categories(active_only=False)
        }
        g.category_names = names
    return names.get(code, code)


def choices() -> list[tuple[str, str]]:
    return [(c.code, category_name(c.code)) for c in all_categories()]


def save_category(
    *,
    code: str,
    name_zh: str,
    name_en: str,
    judicial_confirmation: bool,
    active: bool = True,
    new: bool = False,
) -> Category:
    """Create (``new``) or change a category; codes never change once cases use them."""
    category = db.session.get(Category, code)
    if new:
        if category is not None:
            raise FieldError("code", _("A category with this code exists already."))
        position = db.session.scalar(select(func.coalesce(func.max(Category.position), 0)))
        category = Category(code=code, position=position + 1)
        db.session.add(category)
    elif category is None:
        raise FieldError("code", _("There is no such category."))
    category.name_zh = name_zh.strip()
    category.name_en = name_en.strip()
    category.judicial_confirmation = judicial_confirmation
    category.active = active
    db.session.flush()
    g.pop("category_names", None)
    return category
