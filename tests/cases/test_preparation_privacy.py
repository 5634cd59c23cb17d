"""What the applicant did to prepare before filing, besides asking an expert
(test_consultation_privacy.py): the court fees they worked out (evaluation/) and a talk at a
mediator's public reception that the host turned into their draft (reception/). Both are the
applicant's private matters (People's Mediation Law art 15 (4); SPC online mediation rules
art 29 (4)): the respondent and their agent learn neither that they took place nor who
hosted the talk, on any page or in any data; the applicant and the mediator still read
them. Real requests, on SQLite and PostgreSQL (the ``app`` fixture's databases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from decimal import Decimal

import pytest

from mediation.booking.availability import add_rule
from mediation.evaluation import operations as evaluation
from mediation.extensions import db
from mediation.reception import operations as reception
from tests.cases.test_consultation_privacy import _surfaces, filed_and_agreed
from tests.conftest import login
from tests.factories import PASSWORD, make_institution, make_mediator, make_user

HOST = "陈接待员"
# What the entries' lines and data say: the labels, the fee worked out, the host's name.
SECRETS = {
    "evaluation": ("立案前测算", "诉讼费", "2300.00", "evaluation", "ordinary"),
    "reception": ("接待", HOST, "reception", "booking_id"),
}
# Monday 1 December 2025; a Thursday 09:00 in Shanghai after it.
NOW = datetime(2025, 12, 1, 1, 0, tzinfo=UTC)
AT_9 = datetime(2025, 12, 4, 1, 0, tzinfo=UTC)


def _drafted(how: str, asker):
    if how == "evaluation":
        return evaluation.to_case(
            asker, category="neighbourhood", amount=Decimal("100000"), region_code="320102"
        )
    host = make_mediator(make_institution(region_code="420102"), real_name=HOST)
    add_rule(host.id, 3, time(9), time(11), reception=True, place="社区服务中心二楼")
    booking = reception.book(asker, host, AT_9, "邻居漏水", now=NOW)
    reception.record(booking, host, "楼上漏水，损失约一万元。", now=AT_9)
    return reception.to_case(booking, host, "neighbourhood")


@pytest.fixture(params=["evaluation", "reception"])
def prepared(request, app):
    """A case drafted from the applicant's preparation, filed, accepted and agreed to by the
    respondent; each side with a confirmed agent."""
    with app.app_context():
        asker = make_user(real_name="申请人甲")
        case = _drafted(request.param, asker)
        other = make_user(real_name="被申请人乙")
        mediator, agents = filed_and_agreed(case, asker, other)
        phones = {"applicant": asker.phone, "respondent": other.phone, "mediator": mediator.phone}
        for side, agent in agents.items():
            phones[f"{side}_agent"] = agent.phone
        db.session.commit()
        case_id = case.id
        db.session.remove()
    return request.param, case_id, phones


@pytest.mark.parametrize("who", ["respondent", "respondent_agent"])
def test_the_other_side_does_not_learn_how_the_applicant_prepared(app, prepared, who):
    how, case_id, phones = prepared
    for path, (status, body) in _surfaces(app, phones[who], case_id).items():
        assert status == 200, path
        for secret in SECRETS[how]:
            assert secret not in body, (how, who, path, secret)


@pytest.mark.parametrize("who", ["applicant", "applicant_agent", "mediator"])
def test_the_applicant_their_agent_and_the_mediator_still_read_it(app, prepared, who):
    how, case_id, phones = prepared
    got = _surfaces(app, phones[who], case_id)
    label = {"evaluation": "立案前测算诉讼费用和办理时限", "reception": "接待面谈转为本案"}[how]
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/journal"):
        assert label in got[path][1], (who, path)
    actions = [e["action"] for e in json.loads(got[f"/cases/{case_id}/journal.json"][1])["entries"]]
    assert {"evaluation": "evaluation.made", "reception": "reception.converted"}[how] in actions


@pytest.mark.parametrize("how", ["reception"])
def test_the_applicant_is_told_before_filing_who_reads_what_happened(app, how):
    """The draft's 'what happened' is the host's record of the talk (or the question's
    text), advice included; the respondent reads it once filed: the applicant is told so
    on the step where they file, with the words to remove."""
    with app.app_context():
        asker = make_user(real_name="申请人甲")
        case = _drafted(how, asker)
        db.session.commit()
        case_id, phone = case.id, asker.phone
    client = app.test_client()
    login(client, phone, PASSWORD)
    page = client.get(f"/cases/{case_id}/intake/submit").get_data(as_text=True)
    assert "楼上漏水" in page  # the record, as the respondent would read it
    assert "对方当事人将看到纠纷简述、事情经过和您的请求" in page
    assert "请从事情经过中删去只供您本人知悉的内容" in page
