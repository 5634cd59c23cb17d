"""Forms of the booking feature."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from mediation.accounts.forms import COMMON_ZONES, REQUIRED
from mediation.core.i18n import zone_name

WEEKDAYS = [
    (0, _l("Monday")),
    (1, _l("Tuesday")),
    (2, _l("Wednesday")),
    (3, _l("Thursday")),
    (4, _l("Friday")),
    (5, _l("Saturday")),
    (6, _l("Sunday")),
]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FreeTimesField(CheckboxesField):
    """Times offered on the page. A time that was free when the page loaded may be gone
    when it is sent: the booking operation, not the choice list, says so, clearly."""

    def pre_validate(self, form) -> None:
        pass


class FreeTimeField(RadioField):
    def pre_validate(self, form) -> None:
        pass


class SettingsForm(FlaskForm):
    # Named as people name zones (北京时间), not by their IANA code; any zone the platform
    # knows is accepted (availability.check_zone), a stored one outside the list is offered.
    time_zone = SelectField(
        _l("Time zone"),
        choices=COMMON_ZONES,
        validators=[DataRequired(REQUIRED), Length(max=64)],
        validate_choice=False,
        description=_l("Your weekly hours are in this time zone."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        chosen = self.time_zone.data
        if chosen and chosen not in dict(COMMON_ZONES):
            self.time_zone.choices = [*COMMON_ZONES, (chosen, zone_name(chosen))]

    session_minutes = IntegerField(
        _l("Usual length of a session (minutes)"),
        # InputRequired: a 0 typed in is answered by the range, not "required" (DataRequired
        # takes the number 0 for an empty field).
        validators=[InputRequired(REQUIRED), NumberRange(15, 480)],
    )
    buffer_minutes = IntegerField(
        _l("Free time after each session (minutes)"),
        validators=[Optional(), NumberRange(0, 240)],
        default=0,
    )
    min_notice_hours = IntegerField(
        _l("Minimum notice (hours)"),
        validators=[Optional(), NumberRange(0, 24 * 14)],
        default=0,
        description=_l("Parties need time to arrange to be free and to test their device."),
    )
    max_sessions_per_day = IntegerField(
        _l("Most sessions in one day"), validators=[InputRequired(REQUIRED), NumberRange(1, 20)]
    )
    holidays_off = BooleanField(_l("Public holidays are off"))


class RuleForm(FlaskForm):
    weekday = SelectField(_l("Day"), choices=WEEKDAYS, coerce=int)
    starts = TimeField(_l("From"), validators=[DataRequired(REQUIRED)])
    ends = TimeField(_l("Until"), validators=[DataRequired(REQUIRED)])
    reception = BooleanField(
        _l("Public reception hours"),
        description=_l("Listed publicly, like a reception day at the office (接待日)."),
    )
    place = StringField(_l("Place (for reception hours)"), validators=[Length(max=200)])


class ExceptionForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired(REQUIRED)])
    available = RadioField(
        _l("On that date"),
        choices=[("0", _l("I am away")), ("1", _l("I am available (extra hours)"))],
        default="0",
    )
    starts = TimeField(_l("From"), validators=[Optional()])
    ends = TimeField(
        _l("Until"),
        validators=[Optional()],
        description=_l("Leave both empty to be away the whole day."),
    )
    note = StringField(_l("Note"), validators=[Length(max=200)])


class BookForm(FlaskForm):
    times = FreeTimesField(
        _l("Times"),
        description=_l("One time to book it, or 2 to 6 times for the parties to choose from."),
    )
    minutes = IntegerField(_l("Length (minutes)"), validators=[Optional(), NumberRange(15, 480)])
    side = SelectField(_l("Who takes part"), default="")
    at_site = CheckboxesField(
        _l("Joins from the institution's office"),
        description=_l("For a party without a phone or computer (art 16)."),
    )
    note = TextAreaField(_l("Note for the participants"), validators=[Length(max=1000)])


class RescheduleForm(FlaskForm):
    start = FreeTimeField(_l("New time"), validators=[DataRequired(REQUIRED)])
    reason = StringField(
        _l("Reason (everyone is told)"), validators=[DataRequired(REQUIRED), Length(max=500)]
    )


class CancelForm(FlaskForm):
    reason = StringField(
        _l("Reason (everyone is told)"), validators=[DataRequired(REQUIRED), Length(max=500)]
    )


class StartNowForm(FlaskForm):
    # Ticked, the browser sends "y"; anything that reads as "no" is no.
    parties_agreed = BooleanField(
        _l("The parties agreed to start now"), false_values=("", "0", "n", "no", "false", "off")
    )


class ChooseForm(FlaskForm):
    chosen = CheckboxesField(_l("The times I can attend"), coerce=int)


class GuestForm(FlaskForm):
    """People's Mediation Law art 20: others the mediator invites to a session."""

    real_name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    phone = StringField(
        _l("Mobile phone number"),
        validators=[DataRequired(REQUIRED), Length(max=20)],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    id_number = StringField(_l("Resident ID number (if known)"), validators=[Length(max=18)])
    relation = SelectField(
        _l("Who they are"),
        choices=[
            ("relative", _l("A relative of a party")),
            ("neighbour", _l("A neighbour of a party")),
            ("colleague", _l("A colleague of a party")),
            ("expert", _l("An expert")),
            ("interpreter", _l("An interpreter")),
            ("other", _l("Someone else a party brings")),
        ],
    )
    side = SelectField(
        _l("Comes with"),
        choices=[("applicant", _l("the applicant")), ("respondent", _l("the respondent"))],
        description=_l("Experts and interpreters come with no side."),
    )
