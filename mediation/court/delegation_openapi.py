"""The OpenAPI description of the court API's delegations (delegation_api.py), merged into
the API's document (openapi.py) by api.py."""

from __future__ import annotations

from typing import Any

from mediation.cases.categories import all_categories

from . import delegation
from .delegation_api import MAX_FACTS, PHONE
from .models import DelegationStatus
from .openapi import NOT_BLANK, NULLABLE_TIME, STORABLE_TEXT, _errors, _json, _post

ID_PARAMETER = [
    {
        "name": "delegation_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2_147_483_647},
    }
]
REF = {"$ref": "#/components/schemas/Delegation"}


def _text(limit: int, *, required: bool = True) -> dict:
    schema: dict[str, Any] = {"type": "string", "maxLength": limit, "pattern": STORABLE_TEXT}
    if required:
        schema.update(minLength=1, pattern=NOT_BLANK)
    return schema


PARTY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "phone"],
    "properties": {
        "name": _text(100),
        "phone": {
            "type": "string",
            "pattern": PHONE,
            "description": "a mainland mobile number, e.g. 13912345678",
        },
        "address": {
            **_text(300, required=False),
            "description": "the address for documents the party gave the court",
        },
    },
}
EXAMPLE_BODY = {
    "reference": "（2026）苏0102民诉前调1号",
    "category": "neighbourhood",
    "title": "楼上漏水致损",
    "facts": "楼上卫生间漏水，浸坏楼下吊顶。",
    "applicants": [{"name": "李建国", "phone": "13911112222", "address": "南京市玄武区1号"}],
    "respondents": [{"name": "王小明", "phone": "13933334444"}],
    "claims": [{"text": "赔偿修复费用", "amount": "8000.00"}],
    "days": 30,
}
EXAMPLE = {
    "id": 7,
    "reference": "（2026）苏0102民诉前调1号",
    "status": "mediating",
    "case_number": "2026-000042",
    "case_status": "submitted",
    "institution": "玄武区人民调解委员会",
    "mediator": None,
    "delegated_at": "2026-12-01T02:00:00+00:00",
    "deadline_at": "2026-12-31T02:00:00+00:00",
    "ended_at": None,
    "choice_lapsed_at": None,
    "failure_record": False,
    "parties": [
        {"name": "李建国", "side": "applicant"},
        {"name": "王小明", "side": "respondent"},
    ],
}


def _schemas() -> dict:
    return {
        "NewDelegation": {
            "type": "object",
            "additionalProperties": False,
            "required": ["reference", "category", "title", "applicants", "respondents"],
            "properties": {
                "reference": {**_text(60), "description": "the court's own number"},
                "category": {
                    "type": "string",
                    "enum": [c.code for c in all_categories()],
                    "description": "a dispute category offered on the platform",
                },
                "title": _text(200),
                "facts": _text(MAX_FACTS, required=False),
                "applicants": {"type": "array", "minItems": 1, "maxItems": 10, "items": PARTY},
                "respondents": {"type": "array", "minItems": 1, "maxItems": 10, "items": PARTY},
                "claims": {
                    "type": "array",
                    "maxItems": 20,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["text"],
                        "properties": {
                            "text": _text(500),
                            "amount": {
                                "type": ["string", "null"],
                                "pattern": "^[0-9]{1,12}(\\.[0-9]{1,2})?$",
                                "description": "yuan, as a decimal string",
                            },
                        },
                    },
                },
                "days": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": delegation.MAX_DAYS,
                    "default": delegation.DEFAULT_DAYS,
                    "description": "the mediation period (SPC online mediation rules art 24)",
                },
                "institution_id": {
                    "type": ["integer", "null"],
                    "minimum": 1,
                    "maximum": 2_147_483_647,
                    "description": "the institution the court chose (art 10); else assigned",
                },
            },
            "example": EXAMPLE_BODY,
        },
        "Delegation": {
            "type": "object",
            "required": ["id", "reference", "status", "case_number", "deadline_at"],
            "properties": {
                "id": {"type": "integer"},
                "reference": {"type": "string"},
                "status": {
                    "type": "string",
                    "enum": [s.value for s in DelegationStatus],
                    "description": (
                        "mediating; agreement (the parties may apply to this court for "
                        "judicial confirmation); failed (the art 21 record is ready when "
                        "failure_record is true); returned (the deadline passed)"
                    ),
                },
                "case_number": {"type": "string"},
                "case_status": {"type": "string"},
                "institution": {"type": ["string", "null"]},
                "mediator": {"type": ["string", "null"]},
                "delegated_at": NULLABLE_TIME,
                "deadline_at": NULLABLE_TIME,
                "ended_at": NULLABLE_TIME,
                "choice_lapsed_at": {
                    **NULLABLE_TIME,
                    "description": (
                        "when the institution chosen declined the dispute or let its 3 "
                        "working days pass (SPC online mediation rules art 12 para 2), while "
                        "the court may designate another (POST .../designation); else null"
                    ),
                },
                "failure_record": {"type": "boolean"},
                "parties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "side": {"type": "string", "enum": ["applicant", "respondent"]},
                        },
                    },
                },
            },
            "example": EXAMPLE,
        },
    }


