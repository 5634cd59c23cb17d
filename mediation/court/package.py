"""The court package: one ZIP per application, its manifest signed by the platform.

The caller gathers the files (signed agreement, signed application, materials, the journal
as JSON, hashes of recordings and evidence); :func:`build` adds ``manifest.json`` with every
file's SHA-256 and size and what the package is for (case, court, application), and
``manifest.json.p7s``, a detached CMS signature over the exact
manifest bytes with an RFC 3161 signature timestamp. :mod:`mediation.court.package_verify`
checks all of it offline against the platform's root, so a court needs nothing but the ZIP
and that root; this module holds the format (names, manifest fields, archive tokens) it
checks against.

Long-term validation, CAdES-style: the SignedData carries every certificate of the signer's
and the timestamp's chains and, in its ``crls`` field, a current CRL for each of them (the
signer certificate's own partition, the TSA's, the issuing CA's, the root's; with an
external TSA, those of that TSA's chain, fetched when the package is built). An archive
token by a TSA certificate whose CRLs the package does not carry yet carries them in its
own ``crls`` field (agreements/revinfo.py says which CRL answers for which certificate).
pyHanko 0.38 cannot make a CAdES-A archive-time-stamp-v3 attribute (ETSI EN 319 122-1
5.5.3), so the archive timestamp is the documented alternative:
``manifest.json.p7s.1.tsr``, an RFC 3161 token (DER TimeStampToken) over the signature
file, which any ``openssl ts -verify`` can check. It is renewed as a chain
(:func:`renew`): token N covers the signature file followed by tokens 1..N-1, so each
proves the earlier ones existed while their TSA certificate was valid. The signature's
own timestamp is checked as of token 1, token N as of token N+1 and the newest one as of
now.

No Flask or database here: the CLI and the web app wrap it.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from datetime import UTC, datetime

from asn1crypto import cms, crl
from pyhanko.sign.timestamps import TimeStamper

from agreements import archive, keys, pki, revinfo
from agreements._loop import outside_event_loop
from agreements.tsa import timestamper_for

# /2 names the case, the court and the application (issue #17); /1 did not. Courts keep
# packages of /1, so package_verify reads both; build() writes /1 only when told nothing to name.
FORMAT = "mediation-package/2"
FORMAT_1 = "mediation-package/1"
# What a /2 manifest names, and the type of each field (None: may be null).
ABOUT: dict[str, dict[str, tuple[type, ...]]] = {
    "case": {"number": (str,)},
    "court": {"id": (int,), "name": (str,)},
    "application": {"id": (int,), "court_case_number": (str, type(None)), "status": (str,)},
}
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.p7s"
RESERVED = frozenset({MANIFEST, SIGNATURE})
# The archive timestamps: manifest.json.p7s.1.tsr, .2.tsr, ... (see renew()).
ARCHIVE_TOKEN = re.compile(r"manifest\.json\.p7s\.([1-9][0-9]{0,3})\.tsr")
ROLE = "platform"

# 1980 is the earliest date a ZIP header can hold.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


# --- names ---------------------------------------------------------------------------------


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a file of a package, or None when it can."""
    if not name:
        return "empty name"
    if name.startswith("/") or "\\" in name or re.match(r"[A-Za-z]:", name):
        return "not a relative POSIX path"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "path has an empty, '.' or '..' part"
    if any(unicodedata.category(c) == "Cc" for c in name):
        return "control character in name"
    return None


def collision_key(name: str) -> str:
    # Names differing only in case or Unicode form overwrite each other when a court
    # extracts the ZIP on Windows or macOS.
    return unicodedata.normalize("NFC", name).casefold()


# --- building ------------------------------------------------------------------------------


