"""Forms of the minutes pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from .operations import MAX_SECTION

SECTION_LABELS = {
    "attendees": _l("Attendees"),
    "applicant_statement": _l("The applicant's statement"),
    "respondent_statement": _l("The respondent's statement"),
    "proposals": _l("Proposals"),
    "facts": _l("Undisputed facts"),
}


class MinutesForm(FlaskForm):
    """The mediator's text, one field per part; each line becomes a numbered passage."""

    attendees = TextAreaField(SECTION_LABELS["attendees"], [Length(max=MAX_SECTION)])
    applicant_statement = TextAreaField(
        SECTION_LABELS["applicant_statement"], [Length(max=MAX_SECTION)]
    )
    respondent_statement = TextAreaField(
        SECTION_LABELS["respondent_statement"], [Length(max=MAX_SECTION)]
    )
    proposals = TextAreaField(SECTION_LABELS["proposals"], [Length(max=MAX_SECTION)])
    facts = TextAreaField(
        SECTION_LABELS["facts"],
        [Length(max=MAX_SECTION)],
        description=_l("Facts both sides accept; they are confirmed in writing (art 22)."),
    )


class ReviewForm(FlaskForm):
    """A party's answer: the disputed passages come as dispute-N / note-N fields, and the
    version they read travels along (a code must not confirm words they never saw)."""

    version = HiddenField()
    code = StringField(
        _l("Code from the text message"),
        [Optional(), Length(max=6)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token."""
