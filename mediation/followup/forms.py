"""Forms of the follow-up feature: the obligee's confirmation and the mediator's 回访记录."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from mediation.accounts.forms import REQUIRED

from .models import FollowUpKind, FollowUpResult
from .operations import MAX_NOTE, MAX_OUTCOME

KIND_NAMES = {FollowUpKind.call: _l("Telephone call"), FollowUpKind.visit: _l("Visit")}
RESULT_NAMES = {
    FollowUpResult.will_perform: _l("Promises to perform"),
    FollowUpResult.performed: _l("Found performed"),
    FollowUpResult.refuses: _l("Refuses or cannot be reached"),
    FollowUpResult.other: _l("Other"),
}
STATUS_NAMES = {
    "pending": _l("Not yet due"),
    "performed": _l("Performed"),
    "partly": _l("Performed in part"),
    "missed": _l("Date missed"),
}


class ConfirmForm(FlaskForm):
    how = RadioField(
        _l("What you received"),
        choices=[("full", _l("Performed in full")), ("part", _l("Performed in part"))],
        default="full",
        validators=[DataRequired(REQUIRED)],
    )
    note = TextAreaField(
        _l("What was received so far"),
        validators=[Length(max=MAX_NOTE)],
        description=_l("Needed when only part was performed, e.g. 1500 yuan of 3500."),
        render_kw={"rows": 2, "maxlength": MAX_NOTE},
    )


class FollowUpForm(FlaskForm):
    kind = SelectField(
        _l("How"), choices=list(KIND_NAMES.items()), validators=[DataRequired(REQUIRED)]
    )
    result = SelectField(
        _l("Result"), choices=list(RESULT_NAMES.items()), validators=[DataRequired(REQUIRED)]
    )
    outcome = TextAreaField(
        _l("What was said or found"),
        validators=[DataRequired(REQUIRED), Length(max=MAX_OUTCOME)],
        render_kw={"rows": 3, "maxlength": MAX_OUTCOME},
    )
