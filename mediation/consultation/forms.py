"""Forms of the consultation feature (choices are filled by the views)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from mediation.accounts.forms import CODE_FIELD, REQUIRED, IdentityForm

from .handover import MAX_NOTE
from .models import ExpertKind, GiveBackReason
from .operations import MAX_ANSWER, MAX_FILES, MAX_SUBJECT, MAX_TEXT


class AskForm(FlaskForm):
    # Both offer an empty "please choose" first and are required (views.ask), the province
    # preselected only where the asker's earlier question or case tells it: a question
    # sent to the wrong province's experts because nobody changed a first choice would go
    # unanswered by the right ones.
    category = SelectField(
        _l("Kind of dispute"),
        choices=[],
        validators=[DataRequired(_l("Choose one of the dispute categories."))],
    )
    region_code = SelectField(
        _l("Province where it happened"),
        choices=[],
        validators=[DataRequired(_l("Choose the province where the dispute arose."))],
        description=_l("Your question goes to the experts of this province."),
    )
    subject = StringField(
        _l("Your question in a few words"),
        validators=[DataRequired(REQUIRED), Length(max=MAX_SUBJECT)],
    )
    text = TextAreaField(
        _l("What happened, and what you want to know"),
        validators=[DataRequired(REQUIRED), Length(max=MAX_TEXT)],
        render_kw={"rows": 8},
    )
    files = MultipleFileField(
        _l("Photos or PDF documents (optional)"),
        description=_l("At most %(n)d files, up to 20 MB each.", n=MAX_FILES),
        render_kw={"accept": "image/*,application/pdf"},
    )


class StartForm(FlaskForm):
    """A person without an account: the number a code is sent to."""

    phone = StringField(
        _l("Mobile phone number"),
        validators=[DataRequired(REQUIRED), Length(max=30)],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )


class ConfirmForm(FlaskForm):
    code = StringField(_l("Code sent to your phone"), **CODE_FIELD)
    real_name = StringField(
        _l("Real name"),
        validators=[DataRequired(REQUIRED), Length(max=100)],
        render_kw={"autocomplete": "name"},
    )


class AnswerForm(FlaskForm):
    answer = TextAreaField(
        _l("Your answer"),
        validators=[DataRequired(REQUIRED), Length(max=MAX_ANSWER)],
        render_kw={"rows": 7},
    )


REASON_NAMES = {
    GiveBackReason.field: _l("It is not my field"),
    GiveBackReason.conflict: _l("I have a conflict of interest"),
    GiveBackReason.time: _l("I have no time to answer it in time"),
    GiveBackReason.other: _l("Another reason"),
}


class GiveBackForm(FlaskForm):
    """放回: the expert who took a question gives it back (handover.give_back checks the
    reason, so that a missing one is said in the page's language)."""

    reason = RadioField(
        _l("Why do you give it back?"),
        choices=[(str(k), v) for k, v in REASON_NAMES.items()],
        validate_choice=False,
    )
    note = StringField(
        _l("In a few words"),
        description=_l("Optional; needed for another reason. Only the region's staff read it."),
        validators=[Length(max=MAX_NOTE)],
    )


class TakeOverForm(FlaskForm):
    # The expert the page showed holding the question: a colleague who took it over a
    # moment earlier is not taken over in turn (handover.take_over).
    holder = HiddenField()


class PutBackForm(FlaskForm):
    holder = HiddenField()  # as TakeOverForm's
    note = StringField(
        _l("A note for the record (optional)"),
        description=_l("The expert and the pool are not shown it; the region's staff are."),
        validators=[Length(max=MAX_NOTE)],
    )


KIND_NAMES = {
    ExpertKind.lawyer: _l("Lawyer"),
    ExpertKind.mediator: _l("Mediator"),
    ExpertKind.deputy: _l("Deputy, CPPCC member or people's juror (volunteer)"),
}


class ExpertForm(IdentityForm):
    """An administrator adds an expert (an existing account on the number becomes one)."""

    kind = SelectField(
        _l("Kind of expert"),
        choices=[(str(k), v) for k, v in KIND_NAMES.items()],
        validators=[DataRequired(REQUIRED)],
    )
    region_code = SelectField(
        _l("Province answered for"),
        choices=[],
        validators=[DataRequired(_l("Choose the province the expert answers for."))],
    )
    categories = SelectMultipleField(
        _l("Dispute categories answered"),
        choices=[],
        description=_l("None chosen: every category."),
    )
    languages = StringField(
        _l("Languages"),
        description=_l("Separated by commas, e.g. Mandarin, Cantonese"),
        validators=[Length(max=200)],
    )
    hours = StringField(
        _l("Hours"),
        description=_l("When the expert answers, e.g. working days 9:00-17:00"),
        validators=[Length(max=200)],
    )
