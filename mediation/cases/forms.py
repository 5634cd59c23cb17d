"""Forms of the cases feature."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from mediation.accounts.forms import (
    REQUIRED,
    IdNumber,
    OwnIdentityForm,
    Phone,
    ethnicity_choices,
)
from mediation.core.forms import Cents


class CategoryForm(FlaskForm):
    code = StringField(
        _l("Category code"),
        validators=[
            DataRequired(REQUIRED),
            Regexp(r"^[a-z][a-z0-9_]{1,39}$", message=_l("Lower-case letters, digits and _.")),
        ],
        description=_l(
            "A short English name used in the data, e.g. pet_dispute; it cannot change."
        ),
    )
    name_zh = StringField(
        _l("Name in Chinese"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    name_en = StringField(
        _l("Name in English"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    judicial_confirmation = BooleanField(
        _l("Agreements can be judicially confirmed"),
        description=_l(
            "Not for identity relations or confirming ownership (CPL interpretation art 355)."
        ),
    )
    active = BooleanField(_l("Offered to parties"), default=True)


class ClaimForm(Form):
    text = StringField(_l("What you ask for"), validators=[Length(max=500)])
    amount = DecimalField(
        _l("Amount in yuan (if any)"),
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, message=_l("An amount cannot be negative.")),
            Cents(),
        ],
        render_kw={"inputmode": "decimal"},
    )


class DisputeForm(FlaskForm):
    category = SelectField(
        _l("Kind of dispute"),
        choices=[],
        validators=[DataRequired(_l("Choose one of the dispute categories."))],
    )
    title = StringField(
        _l("The dispute in a few words"),
        validators=[DataRequired(REQUIRED), Length(max=200)],
        description=_l("For example: water leaking from the flat above"),
    )
    facts = TextAreaField(
        _l("What happened"), validators=[Length(max=10000)], render_kw={"rows": 6}
    )
    # Chosen by name (regions.py): a party is never asked for a division code.
    region_code = SelectField(
        _l("Where it happened (province)"),
        choices=[],
        validators=[Optional()],
        description=_l("Helps to find a mediator near you."),
    )
    claims = FieldList(FormField(ClaimForm), min_entries=3, max_entries=10)
    as_agent = BooleanField(
        _l("I file for someone else, as their agent (with a power of attorney)")
    )
    principal_name = StringField(_l("The party's name"), validators=[Length(max=100)])
    principal_phone = StringField(
        _l("The party's mobile number"),
        validators=[Optional(), Phone()],
        render_kw={"inputmode": "tel"},
    )
    principal_id_number = StringField(
        _l("The party's ID number"), validators=[Optional(), IdNumber()]
    )


class RespondentForm(FlaskForm):
    real_name = StringField(
        _l("The other side's name"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    phone = StringField(
        _l("The other side's mobile number"),
        validators=[DataRequired(REQUIRED), Phone()],
        render_kw={"inputmode": "tel"},
    )
    id_number = StringField(
        _l("The other side's ID number (if you know it)"), validators=[Optional(), IdNumber()]
    )


class EvidenceForm(FlaskForm):
    files = MultipleFileField(
        _l("Photos or PDF documents"),
        description=_l("Up to 20 MB each. You can add more later."),
        render_kw={"accept": "image/*,application/pdf"},
    )
    shared = BooleanField(_l("The other side may see these files"))
    power_of_attorney = BooleanField(_l("These files are the power of attorney"))


class ConsentForm(FlaskForm):
    """A party's consent to online mediation and service address (arts 4, 8 and 17)."""

    consent = BooleanField(
        _l("I agree that this dispute is mediated online."),
        description=_l("SPC online mediation rules art 4"),
    )
    service_address = TextAreaField(
        _l("Address for documents"),
        validators=[DataRequired(REQUIRED), Length(max=500)],
        description=_l("Where documents of this mediation may be served on you."),
        render_kw={"rows": 2},
    )
    service_confirmed = BooleanField(
        _l("I confirm that documents may be served at this address, phone number and e-mail."),
    )


class AnswerForm(ConsentForm):
    """The respondent agrees: consent, service address, and their identity (SPC online
    mediation rules art 8)."""

    id_number = OwnIdentityForm.id_number
    ethnicity = OwnIdentityForm.ethnicity

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ethnicity.choices = ethnicity_choices()


class MediatorIdentityForm(FlaskForm):
    """The case's mediator enters or corrects a party's identity from the card shown on
    camera, and confirms it (SPC online mediation rules art 17)."""

    id_number = StringField(
        _l("Resident ID number"),
        validators=[Length(max=40), IdNumber()],
        description=_l("As on the identity card; leave empty to keep the number on record."),
        render_kw={"autocomplete": "off", "inputmode": "text", "maxlength": 18},
    )
    ethnicity = OwnIdentityForm.ethnicity
    confirm = BooleanField(
        _l("I compared this person and their identity card on camera: the identity is theirs.")
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ethnicity.choices = ethnicity_choices()


class SubmitForm(ConsentForm):
    choice = SelectField(_l("Who mediates"), choices=[], validators=[DataRequired(REQUIRED)])


class ChooseAgainForm(FlaskForm):
    """Art 12 para 2: who mediates now that the mediator or institution chosen did not take
    the case on (the choices of ``intake_views.who_mediates``)."""

    choice = SelectField(_l("Who mediates"), choices=[], validators=[DataRequired(REQUIRED)])
