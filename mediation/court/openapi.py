"""The court API described in OpenAPI 3.1 (served at /api/court/v1/openapi.json): the
applications' part (their schemas, reading them, the decision, materials and extension,
acceptance and the ruling), built with the shared shapes of openapi_shapes.py;
delegation_openapi.py adds the delegations' part (api.py merges it).
"""

from __future__ import annotations

from typing import Any

from . import grounds
from .examination import MATERIALS_DAYS
from .keys import MAX_SIGNED_BYTES
from .models import ApplicationStatus
from .openapi_shapes import (
    BINARY,
    JSON_STEP,
    NULLABLE_TIME,
    SHA256,
    STORABLE_TEXT,
    TIME,
    errors,
    file_answer,
    json_answer,
    json_body,
    located,
    operation,
    parties,
    path_ids,
    text,
)
from .steps import MAX_REASONS

APPLICATION = {"$ref": "#/components/schemas/Application"}
MATERIAL_REQUEST = {"$ref": "#/components/schemas/MaterialRequest"}

# -- the 409 codes of the applications' steps ---------------------------------------------

# A step on an application whose state moved on (steps.check_step): a court's system
# stops there, rather than retrying; the application says when.
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
NOT_ACCEPTED = {"not_accepted": "the application is not accepted yet"}
NO_COURT_ROOT = {
    "no_court_root": "the court's own root certificate is not configured on the platform"
}


# -- the applications' schemas ------------------------------------------------------------

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


def _application_schemas() -> dict:
    nullable_text = {"type": ["string", "null"]}
    summary = {
        "type": "object",
        "required": ["id", "case_number", "status", "parties"],
        "properties": {
            "id": {"type": "integer"},
            "case_number": {"type": "string"},
            "court_case_number": nullable_text,
            "status": {"type": "string", "enum": [s.value for s in ApplicationStatus]},
            "submitted_at": NULLABLE_TIME,
            "acceptance_due_at": NULLABLE_TIME,
            "ruling_due_at": NULLABLE_TIME,
            "awaiting_court_signature": {"type": "boolean"},
            "parties": parties(agent={"type": "boolean"}),
        },
    }
    prepared_ruling = {
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
                    "ground": nullable_text,
                    "reasons": {"type": "string"},
                    "decided_at": NULLABLE_TIME,
                    "unsigned_decision_sha256": {"type": "string"},
                },
            },
        ],
    }
    material = {
        "type": "object",
        "properties": {
            "kind": {"type": "string"},
            "name": {"type": "string"},
            "sha256": {"type": "string"},
        },
    }
    detail = {
        "allOf": [
            {"$ref": "#/components/schemas/ApplicationSummary"},
            {
                "type": "object",
                "properties": {
                    "institution": nullable_text,
                    "agreement_sha256": nullable_text,
                    "application_sha256": nullable_text,
                    "decision_sha256": nullable_text,
                    "ground": nullable_text,
                    "reasons": {"type": "string"},
                    "decided_at": NULLABLE_TIME,
                    "awaiting_court_signature": {
                        "type": "boolean",
                        "description": "a decision awaits the court's signature",
                    },
                    "prepared_ruling": prepared_ruling,
                    "extended_at": NULLABLE_TIME,
                    "withdrawn_at": {
                        **NULLABLE_TIME,
                        "description": "when the parties withdrew the application",
                    },
                    "materials": {"type": "array", "items": material},
                },
            },
        ],
        "example": APPLICATION_EXAMPLE,
    }
    return {"ApplicationSummary": summary, "Application": detail}


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


def _decision_body(flag: str, ground_names: dict) -> dict:
    """Yes without a ground, or no with one of the legal grounds; reasons optional either way;
    nothing else (a misspelt field is refused rather than ignored).
    The API checks exactly this (api.py), so a body the schema allows is never refused as
    invalid and one it forbids never passes."""
    # Text is stored: no NUL and no lone surrogate (the platform refuses both with a 400).
    reasons = {"type": "string", "maxLength": MAX_REASONS, "pattern": STORABLE_TEXT}

    def answer(yes: bool, required: list[str], ground: dict) -> dict:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": required,
            "properties": {flag: {"const": yes}, "ground": ground, "reasons": reasons},
        }

    return {
        "oneOf": [
            answer(True, [flag], {"type": ["string", "null"], "maxLength": 0}),
            answer(False, [flag, "ground"], {"type": "string", "enum": list(ground_names)}),
        ]
    }


