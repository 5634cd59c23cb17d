"""The court API described in OpenAPI 3.1 (served at /api/court/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from . import grounds
from .keys import MAX_SIGNED_BYTES
from .models import ApplicationStatus
from .operations import MATERIALS_DAYS, MAX_REASONS

NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
TIME = {"type": "string", "format": "date-time"}
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
ERROR = {"$ref": "#/components/schemas/Error"}
# No NUL (PostgreSQL cannot store it); a lone surrogate (JSON "\\ud800") is refused as well,
# but regex dialects cannot name one, and no UTF-8 client can send it by accident.
STORABLE_TEXT = "^[^\\u0000]*$"
# Text that must say something: storable, with one character at least that Python's
# str.strip() keeps. The whitespace is spelt out (not "\\s", whose meaning differs between
# regex dialects), so that the schema and the API refuse exactly the same strings.
_SPACE = "".join(f"\\u{c:04x}" for c in range(0x10000) if chr(c).isspace())
NOT_BLANK = f"^[^\\u0000]*[^\\u0000{_SPACE}][^\\u0000]*$"
# A body of the API is a small JSON object: 5,000 characters written as \\uXXXX pairs fit.
MAX_BODY = 128 * 1024


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# An accepted application whose time to rule was extended (what POST .../extension answers).
APPLICATION_EXAMPLE = {
    "id": 12,
    "case_number": "2026-000042",
    "court_case_number": "（2026）苏0102民特3号",
    "status": "accepted",
    "submitted_at": "2026-12-01T02:00:00+00:00",
    "acceptance_due_at": "2026-12-04T15:59:59+00:00",
    "ruling_due_at": "2026-12-29T15:59:59+00:00",
    "parties": [
        {"name": "张三", "side": "applicant", "agent": False},
        {"name": "李四", "side": "respondent", "agent": False},
    ],
    "institution": "玄武区人民调解委员会",
    "agreement_sha256": "3c" * 32,
    "application_sha256": "a1" * 32,
    "decision_sha256": None,
    "ground": None,
    "reasons": "",
    "decided_at": None,
    "awaiting_court_signature": False,
    "prepared_ruling": None,
    "extended_at": "2026-12-10T03:00:00+00:00",
    "withdrawn_at": None,
    "materials": [{"kind": "identity", "name": "身份证.pdf", "sha256": "9f" * 32}],
}


def _example(code: str, message: str) -> dict:
    return {"error": code, "message": message}


EXAMPLES = {
    400: _example("bad_request", "Send a JSON object."),
    401: _example("unauthorized", "This token is not valid."),
    404: _example("not_found", "No such application at this court."),
    409: _example("conflict", "The step does not fit the state of the application."),
    413: _example("request_entity_too_large", "What you sent is too large."),
    415: _example("unsupported_media_type", "Send the signed PDF (application/pdf)."),
    422: _example("invalid", "days: A whole number from 1 to 30."),
    429: _example("too_many_requests", "Too many requests. Try again in 12 seconds."),
}


# The 409 codes of a step on an application whose state moved on (operations.check_step):
# a court's system stops there, rather than retrying; the application says when.
WITHDRAWN = {
    "withdrawn": "the parties withdrew the application (`withdrawn_at` says when): the court's "
    "file closes; nothing was changed"
}
MOVED_ON = {
    **WITHDRAWN,
    "already_ruled": "the court has ruled (the application is `confirmed` or `rejected`; "
    "`decided_at`, GET .../decision); nothing was changed",
    "already_refused": "the court did not accept the application (`refused`, `decided_at`); "
    "nothing was changed",
}
# Any other rule of the application's or the case's state (api.py's default).
CONFLICT = {"conflict": "the step does not fit the state of the application or its case"}


def _errors(
    *codes: int, conflicts: dict[str, str] | None = None, thing: str = "application"
) -> dict:
    """The error answers of an operation, each with its shape and an example; ``conflicts``
    names the codes a 409 carries (its ``error``, which the schema lists) and what each
    means. Every operation may be answered 429 (api.py's rate limits), with Retry-After."""
    words = {
        400: "the body is not a JSON object",
        401: "no valid token (WWW-Authenticate says how to give one)",
        404: f"no such {thing} at this court",
        409: "the step is not possible in the application's state",
        413: f"the body is too large (JSON: more than {MAX_BODY} bytes; a PDF: see the operation)",
        415: "the body is not a PDF",
        422: "a field is invalid: `message` names it",
    }
    found = {}
    for code in codes:
        response = _json(ERROR, words[code])
        response["content"]["application/json"]["example"] = EXAMPLES[code]
        if code == 404:
            response["content"]["application/json"]["example"] = _example(
                "not_found", f"No such {thing} at this court."
            )
        if code == 409 and conflicts:
            response["description"] += ": " + "; ".join(
                f"`{name}` {meaning}" for name, meaning in conflicts.items()
            )
            name = next(iter(conflicts))
            response["content"]["application/json"]["example"] = _example(name, conflicts[name])
            response["content"]["application/json"]["schema"] = {
                "allOf": [ERROR, {"properties": {"error": {"enum": list(conflicts)}}}]
            }
        found[str(code)] = response
    found["429"] = _json(ERROR, "too many requests; Retry-After says when to try again")
    found["429"]["content"]["application/json"]["example"] = EXAMPLES[429]
    found["429"]["headers"] = {
        "Retry-After": {"description": "seconds", "schema": {"type": "string"}}
    }
    return found


def _id_parameter() -> list[dict]:
    return [
        {
            "name": "application_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2_147_483_647},
        }
    ]


def _request_id_parameter() -> list[dict]:
    return [
        *_id_parameter(),
        {
            "name": "request_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2_147_483_647},
        },
    ]


def _post(operation_id: str, summary: str, body: dict, example: dict, answer: dict) -> dict:
    """A POST of the API: a JSON object in, ``answer`` (responses by status) out."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": body, "example": example}},
        },
        "responses": answer,
    }


def _required_text(description: str) -> dict:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_REASONS,
        "pattern": NOT_BLANK,
        "description": description,
    }


def _material_request_schemas() -> dict:
    answer = {
        "type": "object",
        "required": ["id", "name", "sha256", "added_at"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string", "description": "the file's name as the party sent it"},
            "sha256": SHA256,
            "added_at": TIME,
            "package_name": {
                "type": ["string", "null"],
                "description": "its name in the package (GET .../package)",
            },
        },
    }
    request = {
        "type": "object",
        "required": ["id", "text", "requested_at", "due_at", "answered_at", "state", "answers"],
        "properties": {
            "id": {"type": "integer"},
            "text": {"type": "string"},
            "requested_at": TIME,
            "due_at": TIME,
            "answered_at": NULLABLE_TIME,
            "state": {
                "type": "string",
                "enum": ["open", "answered", "overdue"],
                "description": "answered once a party sent a file for it; overdue after "
                "due_at without one (SPC provisions art 6: the court may then treat the "
                "application as withdrawn)",
            },
            "answers": {"type": "array", "items": {"$ref": "#/components/schemas/Answer"}},
        },
        "example": {
            "id": 3,
            "text": "请提供申请人的身份证复印件",
            "requested_at": "2026-12-01T02:00:00+00:00",
            "due_at": "2026-12-06T15:59:59+00:00",
            "answered_at": "2026-12-02T08:12:40+00:00",
            "state": "answered",
            "answers": [
                {
                    "id": 11,
                    "name": "身份证.pdf",
                    "sha256": "9f" * 32,
                    "added_at": "2026-12-02T08:12:40+00:00",
                    "package_name": "materials/04-supplement-身份证.pdf",
                }
            ],
        },
    }
    return {"Answer": answer, "MaterialRequest": request}


def _decision(flag: str, ground_names: dict) -> dict:
    """Yes without a ground, or no with one of the legal grounds; reasons optional either way;
    nothing else (a misspelt field is refused rather than ignored).
    The API checks exactly this (api.py), so a body the schema allows is never refused as
    invalid and one it forbids never passes."""
    # Text is stored: no NUL and no lone surrogate (the platform refuses both with a 400).
    reasons = {"type": "string", "maxLength": MAX_REASONS, "pattern": STORABLE_TEXT}
    return {
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": [flag],
                "properties": {
                    flag: {"const": True},
                    "ground": {"type": ["string", "null"], "maxLength": 0},
                    "reasons": reasons,
                },
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": [flag, "ground"],
                "properties": {
                    flag: {"const": False},
                    "ground": {"type": "string", "enum": list(ground_names)},
                    "reasons": reasons,
                },
            },
        ]
    }


def document(extra_paths: dict | None = None, extra_schemas: dict | None = None) -> dict[str, Any]:
    """The API's document; ``extra_*``: what nested parts of the API add (api.py)."""
    summary = {
        "type": "object",
        "required": ["id", "case_number", "status", "parties"],
        "properties": {
            "id": {"type": "integer"},
            "case_number": {"type": "string"},
            "court_case_number": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": [s.value for s in ApplicationStatus]},
            "submitted_at": NULLABLE_TIME,
            "acceptance_due_at": NULLABLE_TIME,
            "ruling_due_at": NULLABLE_TIME,
            "awaiting_court_signature": {"type": "boolean"},
            "parties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "side": {"type": "string", "enum": ["applicant", "respondent"]},
                        "agent": {"type": "boolean"},
                    },
                },
            },
        },
    }
    detail = {
        "allOf": [
            {"$ref": "#/components/schemas/ApplicationSummary"},
            {
                "type": "object",
                "properties": {
                    "institution": {"type": ["string", "null"]},
                    "agreement_sha256": {"type": ["string", "null"]},
                    "application_sha256": {"type": ["string", "null"]},
                    "decision_sha256": {"type": ["string", "null"]},
                    "ground": {"type": ["string", "null"]},
                    "reasons": {"type": "string"},
                    "decided_at": NULLABLE_TIME,
                    "awaiting_court_signature": {
                        "type": "boolean",
                        "description": "a decision awaits the court's signature",
                    },
                    "prepared_ruling": {
                        "description": (
                            "The ruling decided but awaiting the court's signature: the court "
                            "signs the unsigned decision with its own key and posts it back."
                        ),
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "properties": {
                                    "confirmed": {"type": "boolean"},
                                    "ground": {"type": ["string", "null"]},
                                    "reasons": {"type": "string"},
                                    "decided_at": NULLABLE_TIME,
                                    "unsigned_decision_sha256": {"type": "string"},
                                },
                            },
                        ],
                    },
                    "extended_at": NULLABLE_TIME,
                    "withdrawn_at": {
                        **NULLABLE_TIME,
                        "description": "when the parties withdrew the application",
                    },
                    "materials": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "kind": {"type": "string"},
                                "name": {"type": "string"},
                                "sha256": {"type": "string"},
                            },
                        },
                    },
                },
            },
        ],
        "example": APPLICATION_EXAMPLE,
    }
    secured = [{"courtToken": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Court API of the online mediation platform",
            "version": "1.3.0",
            "description": (
                "Judicial confirmation (CPL arts 205-206; SPC provisions arts 4-8): a court "
                "lists its applications, downloads a signed package, accepts or refuses, asks "
                "for materials, extends the time to rule once, rules, and downloads its signed "
                "decision. A token is scoped to one court: another court's application is "
                "answered 404, as one that does not exist. Every answer may be 429 (rate "
                "limits per token; wrong tokens per address), with Retry-After."
            ),
        },
        "servers": [{"url": "/api/court/v1"}],
        "components": {
            "securitySchemes": {"courtToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                },
                "ApplicationSummary": summary,
                "Application": detail,
                **_material_request_schemas(),
                **(extra_schemas or {}),
            },
        },
        "security": secured,
        "paths": {
            "/applications": {
                "get": {
                    "operationId": "listApplications",
                    "summary": "The court's applications, the open ones first",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "applications": {
                                        "type": "array",
                                        "items": {
                                            "$ref": "#/components/schemas/ApplicationSummary"
                                        },
                                    }
                                },
                            },
                            "the applications",
                        ),
                        **_errors(401),
                    },
                }
            },
            "/applications/{application_id}": {
                "parameters": _id_parameter(),
                "get": {
                    "operationId": "getApplication",
                    "summary": "One application",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Application"}, "it"),
                        **_errors(401, 404),
                    },
                },
            },
            "/applications/{application_id}/package": {
                "parameters": _id_parameter(),
                "get": {
                    "operationId": "getPackage",
                    "summary": "The signed package (ZIP with manifest.json and manifest.json.p7s)",
                    "responses": {
                        "200": {
                            "description": "the package",
                            "content": {
                                "application/zip": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        },
                        **_errors(401, 404, 409, conflicts=WITHDRAWN),
                    },
                },
            },
            **_new_paths(),
            **(extra_paths or {}),
            "/applications/{application_id}/acceptance": {
                "parameters": _id_parameter(),
                "post": {
                    "operationId": "decideAcceptance",
                    "summary": "Accept the application, or refuse it on an art 4 / art 355 ground",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": _decision("accept", grounds.REFUSAL),
                            }
                        },
                    },
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Application"}, "decided"),
                        **_errors(
                            400,
                            401,
                            404,
                            409,
                            413,
                            422,
                            conflicts={
                                **MOVED_ON,
                                "already_accepted": "the application was accepted already "
                                "(`court_case_number`): a repeated acceptance changes nothing",
                                **CONFLICT,
                            },
                        ),
                    },
                },
            },
            "/applications/{application_id}/ruling": {
                "parameters": _id_parameter(),
                "post": {
                    "operationId": "rule",
                    "summary": "Confirm the agreement, or not on an art 7 / art 358 ground",
                    "description": (
                        "For a court with its own root certificates configured, this prepares "
                        "the decision: the application stays accepted with "
                        "awaiting_court_signature true until the court's signed decision is "
                        "posted to ruling/signed-decision. Deciding again replaces the draft."
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": _decision("confirmed", grounds.REJECTION),
                            }
                        },
                    },
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Application"}, "ruled"),
                        **_errors(
                            400,
                            401,
                            404,
                            409,
                            413,
                            422,
                            conflicts={
                                **MOVED_ON,
                                "not_accepted": "the application is not accepted yet",
                                "no_court_root": "the court's own root certificate is not "
                                "configured on the platform",
                                **CONFLICT,
                            },
                        ),
                    },
                },
            },
            "/applications/{application_id}/ruling/unsigned-decision": {
                "parameters": _id_parameter(),
                "get": {
                    "operationId": "getUnsignedDecision",
                    "summary": (
                        "The decision prepared for the court's signature (sign it in its "
                        "field 'Court', with a timestamp, changing nothing else)"
                    ),
                    "responses": {
                        "200": {
                            "description": "the unsigned decision",
                            "content": {
                                "application/pdf": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        },
                        **_errors(401, 404, 409, conflicts=MOVED_ON),
                    },
                },
            },
            "/applications/{application_id}/ruling/signed-decision": {
                "parameters": _id_parameter(),
                "post": {
                    "operationId": "postSignedDecision",
                    "summary": (
                        "The decision signed with the court's certificate (under the court's "
                        "configured roots): checked, then the ruling is made"
                    ),
                    "requestBody": {
                        "required": True,
                        "description": (
                            f"the signed PDF, at most {MAX_SIGNED_BYTES >> 20} MiB "
                            f"({MAX_SIGNED_BYTES} bytes; 413 above)"
                        ),
                        "content": {
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Application"}, "ruled"),
                        **_errors(
                            401,
                            404,
                            409,
                            413,
                            415,
                            422,
                            conflicts={
                                **MOVED_ON,
                                "not_accepted": "the application is not accepted yet",
                                "not_prepared": "no decision awaits the court's signature",
                                "no_court_root": "the court's own root certificate is not "
                                "configured on the platform",
                                **CONFLICT,
                            },
                        ),
                    },
                },
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": _json({"type": "object"}, "the OpenAPI document"),
                        **_errors(),
                    },
                }
            },
        },
    }


