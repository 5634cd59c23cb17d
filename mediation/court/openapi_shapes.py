"""The shapes every part of the court API's OpenAPI document shares: an id in the path, a
JSON body, text the platform stores, a file answered, and the error answers an operation may
give. openapi.py (the applications) and delegation_openapi.py (the delegations) build their
operations with them, so that the two describe the API alike.
"""

from __future__ import annotations

from typing import Any

NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
TIME = {"type": "string", "format": "date-time"}
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
ERROR = {"$ref": "#/components/schemas/Error"}
# An id of the platform's (a PostgreSQL integer): a larger number names nothing.
ID = {"type": "integer", "minimum": 1, "maximum": 2_147_483_647}
BINARY = {"type": "string", "format": "binary"}
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
# The error answers of a POST with a JSON body on one thing (api.py answers each).
JSON_STEP = (400, 401, 404, 409, 413, 422)


def json_answer(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def file_answer(media_type: str, description: str, **more: Any) -> dict:
    """A file answered as it is (a ZIP, a PDF); ``more``: its headers."""
    return {"description": description, **more, "content": {media_type: {"schema": BINARY}}}


def located(answer: dict, description: str) -> dict:
    """``answer`` with a Location header: the address of what it names."""
    return {
        **answer,
        "headers": {"Location": {"description": description, "schema": {"type": "string"}}},
    }


def path_ids(*names: str) -> list[dict]:
    """The ids an operation's path names, each a platform id (``ID``)."""
    return [{"name": name, "in": "path", "required": True, "schema": dict(ID)} for name in names]


def json_body(schema: dict, example: dict | None = None) -> dict:
    """A required JSON object, as ``schema`` says, with an example if given."""
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"required": True, "content": {"application/json": content}}


def operation(
    operation_id: str,
    summary: str,
    responses: dict,
    *,
    description: str | None = None,
    security: list | None = None,
    body: dict | None = None,
) -> dict:
    """One operation of the API: ``responses`` by status, ``body`` its request's (json_body
    for a JSON object), ``security`` only where it is not the document's token."""
    found: dict[str, Any] = {"operationId": operation_id, "summary": summary}
    if description is not None:
        found["description"] = description
    if security is not None:
        found["security"] = security
    if body is not None:
        found["requestBody"] = body
    found["responses"] = responses
    return found


def text(limit: int, *, required: bool = True, **more: Any) -> dict:
    """Text the platform stores: at most ``limit`` characters; a required one says something
    (``NOT_BLANK``), as the API checks it. ``more``: its description."""
    if required:
        return {"type": "string", "minLength": 1, "maxLength": limit, "pattern": NOT_BLANK, **more}
    return {"type": "string", "maxLength": limit, "pattern": STORABLE_TEXT, **more}


def parties(**more: dict) -> dict:
    """The parties' names and sides; ``more``: what else the answer says of each."""
    person = {
        "name": {"type": "string"},
        "side": {"type": "string", "enum": ["applicant", "respondent"]},
        **more,
    }
    return {"type": "array", "items": {"type": "object", "properties": person}}


def _example(code: str, message: str) -> dict:
    return {"error": code, "message": message}


EXAMPLES = {
    400: _example("bad_request", "Send a JSON object."),
    401: _example("unauthorized", "This token is not valid."),
    409: _example("conflict", "The step does not fit the state of the application."),
    413: _example("request_entity_too_large", "What you sent is too large."),
    415: _example("unsupported_media_type", "Send the signed PDF (application/pdf)."),
    422: _example("invalid", "days: A whole number from 1 to 30."),
    429: _example("too_many_requests", "Too many requests. Try again in 12 seconds."),
}


def _error(description: str, example: dict, schema: dict = ERROR) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema, "example": example}},
    }


def errors(
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
    examples = {**EXAMPLES, 404: _example("not_found", f"No such {thing} at this court.")}
    found = {str(code): _error(words[code], examples[code]) for code in codes}
    if 409 in codes and conflicts:
        first = next(iter(conflicts))
        found["409"] = _error(
            words[409] + ": " + "; ".join(f"`{name}` {means}" for name, means in conflicts.items()),
            _example(first, conflicts[first]),
            {"allOf": [ERROR, {"properties": {"error": {"enum": list(conflicts)}}}]},
        )
    found["429"] = {
        **_error("too many requests; Retry-After says when to try again", EXAMPLES[429]),
        "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}},
    }
    return found
