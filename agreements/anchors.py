"""Trust anchors a verifier brings along: root certificate files, or a published fingerprint.

A court checks the platform's documents on its own machine, without the platform's
database or keys. What it trusts must come from outside the file: either the root
certificate itself (``--root root.pem``, obtained from the platform through a channel the
court trusts) or that root's SHA-256 fingerprint as the platform publishes it. A
fingerprint alone cannot validate a signature, but every signature the platform makes
carries its whole chain, root included (pyHanko's ``embed_roots``); the verifier takes the
root from the file *only* when its SHA-256 equals the published one, so the file cannot
choose what it is checked against (Electronic Signature Law art 13(3)-(4): a change to the
signature or the document must be detectable, which needs an anchor the signer does not
control).

The fingerprint is what ``openssl x509 -noout -fingerprint -sha256`` prints: SHA-256 of the
certificate's DER encoding, in hex (colons and case do not matter).

No Flask or database here.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Iterator

from asn1crypto import cms, pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore

_HEX = re.compile(r"[0-9a-f]{64}")


class AnchorError(ValueError):
    """A trust anchor that cannot be used; the message says why, in one line."""


def load_certificates(data: bytes, *, source: str = "file") -> list[x509.Certificate]:
    """Every certificate in ``data``: one DER certificate, or PEM with one or more."""
    try:
        if pem.detect(data):
            found = [
                x509.Certificate.load(der)
                for kind, _headers, der in pem.unarmor(data, multiple=True)
                if kind == "CERTIFICATE"
            ]
        else:
            found = [x509.Certificate.load(data)]
        for cert in found:
            cert.native  # noqa: B018 - parse it all now: asn1crypto parses lazily
    except Exception as e:  # whatever asn1crypto refuses is simply not a certificate
        raise AnchorError(f"{source} is not a certificate in PEM or DER ({e})") from None
    if not found:
        raise AnchorError(f"{source} holds no PEM CERTIFICATE block")
    return found


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, as openssl prints it (AB:CD:...)."""
    digest = hashlib.sha256(cert.dump()).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def parse_fingerprint(text: str) -> str:
    """The 64 lower-case hex digits of a fingerprint written with or without colons."""
    digits = re.sub(r"[\s:]", "", text.removeprefix("sha256:").removeprefix("SHA256:")).lower()
    if not _HEX.fullmatch(digits):
        raise AnchorError(f"{text!r} is not a SHA-256 fingerprint (64 hex digits)")
    return digits


def pick(candidates: Iterable[x509.Certificate], fingerprints: Iterable[str]) -> list:
    """The candidates whose SHA-256 is one of ``fingerprints`` (as :func:`parse_fingerprint`
    returns them), each once."""
    wanted = set(fingerprints)
    found: dict[str, x509.Certificate] = {}
    for cert in candidates:
        digest = hashlib.sha256(cert.dump()).hexdigest()
        if digest in wanted:
            found.setdefault(digest, cert)
    return list(found.values())


def in_cms(der: bytes) -> Iterator[x509.Certificate]:
    """Certificates a CMS SignedData carries, and those of its signature timestamps."""
    try:
        signed_data = cms.ContentInfo.load(der)["content"]
        yield from _carried(signed_data)
    except Exception:  # a broken container carries nothing usable; verify() says why
        return


def _carried(signed_data: cms.SignedData) -> Iterator[x509.Certificate]:
    for choice in signed_data["certificates"] or ():
        if choice.name == "certificate":
            yield choice.chosen
    for info in signed_data["signer_infos"]:
        for attr in info["unsigned_attrs"] or ():
            if attr["type"].native == "signature_time_stamp_token":
                for token in attr["values"]:
                    yield from _carried(token["content"])


def in_pdf(pdf: bytes) -> Iterator[x509.Certificate]:
    """Certificates of every signature and document timestamp, and of the DSS."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        signatures = reader.embedded_signatures
    except Exception:  # not a PDF pyHanko can read: nothing embedded
        return
    for sig in signatures:
        try:
            yield from _carried(sig.signed_data)
        except Exception:  # noqa: S112 - one broken signature hides nothing of the others
            continue
    try:
        yield from DocumentSecurityStore.read_dss(reader).load_certs()
    except Exception:  # no DSS (PAdES B-T), or a broken one: nothing to add
        return
