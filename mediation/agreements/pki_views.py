"""The platform CA's CRLs, public at /pki/<name>.crl, where its certificates' CRL
distribution points name them (RFC 5280 4.2.1.13; served as DER, RFC 5280 5 and RFC 2585 4.2:
application/pkix-crl). Anyone may fetch them: they say nothing about anybody."""

from __future__ import annotations

import re

from flask import Response, abort

from agreements import pki
from mediation.extensions import limiter

from . import credentials

CONTENT_TYPE = "application/pkix-crl"
_SIGNER = re.compile(r"signer-([0-9a-f]{1,40})\.crl")


# A signer partition's CRL may need a signature of the issuing CA (once per CRL_REFRESH and
# issued serial, see agreements.pki.published_signer_crl): limited all the same.
@limiter.limit("120 per minute")
def crl(name: str) -> Response:
    authority = credentials.authority()
    files = pki.crl_files(authority)
    if name in files:
        data = files[name]
    elif match := _SIGNER.fullmatch(name):
        # One partition per signer certificate (see agreements.pki.issue_signer); a serial
        # the CA never issued has none.
        data = pki.published_signer_crl(authority, int(match.group(1), 16))
        if data is None:
            abort(404)
    else:
        abort(404)
    response = Response(data, content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = f"public, max-age={int(pki.CRL_REFRESH.total_seconds())}"
    return response
