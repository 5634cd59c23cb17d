"""The public verification page: anyone may upload a PDF or enter the short code printed
on it, and see who signed when, whether the file is intact, whether the certificates chain
to the platform's root, and whether it is the document the platform keeps for the case."""

from __future__ import annotations

import hashlib

from asn1crypto import pem
from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mediation.extensions import limiter

from . import credentials, signing, verification

MAX_UPLOAD = 20 * 2**20
KIND_NAMES = {"signature": _l("signature"), "document timestamp": _l("document timestamp")}


# Each check validates every signature of a stored PDF: limited for lookups by code too.
@limiter.limit("30 per minute")
def verify():
    code = (request.values.get("code") or "").strip()
    report = found = agreement = None
    error = None
    if request.method == "POST" and "file" in request.files:
        data = request.files["file"].read(MAX_UPLOAD + 1)
        if not data:
            error = _("Choose the PDF file to check.")
        elif len(data) > MAX_UPLOAD:
            error = _("The file is too large.")
        else:
            report, found = verification.check(data)
            agreement = found.agreement if found else None
    elif code:
        checked = verification.check_code(code)
        if checked is None:
            error = _("No agreement has this document check code. Check the letters and digits.")
        else:
            agreement, report = checked
    status = 200 if error is None else 404 if code else 422
    return render_template(
        "agreements/verify.html",
        code=code,
        report=report,
        found=found,
        agreement=agreement,
        error=error,
        role_label=signing.role_label,
        kind_names=KIND_NAMES,
    ), status


def root():
    """The platform's root certificate and its SHA-256 fingerprint, for a court to trust
    (docs/verification.md): what it checks offline is only as good as this anchor."""
    found = _root_or_404()
    validity = found["tbs_certificate"]["validity"]
    return render_template(
        "agreements/verify_root.html",
        fingerprint=hashlib.sha256(found.dump()).hexdigest(),
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
    )


def root_pem():
    data = pem.armor("CERTIFICATE", _root_or_404().dump())
    return Response(
        data,
        mimetype="application/x-pem-file",
        headers={"Content-Disposition": "attachment; filename=root.pem"},
    )


def _root_or_404():
    # Read only: a page must not make the CA (it is made when the platform first signs).
    found = credentials.platform_root()
    if found is None:
        abort(404)
    return found