def _new_paths() -> dict:
    """The decision, requests for materials and the extension (issue #17)."""
    application = {"$ref": "#/components/schemas/Application"}
    material_request = {"$ref": "#/components/schemas/MaterialRequest"}
    reasons = _required_text("why the time is extended (the president approved it)")
    return {
        "/applications/{application_id}/decision": {
            "parameters": _id_parameter(),
            "get": {
                "operationId": "getDecision",
                "summary": "The court's signed decision (PDF), once it has ruled",
                "responses": {
                    "200": {
                        "description": "the decision as the court signed it; its SHA-256 is "
                        "the application's decision_sha256 and the ETag",
                        "headers": {"ETag": {"schema": {"type": "string"}}},
                        "content": {
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    "304": {"description": "not modified (If-None-Match gave the ETag)"},
                    **_errors(
                        401,
                        404,
                        409,
                        conflicts={
                            "not_ruled": "the court has not ruled yet",
                            "no_ruling": "there will be none: the application was refused "
                            "or withdrawn",
                        },
                    ),
                },
            },
        },
        "/applications/{application_id}/material-requests": {
            "parameters": _id_parameter(),
            "get": {
                "operationId": "listMaterialRequests",
                "summary": "The court's requests for materials, oldest first, with answers",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["requests"],
                            "properties": {
                                "requests": {"type": "array", "items": material_request}
                            },
                        },
                        "the requests",
                    ),
                    **_errors(401, 404),
                },
            },
            "post": _post(
                "requestMaterials",
                "Ask the parties for materials by a period of days (CPL interpretation art "
                "356; SPC provisions art 6); each post is a new request sent to the parties, "
                "except the same text and days again while the last request made through "
                "the API is unanswered (a retry): that request, 200, nothing sent again",
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["text", "days"],
                    "properties": {
                        "text": _required_text("what the parties are to provide"),
                        "days": {
                            "type": "integer",
                            "minimum": MATERIALS_DAYS[0],
                            "maximum": MATERIALS_DAYS[1],
                            "description": "the period, in days from now (the due day ends "
                            "at midnight, a holiday moves it to the next working day)",
                        },
                    },
                },
                {"text": "请提供申请人的身份证复印件", "days": 5},
                {
                    "201": {
                        **_json(material_request, "asked; the parties are told"),
                        "headers": {
                            "Location": {
                                "description": "the request's address",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    "200": {
                        **_json(
                            material_request,
                            "the same request again (a retry): the one already made; the "
                            "parties are not asked twice",
                        ),
                        "headers": {
                            "Location": {
                                "description": "the request's address",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    **_errors(
                        400,
                        401,
                        404,
                        409,
                        413,
                        422,
                        conflicts=MOVED_ON,
                    ),
                },
            ),
        },
        "/applications/{application_id}/material-requests/{request_id}": {
            "parameters": _request_id_parameter(),
            "get": {
                "operationId": "getMaterialRequest",
                "summary": "One request for materials: its state and the files sent for it",
                "responses": {
                    "200": _json(material_request, "the request"),
                    **_errors(401, 404),
                },
            },
        },
        "/applications/{application_id}/extension": {
            "parameters": _id_parameter(),
            "post": _post(
                "extendTimeToRule",
                "Extend the time to rule by 10 days, once, with reasons (SPC provisions art "
                "5); a repeated post changes nothing and is answered 409 already_extended",
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["reasons"],
                    "properties": {"reasons": reasons},
                },
                {"reasons": "案情复杂，经院长批准延长审查期限"},
                {
                    "200": _json(application, "extended: ruling_due_at is the new deadline"),
                    **_errors(
                        400,
                        401,
                        404,
                        409,
                        413,
                        422,
                        conflicts={
                            "already_extended": "the time was extended once already",
                            **MOVED_ON,
                            "not_accepted": "the application is not accepted yet",
                            "time_ran_out": "the time to rule has run out",
                        },
                    ),
                },
            ),
        },
    }
