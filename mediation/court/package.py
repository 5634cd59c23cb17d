"""The court package: one ZIP per application, its manifest signed by the platform.

The caller gathers the files (signed agreement, signed application, materials, the journal
as JSON, hashes of recordings and evidence); :func:`build` adds ``manifest.json`` with every
file's SHA-256 and size and what the package is for (case, court, application), and
``manifest.json.p7s``, a detached CMS signature over the exact
manifest bytes with an RFC 3161 signature timestamp. :func:`verify` checks all of it
offline against the platform's root, so a court needs nothing but the ZIP and that root.

Long-term validation, CAdES-style: the SignedData carries every certificate of the signer's
and the timestamp's chains and, in its ``crls`` field, a current CRL for each of them (the
signer certificate's own partition, the TSA's, the issuing CA's, the root's). pyHanko 0.38
cannot make a CAdES-A archive-time-stamp-v3 attribute (ETSI EN 319 122-1 5.5.3), so the
archive timestamp is the documented alternative: ``manifest.json.p7s.1.tsr``, an RFC 3161
token (DER TimeStampToken) over the signature file, which any ``openssl ts -verify`` can
check. It is renewed as a chain (:func:`renew`): token N covers the signature file followed
by tokens 1..N-1, so each proves the earlier ones existed while their TSA certificate was
valid. The signature's own timestamp is checked as of token 1, token N as of token N+1 and
the newest one as of now.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms, crl, tsp, x509
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.generic_cms import (
    async_validate_detached_cms,
    validate_tst_signed_data,
)
from pyhanko.sign.validation.status import StandardCMSSignatureStatus, TimestampSignatureStatus

from agreements import archive, keys, pki
from agreements._loop import outside_event_loop
from agreements.tsa import timestamper_for

# The trust policy (no revocation data, no network), the validation moment of a short-lived
# certificate and the checks of unsigned CMS parts are those of agreement verification:
# one policy for everything the platform signs.
from agreements.verify import (
    claimed_time,
    context,
    revocation_data_problems,
    unsigned_part_problems,
)

# /2 names the case, the court and the application (issue #17); /1 did not. Courts keep
# packages of /1, so verify() reads both; build() writes /1 only when told nothing to name.
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
_ARCHIVE = re.compile(r"manifest\.json\.p7s\.([1-9][0-9]{0,3})\.tsr")
_MAX_TOKEN = 64 * 1024
ROLE = "platform"

_SHA256 = re.compile(r"[0-9a-f]{64}")
# 1980 is the earliest date a ZIP header can hold.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# A manifest of thousands of files is a few hundred kB; anything far larger is not ours.
_MAX_MANIFEST = 16 * 1024 * 1024
_MAX_SIGNATURE = 1024 * 1024


@dataclass(frozen=True)
class FileCheck:
    """One file the manifest lists."""

    name: str
    expected: str  # SHA-256 (hex) from the manifest
    actual: str | None  # SHA-256 of the file in the ZIP; None when missing or unreadable
    ok: bool  # present, same SHA-256 and same size


@dataclass(frozen=True)
class PackageReport:
    problems: tuple[str, ...]
    files: tuple[FileCheck, ...]
    signer: str | None  # CN of the manifest signature's certificate
    signed_at: datetime | None  # from a valid signature timestamp only
    manifest_trusted: bool
    about: dict | None = None  # case, court and application the manifest names (/2)

    @property
    def ok(self) -> bool:
        return self.manifest_trusted and not self.problems and all(f.ok for f in self.files)


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


def _collision_key(name: str) -> str:
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
        key = _collision_key(name)
        if key in {_collision_key(r) for r in RESERVED} or _ARCHIVE.fullmatch(key):
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
    tokens = _archive_entries(names)
    chained = zf.read(SIGNATURE) + b"".join(zf.read(archive_name(n)) for n in tokens)
    token = _archive_token(chained, timestamper or timestamper_for(authority))
    entries = [(n, zf.read(n)) for n in names]
    created = datetime(*zf.getinfo(MANIFEST).date_time, tzinfo=UTC)
    last = 1 + names.index(archive_name(tokens[-1])) if tokens else 2
    entries.insert(last, (archive_name(len(tokens) + 1), token))
    return _zip(entries, created)


def archive_expiry(package: bytes) -> datetime | None:
    """When the certificate of the package's newest archive timestamp expires (None: the
    package has none); renew before then."""
    zf = zipfile.ZipFile(io.BytesIO(package))
    tokens = _archive_entries([i.filename for i in zf.infolist()])
    if not tokens:
        return None
    token = cms.ContentInfo.load(zf.read(archive_name(tokens[-1])))
    return archive.token_signer_expiry(token["content"])


def _archive_entries(names: list[str]) -> list[int]:
    """Numbers of the archive tokens present, sorted."""
    return sorted(int(m.group(1)) for n in names if (m := _ARCHIVE.fullmatch(n)))


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


def _document_ref(manifest: bytes) -> str:
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
            document_ref=_document_ref(manifest),
            signer_id="package",
        )
    with credential:
        signature = sign_detached(manifest, credential, timestamper)
    own = getattr(credential, "crls", [])  # a one-off certificate's own CRL partition
    return with_revocation_data(signature, [*pki.validation_crls(authority), *own])


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
    given (:func:`verify` insists on a timestamp)."""
    signer = credential.signer()
    info = outside_event_loop(
        lambda: asyncio.run(
            signer.async_sign_general_data(data, "sha256", detached=True, timestamper=timestamper)
        )
    )
    return info.dump()


