"""The evaluation's question: what kind of dispute, how much, where."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange

# Ten billion yuan: larger claims exist, but not among the people this page is for, and a
# bound keeps hostile input from reaching Decimal arithmetic with thousands of digits.
MAX_AMOUNT = Decimal(10_000_000_000)


class EvaluationForm(FlaskForm):
    """Sent by GET so that a result can be bookmarked or shared; it changes nothing."""

    class Meta:
        csrf = False

    category = SelectField(
        _l("Kind of dispute"),
        choices=[],
        validators=[DataRequired(_l("Choose one of the dispute categories."))],
    )
    amount = DecimalField(
        _l("How much you claim, in yuan"),
        places=2,
        validators=[
            # InputRequired: an amount of 0 is answered by the range (DataRequired takes the
            # number 0 for an empty field and asks for an amount that was given).
            InputRequired(_l("Enter the amount you claim, for example 20000.")),
            NumberRange(
                min=Decimal("0.01"),
                max=MAX_AMOUNT,
                message=_l("Enter an amount between 0.01 and 10,000,000,000 yuan."),
            ),
        ],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
        description=_l("Add up everything you ask the other side to pay."),
    )
    region_code = SelectField(
        _l("Where it happened (province)"),
        choices=[],
        description=_l("Used only to compare with similar disputes nearby."),
    )
