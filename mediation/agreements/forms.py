"""The agreement's forms. The draft's rows (issues, obligations) come as numbered fields,
obligations-1-amount and so on, so the editor works without JavaScript too."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

OBLIGATION_FIELDS = ("obligor", "obligee", "kind", "action", "amount", "due", "method", "place")
ISSUE_FIELDS = ("issue", "responsibility")
_ROW = re.compile(r"^(issues|obligations)-(\d{1,2})-(\w+)$")
MAX_DRAWING_DATA_URL = 800 * 1024
# The pad's strokes (signature_pad's point groups as JSON), only shown back to the signer
# when the page comes again, so the drawing is redrawn rather than a picture rescaled.
MAX_STROKES = 300 * 1024


def draft_from_form(form: MultiDict) -> dict[str, Any]:
    """The editor's fields as the draft dict ``draft.read`` takes; empty rows dropped."""
    rows: dict[str, dict[int, dict[str, str]]] = {"issues": {}, "obligations": {}}
    for key, value in form.items():
        match = _ROW.match(key)
        if match:
            rows[match[1]].setdefault(int(match[2]), {})[match[3]] = value
    known = {"issues": ISSUE_FIELDS, "obligations": OBLIGATION_FIELDS}
    lists = {
        name: [
            {f: row.get(f, "") for f in known[name]}
            for _n, row in sorted(found.items())
            # A row is empty when nothing but its defaults (the kind) was filled in.
            if any((row.get(f) or "").strip() for f in known[name] if f not in ("kind",))
        ]
        for name, found in rows.items()
    }
    return {
        "facts": form.get("facts", ""),
        "issues": lists["issues"],
        "obligations": lists["obligations"],
        "performance": form.get("performance", ""),
        "default_terms": form.get("default_terms", ""),
        "copies": form.get("copies", ""),
        "ownership": form.get("ownership") == "1",
    }


def drawing_from_data_url(value: str | None) -> bytes | None:
    """The PNG the signature pad sends as a data: URL (checked as an image later)."""
    if not value or len(value) > MAX_DRAWING_DATA_URL:
        return None
    prefix = "data:image/png;base64,"
    if not value.startswith(prefix):
        return None
    try:
        return base64.b64decode(value[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        return None


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token."""


class CommentForm(FlaskForm):
    text = TextAreaField(_l("Your comment on this draft"), [Length(max=2000)])


class SignForm(FlaskForm):
    shown = HiddenField()
    drawing = HiddenField()
    strokes = HiddenField(filters=[lambda v: v if v and len(v) <= MAX_STROKES else ""])
    code = StringField(
        _l("Code from the text message"),
        [Optional(), Length(max=6)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )
    reason = TextAreaField(_l("Why do you refuse to sign? (optional)"), [Length(max=2000)])
    # Refusing ends the mediation (SPC online mediation rules art 25 (7)) and cannot be
    # undone: ticked by the person, as for ending mediation or refusing it (cases/views.py).
    confirm_refusal = BooleanField(_l("I confirm that I refuse to sign and that mediation ends."))
