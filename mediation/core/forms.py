"""What every feature's forms and operations share: the error an operation raises about a
field, shown next to that field, and the rule that only failed attempts count against limits."""

from __future__ import annotations

import re

from flask import Response, flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.validators import ValidationError

# The empty first choice of a select the person must choose in themselves ("请选择…").
PLEASE_CHOOSE = _l("Please choose…")


class FieldError(ValueError):
    """A value the user typed cannot be accepted; ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def with_prompt(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A select's choices after an empty "please choose" one: nothing is chosen for the
    person (the first province or category would be), and a required select left so is
    flagged beside it."""
    return [("", PLEASE_CHOOSE), *choices]


def apply_field_error(form: FlaskForm, error: FieldError) -> None:
    """Show an operation's complaint next to the field it is about (or on top)."""
    field = getattr(form, error.field, None)
    if field is None:
        flash(error.message, "error")
    else:
        field.errors = [*field.errors, error.message]


def failed_attempt(response: Response) -> bool:
    """For rate limits: a redirect means success, so only other answers are counted."""
    return response.status_code != 302


# A list typed into one field: Chinese users separate with "，" or "、", others with ",".
_SEPARATORS = re.compile(r"[,，、;；]")


def listed(text: str | None) -> list[str]:
    """The items of a list typed into one field ("普通话、粤语", "Mandarin, Cantonese")."""
    return [item.strip() for item in _SEPARATORS.split(text or "") if item.strip()]


class Cents:
    """An amount of money has at most two decimal places (fen): a third one would be
    dropped without a word when stored (``Numeric(14, 2)``), and the amount the person
    typed would not be the one kept. (WTForms' ``places`` only formats it for display.)"""

    def __call__(self, form, field) -> None:
        value = field.data
        if value is not None and value.is_finite() and value.as_tuple().exponent < -2:
            raise ValidationError(str(_l("An amount has at most two decimal places (fen).")))
