"""The court API described in OpenAPI 3.1 (served at /api/court/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from . import grounds
from .models import ApplicationStatus
from .operations import MAX_REASONS

NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
ERROR = {"$ref": "#/components/schemas/Error"}
# No NUL (PostgreSQL cannot store it); a lone surrogate (JSON "\\ud800") is refused as well,
# but regex dialects cannot name one, and no UTF-8 client can send it by accident.
STORABLE_TEXT = "^[^\\u0000]*$"


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    words = {
        400: "the body is not a JSON object",
        401: "no valid token",
        404: "no such application at this court",
        409: "the step is not possible in the application's state",
        413: "the file is too large",
        415: "the body is not a PDF",
        422: "a field is invalid",
    }
    return {str(code): _json(ERROR, words[code]) for code in codes}


def _id_parameter() -> list[dict]:
    return [
        {
            "name": "application_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2_147_483_647},
        }
    ]


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


def document() -> dict[str, Any]:
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
        ]
    }
    secured = [{"courtToken": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Court API of the online mediation platform",
            "version": "1.0.0",
            "description": (
                "Judicial confirmation (CPL arts 205-206; SPC provisions arts 4-7): a court "
                "lists its applications, downloads a signed package, accepts or refuses, and "
                "rules. A token is scoped to one court."
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
                        **_errors(401, 404),
                    },
                },
            },
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
                        **_errors(400, 401, 404, 409, 422),
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
                        **_errors(400, 401, 404, 409, 422),
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
                        **_errors(401, 404),
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
                        "content": {
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Application"}, "ruled"),
                        **_errors(401, 404, 409, 413, 415, 422),
                    },
                },
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "the OpenAPI document"}},
                }
            },
        },
    }
