"""The court API (/api/court/v1): a court's own system lists its applications, fetches one,
its package and the signed decision, and posts acceptance, requests for materials, the one
extension and rulings. A bearer token, made by an administrator with
`mediation court token COURT_NAME`, stands for one court and sees only its applications.
The same operations as the portal run behind it (steps.py, examination.py, ruling.py); the
OpenAPI document is openapi.py.
A court with its own key fetches the decision prepared by a ruling, signs it on its own
system and posts it back (keys.py checks it before the ruling is made).

Rate limits (config COURT_API_*): every token has its budget, the costly package its own,
and an address that presents wrong tokens is stopped after a few (flask-limiter)."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
from datetime import timedelta
from io import BytesIO
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, request, send_file, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from sqlalchemy import select

from mediation.accounts.models import Court
from mediation.cases.workflow import NotPermittedError, TransitionError
from mediation.core.db import utcnow
from mediation.core.downloads import download_name, send_stored
from mediation.core.forms import FieldError
from mediation.core.storage import storage
from mediation.extensions import csrf, db, limiter

from . import bundle, delegation_openapi, examination, grounds, keys, ruling, steps
from .application import RepeatedError
from .delegation_api import bp as delegations_bp
from .models import OPEN, ApiToken, Application, ApplicationStatus, SupplementRequest
from .openapi import document
from .openapi_shapes import MAX_BODY, NOT_BLANK

api = Blueprint("court_api", __name__, url_prefix="/api/court/v1")
# Disputes the court delegates before filing: same token, limits and body bound.
api.register_blueprint(delegations_bp)
REALM = "court-api"
csrf.exempt(api)  # no cookies here: every request carries its token
CLOSED_WITHOUT_RULING = (ApplicationStatus.refused, ApplicationStatus.withdrawn)
# When a token was last used is bookkeeping for the administrator, not worth a write on
# every request of a busy court system.
LAST_USED_STEP = timedelta(minutes=1)


def _token_key() -> str:
    """A request's rate-limit key: its token (hashed; a court's systems may share an
    address with others), or its address when it has none."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "court-api-token:" + hashlib.sha256(token.strip().encode()).hexdigest()
    return "court-api-address:" + get_remote_address()


# Every request counts against its token; answers 401 count against the address as well,
# so that trying tokens (each a new key above) stops after a few. One count each for the
# whole API (shared limits; a plain one would count each endpoint apart).
limiter.shared_limit(
    lambda: current_app.config["COURT_API_LIMIT"], scope="court-api", key_func=_token_key
)(api)
limiter.shared_limit(
    lambda: current_app.config["COURT_API_FAILURE_LIMIT"],
    scope="court-api-401",
    key_func=get_remote_address,
    deduct_when=lambda response: response.status_code == 401,
)(api)


@api.url_value_preprocessor
def _small_bodies(_endpoint, _values) -> None:
    """The API's bodies are small JSON objects: a larger one is refused (413) before it is
    read. Set here because URL preprocessors run before every before_request function, and
    the app's own (core/hardening.py) read the JSON body. The one exception is the court's
    signed decision, a PDF (keys.py bounds it)."""
    signed_pdf = _endpoint == "court_api.post_signed_decision"
    request.max_content_length = keys.MAX_SIGNED_BYTES if signed_pdf else MAX_BODY


@api.errorhandler(429)
def _too_many(exceeded):
    """When the next request is let through, in the body and in Retry-After (RFC 6585
    section 4): a court's system waits rather than retries at once."""
    current = limiter.current_limit
    wait = max(1, math.ceil(current.reset_at - time.time())) if current else 60
    response = _error(
        429, "too_many_requests", _("Too many requests. Try again in %(n)d seconds.", n=wait)
    )
    response.headers["Retry-After"] = str(wait)
    return response


def revoke_tokens(court: Court, label: str | None = None) -> int:
    """Revoke the court's tokens (those with ``label`` only, when given); how many."""
    now = utcnow()
    found = [
        t
        for t in db.session.scalars(
            select(ApiToken).where(ApiToken.court_id == court.id, ApiToken.revoked_at.is_(None))
        )
        if label is None or t.label == label
    ]
    for token in found:
        token.revoked_at = now
    db.session.flush()
    return len(found)


def new_token(court: Court, label: str = "") -> str:
    """A token for ``court``, shown once; only its SHA-256 is kept."""
    token = "mct_" + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            court_id=court.id, token_hash=hashlib.sha256(token.encode()).hexdigest(), label=label
        )
    )
    db.session.flush()
    return token


