"""Checking a court package offline: :func:`verify` reads the ZIP a court was given (what
:mod:`mediation.court.package` builds) and checks the signed manifest, its archive
timestamps, every file's SHA-256 and size, and the names; :func:`summarize` says the result
in lines for the CLI.

It needs nothing but the ZIP and the platform's root: no Flask, no database, no network.
Revocation is checked with the CRLs the package carries (the signature file's and the
archive tokens' crls fields): an external TSA's among them, fetched when it was built.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms, crl, tsp, x509
from pyhanko.sign.validation.generic_cms import (
    async_validate_detached_cms,
    validate_tst_signed_data,
)
from pyhanko.sign.validation.status import StandardCMSSignatureStatus, TimestampSignatureStatus
from pyhanko_certvalidator.path import ValidationPath

from agreements import revinfo
from agreements._loop import outside_event_loop

# The trust policy (no revocation data, no network), the validation moment of a short-lived
# certificate and the checks of unsigned CMS parts are those of agreement verification:
# one policy for everything the platform signs.
from agreements.verify import (
    claimed_time,
    context,
    newest_timestamp_status,
    revocation_data_problems,
    unsigned_part_problems,
)

from .package import (
    ABOUT,
    ARCHIVE_TOKEN,
    FORMAT,
    FORMAT_1,
    MANIFEST,
    RESERVED,
    ROLE,
    SIGNATURE,
    about_problem,
    archive_name,
    archive_numbers,
    carried_crls,
    collision_key,
    document_ref,
    name_problem,
)

_MAX_TOKEN = 64 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
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
        key = collision_key(name)
        if key in keys:
            problems.append(f"ZIP entries {keys[key]!r} and {name!r} collide")
        keys[key] = name
        by_name[name] = info

    manifest = _read(zf, by_name.get(MANIFEST), _MAX_MANIFEST, problems, MANIFEST)
    p7s = _read(zf, by_name.get(SIGNATURE), _MAX_SIGNATURE, problems, SIGNATURE)
    ts_roots = timestamp_trust_roots or trust_roots
    numbers = archive_numbers(list(by_name))
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"archive timestamps are not numbered 1 to {len(numbers)}")
    tokens = [
        _read(zf, by_name[archive_name(n)], _MAX_TOKEN, problems, archive_name(n)) for n in numbers
    ]
    signer, signed_at, trusted = None, None, False
    if manifest is not None and p7s is not None:
        crls = _carried(p7s, tokens)
        paths: list[ValidationPath | None] = []
        proven_at = _check_archive_chain(p7s, tokens, ts_roots, problems, crls, paths)
        signer, signed_at, trusted = _check_signature(
            manifest, p7s, trust_roots, ts_roots, problems, proven_at, crls, paths
        )
        # Every package with archive timestamps is built with a CRL for each certificate
        # of its chains that names where its CRL is (package.py): a court offline can fetch
        # none, so one missing is a package that cannot show its TSA (or signer) was not
        # revoked (Electronic Signature Law art 13; ETSI EN 319 122-1 5.4, CAdES-LT).
        if numbers and trusted:
            problems += [
                f"no CRL in the package for {cert.subject.human_friendly}: its revocation "
                "cannot be checked offline"
                for cert in revinfo.uncovered(paths, crls)
            ]

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
        if name not in names_listed and name not in RESERVED and not ARCHIVE_TOKEN.fullmatch(name):
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


def _carried(p7s: bytes, tokens: list[bytes | None]) -> list[crl.CertificateList]:
    """The CRLs of the signature file (and its timestamp) and of the archive tokens: the
    revocation data validation uses, offline (nothing is fetched). Unreadable containers
    carry none; the checks below say what is wrong with them."""
    found: list[crl.CertificateList] = []
    for data in (p7s, *tokens):
        with contextlib.suppress(Exception):  # garbage: the checks below report it
            found += carried_crls([data]) if data is not None else []
    return found


def _check_archive_chain(
    p7s: bytes,
    tokens: list[bytes | None],
    ts_roots: list[x509.Certificate],
    problems: list[str],
    crls: list[crl.CertificateList],
    paths: list[ValidationPath | None],
) -> datetime | None:
    """Check the archive timestamps; returns when the first one proves the signature file
    existed (None without a valid chain: the signature's timestamp is then checked now).

    Token N must cover the signature file and tokens 1..N-1, be intact and from a trusted
    TSA as of token N+1's time (the newest: as of now, its revocation data judged as
    agreements.verify.newest_timestamp_status says), its chain checked against the
    package's CRLs (a revoked TSA certificate fails it); any break fails the package.
    Each token's validation path is added to ``paths``."""
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

        def validate(ctx, sd=signed_data, d=digest) -> TimestampSignatureStatus:
            return TimestampSignatureStatus(
                **outside_event_loop(
                    lambda: asyncio.run(validate_tst_signed_data(sd, ctx, lambda _alg: d))
                )
            )

        try:
            if moment is None:
                # The newest: its CRLs, fetched when it was made, are past their nextUpdate
                # long before a court checks the package (an external TSA's are valid weeks).
                status = newest_timestamp_status(
                    validate, ts_roots, None, lambda st: st.timestamp, crls=crls
                )
            else:
                status = validate(context(ts_roots, moment, crls=crls))
        except Exception as e:
            problems.append(f"archive timestamp {number} cannot be validated: {e}")
            return None
        if not (status.intact and status.valid and status.trusted):
            problems.append(f"archive timestamp {number} is not valid or not trusted")
            return None
        # The newest token is outside every later hash: its unsigned parts (certificates,
        # CRLs, attributes) are checked like a signature's, as are the older ones.
        own = [status.validation_path]
        paths += own
        problems += [
            f"archive timestamp {number}: {p}"
            for p in unsigned_part_problems(signed_data, own)
            + revocation_data_problems(signed_data, own)
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
    crls: list[crl.CertificateList] | None = None,
    paths: list[ValidationPath | None] | None = None,
) -> tuple[str | None, datetime | None, bool]:
    """(signer CN, timestamped signing time, trusted); adds what is wrong to ``problems``.

    ``proven_at``: when the archive timestamps prove the signature existed; its own
    timestamp is checked as of then (as of now without one). ``crls``: the package's
    revocation data; the validation paths of the signer and of its timestamp are added to
    ``paths``."""
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
                    signer_validation_context=context(roots, claimed, crls=crls),
                    ts_validation_context=context(ts_roots, proven_at, crls=crls),
                )
            )
        )
        if paths is not None:
            tst = status.timestamp_validity
            paths += [status.validation_path, tst.validation_path if tst else None]
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
    if named is not None and named != document_ref(manifest):
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
