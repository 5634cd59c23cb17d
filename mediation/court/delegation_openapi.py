"""The OpenAPI description of the court API's delegations (delegation_api.py), merged into
the API's document (openapi.py) by api.py; both are built with openapi_shapes.py."""

from __future__ import annotations

from mediation.cases.categories import all_categories

from . import delegation
from .delegation_api import MAX_FACTS, PHONE
from .models import DelegationStatus
from .openapi_shapes import (
    ID,
    JSON_STEP,
    NULLABLE_TIME,
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

ID_PARAMETER = path_ids("delegation_id")
REF = {"$ref": "#/components/schemas/Delegation"}
# The court's choice of institution; null leaves it to the platform.
INSTITUTION_ID = {**ID, "type": ["integer", "null"]}

PARTY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "phone"],
    "properties": {
        "name": text(100),
        "phone": {
            "type": "string",
            "pattern": PHONE,
            "description": "a mainland mobile number, e.g. 13912345678",
        },
        "address": text(
            300, required=False, description="the address for documents the party gave the court"
        ),
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
                "reference": text(60, description="the court's own number"),
                "category": {
                    "type": "string",
                    "enum": [c.code for c in all_categories()],
                    "description": "a dispute category offered on the platform",
                },
                "title": text(200),
                "facts": text(MAX_FACTS, required=False),
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
                            "text": text(500),
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
                    **INSTITUTION_ID,
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
                "parties": parties(),
            },
            "example": EXAMPLE,
        },
    }


def _paths() -> dict:
    return {
        "/delegations": {
            "get": operation(
                "listDelegations",
                "The disputes this court delegated, newest first (at most 500)",
                {
                    "200": json_answer(
                        {
                            "type": "object",
                            "required": ["delegations"],
                            "properties": {"delegations": {"type": "array", "items": REF}},
                        },
                        "the delegations",
                    ),
                    **errors(401),
                },
            ),
            "post": operation(
                "delegate",
                "Delegate a dispute to mediation before filing (CPL art 125; SPC online "
                "mediation rules arts 11-15): the case is filed and assigned, the applicants "
                "are told by SMS",
                {
                    "201": located(json_answer(REF, "delegated"), "the delegation's URL"),
                    **errors(
                        *(code for code in JSON_STEP if code != 404),
                        conflicts={
                            "reference_taken": "this court already delegated a dispute "
                            "with this reference",
                            "same_person": "one phone number is named twice among the parties",
                            "unknown_institution": "no institution has this id",
                        },
                    ),
                },
                body=json_body({"$ref": "#/components/schemas/NewDelegation"}, EXAMPLE_BODY),
            ),
        },
        "/delegations/{delegation_id}": {
            "parameters": ID_PARAMETER,
            "get": operation(
                "getDelegation",
                "One delegation and where its case stands",
                {
                    "200": json_answer(REF, "the delegation"),
                    **errors(401, 404, thing="delegation"),
                },
            ),
        },
        "/delegations/{delegation_id}/designation": {
            "parameters": ID_PARAMETER,
            "post": operation(
                "designateAgain",
                "Designate another institution for a dispute the one chosen declined or did "
                "not take on within 3 working days (SPC online mediation rules art 12 para 2); "
                "null leaves the choice to the platform",
                {
                    "200": json_answer(REF, "designated"),
                    **errors(
                        *JSON_STEP,
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
                body=json_body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["institution_id"],
                        "properties": {"institution_id": INSTITUTION_ID},
                    },
                    {"institution_id": 3},
                ),
            ),
        },
        "/delegations/{delegation_id}/failure-record": {
            "parameters": ID_PARAMETER,
            "get": operation(
                "getFailureRecord",
                "The mediator's record of a failed mediation (SPC online mediation rules "
                "art 21), for online filing",
                {
                    "200": file_answer("application/pdf", "the record"),
                    **errors(
                        401,
                        404,
                        409,
                        thing="delegation",
                        conflicts={"no_failure_record": "mediation has not failed with a record"},
                    ),
                },
            ),
        },
    }


def parts() -> dict[str, dict]:
    return {"extra_paths": _paths(), "extra_schemas": _schemas()}
