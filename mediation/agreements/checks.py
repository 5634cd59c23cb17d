"""The confirmability check: would a court be able to confirm this agreement?

Run on every saved version. Its warnings are shown to the mediator and recorded with the
version; they never stop anyone signing (an agreement binds the parties once signed,
People's Mediation Law art 31). ``operations.confirmable`` reads them: the application for
judicial confirmation (the court feature) is refused while the version in force has any,
since a court would have to refuse it anyway.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from mediation.cases.categories import get_category
from mediation.cases.labels import SIDE_NAMES
from mediation.cases.models import Case, Side
from mediation.cases.workflow import zone
from mediation.core.db import utcnow


@dataclass(frozen=True)
class Concern:
    code: str
    where: str  # the draft's field, e.g. "obligations.2.amount"; "" for the whole
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


MESSAGES = {
    # SPC judicial confirmation provisions art 4 (2)-(4); CPL interpretation art 355 (3).
    "category": _l(
        "A court does not confirm agreements about identity relations (marriage, adoption, "
        "parentage)."
    ),
    # CPL interpretation art 355 (5).
    "ownership": _l(
        "A court does not confirm terms that confirm ownership of property or of "
        "intellectual property."
    ),
    # SPC provisions art 7 (5); CPL interpretation art 358 (5): content unclear.
    "no_obligations": _l("The agreement sets no obligation: its content is unclear."),
    "no_obligor": _l("Obligation %(n)d does not say who must perform it."),
    "no_amount": _l("Obligation %(n)d is a payment without an amount."),
    "no_action": _l("Obligation %(n)d does not say what must be done."),
    "no_deadline": _l("Obligation %(n)d has no deadline."),
    "deadline_past": _l("The deadline of obligation %(n)d has already passed."),
    # People's Mediation Law art 29: the parties' basic information; a side missing.
    "party_missing": _l("The agreement has no %(side)s."),
    "party_incomplete": _l(
        "%(name)s has no ID number or service address on record; the agreement needs both."
    ),
    # SPC online mediation rules art 17: the mediator verifies each party's identity
    # before mediating; until then the number is only what the person claimed.
    "identity_unconfirmed": _l(
        "%(name)s's ID number has not been confirmed by the mediator on camera."
    ),
}

# Concerns about the parties' record rather than the document's words: they are read
# afresh whenever shown or relied on (``operations.concerns``), so that entering or
# confirming an identity after a version was saved, even once it is in force, ends them.
PARTY_CODES = frozenset({"party_missing", "party_incomplete", "identity_unconfirmed"})


def _warn(code: str, where: str = "", **params) -> Concern:
    return Concern(code, where, str(MESSAGES[code] % params if params else MESSAGES[code]))


def check(case: Case, content: dict, *, today: date | None = None) -> list[Concern]:
    """Every reason a court could refuse to accept or confirm the agreement as drafted."""
    today = today or utcnow().astimezone(zone()).date()
    found: list[Concern] = []
    category = get_category(case.category)
    if category is not None and not category.judicial_confirmation:
        found.append(_warn("category", "category"))
    if content.get("ownership"):
        found.append(_warn("ownership", "ownership"))
    found += party_concerns(case)
    obligations = content.get("obligations") or []
    if not obligations:
        found.append(_warn("no_obligations", "obligations"))
    for n, item in enumerate(obligations, start=1):
        where = f"obligations.{n}"
        if item.get("obligor") is None:
            found.append(_warn("no_obligor", f"{where}.obligor", n=n))
        if item.get("kind") == "pay" and not item.get("amount"):
            found.append(_warn("no_amount", f"{where}.amount", n=n))
        if not (item.get("action") or "").strip():
            found.append(_warn("no_action", f"{where}.action", n=n))
        due = item.get("due")
        if not due:
            found.append(_warn("no_deadline", f"{where}.due", n=n))
        elif date.fromisoformat(due) < today:
            found.append(_warn("deadline_past", f"{where}.due", n=n))
    return found


def party_concerns(case: Case) -> list[Concern]:
    """What a court would miss about the parties themselves (People's Mediation Law art 29
    (1); SPC judicial confirmation provisions art 3; CPL interpretation art 354)."""
    found: list[Concern] = []
    principals = [p for p in case.parties if not p.is_agent]
    for side in (Side.applicant, Side.respondent):
        if not any(p.side == side for p in principals):
            found.append(_warn("party_missing", "parties", side=SIDE_NAMES[side]))
    for party in principals:
        if not party.user.id_number or not (party.service_address or "").strip():
            found.append(_warn("party_incomplete", "parties", name=party.user.real_name))
        elif party.user.id_confirmed_at is None:
            found.append(_warn("identity_unconfirmed", "parties", name=party.user.real_name))
    return found
