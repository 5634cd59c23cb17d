"""What every feature's forms and operations share: the error an operation raises about a
field, shown next to that field, and the rule that only failed attempts count against limits."""

from __future__ import annotations

import re

from flask import Response, flash
from flask_wtf import FlaskForm


class FieldError(ValueError):
    """A value the user typed cannot be accepted; ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


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