# -- the document -------------------------------------------------------------------------


def document(extra_paths: dict | None = None, extra_schemas: dict | None = None) -> dict[str, Any]:
    """The API's document; ``extra_*``: what nested parts of the API add (api.py)."""
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
                **_application_schemas(),
                **_material_request_schemas(),
                **(extra_schemas or {}),
            },
        },
        "security": [{"courtToken": []}],
        "paths": {
            **_reading_paths(),
            **_examination_paths(),
            **(extra_paths or {}),
            **_decision_paths(),
            "/openapi.json": {
                "get": operation(
                    "openapi",
                    "This document",
                    {"200": json_answer({"type": "object"}, "the OpenAPI document"), **errors()},
                    security=[],
                )
            },
        },
    }


def _reading_paths() -> dict:
    """The court's applications, one of them, and its signed package."""
    listed = {
        "type": "object",
        "properties": {
            "applications": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ApplicationSummary"},
            }
        },
    }
    return {
        "/applications": {
            "get": operation(
                "listApplications",
                "The court's applications, the open ones first",
                {"200": json_answer(listed, "the applications"), **errors(401)},
            )
        },
        "/applications/{application_id}": {
            "parameters": path_ids("application_id"),
            "get": operation(
                "getApplication",
                "One application",
                {"200": json_answer(APPLICATION, "it"), **errors(401, 404)},
            ),
        },
        "/applications/{application_id}/package": {
            "parameters": path_ids("application_id"),
            "get": operation(
                "getPackage",
                "The signed package (ZIP with manifest.json and manifest.json.p7s)",
                {
                    "200": file_answer("application/zip", "the package"),
                    **errors(401, 404, 409, conflicts=WITHDRAWN),
                },
            ),
        },
    }


