"""What the features' forms share (mediation/core/forms.py)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import wtforms
from flask_wtf import FlaskForm
from wtforms.fields.core import UnboundField
from wtforms.validators import Length

import mediation
from mediation.core.forms import TextAreaField, listed


@pytest.mark.parametrize(
    ("typed", "items"),
    [
        ("普通话、粤语", ["普通话", "粤语"]),
        ("普通话，粤语；闽南话", ["普通话", "粤语", "闽南话"]),
        ("Mandarin, Cantonese", ["Mandarin", "Cantonese"]),
        ("  Sign language ,, ", ["Sign language"]),
        ("", []),
        (None, []),
    ],
)
def test_a_list_typed_in_one_field_is_split_at_any_comma(typed, items):
    assert listed(typed) == items


def test_a_line_break_counts_once_as_the_box_counted_it(app):
    """A browser sends a text box's line breaks as CR LF; its maxlength and the page's counter
    count one character each. A box the page showed as full must not be refused."""

    class Account(FlaskForm):
        text = TextAreaField(validators=[Length(max=5)])

    with app.test_request_context(method="POST", data={"text": "ab\r\ncd"}):
        form = Account(meta={"csrf": False})
        assert form.validate(), form.errors
        assert form.text.data == "ab\ncd"
    with app.test_request_context(method="POST", data={"text": "ab\r\ncde"}):
        assert not Account(meta={"csrf": False}).validate()


def test_every_text_box_of_the_platform_counts_line_breaks_so():
    """Each form's text boxes are the one above, not WTForms' own."""
    for module in pkgutil.walk_packages(mediation.__path__, "mediation."):
        if module.name.rsplit(".", 1)[-1].endswith(("forms", "views")):  # where forms live
            importlib.import_module(module.name)
    boxes = [
        (form.__qualname__, name, unbound.field_class)
        for form in _every_subclass(FlaskForm)
        for name, unbound in vars(form).items()
        if isinstance(unbound, UnboundField)
        and issubclass(unbound.field_class, wtforms.TextAreaField)
    ]
    assert len(boxes) >= 17  # every feature's forms were found (17 boxes today)
    assert [box for box in boxes if box[2] is not TextAreaField] == []


def _every_subclass(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_every_subclass(sub))]