def _error(status: int, code: str, message: str):
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def _unauthorized(message: str, *, invalid_token: bool = False):
    """A 401 says how to authenticate (RFC 9110 section 11.6.1; bearer tokens: RFC 6750
    section 3): no token at all names only the scheme, a wrong one says so."""
    response = _error(401, "unauthorized", message)
    challenge = f'Bearer realm="{REALM}"'
    if invalid_token:
        challenge += ', error="invalid_token"'
    response.headers["WWW-Authenticate"] = challenge
    return response


@api.before_request
def _authenticate():
    if request.endpoint == "court_api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return _unauthorized(_("A court API token is needed."))
    found = db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hashlib.sha256(token.strip().encode()).hexdigest(),
            ApiToken.revoked_at.is_(None),
        )
    )
    if found is None:
        return _unauthorized(_("This token is not valid."), invalid_token=True)
    now = utcnow()
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_STEP:
        found.last_used_at = now
        db.session.commit()
    g.court = found.court
    return None


def _summary(application: Application) -> dict[str, Any]:
    case = application.case
    return {
        "id": application.id,
        "case_number": case.number,
        "court_case_number": application.court_case_number,
        "status": application.status,
        "submitted_at": _time(application.submitted_at),
        "acceptance_due_at": _time(application.acceptance_due_at),
        "ruling_due_at": _time(application.ruling_due_at),
        "awaiting_court_signature": ruling.awaiting_signature(application) is not None,
        "parties": [
            {"name": p.user.real_name, "side": p.side, "agent": p.is_agent} for p in case.parties
        ],
    }


def _time(value) -> str | None:
    return value.isoformat() if value else None


def _detail(application: Application) -> dict[str, Any]:
    return {
        **_summary(application),
        "institution": application.case.institution.name if application.case.institution else None,
        "agreement_sha256": application.agreement.document_sha256,
        "application_sha256": application.document_sha256,
        "decision_sha256": application.decision_sha256,
        "ground": application.ground,
        "reasons": application.reasons,
        "decided_at": _time(application.decided_at),
        "prepared_ruling": _prepared(application),
        "extended_at": _time(application.extended_at),
        "withdrawn_at": _time(application.withdrawn_at),
        "materials": [
            {"kind": m.kind, "name": m.name, "sha256": m.sha256} for m in application.materials
        ],
    }


def _prepared(application: Application) -> dict[str, Any] | None:
    """The ruling decided but awaiting the court's signature (keys.py), if any."""
    draft = ruling.awaiting_signature(application)
    if draft is None:
        return None
    return {
        "confirmed": draft.confirmed,
        "ground": draft.ground,
        "reasons": draft.reasons,
        "decided_at": _time(draft.decided_at),
        "unsigned_decision_sha256": draft.document_sha256,
    }


def _application(application_id: int) -> Application | None:
    return steps.application_of(g.court, application_id)


@api.get("/openapi.json")
def openapi():
    return jsonify(document(**delegation_openapi.parts()))


@api.get("/applications")
def list_applications():
    return jsonify({"applications": [_summary(a) for a in steps.applications_of(g.court)]})


@api.get("/applications/<int:application_id>")
def get_application(application_id: int):
    application = _application(application_id)
    if application is None:
        return _error(404, "not_found", _("No such application at this court."))
    return jsonify(_detail(application))


@api.get("/applications/<int:application_id>/package")
@limiter.limit(
    lambda: current_app.config["COURT_API_PACKAGE_LIMIT"],
    key_func=_token_key,
    override_defaults=False,  # and the blueprint's limits as well
)
def get_package(application_id: int):
    application = _application(application_id)
    if application is None:
        return _error(404, "not_found", _("No such application at this court."))
    if not steps.examines(application):
        # The court's access ends with the withdrawal: said so, so that its system stops.
        return _error(409, "withdrawn", steps.no_longer_in_hand(application))
    return send_file(
        BytesIO(bundle.build(application)),
        mimetype="application/zip",
        download_name=download_name(
            "confirmation", application.case.number, application.id, mimetype="application/zip"
        ),
    )


def _body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def _act(application_id: int, act, *, status: int = 200):
    """Run ``act(application, body)`` and commit; its answer is what ``act`` returns after
    the commit (a callable giving a JSON body and its headers), or the application."""
    application = _application(application_id)
    if application is None:
        return _error(404, "not_found", _("No such application at this court."))
    body = _body()
    if body is None:
        return _error(400, "bad_request", _("Send a JSON object."))
    try:
        answer = act(application, body)
    except FieldError as error:
        db.session.rollback()
        return _error(422, "invalid", f"{error.field}: {error.message}")
    except (NotPermittedError, TransitionError) as error:
        db.session.rollback()
        # A rule of the application's state names itself (steps.StepRefusedError).
        return _error(409, getattr(error, "code", "conflict"), str(error))
    db.session.commit()
    if answer is None:
        return jsonify(_detail(application))
    payload, headers = answer()
    response = jsonify(payload)
    response.status_code = status() if callable(status) else status
    response.headers.update(headers)
    return response


