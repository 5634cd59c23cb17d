"""A party signing two documents at once (one case's application for judicial confirmation
and another case's agreement, in two tabs) asks for a code on each: each code signs its
own document until it is used or expires. The application's code asked for second used to
retire the agreement's, whose code was then "wrong or expired", which it was not."""

from __future__ import annotations

import pytest

from mediation.agreements import signing
from mediation.core.forms import FieldError
from mediation.court import application as applying
from tests.agreements.conftest import drawing, last_code_to, out_for_signing, second_case_of

from .conftest import in_force

ANOTHER = "另一份文件"


def _two_documents():
    world = in_force()
    applicant = world.case.party_users()[0]
    application = applying.start(world.case, world.court, by=applicant)
    agreement = out_for_signing(second_case_of(applicant, world.case.mediator))
    return applicant, application, agreement


def _sign_application(application, user, code):
    return applying.sign(
        application,
        user,
        code=code,
        shown_sha256=application.document_sha256,
        drawing=drawing(),
    )


def _sign_agreement(agreement, user, code):
    return signing.sign(
        agreement, user, code=code, shown_sha256=agreement.document_sha256, drawing=drawing()
    )


@pytest.mark.parametrize("first", ["agreement", "application"])
def test_each_documents_code_signs_it_whichever_was_asked_for_first(app_ctx, first):
    applicant, application, agreement = _two_documents()
    codes = {}
    for document in (first, {"agreement", "application"}.difference({first}).pop()):
        if document == "agreement":
            signing.send_code(agreement, applicant)
        else:
            applying.send_code(application, applicant)
        codes[document] = last_code_to(applicant)

    # Each code on the other's page: said to be for another document, and not used.
    with pytest.raises(FieldError) as refused:
        _sign_application(application, applicant, codes["agreement"])
    assert ANOTHER in refused.value.message
    with pytest.raises(FieldError) as refused:
        _sign_agreement(agreement, applicant, codes["application"])
    assert ANOTHER in refused.value.message

    # Each signs its own document, the first one asked for too.
    assert _sign_agreement(agreement, applicant, codes["agreement"]).signed_at is not None
    _sign_application(application, applicant, codes["application"])
    assert application.signatures[0].signed_at is not None


def test_a_new_code_for_the_same_document_still_replaces_its_earlier_one(app_ctx):
    applicant, application, agreement = _two_documents()
    signing.send_code(agreement, applicant)
    kept = last_code_to(applicant)
    applying.send_code(application, applicant)
    first = last_code_to(applicant)
    applying.send_code(application, applicant)
    second = last_code_to(applicant)
    with pytest.raises(FieldError) as refused:
        _sign_application(application, applicant, first)
    assert "验证码错误或已过期" in refused.value.message
    _sign_application(application, applicant, second)
    assert _sign_agreement(agreement, applicant, kept).signed_at is not None
