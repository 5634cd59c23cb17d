"""Forms of the accounts feature. Identity fields are checked by ``identity`` validators."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from .identity import (
    ETHNICITIES,
    IdentityError,
    ethnicity_name,
    validate_id_number,
    validate_phone,
)

REQUIRED = _l("This field is required.")


class IdNumber:
    """WTForms validator for a resident ID number (GB 11643 checksum)."""

    def __call__(self, form: FlaskForm, field: StringField) -> None:
        if field.data:
            try:
                validate_id_number(field.data)
            except IdentityError as error:
                raise ValidationError(str(error)) from None


class Phone:
    def __call__(self, form: FlaskForm, field: StringField) -> None:
        if field.data:
            try:
                validate_phone(field.data, current_app.config["DEFAULT_PHONE_REGION"])
            except IdentityError as error:
                raise ValidationError(str(error)) from None


def ethnicity_choices() -> list[tuple[str, str]]:
    """The 56 nationalities, named in the page's language, after an empty choice."""
    from flask_babel import get_locale

    english = str(get_locale() or "").startswith("en")
    return [("", "—")] + [
        (code, ethnicity_name(code, english=english)) for code, _zh, _en in ETHNICITIES
    ]


class OwnIdentityForm(FlaskForm):
    """A person's ID number and ethnicity, while no mediator has confirmed them yet."""

    id_number = StringField(
        _l("Resident ID number"),
        validators=[Length(max=40), IdNumber()],
        description=_l(
            "18 characters; the last one may be X. Your sex and date of birth are read from "
            "it. The mediator compares it with your identity card on video."
        ),
        render_kw={"autocomplete": "off", "inputmode": "text", "maxlength": 18},
    )
    ethnicity = SelectField(_l("Ethnicity"), choices=[], validate_choice=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ethnicity.choices = ethnicity_choices()


class LoginForm(FlaskForm):
    identifier = StringField(
        _l("Phone number or e-mail"),
        validators=[DataRequired(REQUIRED), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Stay logged in on this device"))


class IdentityForm(FlaskForm):
    """The real-name fields every account has (mediation is real-name)."""

    real_name = StringField(
        _l("Real name"),
        validators=[DataRequired(REQUIRED), Length(max=100)],
        render_kw={"autocomplete": "name"},
    )
    id_number = StringField(
        _l("Resident ID number"),
        validators=[DataRequired(REQUIRED), IdNumber()],
        description=_l("18 characters; the last one may be X."),
        render_kw={"autocomplete": "off", "inputmode": "text", "maxlength": 18},
    )
    phone = StringField(
        _l("Mobile phone number"),
        validators=[DataRequired(REQUIRED), Phone()],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    email = EmailField(
        _l("E-mail (optional)"),
        validators=[Optional(), Email(_l("This is not an e-mail address."))],
        render_kw={"autocomplete": "email"},
    )

    def identity(self) -> dict[str, str | None]:
        """The fields as ``operations.create_user`` takes them."""
        return {
            "real_name": self.real_name.data,
            "id_number": self.id_number.data,
            "phone": self.phone.data,
            "email": self.email.data or None,
        }


CODE_FIELD = {
    "validators": [
        DataRequired(REQUIRED),
        Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits.")),
    ],
    "render_kw": {"autocomplete": "one-time-code", "inputmode": "numeric"},
}


class RegisterPhoneForm(FlaskForm):
    """Registration, step 1: the number a code is sent to before any account exists."""

    phone = StringField(
        _l("Mobile phone number"),
        validators=[DataRequired(REQUIRED), Phone()],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )


class RegisterForm(IdentityForm):
    """Registration, step 2: the code sent to the number, then who the person is."""

    phone = None  # proven in step 1, kept by the server
    code = StringField(_l("Code sent to your phone"), **CODE_FIELD)
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(REQUIRED),
            Length(min=8, message=_l("Use at least 8 characters.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )

    def identity(self) -> dict[str, str | None]:
        return {
            "real_name": self.real_name.data,
            "id_number": self.id_number.data,
            "email": self.email.data or None,
        }


class ForgotPasswordForm(FlaskForm):
    identifier = StringField(
        _l("Phone number or e-mail"),
        validators=[DataRequired(REQUIRED), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )


class ResetPasswordForm(FlaskForm):
    identifier = StringField(
        _l("Phone number or e-mail"), validators=[DataRequired(REQUIRED), Length(max=254)]
    )
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(REQUIRED),
            Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(REQUIRED),
            Length(min=8, message=_l("Use at least 8 characters.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(REQUIRED),
            Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class SendCodeForm(FlaskForm):
    """A button only: CSRF-protected request to send a code."""


class MediatorForm(IdentityForm):
    """An institution administrator adds a mediator to the roster."""

    specialities = TextAreaField(_l("Specialities"), validators=[Length(max=2000)])
    categories = SelectMultipleField(_l("Dispute categories accepted"), choices=[])
    languages = StringField(
        _l("Languages"),
        description=_l("Separated by commas, e.g. Mandarin, Cantonese"),
        validators=[Length(max=200)],
    )
    charges_fee = BooleanField(_l("Charges a fee"))
    fee_note = StringField(_l("Fee basis"), validators=[Length(max=500)])


REGION_CODE = Regexp(r"^[0-9]{6}$", message=_l("A region code has 6 digits (GB/T 2260)."))


class InstitutionForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    region_code = StringField(
        _l("Region code"),
        validators=[DataRequired(REQUIRED), REGION_CODE],
        description=_l("The 6-digit administrative division code, e.g. 320102"),
        render_kw={"inputmode": "numeric", "maxlength": 6},
    )
    street_code = StringField(
        _l("Street or township code"),
        validators=[Optional(), Regexp(r"^[0-9]{9}$", message=_l("A street code has 9 digits."))],
        description=_l(
            "For a township's or street's mediation station: the 9-digit code (GB/T 10114)"
        ),
        render_kw={"inputmode": "numeric", "maxlength": 9},
    )
    address = StringField(_l("Address"), validators=[DataRequired(REQUIRED), Length(max=300)])


class CourtForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    level = SelectField(_l("Level"), choices=[], validators=[DataRequired(REQUIRED)])
    region_code = StringField(
        _l("Region served"),
        validators=[DataRequired(REQUIRED), REGION_CODE],
        render_kw={"inputmode": "numeric", "maxlength": 6},
    )
    address = StringField(_l("Address"), validators=[Length(max=300)])


class StaffForm(IdentityForm):
    """A platform administrator opens an account for staff of an institution or a court."""

    role = SelectField(_l("Role"), choices=[], validators=[DataRequired(REQUIRED)])
    institution_id = SelectField(_l("Institution"), choices=[], coerce=int, validate_choice=False)
    court_id = SelectField(_l("Court"), choices=[], coerce=int, validate_choice=False)
    area_code = StringField(
        _l("Region watched"),
        validators=[
            Optional(),
            Regexp(r"^([0-9]{6}|[0-9]{9})$", message=_l("Enter 6 or 9 digits.")),
        ],
        description=_l("For region staff: the division code, e.g. 320000, 320100 or 320102001"),
        render_kw={"inputmode": "numeric", "maxlength": 9},
    )


# The zones users of a Chinese platform most likely need; the first is the platform's.
COMMON_ZONES = [
    ("Asia/Shanghai", _l("Beijing time (mainland China)")),
    ("Asia/Hong_Kong", _l("Hong Kong")),
    ("Asia/Macau", _l("Macao")),
    ("Asia/Taipei", _l("Taiwan")),
    ("Asia/Tokyo", _l("Japan, Korea")),
    ("Asia/Singapore", _l("Singapore, Malaysia")),
    ("Asia/Dubai", _l("Gulf states")),
    ("Europe/London", _l("United Kingdom")),
    ("Europe/Berlin", _l("Central Europe")),
    ("America/New_York", _l("US East Coast")),
    ("America/Los_Angeles", _l("US West Coast")),
    ("Australia/Sydney", _l("Australia (Sydney)")),
]


class TimeZoneForm(FlaskForm):
    time_zone = SelectField(
        _l("Show times in"),
        choices=COMMON_ZONES,
        description=_l("For example when you live abroad; sessions keep their time."),
    )
