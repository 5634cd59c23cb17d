"""Forms of the reception feature (the slot choices are filled by the views)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from mediation.accounts.forms import REQUIRED

from .operations import MAX_NOTES, MAX_SUBJECT


class BookForm(FlaskForm):
    subject = StringField(
        _l("What you want to talk about, in a few words"),
        validators=[DataRequired(REQUIRED), Length(max=MAX_SUBJECT)],
    )


class RecordForm(FlaskForm):
    notes = TextAreaField(
        _l("Record of the talk"),
        description=_l("What the party said, and what was advised."),
        validators=[DataRequired(REQUIRED), Length(max=MAX_NOTES)],
        render_kw={"rows": 8},
    )
    category = SelectField(
        _l("Kind of dispute"),
        choices=[],
        description=_l("Needed to file a case or keep the talk as a consultation answer."),
    )
