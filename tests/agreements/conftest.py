"""A case ready for its agreement: in mediation, both parties with an ID number the
mediator confirmed and a service address, an institution administrator who seals."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select

from mediation.accounts import operations as accounts
from mediation.accounts.models import Role
from mediation.agreements import operations as agreements
from mediation.agreements import signing
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.factories import make_mediating_case, make_user


def agreeing_case():
    case = make_mediating_case()
    for party in case.parties:
        party.service_address = party.service_address or "南京市鼓楼区中山路1号"
        # The mediator saw each party's identity card on camera (SPC rules art 17).
        accounts.confirm_id_number(party.user, by=case.mediator)
    admin = make_user(Role.institution_admin, institution_id=case.institution_id)
    db.session.flush()
    return case, admin


def second_case_of(applicant, mediator):
    """Another case in mediation of the same applicant (and mediator), ready for its
    agreement as ``agreeing_case`` makes one."""
    from mediation.cases import respondent
    from tests.factories import make_case

    case = make_case(applicant, make_user(), mediator=mediator)
    other = case.party_users()[1]
    respondent.answer(
        case, by=other, agree=True, consent=True, service_address="南京市玄武区",
        service_confirmed=True,
    )  # fmt: skip
    for party in case.parties:
        party.service_address = party.service_address or "南京市鼓楼区中山路1号"
    accounts.confirm_id_number(other, by=mediator)
    db.session.flush()
    return case


def out_for_signing(case, draft: dict | None = None):
    """The mediator writes the agreement (``complete_draft`` unless given) and puts it out
    for signing: the round's signers are asked in turn."""
    agreement = agreements.start(case, by=case.mediator)
    agreements.save(agreement, draft or complete_draft(case), by=case.mediator)
    signing.open_round(agreement, by=case.mediator)
    return agreement


def complete_draft(case, *, days: int = 30) -> dict:
    """A draft a court could confirm: every obligation with a party, an amount and a date."""
    applicant, respondent = case.party_users()
    return {
        "facts": "申请人与被申请人系楼上楼下邻居，被申请人家中水管漏水致申请人天花板受损。",
        "issues": [{"issue": "维修费用", "responsibility": "被申请人承担全部责任"}],
        "obligations": [
            {
                "obligor": respondent.id,
                "obligee": applicant.id,
                "kind": "pay",
                "action": "向申请人支付维修费",
                "amount": "3500",
                "due": (utcnow() + timedelta(days=days)).date().isoformat(),
                "method": "银行转账",
                "place": "",
            }
        ],
        "performance": "被申请人一次性支付。",
        "default_terms": "被申请人逾期未付的，经人民法院司法确认后，申请人可以申请强制执行。",
        "copies": 3,
    }


def drawing() -> bytes:
    """A drawn signature as the signature pad sends it: a PNG of a few strokes."""
    image = Image.new("RGBA", (300, 120), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 90), (80, 20), (150, 100), (290, 30)], fill="black", width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def last_code_to(user) -> str:
    body = db.session.scalars(
        select(OutboxMessage.body)
        .where(OutboxMessage.recipient == user.phone)
        .order_by(OutboxMessage.id.desc())
    ).first()
    return re.search(r"\d{6}", body).group()


def messages_to(phone: str) -> list[str]:
    """The bodies of the messages to ``phone``, oldest first."""
    return list(
        db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == phone)
            .order_by(OutboxMessage.id)
        )
    )
