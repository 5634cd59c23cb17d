"""The structured draft of an agreement (People's Mediation Law art 29): what it holds,
how a submitted draft is read and checked for shape, and the starting text per category.

A draft is a dict, stored as JSON on each version:

    facts         the main facts of the dispute
    issues        [{"issue", "responsibility"}]: disputed issues and each side's share
    obligations   [{"obligor", "kind", "action", "amount", "due", "method", "place"}]:
                  who (a party's user id) pays how much or does what, by when, how, where
    performance   how and when the agreement is performed, in words
    default_terms what happens when a party does not perform
    copies        how many originals (each party one, the institution one: art 29)
    ownership     whether the terms confirm ownership of property or intellectual property
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from mediation.cases.models import Case, Side
from mediation.core.forms import FieldError

MAX_TEXT = 10_000
MAX_ITEMS = 50
KINDS = ("pay", "act")  # pay money, or do (deliver, repair, stop, apologise...)


def _text(value: Any, field: str, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(field, _("Text expected."))
    value = value.strip()
    if len(value) > limit:
        raise FieldError(field, _("At most %(n)d characters.", n=limit))
    return value


def _amount(value: Any, field: str) -> str | None:
    """An amount in yuan with at most two decimals, kept as text (exact), or None."""
    if value in (None, ""):
        return None
    wrong = FieldError(field, _("Write the amount in yuan, for example 5000 or 5000.50."))
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise wrong from None
    if not amount.is_finite() or amount <= 0:
        raise wrong
    # Before quantize, which fails on numbers with more digits than the context holds.
    if amount >= Decimal("1000000000000"):
        raise FieldError(field, _("The amount is too large."))
    if amount != amount.quantize(Decimal("0.01")):
        raise wrong
    return str(amount.quantize(Decimal("0.01")))


def _date(value: Any, field: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise FieldError(field, _("Write the date as YYYY-MM-DD.")) from None


def _party(value: Any, field: str, parties: set[int]) -> int | None:
    if value in (None, ""):
        return None
    try:
        user_id = int(value)
    except (TypeError, ValueError):
        raise FieldError(field, _("Choose a party of the case.")) from None
    if user_id not in parties:
        raise FieldError(field, _("Choose a party of the case."))
    return user_id


def _items(value: Any, field: str) -> list[dict]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        raise FieldError(field, _("A list expected."))
    if len(value) > MAX_ITEMS:
        raise FieldError(field, _("At most %(n)d items.", n=MAX_ITEMS))
    return value


def read(case: Case, data: dict[str, Any]) -> dict[str, Any]:
    """The draft as stored, from what the editor sent. Only the shape is checked here;
    whether a court could confirm it is the check's business (checks.py), which warns
    but never refuses: a draft is saved as typed, so nothing typed is lost."""
    if not isinstance(data, dict):
        raise FieldError("content", _("The draft could not be read."))
    parties = {p.user_id for p in case.parties}
    issues = [
        {
            "issue": _text(item.get("issue"), f"issues.{n}.issue", 2_000),
            "responsibility": _text(
                item.get("responsibility"), f"issues.{n}.responsibility", 2_000
            ),
        }
        for n, item in enumerate(_items(data.get("issues"), "issues"), start=1)
    ]
    obligations = []
    for n, item in enumerate(_items(data.get("obligations"), "obligations"), start=1):
        kind = item.get("kind") or "pay"
        if kind not in KINDS:
            raise FieldError(f"obligations.{n}.kind", _("Choose pay or act."))
        obligations.append(
            {
                "obligor": _party(item.get("obligor"), f"obligations.{n}.obligor", parties),
                "obligee": _party(item.get("obligee"), f"obligations.{n}.obligee", parties),
                "kind": kind,
                "action": _text(item.get("action"), f"obligations.{n}.action", 2_000),
                "amount": _amount(item.get("amount"), f"obligations.{n}.amount"),
                "due": _date(item.get("due"), f"obligations.{n}.due"),
                "method": _text(item.get("method"), f"obligations.{n}.method", 500),
                "place": _text(item.get("place"), f"obligations.{n}.place", 500),
            }
        )
    try:
        copies = int(data.get("copies") or 0)
    except (TypeError, ValueError):
        raise FieldError("copies", _("Write a number.")) from None
    if not 0 <= copies <= 20:
        raise FieldError("copies", _("Between 1 and 20 copies."))
    return {
        "facts": _text(data.get("facts"), "facts"),
        "issues": issues,
        "obligations": obligations,
        "performance": _text(data.get("performance"), "performance"),
        "default_terms": _text(data.get("default_terms"), "default_terms"),
        "copies": copies or default_copies(case),
        "ownership": bool(data.get("ownership")),
    }


def default_copies(case: Case) -> int:
    """Art 29: each party keeps one original and the institution one."""
    return len([p for p in case.parties if not p.is_agent]) + 1


# Starting texts per category; {applicant} and {respondent} are the parties' names. They are
# written from neither side: who filed says nothing of who is the landlord, the lender or
# the employer, and the facts are the mediator's to state (People's Mediation Law art 28-29:
# the agreement records the facts the mediation established, not one side's story). Where a
# duty depends on the relationship, the text names the role (承租人, 出租人), not a party.
# What the mediator must replace; checks.py warns while any is left.
TO_FILL = "【请填写"
# Enforcement follows only a court's confirmation (People's Mediation Law art 33; CPL art
# 206); before it, the other party's remedy is an action (art 32). The default clause says
# so, rather than promising enforcement outright.
_DEFAULT_TERMS = (
    "任何一方未按本协议约定的期限和方式履行义务的，应当承担对方因此产生的合理费用。"
    "本协议经人民法院司法确认后，一方拒绝履行或者未全部履行的，对方可以就未履行部分"
    "向人民法院申请强制执行；未经司法确认的，对方可以就履行发生的争议向人民法院提起诉讼。"
)
STARTING_TEXT: dict[str, dict[str, str]] = {
    "private_lending": {
        "facts": "{applicant}与{respondent}之间存在民间借贷关系，双方就借款的归还发生纠纷。"
        "经调解查明：【请填写：借款的时间、金额、约定的还款期限及已归还的情况】。",
        "action": "归还借款",
        "performance": "借款人以银行转账方式向出借人指定账户支付。",
    },
    "tenancy": {
        "facts": "{applicant}与{respondent}之间存在房屋租赁关系，双方就租金、押金及房屋交还"
        "发生纠纷。经调解查明：【请填写：租赁的房屋、租期、租金和押金的数额及支付情况】。",
        "action": "结清租金并交还房屋",
        # The tenant returns the premises and the keys; the landlord returns the deposit.
        "performance": "承租人于约定日期前腾空房屋并向出租人交还房屋及钥匙；出租人在房屋"
        "交还并经双方查验后，以银行转账方式向承租人退还押金（扣除双方确认的费用）。",
    },
    "neighbourhood": {
        "facts": "{applicant}与{respondent}系邻居，双方因相邻关系发生纠纷。"
        "经调解查明：【请填写：纠纷的起因、经过及造成的影响】。",
        "action": "停止侵害并恢复原状",
        "performance": "{respondent}于约定日期前自行完成，{applicant}予以配合。",
    },
    "traffic_accident": {
        "facts": "{applicant}与{respondent}之间发生道路交通事故，双方就事故造成的损失赔偿"
        "发生纠纷。经调解查明：【请填写：事故的时间、地点、责任认定及损失情况】。",
        "action": "赔偿各项损失",
        "performance": "赔偿义务人以银行转账方式一次性支付。",
    },
    "labour": {
        "facts": "{applicant}与{respondent}之间存在劳动（劳务）关系，双方就劳动报酬及相关"
        "费用发生纠纷。经调解查明：【请填写：用工期间、约定的报酬及拖欠情况】。",
        "action": "支付拖欠的劳动报酬",
        "performance": "用人单位（用工方）以银行转账方式向劳动者工资账户支付。",
    },
}
_GENERIC = {
    "facts": "{applicant}与{respondent}之间发生纠纷。经调解查明：【请填写：纠纷的主要事实】。",
    "action": "履行以下义务",
    "performance": "各方按本协议约定的期限和方式履行。",
}


def starting_draft(case: Case) -> dict[str, Any]:
    """A first draft from the case: its category's text, the claims as obligations. The
    applicant's own account (``case.facts``, often in the first person) stays out of it:
    the mediator writes the facts as established."""
    applicants = [p for p in case.parties if p.side == Side.applicant and not p.is_agent]
    respondents = [p for p in case.parties if p.side == Side.respondent and not p.is_agent]
    names = {
        "applicant": "、".join(p.user.real_name for p in applicants),
        "respondent": "、".join(p.user.real_name for p in respondents),
    }
    text = {k: v.format(**names) for k, v in STARTING_TEXT.get(case.category, _GENERIC).items()}
    obligor = respondents[0].user_id if respondents else None
    obligee = applicants[0].user_id if applicants else None
    claims = list(case.claims) or [None]
    return {
        "facts": text["facts"],
        "issues": [],
        "obligations": [
            {
                "obligor": obligor,
                "obligee": obligee,
                "kind": "pay" if claim is None or claim.amount else "act",
                "action": claim.text if claim is not None else text["action"],
                "amount": str(claim.amount) if claim is not None and claim.amount else None,
                "due": None,
                "method": "",
                "place": "",
            }
            for claim in claims
        ],
        "performance": text["performance"],
        "default_terms": _DEFAULT_TERMS.format(**names),
        "copies": default_copies(case),
        "ownership": False,
    }