def _examination_paths() -> dict:
    """The decision, requests for materials and the extension (issue #17)."""
    materials = {
        "type": "object",
        "additionalProperties": False,
        "required": ["text", "days"],
        "properties": {
            "text": text(MAX_REASONS, description="what the parties are to provide"),
            "days": {
                "type": "integer",
                "minimum": MATERIALS_DAYS[0],
                "maximum": MATERIALS_DAYS[1],
                "description": "the period, in days from now (the due day ends "
                "at midnight, a holiday moves it to the next working day)",
            },
        },
    }
    extension = {
        "type": "object",
        "additionalProperties": False,
        "required": ["reasons"],
        "properties": {
            "reasons": text(
                MAX_REASONS, description="why the time is extended (the president approved it)"
            )
        },
    }
    return {
        "/applications/{application_id}/decision": {
            "parameters": path_ids("application_id"),
            "get": operation(
                "getDecision",
                "The court's signed decision (PDF), once it has ruled",
                {
                    "200": file_answer(
                        "application/pdf",
                        "the decision as the court signed it; its SHA-256 is "
                        "the application's decision_sha256 and the ETag",
                        headers={"ETag": {"schema": {"type": "string"}}},
                    ),
                    "304": {"description": "not modified (If-None-Match gave the ETag)"},
                    **errors(
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
            ),
        },
        "/applications/{application_id}/material-requests": {
            "parameters": path_ids("application_id"),
            "get": operation(
                "listMaterialRequests",
                "The court's requests for materials, oldest first, with answers",
                {
                    "200": json_answer(
                        {
                            "type": "object",
                            "required": ["requests"],
                            "properties": {
                                "requests": {"type": "array", "items": MATERIAL_REQUEST}
                            },
                        },
                        "the requests",
                    ),
                    **errors(401, 404),
                },
            ),
            "post": operation(
                "requestMaterials",
                "Ask the parties for materials by a period of days (CPL interpretation art "
                "356; SPC provisions art 6); each post is a new request sent to the parties, "
                "except the same text and days again while the last request made through "
                "the API is unanswered (a retry): that request, 200, nothing sent again",
                {
                    "201": located(
                        json_answer(MATERIAL_REQUEST, "asked; the parties are told"),
                        "the request's address",
                    ),
                    "200": located(
                        json_answer(
                            MATERIAL_REQUEST,
                            "the same request again (a retry): the one already made; the "
                            "parties are not asked twice",
                        ),
                        "the request's address",
                    ),
                    **errors(*JSON_STEP, conflicts=MOVED_ON),
                },
                body=json_body(materials, {"text": "请提供申请人的身份证复印件", "days": 5}),
            ),
        },
        "/applications/{application_id}/material-requests/{request_id}": {
            "parameters": path_ids("application_id", "request_id"),
            "get": operation(
                "getMaterialRequest",
                "One request for materials: its state and the files sent for it",
                {"200": json_answer(MATERIAL_REQUEST, "the request"), **errors(401, 404)},
            ),
        },
        "/applications/{application_id}/extension": {
            "parameters": path_ids("application_id"),
            "post": operation(
                "extendTimeToRule",
                "Extend the time to rule by 10 days, once, with reasons (SPC provisions art "
                "5); a repeated post changes nothing and is answered 409 already_extended",
                {
                    "200": json_answer(APPLICATION, "extended: ruling_due_at is the new deadline"),
                    **errors(
                        *JSON_STEP,
                        conflicts={
                            "already_extended": "the time was extended once already",
                            **MOVED_ON,
                            **NOT_ACCEPTED,
                            "time_ran_out": "the time to rule has run out",
                        },
                    ),
                },
                body=json_body(extension, {"reasons": "案情复杂，经院长批准延长审查期限"}),
            ),
        },
    }


def _decision_paths() -> dict:
    """Acceptance or refusal, the ruling, and the decision the court signs."""
    signed = {
        "required": True,
        "description": (
            f"the signed PDF, at most {MAX_SIGNED_BYTES >> 20} MiB "
            f"({MAX_SIGNED_BYTES} bytes; 413 above)"
        ),
        "content": {"application/pdf": {"schema": BINARY}},
    }
    return {
        "/applications/{application_id}/acceptance": {
            "parameters": path_ids("application_id"),
            "post": operation(
                "decideAcceptance",
                "Accept the application, or refuse it on an art 4 / art 355 ground",
                {
                    "200": json_answer(APPLICATION, "decided"),
                    **errors(
                        *JSON_STEP,
                        conflicts={
                            **MOVED_ON,
                            "already_accepted": "the application was accepted already "
                            "(`court_case_number`): a repeated acceptance changes nothing",
                            **CONFLICT,
                        },
                    ),
                },
                body=json_body(_decision_body("accept", grounds.REFUSAL)),
            ),
        },
        "/applications/{application_id}/ruling": {
            "parameters": path_ids("application_id"),
            "post": operation(
                "rule",
                "Confirm the agreement, or not on an art 7 / art 358 ground",
                {
                    "200": json_answer(APPLICATION, "ruled"),
                    **errors(
                        *JSON_STEP,
                        conflicts={**MOVED_ON, **NOT_ACCEPTED, **NO_COURT_ROOT, **CONFLICT},
                    ),
                },
                description=(
                    "For a court with its own root certificates configured, this prepares "
                    "the decision: the application stays accepted with "
                    "awaiting_court_signature true until the court's signed decision is "
                    "posted to ruling/signed-decision. Deciding again replaces the draft."
                ),
                body=json_body(_decision_body("confirmed", grounds.REJECTION)),
            ),
        },
        "/applications/{application_id}/ruling/unsigned-decision": {
            "parameters": path_ids("application_id"),
            "get": operation(
                "getUnsignedDecision",
                "The decision prepared for the court's signature (sign it in its "
                "field 'Court', with a timestamp, changing nothing else)",
                {
                    "200": file_answer("application/pdf", "the unsigned decision"),
                    **errors(401, 404, 409, conflicts=MOVED_ON),
                },
            ),
        },
        "/applications/{application_id}/ruling/signed-decision": {
            "parameters": path_ids("application_id"),
            "post": operation(
                "postSignedDecision",
                "The decision signed with the court's certificate (under the court's "
                "configured roots): checked, then the ruling is made",
                {
                    "200": json_answer(APPLICATION, "ruled"),
                    **errors(
                        401,
                        404,
                        409,
                        413,
                        415,
                        422,
                        conflicts={
                            **MOVED_ON,
                            **NOT_ACCEPTED,
                            "not_prepared": "no decision awaits the court's signature",
                            **NO_COURT_ROOT,
                            **CONFLICT,
                        },
                    ),
                },
                body=signed,
            ),
        },
    }
