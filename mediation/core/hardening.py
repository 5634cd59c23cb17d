"""What every request and every response goes through, whatever the feature.

Hostile input stops here, before a view sees it, with a 400 in the visitor's language (JSON
under /api/) instead of a database error and a traceback:

- text that cannot be stored: a NUL character (PostgreSQL refuses it in text) or a lone
  UTF-16 surrogate such as ``"\\ud800"`` in JSON (it is no character at all, so it cannot be
  encoded as UTF-8 for the database, a PDF or the journal), in the query, the form, the names
  of uploaded files, the URL's own parts or a JSON body; and a JSON body nested too deep to
  be read;
- numbers beyond the database's integer range: ``request.args.get("page", type=int)`` and
  ``request.form.get("mediator_id", type=int)`` answer a 400 that says the number is too
  large, instead of the database's overflow (issue #15 item 7); a value that is no integer
  at all still reads as the default, as in Flask (URL ids are bounded by the ``int``
  converter).

Every response also forbids being framed (X-Frame-Options and CSP ``frame-ancestors``), so
that another page cannot lay a logged-in page under its own buttons (clickjacking).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Flask, Request, Response, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest

# PostgreSQL's ``integer``, the type of every id and count column; SQLite stores more, but the
# application must behave the same on both.
DB_INT_MIN = -(2**31)
DB_INT_MAX = 2**31 - 1

# NUL, and the UTF-16 surrogate range that no well-formed text contains.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

FRAME_ANCESTORS = "frame-ancestors 'none'"


class UnusableText(BadRequest):
    """The request carries text that cannot be stored; render_error words it for people."""


class MalformedJson(BadRequest):
    """The JSON body cannot be read (nested too deep)."""


class NumberOutOfRange(BadRequest):
    """A query or form number beyond the database's range; render_error words it for people."""


def _bounded(value: int) -> int:
    if not DB_INT_MIN <= value <= DB_INT_MAX:
        raise NumberOutOfRange()
    return value


class BoundedParameters(ImmutableMultiDict):
    """Query and form values whose ``type=int`` reading stays within the database's range: a
    larger number is refused with a 400 (no page, id or count is that large), where the
    database would overflow; ``"abc"`` still reads as the default.

    Each line break is one character, as the person typed it: a browser sends a text box's
    line breaks as CR LF (HTML, "form submission value"), while its ``maxlength`` and the
    page's counter (static/js/limits.js) count one. Without this a box shown as full was
    refused by a form's ``Length(max)``, or cut by a view's ``[:n]`` without a word."""

    def __init__(self, mapping: Any = None) -> None:
        if mapping is not None and not isinstance(mapping, dict):  # pairs, as parsed
            mapping = [
                (key, value.replace("\r\n", "\n") if isinstance(value, str) else value)
                for key, value in mapping
            ]
        super().__init__(mapping)

    def get(self, key, default=None, type=None):
        if type is not int:
            return super().get(key, default, type)
        value = super().get(key, None, int)
        return default if value is None else _bounded(value)

    def getlist(self, key, type=None):
        values = super().getlist(key, type)
        if type is int:
            values = [_bounded(v) for v in values]
        return values


class HardenedRequest(Request):
    parameter_storage_class = BoundedParameters


def unstorable(value: str) -> bool:
    return _UNSTORABLE.search(value) is not None


def _json_strings(body: Any) -> Iterator[str]:
    """Every key and string in a decoded JSON body, without recursion (a deep body is legal
    up to the decoder's own limit)."""
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _request_strings() -> Iterable[str]:
    for multi in (request.args, request.form):
        for key, values in multi.lists():
            yield key
            yield from values
    for key, upload in request.files.items(multi=True):
        yield key
        yield upload.filename or ""
    for value in (request.view_args or {}).values():
        if isinstance(value, str):
            yield value
    if request.is_json:
        try:
            # Cached: the view's own get_json() reads the same decoded body.
            body = request.get_json(silent=True)
        except RecursionError:
            raise MalformedJson() from None
        yield from _json_strings(body)


def reject_unstorable_text() -> None:
    if any(unstorable(text) for text in _request_strings()):
        raise UnusableText()


def forbid_framing(response: Response) -> Response:
    """No page of the platform may be shown inside another site's (or its own) frame; a
    view's own Content-Security-Policy (the sandbox of uploaded files) is kept and extended."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Personal links carry their secret in the path: it must not leave with a click to
    # another site. And nothing the platform serves is to be re-typed by the browser.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    policy = response.headers.get("Content-Security-Policy")
    if not policy:
        response.headers["Content-Security-Policy"] = FRAME_ANCESTORS
    elif "frame-ancestors" not in policy:
        response.headers["Content-Security-Policy"] = f"{policy}; {FRAME_ANCESTORS}"
    return response


def init_app(app: Flask) -> None:
    app.request_class = HardenedRequest
    # Registered on the app, so it runs before every blueprint's own before_request (the
    # court API's token check included).
    app.before_request(reject_unstorable_text)
    app.after_request(forbid_framing)