def _text(body: dict, key: str) -> str:
    """A text field; absent is empty, anything but a string is refused, and no longer than
    the reasons a court may give (the OpenAPI document says the same)."""
    value = body.get(key, "")
    if not isinstance(value, str):
        raise FieldError(key, _("Text expected."))
    if len(value) > steps.MAX_REASONS:
        raise FieldError(key, _("At most %(n)d characters.", n=steps.MAX_REASONS))
    return value


def _no_ground(body: dict) -> None:
    """Acceptance and confirmation carry no ground: absent, null or empty only."""
    if body.get("ground", "") not in (None, ""):
        raise FieldError("ground", _("A confirmation has no ground; choose one or the other."))


def _only(body: dict, *keys: str) -> None:
    """A field the API does not know is refused, not ignored: a misspelt "ground" must not
    pass as a decision without one."""
    for key in body:
        if key not in keys:
            raise FieldError(key, _("Unknown field."))


def _flag(body: dict, key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise FieldError(key, _("true or false expected."))
    return value


@api.post("/applications/<int:application_id>/acceptance")
def post_acceptance(application_id: int):
    """{"accept": true} or {"accept": false, "ground": "...", "reasons": "..."}."""

    def act(application: Application, body: dict) -> None:
        _only(body, "accept", "ground", "reasons")
        reasons = _text(body, "reasons")
        if _flag(body, "accept"):
            if body.get("ground", "") not in (None, ""):
                raise FieldError("ground", _("An acceptance has no ground."))
            examination.accept(application, by=None)
        else:
            examination.refuse(application, _text(body, "ground"), reasons, by=None)

    return _act(application_id, act)


@api.post("/applications/<int:application_id>/ruling")
def post_ruling(application_id: int):
    """{"confirmed": true} or {"confirmed": false, "ground": "...", "reasons": "..."}."""

    def act(application: Application, body: dict) -> None:
        _only(body, "confirmed", "ground", "reasons")
        reasons = _text(body, "reasons")
        if _flag(body, "confirmed"):
            _no_ground(body)
            ruling.rule(application, True, None, reasons, by=None)
            return
        ground = _text(body, "ground")
        if ground not in grounds.REJECTION:
            raise FieldError("ground", _("Choose the ground for not confirming the agreement."))
        ruling.rule(application, False, ground, reasons, by=None)

    return _act(application_id, act)


# -- the court signs the decision with its own key (keys.py) ---------------------------------


@api.get("/applications/<int:application_id>/ruling/unsigned-decision")
def get_unsigned_decision(application_id: int):
    """The decision prepared for the court's signature: sign it in its field "Court"."""
    application = _application(application_id)
    if application is not None and application.status not in OPEN:
        # Withdrawn, refused or ruled: no decision will await a signature any more.
        try:
            steps.check_step(application, steps.Step.sign)
        except steps.StepRefusedError as error:
            return _error(409, error.code, str(error))
    stored = ruling.prepared_document(application) if application else None
    if stored is None or not storage().exists(stored[0]):
        return _error(404, "not_found", _("No decision is waiting for the court's signature."))
    return send_stored(
        stored[0],
        sha256=stored[1],
        mimetype="application/pdf",
        download_name=download_name(
            "unsigned-decision", application.case.number, application.id, mimetype="application/pdf"
        ),
    )


@api.post("/applications/<int:application_id>/ruling/signed-decision")
@limiter.limit(
    # Each upload (up to 10 MiB) is parsed and its signature validated: its own limit.
    lambda: current_app.config["COURT_API_SIGNED_LIMIT"],
    key_func=_token_key,
    override_defaults=False,  # and the blueprint's limits as well
)
def post_signed_decision(application_id: int):
    """The signed decision as the request body (application/pdf): checked against the
    prepared decision and the court's roots; the ruling is made if it passes."""
    application = _application(application_id)
    if application is None:
        return _error(404, "not_found", _("No such application at this court."))
    if request.mimetype != "application/pdf":
        return _error(415, "unsupported_media_type", _("Send the signed PDF (application/pdf)."))
    if (request.content_length or 0) > keys.MAX_SIGNED_BYTES:
        return _error(413, "request_entity_too_large", _("The file is too large: at most %(n)d MB.",
                                           n=keys.MAX_SIGNED_BYTES >> 20))  # fmt: skip
    data = request.stream.read(keys.MAX_SIGNED_BYTES + 1)
    try:
        ruling.signed_ruling(application, data, by=None)
    except FieldError as error:
        db.session.rollback()
        return _error(422, "invalid", f"{error.field}: {error.message}")
    except (NotPermittedError, TransitionError) as error:
        db.session.rollback()
        return _error(409, getattr(error, "code", "conflict"), str(error))
    db.session.commit()
    return jsonify(_detail(application))


# --- the decision, requests for materials, the extension ----------------------------------


@api.get("/applications/<int:application_id>/decision")
def get_decision(application_id: int):
    """The court's signed decision (SPC provisions art 8), once it has ruled."""
    application = _application(application_id)
    if application is None:
        return _error(404, "not_found", _("No such application at this court."))
    stored = ruling.decision_document(application)
    if stored is None and application.status in CLOSED_WITHOUT_RULING:
        return _error(
            409,
            "no_ruling",
            _("There is no ruling: the application was not accepted, or it was withdrawn."),
        )
    if stored is None:
        return _error(
            409, "not_ruled", _("The court has not ruled yet; the decision is here once it has.")
        )
    if not storage().exists(stored[0]):
        current_app.logger.error(
            "decision of application %s missing: %s", application.id, stored[0]
        )
        abort(500)
    # The ETag is the decision's SHA-256, as the application's decision_sha256 says.
    return send_stored(
        stored[0],
        sha256=stored[1],
        mimetype="application/pdf",
        download_name=download_name(
            "decision", application.case.number, application.id, mimetype="application/pdf"
        ),
    )


def _required_text(body: dict, key: str) -> str:
    """Text that must say something: present, a string, not only blanks (openapi_shapes.NOT_BLANK,
    the same characters str.strip() removes), within the length the document gives."""
    value = _text(body, key)
    if not re.search(NOT_BLANK, value):
        raise FieldError(key, _("Required."))
    return value


def _whole_number(body: dict, key: str, low: int, high: int) -> int:
    """An integer (5.0 is one to JSON Schema; true is not), from ``low`` to ``high``."""
    value = body.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int or not low <= value <= high:
        raise FieldError(key, _("A whole number from %(low)d to %(high)d.", low=low, high=high))
    return value


def _material_request(request_: SupplementRequest, application: Application) -> dict:
    """One request for materials: what was asked, by when, and what the parties sent."""
    names = bundle.material_names(application)
    if request_.answered_at is not None:
        state = "answered"
    elif utcnow() > request_.due_at:
        state = "overdue"
    else:
        state = "open"
    return {
        "id": request_.id,
        "text": request_.text,
        "requested_at": _time(request_.requested_at),
        "due_at": _time(request_.due_at),
        "answered_at": _time(request_.answered_at),
        "state": state,
        "answers": [
            {
                "id": m.id,
                "name": m.name,
                "sha256": m.sha256,
                "added_at": _time(m.added_at),
                "package_name": names.get(m.id),
            }
            for m in application.materials
            if m.request_id == request_.id
        ],
    }


# One rule for both methods: with a rule each, werkzeug answers an id out of range with 405
# (the other rule's method) instead of 404.
@api.route("/applications/<int:application_id>/material-requests", methods=["GET", "POST"])
def material_requests(application_id: int):
    if request.method == "POST":
        return _ask_for_materials(application_id)
    application = _application(application_id)
    if application is None:
        return _error(404, "not_found", _("No such application at this court."))
    return jsonify({"requests": [_material_request(r, application) for r in application.requests]})


@api.get("/applications/<int:application_id>/material-requests/<int:request_id>")
def get_material_request(application_id: int, request_id: int):
    application = _application(application_id)
    found = application and next((r for r in application.requests if r.id == request_id), None)
    if found is None:
        return _error(404, "not_found", _("No such request for materials."))
    return jsonify(_material_request(found, application))


def _ask_for_materials(application_id: int):
    """{"text": "what the parties are to provide", "days": 1-30} (CPL interpretation art
    356: 限期补充). Each post is a new request, and each is sent to the parties; but the
    same text and days again while the last request made through the API is unanswered
    (a retry after a lost answer) is that request: ``200`` with its ``Location``, and the
    parties are not asked twice."""
    status = 201

    def act(application: Application, body: dict):
        nonlocal status
        _only(body, "text", "days")
        text = _required_text(body, "text")
        days = _whole_number(body, "days", *examination.MATERIALS_DAYS)
        try:
            made = examination.request_materials(application, text, days, by=None)
        except RepeatedError as already:
            made, status = already.request, 200

        def answer():
            location = url_for(
                "court_api.get_material_request",
                application_id=application.id,
                request_id=made.id,
            )
            return _material_request(made, application), {"Location": location}

        return answer

    return _act(application_id, act, status=lambda: status)


@api.post("/applications/<int:application_id>/extension")
def post_extension(application_id: int):
    """{"reasons": "..."}: ten more days to rule, once (SPC provisions art 5). Repeating it
    changes nothing: the second answer is 409 already_extended."""

    def act(application: Application, body: dict) -> None:
        _only(body, "reasons")
        examination.extend(application, _required_text(body, "reasons"), by=None)

    return _act(application_id, act)
