"""A code to sign the application for judicial confirmation is for that application as
shown (Electronic Signature Law art 13), and its text names it: a code the same party
asked for to sign another case's agreement (the same kind of code) signs no application."""

from __future__ import annotations

import pytest

from mediation.agreements import signing
from mediation.core.forms import FieldError
from mediation.court import application as applying
from tests.agreements.conftest import drawing, last_code_to, out_for_signing, second_case_of
from tests.minutes.conftest import messages_to

from .conftest import in_force


def test_a_code_asked_for_on_an_agreement_does_not_sign_the_application(app_ctx):
    world = in_force()
    applicant = world.case.party_users()[0]
    application = applying.start(world.case, world.court, by=applicant)
    other = out_for_signing(second_case_of(applicant, world.case.mediator))
    signing.send_code(other, applicant)
    code = last_code_to(applicant)
    assert f"您正在签署案件{other.case.number}的调解协议书" in messages_to(applicant.phone)[-1]

    with pytest.raises(FieldError) as refused:
        applying.sign(
            application,
            applicant,
            code=code,
            shown_sha256=application.document_sha256,
            drawing=drawing(),
        )
    assert refused.value.field == "code" and "另一份文件" in refused.value.message
    assert application.signatures[0].signed_at is None

    applying.send_code(application, applicant)
    text = messages_to(applicant.phone)[-1]
    assert f"您正在签署案件{world.case.number}的司法确认申请书" in text, text
    assert len(text) <= 70, len(text)  # one text message
    applying.sign(
        application,
        applicant,
        code=last_code_to(applicant),
        shown_sha256=application.document_sha256,
        drawing=drawing(),
    )
    assert application.signatures[0].signed_at is not None
