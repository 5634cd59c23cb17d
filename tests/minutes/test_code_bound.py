"""A code to confirm minutes is for those minutes, in the version read, and its text names
the case (SPC online mediation rules art 22: the minutes checked and confirmed online): a
code asked for on one case's minutes confirms no other minutes of the same party."""

from __future__ import annotations

import pytest

from mediation.core.forms import FieldError
from mediation.minutes import operations as minutes
from mediation.minutes import review
from tests.agreements.conftest import second_case_of
from tests.factories import make_mediating_case, make_mediator

from .conftest import ended_session, last_code_to, messages_to


def test_a_code_asked_for_on_one_cases_minutes_confirms_no_other(app_ctx):
    case = make_mediating_case()
    applicant = case.party_users()[0]
    # Another mediator: one mediator's sessions do not overlap.
    other_case = second_case_of(applicant, make_mediator(case.institution))
    session, other_session = ended_session(case), ended_session(other_case)
    written = minutes.of_session(session.id)
    other = minutes.of_session(other_session.id)

    review.send_code(other, applicant)
    code = last_code_to(applicant.phone)
    text = messages_to(applicant.phone)[-1]
    assert f"您正在确认案件{other_case.number}的调解笔录" in text, text
    assert len(text) <= 70, len(text)  # one text message

    with pytest.raises(FieldError) as refused:
        review.confirm(session, written, applicant, {}, code, version=written.version)
    assert refused.value.field == "code" and "另一份文件" in refused.value.message
    assert review.review_of(written, applicant).confirmed_at is None

    review.confirm(other_session, other, applicant, {}, code, version=other.version)
    assert review.review_of(other, applicant).confirmed_at is not None