# --- verifying -----------------------------------------------------------------------------


def verify(
    package: bytes,
    *,
    trust_roots: list[x509.Certificate],
    timestamp_trust_roots: list[x509.Certificate] | None = None,
    extra: Callable[[dict[str, bytes]], list[str]] | None = None,
) -> PackageReport:
    """Check a package offline; never raises.

    ``timestamp_trust_roots`` defaults to ``trust_roots`` (the built-in TSA). ``extra``
    receives the listed files present in the ZIP, changed or not, and returns further
    problems (for example where a journal's hash chain breaks).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(package))
        entries = zf.infolist()
    except Exception as e:  # whatever zipfile chokes on is not a package
        return PackageReport(
            (f"not a ZIP archive: {type(e).__name__}: {e}",), (), None, None, False
        )

    problems: list[str] = []
    by_name: dict[str, zipfile.ZipInfo] = {}
    keys: dict[str, str] = {}
    for info in entries:
        name = info.filename
        if problem := name_problem(name):
            problems.append(f"unsafe name in ZIP: {name!r} ({problem})")
        if name in by_name:
            problems.append(f"duplicate ZIP entry: {name}")
            continue
        key = _collision_key(name)
        if key in keys:
            problems.append(f"ZIP entries {keys[key]!r} and {name!r} collide")
        keys[key] = name
        by_name[name] = info

    manifest = _read(zf, by_name.get(MANIFEST), _MAX_MANIFEST, problems, MANIFEST)
    p7s = _read(zf, by_name.get(SIGNATURE), _MAX_SIGNATURE, problems, SIGNATURE)
    ts_roots = timestamp_trust_roots or trust_roots
    numbers = _archive_entries(list(by_name))
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"archive timestamps are not numbered 1 to {len(numbers)}")
    tokens = [
        _read(zf, by_name[archive_name(n)], _MAX_TOKEN, problems, archive_name(n)) for n in numbers
    ]
    signer, signed_at, trusted = None, None, False
    if manifest is not None and p7s is not None:
        proven_at = _check_archive_chain(p7s, tokens, ts_roots, problems)
        signer, signed_at, trusted = _check_signature(
            manifest, p7s, trust_roots, ts_roots, problems, proven_at
        )

    listed, about = _parse_manifest(manifest, problems) if manifest is not None else ([], None)
    # Every /2 package is built with an archive timestamp (a /1 may predate them): one
    # without is a package whose tokens were removed, and the signature's own timestamp
    # alone would then be checked as of now only.
    if about is not None and not numbers:
        problems.append("archive timestamp missing from a mediation-package/2 package")
    checks: list[FileCheck] = []
    contents: dict[str, bytes] = {}
    for name, expected, size in listed:
        info = by_name.get(name)
        if info is None:
            problems.append(f"missing file: {name}")
            checks.append(FileCheck(name, expected, None, False))
            continue
        # Reading one byte more than listed shows a longer file without inflating a bomb.
        data = _read(zf, info, size + 1, problems, name)
        if data is None:
            checks.append(FileCheck(name, expected, None, False))
            continue
        actual = hashlib.sha256(data).hexdigest()
        ok = actual == expected and len(data) == size
        if not ok:
            problems.append(f"changed file: {name} (SHA-256 or size differs from the manifest)")
        checks.append(FileCheck(name, expected, actual, ok))
        contents[name] = data
    names_listed = {name for name, _, _ in listed}
    for name in by_name:
        if name not in names_listed and name not in RESERVED and not _ARCHIVE.fullmatch(name):
            problems.append(f"file not in the manifest: {name}")

    if extra is not None and listed:
        try:
            problems += [str(p) for p in extra(contents)]
        except Exception as e:  # a crashing domain check is a failed one
            problems.append(f"package check failed: {type(e).__name__}: {e}")
    return PackageReport(tuple(problems), tuple(checks), signer, signed_at, trusted, about)


def _read(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo | None, limit: int, problems: list[str], name: str
) -> bytes | None:
    if info is None:
        problems.append(f"missing file: {name}")
        return None
    try:
        with zf.open(info) as fh:
            data = fh.read(limit)
            # Reaching the end makes zipfile compare the CRC-32.
            fh.read(1)
        return data
    except Exception as e:  # bad compressed data, CRC mismatch, encryption...
        problems.append(f"unreadable file: {name}: {type(e).__name__}: {e}")
        return None


def _parse_manifest(
    manifest: bytes, problems: list[str]
) -> tuple[list[tuple[str, str, int]], dict | None]:
    """(name, sha256, size) of every listed file, and the names of a /2 manifest; problems
    for anything malformed."""
    about = None
    try:
        doc = json.loads(manifest.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") not in (FORMAT, FORMAT_1):
            raise ValueError(f"format is not {FORMAT} (or {FORMAT_1})")
        datetime.fromisoformat(doc["created"])
        entries = doc["files"]
        if not isinstance(entries, list):
            raise ValueError("files is not a list")
        if doc["format"] == FORMAT:
            about = {part: doc.get(part) for part in ABOUT}
            if problem := about_problem(about):
                raise ValueError(problem)
    except Exception as e:
        problems.append(f"manifest is not readable: {type(e).__name__}: {e}")
        return [], None
    listed: list[tuple[str, str, int]] = []
    seen: set[str] = set()
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        sha, size = (entry.get("sha256"), entry.get("size")) if isinstance(entry, dict) else (0, 0)
        if not isinstance(name, str) or name_problem(name) or name in RESERVED:
            problems.append(f"manifest lists an unsafe name: {name!r}")
        elif name in seen:
            problems.append(f"manifest lists {name} twice")
        elif (
            not isinstance(sha, str)
            or not _SHA256.fullmatch(sha)
            or type(size) is not int
            or size < 0
        ):
            problems.append(f"manifest entry for {name} is malformed")
        else:
            seen.add(name)
            listed.append((name, sha, size))
    return listed, about


def _check_archive_chain(
    p7s: bytes,
    tokens: list[bytes | None],
    ts_roots: list[x509.Certificate],
    problems: list[str],
) -> datetime | None:
    """Check the archive timestamps; returns when the first one proves the signature file
    existed (None without a valid chain: the signature's timestamp is then checked now).

    Token N must cover the signature file and tokens 1..N-1, be intact and from a trusted
    TSA as of token N+1's time (the newest: as of now); any break fails the package."""
    if not tokens:
        return None
    times: list[datetime | None] = []
    infos = []
    for number, token in enumerate(tokens, 1):
        try:
            if token is None:
                raise ValueError("unreadable")
            info = cms.ContentInfo.load(token, strict=True)
            if info.dump(force=True) != token:
                raise ValueError("not in DER as written")
            times.append(_claimed_time_of(info["content"]))
            infos.append(info)
        except Exception as e:
            problems.append(f"archive timestamp {number} cannot be read: {e}")
            return None
    covered = p7s
    for number, (info, token) in enumerate(zip(infos, tokens, strict=True), 1):
        moment = times[number] if number < len(times) else None
        digest = hashlib.sha256(covered).digest()
        signed_data = info["content"]
        try:
            status = TimestampSignatureStatus(
                **outside_event_loop(
                    lambda sd=signed_data, m=moment, d=digest: asyncio.run(
                        validate_tst_signed_data(sd, context(ts_roots, m), lambda _alg: d)
                    )
                )
            )
        except Exception as e:
            problems.append(f"archive timestamp {number} cannot be validated: {e}")
            return None
        if not (status.intact and status.valid and status.trusted):
            problems.append(f"archive timestamp {number} is not valid or not trusted")
            return None
        # The newest token is outside every later hash: its unsigned parts (certificates,
        # CRLs, attributes) are checked like a signature's, as are the older ones.
        paths = [status.validation_path]
        problems += [
            f"archive timestamp {number}: {p}"
            for p in unsigned_part_problems(signed_data, paths)
            + revocation_data_problems(signed_data, paths)
        ]
        covered += token or b""
    return times[0]


def _claimed_time_of(signed_data: cms.SignedData) -> datetime:
    content = signed_data["encap_content_info"]["content"].parsed
    if not isinstance(content, tsp.TSTInfo):
        raise ValueError("not a timestamp token")
    return content["gen_time"].native


def _check_signature(
    manifest: bytes,
    p7s: bytes,
    roots: list[x509.Certificate],
    ts_roots: list[x509.Certificate],
    problems: list[str],
    proven_at: datetime | None = None,
) -> tuple[str | None, datetime | None, bool]:
    """(signer CN, timestamped signing time, trusted); adds what is wrong to ``problems``.

    ``proven_at``: when the archive timestamps prove the signature existed; its own
    timestamp is checked as of then (as of now without one)."""
    before = len(problems)
    try:
        info = cms.ContentInfo.load(p7s, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError("not CMS SignedData")
        # Parsers accept some non-DER encodings that a signature does not cover.
        if cms.ContentInfo.load(p7s).dump(force=True) != p7s:
            problems.append("manifest signature is not in DER as written")
        signed_data = info["content"]
        if signed_data["encap_content_info"]["content"].native is not None:
            problems.append("manifest signature is not detached")
        if len(signed_data["signer_infos"]) != 1:
            raise ValueError("not exactly one signer")
        signer_info = signed_data["signer_infos"][0]
        # The certificate outlives the signature by minutes only, so the timestamp is what
        # makes the signature verifiable later; a removed or renamed one must show.
        unsigned = [a["type"].native for a in signer_info["unsigned_attrs"] or ()]
        if unsigned != ["signature_time_stamp_token"]:
            problems.append(f"manifest signature needs one timestamp and nothing else: {unsigned}")
        # The certificate lives minutes: check it when the timestamp says it signed.
        claimed = claimed_time(signer_info)
        status = outside_event_loop(
            lambda: asyncio.run(
                async_validate_detached_cms(
                    manifest,
                    signed_data,
                    signer_validation_context=context(roots, claimed),
                    ts_validation_context=context(ts_roots, proven_at),
                )
            )
        )
        return _judge(status, signed_data, manifest, problems, before)
    except Exception as e:  # garbage, several signers, anything pyHanko refuses
        problems.append(f"manifest signature cannot be validated: {type(e).__name__}: {e}")
        return None, None, False


def _judge(
    status: StandardCMSSignatureStatus,
    signed_data: cms.SignedData,
    manifest: bytes,
    problems: list[str],
    before: int,
) -> tuple[str | None, datetime | None, bool]:
    """Read the pyHanko status; trusted only if no problem was found since ``before``."""
    subject = status.signing_cert.subject.native
    tst = status.timestamp_validity
    timestamp_ok = tst is None or (tst.intact and tst.valid and tst.trusted)
    if not (status.intact and status.valid):
        problems.append("manifest signature does not match manifest.json")
    elif not status.trusted:
        reason = status.trust_problem_indic.name if status.trust_problem_indic else "unknown"
        problems.append(f"manifest signer is not trusted ({reason})")
    if not timestamp_ok:
        problems.append("manifest signature timestamp is not valid")
    if subject.get("title") != ROLE:
        problems.append(f"manifest is not signed by the platform (role {subject.get('title')!r})")
    # A one-off certificate names the manifest it was issued for; the long-lived package
    # signer's (its key in a PKCS#11 token, agreements/keys.py) names none.
    named = subject.get("organizational_unit_name")
    if named is not None and named != _document_ref(manifest):
        problems.append("manifest signer certificate was issued for another manifest")
    if status.bottom_line and timestamp_ok:
        paths = [status.validation_path, tst.validation_path if tst else None]
        problems += unsigned_part_problems(signed_data, paths)
        problems += revocation_data_problems(signed_data, paths)
    trusted = status.bottom_line and len(problems) == before
    signed_at = tst.timestamp if tst is not None and timestamp_ok else None
    return subject.get("common_name"), signed_at, trusted


def summarize(report: PackageReport) -> str:
    """Human-readable lines for the CLI: verdict, problems, one line per file."""
    when = (
        report.signed_at.astimezone(UTC).isoformat(timespec="seconds") if report.signed_at else "?"
    )
    lines = [
        f"{'VALID' if report.ok else 'NOT VALID'}: {len(report.files)} file(s); manifest signed "
        f"by {report.signer or '?'} at {when}, trusted={'yes' if report.manifest_trusted else 'NO'}"
    ]
    if report.about:
        case, court, application = (report.about[part] for part in ABOUT)
        lines.append(
            f"  case {case['number']}; court {court['name']} (id {court['id']}); application "
            f"{application['id']} ({application['status']}, court case number "
            f"{application['court_case_number'] or 'none yet'})"
        )
    lines += [f"  problem: {p}" for p in report.problems]
    for f in report.files:
        lines.append(f"  [{'ok' if f.ok else 'FAILED'}] {f.name} sha256={f.actual or 'missing'}")
    return "\n".join(lines)