def build(
    files: dict[str, bytes],
    *,
    authority: pki.Authority,
    timestamper: TimeStamper | None = None,
    created: datetime | None = None,
    about: dict | None = None,
) -> bytes:
    """The package ZIP: ``files``, ``manifest.json`` and its detached signature.

    ``about`` names the case, court and application (the shape of :data:`ABOUT`); with it
    the manifest is mediation-package/2, without it /1.
    Raises ValueError for an unsafe, reserved or colliding name, a naive ``created``, or an
    ``about`` of another shape.
    """
    if not files:
        raise ValueError("a package needs at least one file")
    if about is not None and (problem := about_problem(about)):
        raise ValueError(problem)
    seen: dict[str, str] = {}
    for name in files:
        if problem := name_problem(name):
            raise ValueError(f"{name!r}: {problem}")
        key = collision_key(name)
        if key in {collision_key(r) for r in RESERVED} or ARCHIVE_TOKEN.fullmatch(key):
            raise ValueError(f"{name!r} is reserved for the package itself")
        if key in seen:
            raise ValueError(f"{name!r} collides with {seen[key]!r}")
        seen[key] = name
    if created is None:
        created = datetime.now(UTC)
    elif created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    created = created.astimezone(UTC).replace(microsecond=0)

    names = sorted(files)
    manifest = {
        "format": FORMAT if about is not None else FORMAT_1,
        "created": created.isoformat().replace("+00:00", "Z"),
        **({name: about[name] for name in ABOUT} if about is not None else {}),
        "files": [
            {"name": n, "sha256": hashlib.sha256(files[n]).hexdigest(), "size": len(files[n])}
            for n in names
        ],
    }
    manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()
    timestamper = timestamper or timestamper_for(authority)
    signature = _sign_manifest(manifest_bytes, authority, timestamper)
    token = _archive_token(signature, timestamper)
    token = _with_chain_crls(token, carried_crls([signature]), authority, timestamper)
    entries = [(MANIFEST, manifest_bytes), (SIGNATURE, signature), (archive_name(1), token)]
    return _zip(entries + [(n, files[n]) for n in names], created)


def archive_name(number: int) -> str:
    return f"{SIGNATURE}.{number}.tsr"


def _zip(entries: list[tuple[str, bytes]], created: datetime) -> bytes:
    out = io.BytesIO()
    stamp = max(created.timetuple()[:6], _ZIP_EPOCH)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return out.getvalue()


def _archive_token(data: bytes, timestamper: TimeStamper) -> bytes:
    """An RFC 3161 token (DER ContentInfo) over ``data``."""
    digest = hashlib.sha256(data).digest()
    token = outside_event_loop(lambda: asyncio.run(timestamper.async_timestamp(digest, "sha256")))
    return token.dump()


def renew(
    package: bytes, *, authority: pki.Authority, timestamper: TimeStamper | None = None
) -> bytes:
    """The same package with one more archive timestamp, over the signature file and every
    earlier token (renew before the newest token's TSA certificate expires; see
    agreements.archive.due_for_renewal). Raises ValueError for a ZIP that is not a package."""
    zf = zipfile.ZipFile(io.BytesIO(package))
    names = [i.filename for i in zf.infolist()]
    if MANIFEST not in names or SIGNATURE not in names:
        raise ValueError("not a package")
    tokens = archive_numbers(names)
    earlier = [zf.read(SIGNATURE), *(zf.read(archive_name(n)) for n in tokens)]
    timestamper = timestamper or timestamper_for(authority)
    token = _archive_token(b"".join(earlier), timestamper)
    token = _with_chain_crls(token, carried_crls(earlier), authority, timestamper)
    entries = [(n, zf.read(n)) for n in names]
    created = datetime(*zf.getinfo(MANIFEST).date_time, tzinfo=UTC)
    last = 1 + names.index(archive_name(tokens[-1])) if tokens else 2
    entries.insert(last, (archive_name(len(tokens) + 1), token))
    return _zip(entries, created)


def _with_chain_crls(
    token: bytes, carried: list[crl.CertificateList], authority: pki.Authority, timestamper
) -> bytes:
    """The archive token with, in its own (unsigned) crls field, the CRLs of its TSA's
    chain that the package does not carry yet: none when the TSA certificate is the one
    that timestamped the signature (its CRLs are in the signature file), those of a new
    TSA certificate, or of another TSA, when it is renewed. The next archive token covers
    them, as token 1 covers the signature file's."""
    needed = archive.token_crls(cms.ContentInfo.load(token), authority, timestamper)
    have = {c.dump() for c in carried}
    missing = [c for c in needed if c.dump() not in have]
    return with_revocation_data(token, missing) if missing else token


def carried_crls(containers: list[bytes]) -> list[crl.CertificateList]:
    """Every CRL the package's CMS containers carry (the signature file, the timestamp
    token in it, the archive tokens), each once: what a court validates with offline."""
    found: list[crl.CertificateList] = []
    for data in containers:
        signed_data = cms.ContentInfo.load(data)["content"]
        inner = [
            value["content"]
            for attr in signed_data["signer_infos"][0]["unsigned_attrs"] or ()
            if attr["type"].native == "signature_time_stamp_token"
            for value in attr["values"]
        ]
        for holder in (signed_data, *inner):
            found += [c.chosen for c in holder["crls"] or () if c.name == "crl"]
    return revinfo.merged(found)


