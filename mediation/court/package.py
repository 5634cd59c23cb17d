"""The court package: one ZIP per application, its manifest signed by the platform.

The caller gathers the files (signed agreement, signed application, materials, the journal
as JSON, hashes of recordings and evidence); :func:`build` adds ``manifest.json`` with every
file's SHA-256 and size and what the package is for (case, court, application), and
``manifest.json.p7s``, a detached CMS signature over the exact
manifest bytes with an RFC 3161 signature timestamp. :func:`verify` checks all of it
offline against the platform's root, so a court needs nothing but the ZIP and that root.

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

from asn1crypto import cms, x509
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko.sign.validation.status import StandardCMSSignatureStatus

from agreements import keys, pki
from agreements._loop import outside_event_loop
from agreements.tsa import timestamper_for

# The trust policy (no revocation data, no network), the validation moment of a short-lived
# certificate and the checks of unsigned CMS parts are those of agreement verification:
# one policy for everything the platform signs.
from agreements.verify import _claimed_time, _context, _unsigned_part_problems

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
        if key in {_collision_key(r) for r in RESERVED}:
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
    signature = _sign_manifest(manifest_bytes, authority, timestamper)

    out = io.BytesIO()
    stamp = max(created.timetuple()[:6], _ZIP_EPOCH)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in [(MANIFEST, manifest_bytes), (SIGNATURE, signature)] + [
            (n, files[n]) for n in names
        ]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return out.getvalue()


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


def _sign_manifest(
    manifest: bytes, authority: pki.Authority, timestamper: TimeStamper | None
) -> bytes:
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
        return sign_detached(manifest, credential, timestamper or timestamper_for(authority))


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
    signer, signed_at, trusted = None, None, False
    if manifest is not None and p7s is not None:
        signer, signed_at, trusted = _check_signature(
            manifest, p7s, trust_roots, timestamp_trust_roots or trust_roots, problems
        )

    listed, about = _parse_manifest(manifest, problems) if manifest is not None else ([], None)
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
        if name not in names_listed and name not in RESERVED:
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


def _check_signature(
    manifest: bytes,
    p7s: bytes,
    roots: list[x509.Certificate],
    ts_roots: list[x509.Certificate],
    problems: list[str],
) -> tuple[str | None, datetime | None, bool]:
    """(signer CN, timestamped signing time, trusted); adds what is wrong to ``problems``."""
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
        claimed = _claimed_time(signer_info)
        status = outside_event_loop(
            lambda: asyncio.run(
                async_validate_detached_cms(
                    manifest,
                    signed_data,
                    signer_validation_context=_context(roots, claimed),
                    ts_validation_context=_context(ts_roots),
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
        problems += _unsigned_part_problems(
            signed_data, [status.validation_path, tst.validation_path if tst else None]
        )
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
