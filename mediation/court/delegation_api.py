"""The court API's delegations (/api/court/v1/delegations): a court's system sends a dispute
to mediation before filing it, follows it, designates another institution when the one it
chose did not take the dispute on, and downloads the art 21 record when it fails.

A blueprint nested in api.py's: that one authenticates the token (``g.court``), bounds the
body and applies the rate limits; every delegation here is the token's court's own, and
another court's is answered 404 as one that does not exist. Bodies are checked strictly:
an unknown field or a wrong type is refused (422) with the field named, never ignored.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any

from flask import Blueprint, g, jsonify, request, send_file
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from mediation.accounts.models import Institution
from mediation.cases.models import FailureRecord
from mediation.cases.referral import referral_pdf
from mediation.cases.workflow import TransitionError
from mediation.core.downloads import download_name
from mediation.core.forms import FieldError
from mediation.extensions import csrf, db

from . import delegation
from .models import Delegation, DelegationStatus

bp = Blueprint("delegations", __name__, url_prefix="/delegations")
csrf.exempt(bp)  # nested in the token-authenticated API: no cookies here either

PARTY_FIELDS = ("name", "phone", "address")
# Mainland mobile numbers the phone library accepts (the OpenAPI document says the same, so
# that a body valid by the document is never refused for its number).
PHONE = "^1(3[0-9]|4[57]|5[0-35-9]|6[2567]|7[0-35-8]|8[0-9]|9[0-35-9])[0-9]{8}$"
FIELDS = (
    "reference",
    "category",
    "title",
    "facts",
    "applicants",
    "respondents",
    "claims",
    "days",
    "institution_id",
)
MAX_FACTS = 10_000


def _error(status: int, code: str, message: str):
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def _time(value) -> str | None:
    return value.isoformat() if value else None


def as_json(item: Delegation) -> dict[str, Any]:
    case = item.case
    record = db.session.get(FailureRecord, case.id)
    return {
        "id": item.id,
        "reference": item.reference,
        "status": item.status,
        "case_number": case.number,
        "case_status": case.status,
        "institution": case.institution.name if case.institution else None,
        "mediator": case.mediator.real_name if case.mediator else None,
        "delegated_at": _time(item.delegated_at),
        "deadline_at": _time(item.deadline_at),
        "ended_at": _time(item.ended_at),
        # Art 12 para 2: set while the court may designate another institution.
        "choice_lapsed_at": _time(item.choice_lapsed_at)
        if delegation.may_designate_again(item)
        else None,
        "failure_record": item.status == DelegationStatus.failed and record is not None,
        "parties": [
            {"name": p.named_name or p.user.real_name, "side": p.side} for p in case.parties
        ],
    }


def _own(delegation_id: int) -> Delegation | None:
    return db.session.scalar(
        select(Delegation).where(Delegation.id == delegation_id, Delegation.court_id == g.court.id)
    )


def _string(body: dict, key: str, *, limit: int, required: bool = True) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or "\x00" in value:
        raise FieldError(key, _("Text expected."))
    if required and not value.strip():
        raise FieldError(key, _("This field is required."))
    if len(value) > limit:
        raise FieldError(key, _("At most %(n)d characters.", n=limit))
    return value


def _parties(body: dict, key: str) -> list[delegation.PartyInput]:
    value = body.get(key)
    if not isinstance(value, list) or not 1 <= len(value) <= 10:
        raise FieldError(key, _("A list of 1 to 10 parties expected."))
    found = []
    for item in value:
        if not isinstance(item, dict) or any(k not in PARTY_FIELDS for k in item):
            raise FieldError(key, _("Each party has a name, a phone and an address only."))
        phone = _string(item, "phone", limit=11)
        if not re.fullmatch(PHONE, phone):
            raise FieldError(key, _("A mainland mobile number expected, e.g. 13912345678."))
        found.append(
            delegation.PartyInput(
                real_name=_string(item, "name", limit=100),
                phone=phone,
                address=_string(item, "address", limit=300, required=False),
            )
        )
    return found


def _claims(body: dict) -> list[delegation.ClaimInput]:
    value = body.get("claims", [])
    if not isinstance(value, list) or len(value) > 20:
        raise FieldError("claims", _("A list of at most 20 claims expected."))
    found = []
    for item in value:
        if not isinstance(item, dict) or any(k not in ("text", "amount") for k in item):
            raise FieldError("claims", _("Each claim has a text and an amount only."))
        amount = item.get("amount")
        if amount is not None:
            if not isinstance(amount, str):
                raise FieldError("claims", _("An amount is a decimal number in a string."))
            try:
                amount = Decimal(amount)
            except InvalidOperation:
                raise FieldError(
                    "claims", _("An amount is a decimal number in a string.")
                ) from None
            if not amount.is_finite() or amount.as_tuple().exponent < -2:
                raise FieldError("claims", _("An amount is a decimal number in a string."))
        found.append(delegation.ClaimInput(_string(item, "text", limit=500), amount))
    return found


def _integer(body: dict, key: str, default: int | None) -> int | None:
    value = body.get(key, default)
    if value is None:
        return None
    # JSON has one number type: 30.0 is the whole number 30 (JSON Schema's "integer").
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**31:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(key, _("A whole number expected."))
    return value


def _read(body: dict) -> delegation.DelegationInput:
    for key in body:
        if key not in FIELDS:
            raise FieldError(key, _("Unknown field."))
    days = _integer(body, "days", delegation.DEFAULT_DAYS)
    institution_id = _integer(body, "institution_id", None)
    if institution_id is not None and not 1 <= institution_id <= 2_147_483_647:
        raise FieldError("institution_id", _("Choose an institution from the list."))
    return delegation.DelegationInput(
        reference=_string(body, "reference", limit=60),
        category=_string(body, "category", limit=40),
        title=_string(body, "title", limit=200),
        facts=_string(body, "facts", limit=MAX_FACTS, required=False),
        applicants=_parties(body, "applicants"),
        respondents=_parties(body, "respondents"),
        claims=_claims(body),
        days=days if days is not None else delegation.DEFAULT_DAYS,
        institution_id=institution_id,
    )


def _conflict(data: delegation.DelegationInput) -> tuple[str, str] | None:
    """What a body valid by the document may still run into: (code, message) or None."""
    taken = db.session.scalar(
        select(Delegation.id).where(
            Delegation.court_id == g.court.id, Delegation.reference == data.reference.strip()
        )
    )
    if taken is not None:
        return "reference_taken", _("This court already delegated a dispute with this reference.")
    phones = [p.phone for p in (*data.applicants, *data.respondents)]
    if len(set(phones)) < len(phones):
        return "same_person", _("The same person cannot be named twice.")
    if data.institution_id is not None and db.session.get(Institution, data.institution_id) is None:
        return "unknown_institution", _("Choose an institution from the list.")
    return None


@bp.get("")
def list_delegations():
    found = db.session.scalars(
        select(Delegation)
        .where(Delegation.court_id == g.court.id)
        .order_by(Delegation.id.desc())
        .limit(500)
    )
    return jsonify({"delegations": [as_json(d) for d in found]})


@bp.post("")
def post_delegation():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "bad_request", _("Send a JSON object."))
    try:
        data = _read(body)
        conflict = _conflict(data)
        if conflict is not None:
            return _error(409, *conflict)
        made = delegation.delegate(g.court, data)
        db.session.commit()
    except FieldError as error:
        db.session.rollback()
        return _error(422, "invalid", f"{error.field}: {error.message}")
    except IntegrityError:
        # The same reference posted twice at once: the unique constraint decided.
        db.session.rollback()
        return _error(
            409, "reference_taken", _("This court already delegated a dispute with this reference.")
        )
    response = jsonify(as_json(made))
    response.status_code = 201
    response.headers["Location"] = f"{request.base_url.rstrip('/')}/{made.id}"
    return response


@bp.get("/<int:delegation_id>")
def get_delegation(delegation_id: int):
    found = _own(delegation_id)
    if found is None:
        return _error(404, "not_found", _("No such delegation at this court."))
    return jsonify(as_json(found))


@bp.post("/<int:delegation_id>/designation")
def post_designation(delegation_id: int):
    """Another institution for a dispute the chosen one declined or did not take on within
    3 working days (SPC online mediation rules art 12 para 2); null leaves it to the
    platform."""
    found = _own(delegation_id)
    if found is None:
        return _error(404, "not_found", _("No such delegation at this court."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "bad_request", _("Send a JSON object."))
    try:
        for key in body:
            if key != "institution_id":
                raise FieldError(key, _("Unknown field."))
        if "institution_id" not in body:
            raise FieldError("institution_id", _("This field is required."))
        institution_id = _integer(body, "institution_id", None)
        if institution_id is not None and not 1 <= institution_id <= 2_147_483_647:
            raise FieldError("institution_id", _("Choose an institution from the list."))
    except FieldError as error:
        return _error(422, "invalid", f"{error.field}: {error.message}")
    try:
        delegation.designate_again(found, institution_id, by=None)
    except delegation.DesignationRefused as refused:
        # The dispute moved on (ended, taken on, designated already: a retry after a lost
        # answer lands here too) or the institution is the one that did not take it on.
        db.session.rollback()
        return _error(409, refused.code, str(refused))
    except FieldError:
        db.session.rollback()
        return _error(409, "unknown_institution", _("Choose an institution from the list."))
    except (TransitionError, StaleDataError):
        # The case moved under the step (the institution accepting it at that moment): what
        # it is now, read again.
        db.session.rollback()
        refused = delegation.designation_refusal(found)
        if refused is not None:
            return _error(409, refused.code, str(refused))
        return _error(
            409, "conflict", _("The dispute changed meanwhile: read the delegation again.")
        )
    db.session.commit()
    return jsonify(as_json(found))


@bp.get("/<int:delegation_id>/failure-record")
def get_failure_record(delegation_id: int):
    """The mediator's art 21 record, as the PDF the parties take to online filing."""
    found = _own(delegation_id)
    if found is None:
        return _error(404, "not_found", _("No such delegation at this court."))
    failed = found.status == DelegationStatus.failed
    pdf = referral_pdf(found.case, by=None, court_id=g.court.id) if failed else None
    if pdf is None:
        return _error(
            409, "no_failure_record", _("There is no failure record for this delegation yet.")
        )
    db.session.commit()  # the journal notes who was given the record, once per file
    return send_file(
        BytesIO(pdf),
        mimetype="application/pdf",
        download_name=download_name(
            "referral", found.case.number, found.id, mimetype="application/pdf"
        ),
    )