def archive_expiry(package: bytes) -> datetime | None:
    """When the certificate of the package's newest archive timestamp expires (None: the
    package has none); renew before then."""
    zf = zipfile.ZipFile(io.BytesIO(package))
    tokens = archive_numbers([i.filename for i in zf.infolist()])
    if not tokens:
        return None
    token = cms.ContentInfo.load(zf.read(archive_name(tokens[-1])))
    return archive.token_signer_expiry(token["content"])


def archive_numbers(names: list[str]) -> list[int]:
    """Numbers of the archive tokens present, sorted."""
    return sorted(int(m.group(1)) for n in names if (m := ARCHIVE_TOKEN.fullmatch(n)))


def about_problem(about: object) -> str | None:
    """What is wrong with the names of a /2 manifest (None: they have :data:`ABOUT`'s shape;
    a field more is wrong too, so that the signed names mean one thing only)."""
    if not isinstance(about, dict):
        return "case, court and application are not named"
    for part, fields in ABOUT.items():
        value = about.get(part)
        if not isinstance(value, dict) or set(value) != set(fields):
            return f"{part} is not named with {', '.join(fields)}"
        for field, types in fields.items():
            # bool is an int to Python, not to a reader of the JSON.
            if type(value[field]) not in types:
                return f"{part}.{field} has the wrong type"
    return None


def document_ref(manifest: bytes) -> str:
    # The one-off certificate names the manifest it was issued for.
    return f"manifest {hashlib.sha256(manifest).hexdigest()[:32]}"


def _sign_manifest(manifest: bytes, authority: pki.Authority, timestamper: TimeStamper) -> bytes:
    name = authority.root.subject.native.get("organization_name", "Platform")
    credential: pki.SignerCredential | keys.TokenCredential
    if authority.token is not None:
        # The package signer's long-lived key in the token (agreements/keys.py).
        credential = pki.long_lived_signer(
            authority,
            label=authority.token.config.package_label,
            common_name=f"{name[:55]} package",
            role=ROLE,
            signer_id="package",
        )
    else:
        credential = pki.issue_signer(
            authority,
            common_name=f"{name[:55]} package",  # CN holds at most 64 characters
            role=ROLE,
            document_ref=document_ref(manifest),
            signer_id="package",
        )
    with credential:
        signature = sign_detached(manifest, credential, timestamper)
    own = getattr(credential, "crls", [])  # a one-off certificate's own CRL partition
    # The CRLs of the signature timestamp's chain: the platform's TSA's are among its
    # own; an external TSA's (TSA_URL) are fetched now from the addresses its certificates
    # name, else a court checking the package offline has no revocation data for them.
    timestamp = cms.ContentInfo.load(signature)["content"]["signer_infos"][0]["unsigned_attrs"]
    (token,) = [
        a["values"][0] for a in timestamp if a["type"].native == "signature_time_stamp_token"
    ]
    tsa = archive.token_crls(token, authority, timestamper)
    crls = revinfo.merged(pki.validation_crls(authority), own, tsa)
    return with_revocation_data(signature, crls)


def with_revocation_data(p7s: bytes, crls: list[crl.CertificateList]) -> bytes:
    """The SignedData with ``crls`` in its (unsigned) crls field, CAdES-style: what a
    verifier years later needs to see that no certificate of the chains was revoked."""
    info = cms.ContentInfo.load(p7s)
    signed_data = info["content"]
    signed_data["crls"] = [cms.RevocationInfoChoice(name="crl", value=c) for c in crls]
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump(force=True)


def sign_detached(
    data: bytes,
    credential: pki.SignerCredential | keys.TokenCredential,
    timestamper: TimeStamper | None,
) -> bytes:
    """DER of a detached CMS SignedData over ``data``, timestamped when ``timestamper`` is
    given (package_verify insists on a timestamp)."""
    signer = credential.signer()
    info = outside_event_loop(
        lambda: asyncio.run(
            signer.async_sign_general_data(data, "sha256", detached=True, timestamper=timestamper)
        )
    )
    return info.dump()
