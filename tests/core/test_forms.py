"""What the features' forms share (mediation/core/forms.py)."""

from __future__ import annotations

import pytest
from flask import request
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import Length

from mediation.cases import assignment
from mediation.core.forms import listed
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_case, make_institution, make_mediator, make_user


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
    count one character each. A box the page showed as full must be taken whole: by a
    form's ``Length(max)`` and by a view reading ``request.form`` alike."""

    class Account(FlaskForm):
        text = TextAreaField(validators=[Length(max=5)])

    with app.test_request_context(method="POST", data={"text": "ab\r\ncd"}):
        assert request.form["text"] == "ab\ncd"
        form = Account(meta={"csrf": False})
        assert form.validate(), form.errors
        assert form.text.data == "ab\ncd"
    with app.test_request_context(method="POST", data={"text": "ab\r\ncde"}):
        assert not Account(meta={"csrf": False}).validate()
    with app.test_request_context("/?q=a%0D%0Ab&q=c"):
        assert request.args.getlist("q") == ["a\nb", "c"]


def test_a_reason_typed_to_the_full_length_is_kept_whole(app, client):
    """The case page's decline reason (maxlength 2000, read by the view with ``[:2000]``):
    with its line breaks sent as CR LF its last characters were cut without a word
    (core/hardening.py, ``BoundedParameters``)."""
    with app.app_context():
        mediator = make_mediator(make_institution())
        case = make_case(make_user(), make_user())
        assignment.assign(
            case, institution=mediator.institution, mediator=mediator, how="automatic", by=None
        )
        db.session.commit()
        case_id, phone = case.id, mediator.phone
    login(client, phone, PASSWORD)
    typed = ("与申请人系亲属。" * 20 + "\n") * 12 + "与申请人系亲属。" * 8 + "请求回避"
    assert len(typed) == 2000  # the box's maxlength, as the page counts it
    reason = typed.replace("\n", "\r\n")  # as the browser sends it
    page = f"/cases/{case_id}"
    response = post_form(client, f"{page}/steps/decline", {"note": reason}, form_page=page)
    assert response.status_code == 302
    with app.app_context():
        kept = db.session.scalar(
            select(JournalEntry.payload).where(
                JournalEntry.case_id == case_id, JournalEntry.action == "case.decline"
            )
        )
    assert kept["note"] == typed
