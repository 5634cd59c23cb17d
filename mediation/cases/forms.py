"""Forms of the cases feature."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from mediation.accounts.forms import REQUIRED


class CategoryForm(FlaskForm):
    code = StringField(
        _l("Code"),
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