def _paths() -> dict:
    return {
        "/delegations": {
            "get": {
                "operationId": "listDelegations",
                "summary": "The disputes this court delegated, newest first (at most 500)",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["delegations"],
                            "properties": {"delegations": {"type": "array", "items": REF}},
                        },
                        "the delegations",
                    ),
                    **_errors(401),
                },
            },
            "post": _post(
                "delegate",
                "Delegate a dispute to mediation before filing (CPL art 125; SPC online "
                "mediation rules arts 11-15): the case is filed and assigned, the applicants "
                "are told by SMS",
                {"$ref": "#/components/schemas/NewDelegation"},
                EXAMPLE_BODY,
                {
                    "201": {
                        **_json(REF, "delegated"),
                        "headers": {
                            "Location": {
                                "description": "the delegation's URL",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    **_errors(
                        400,
                        401,
                        409,
                        413,
                        422,
                        conflicts={
                            "reference_taken": "this court already delegated a dispute "
                            "with this reference",
                            "same_person": "one phone number is named twice among the parties",
                            "unknown_institution": "no institution has this id",
                        },
                    ),
                },
            ),
        },
        "/delegations/{delegation_id}": {
            "parameters": ID_PARAMETER,
            "get": {
                "operationId": "getDelegation",
                "summary": "One delegation and where its case stands",
                "responses": {
                    "200": _json(REF, "the delegation"),
                    **_errors(401, 404, thing="delegation"),
                },
            },
        },
        "/delegations/{delegation_id}/designation": {
            "parameters": ID_PARAMETER,
            "post": _post(
                "designateAgain",
                "Designate another institution for a dispute the one chosen declined or did "
                "not take on within 3 working days (SPC online mediation rules art 12 para 2); "
                "null leaves the choice to the platform",
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["institution_id"],
                    "properties": {
                        "institution_id": {
                            "type": ["integer", "null"],
                            "minimum": 1,
                            "maximum": 2_147_483_647,
                        }
                    },
                },
                {"institution_id": 3},
                {
                    "200": _json(REF, "designated"),
                    **_errors(
                        400,
                        401,
                        404,
                        409,
                        413,
                        422,
                        thing="delegation",
                        conflicts={
                            "not_lapsed": "the institution chosen has not declined the "
                            "dispute nor let its 3 working days pass (`message` says until "
                            "when); nothing was changed",
                            "already_designated": "another institution was designated since "
                            "the lapse, or the choice left to the platform (a retry after a "
                            "lost answer included; `message` says by whom and when): read the "
                            "delegation; nothing was changed",
                            "taken_on": "the institution took the dispute on after all "
                            "(`case_status`): it is being mediated; nothing was changed",
                            "agreement_reached": "the delegation ended with an agreement in "
                            "force (`status` `agreement`, `ended_at`); nothing was changed",
                            "mediation_failed": "the delegation ended without agreement "
                            "(`status` `failed`, `ended_at`; `message` says why); nothing was "
                            "changed",
                            "returned": "the court's period ran out and the dispute was "
                            "returned (`status` `returned`, `ended_at`); nothing was changed",
                            "unknown_institution": "no institution has this id",
                            "same_institution": "the institution that did not take it on",
                            "conflict": "the dispute changed under the step: read it again",
                        },
                    ),
                },
            ),
        },
        "/delegations/{delegation_id}/failure-record": {
            "parameters": ID_PARAMETER,
            "get": {
                "operationId": "getFailureRecord",
                "summary": (
                    "The mediator's record of a failed mediation (SPC online mediation rules "
                    "art 21), for online filing"
                ),
                "responses": {
                    "200": {
                        "description": "the record",
                        "content": {
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    **_errors(
                        401,
                        404,
                        409,
                        thing="delegation",
                        conflicts={"no_failure_record": "mediation has not failed with a record"},
                    ),
                },
            },
        },
    }


def parts() -> dict[str, dict]:
    return {"extra_paths": _paths(), "extra_schemas": _schemas()}
