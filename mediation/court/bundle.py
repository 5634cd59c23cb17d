"""What goes to the court: the files of one application gathered into the signed package
(package.py), and the domain checks its verifier (package_verify.py) adds (the journal's chain).

A package is a snapshot, built and signed when it is downloaded: its manifest names the
case, the court and the application as they stand then (status, the court's case number
once accepted) and carries its own creation time and timestamped signature. After the
ruling the next download is a new package with the court's signed decision (decision.pdf)
in it, signed anew; a package downloaded earlier stays valid for what it held when it was
made, and its manifest's ``application.status`` and ``created`` say which state that was."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from mediation.agreements import credentials as agreement_credentials
from mediation.booking.models import MediationSession
from mediation.core.storage import storage
from mediation.extensions import db
from mediation.journal.models import JournalEntry, JournalHead
from mediation.journal.schemas import chain_problem, entry_to_dict
from mediation.minutes.models import Minutes
from mediation.recording.models import Recording

from . import package
from .models import Application, ApplicationStatus


def _read(relative: str, sha256: str | None = None) -> bytes:
    """A stored file for the package, refused if it is not the one its record hashed: the
    court must never receive a damaged file as the one that was signed or uploaded."""
    return storage().get(relative, sha256)


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode()


def material_names(application: Application) -> dict[int, str]:
    """Each material's name in the package, by its id (the agreement is agreement.pdf)."""
    names = {}
    for n, material in enumerate(application.materials, start=1):
        if material.kind == "agreement":
            continue  # agreement.pdf already
        name = f"materials/{n:02d}-{material.kind}-{Path(material.name).name}"
        if package.name_problem(name):  # a name from before names were cleaned at upload
            name = f"materials/{n:02d}-{material.kind}"
        names[material.id] = name
    return names


# What closes a court's file: a refusal, or its ruling either way (a withdrawal closes it
# too, and then nothing is shown at all: steps.examines).
DECIDED = (ApplicationStatus.refused, ApplicationStatus.confirmed, ApplicationStatus.rejected)


def decided_entry(application: Application, entries: list[JournalEntry]) -> JournalEntry | None:
    """The journal entry of the court's decision on ``application`` (``confirmation.`` and
    its status: a refusal, or the ruling at its signing), if it decided: the end of what
    its packages hold. None otherwise, and for a decision journaled before decisions named
    their application (none such is stored): the whole journal then, as before."""
    if application.status not in DECIDED:
        return None
    action = f"confirmation.{application.status}"
    own = [
        e
        for e in entries
        if e.action == action and (e.payload or {}).get("application") == application.id
    ]
    return own[-1] if own else None


def files_of(application: Application) -> dict[str, bytes]:
    """Every file of the package, by its name in the ZIP (SPC provisions art 3 materials),
    and after the ruling the court's signed decision (SPC provisions art 8)."""
    case = application.case
    files = {
        "application.pdf": _read(application.document_path, application.document_sha256),
        "agreement.pdf": _read(
            application.agreement.document_path, application.agreement.document_sha256
        ),
    }
    if application.decision_path is not None:
        files["decision.pdf"] = _read(application.decision_path, application.decision_sha256)
    stored = {m.id: (m.path, m.sha256) for m in application.materials}
    for material_id, name in material_names(application).items():
        files[name] = _read(*stored[material_id])
    entries = db.session.scalars(
        select(JournalEntry).where(JournalEntry.case_id == case.id).order_by(JournalEntry.seq)
    ).all()
    head = db.session.get(JournalHead, case.id)
    tip = {"seq": head.seq, "hash": head.hash} if head else None
    # A court that decided the application (refused it, or ruled) closed its file then: what
    # the case does after (another court's examination, a new mediation) is not its own.
    # Its packages end at its decision, a prefix of the chain, which holds as the whole does.
    last = decided_entry(application, entries)
    if last is not None:
        entries = [e for e in entries if e.seq <= last.seq]
        tip = {"seq": last.seq, "hash": last.hash}
    files["journal.json"] = _json(
        {"case": case.number, "entries": [entry_to_dict(e) for e in entries], "head": tip}
    )
    held = select(MediationSession.id, MediationSession.side).where(
        MediationSession.case_id == case.id
    )
    # Sessions and evidence as the journal has them: up to the decision's entry.
    closed = last.created_at if last is not None else None
    if closed is not None:
        held = held.where(MediationSession.start_at < closed)
    sides = dict(db.session.execute(held).all())
    sessions = list(sides)
    recordings = db.session.scalars(
        select(Recording).where(Recording.session_id.in_(sessions), Recording.sha256.is_not(None))
    ).all()
    files["recordings.json"] = _json(
        [
            {
                "session": r.session_id,
                "participant": r.participant.user.real_name,
                "scope": r.scope,
                "started_at": r.started_at.isoformat(),
                "ended_at": r.ended_at.isoformat() if r.ended_at else None,
                "duration_seconds": r.duration_seconds,
                "sha256": r.sha256,
            }
            for r in recordings
        ]
    )
    files["evidence.json"] = _json(
        [
            {"id": e.id, "name": e.filename, "sha256": e.sha256}
            for e in case.evidence
            if closed is None or e.created_at < closed
        ]
    )
    # A session the mediator held with one side alone (SPC online mediation rules art 16)
    # is that side's: what it said there may not be turned against it (art 18) and the
    # mediator may not disclose the mediation's course (art 29 (4)). Its minutes stay out
    # of the package; the court sees that it took place and the SHA-256 of its minutes
    # (and, in recordings.json, of its recordings), and may ask the institution or the
    # side for them (CPL interpretation art 356, SPC provisions art 6) and check what it is
    # given against these hashes. The journal carries only hashes of such sessions' words.
    withheld = []
    for minutes in db.session.scalars(
        select(Minutes)
        .where(Minutes.session_id.in_(sessions), Minutes.document_path.is_not(None))
        .order_by(Minutes.session_id)
    ):
        if sides[minutes.session_id] is not None:
            withheld.append(
                {
                    "session": minutes.session_id,
                    "side": sides[minutes.session_id],
                    "minutes_sha256": minutes.document_sha256,
                }
            )
            continue
        files[f"minutes/session-{minutes.session_id}.pdf"] = _read(
            minutes.document_path, minutes.document_sha256
        )
    files["withheld.json"] = _json(withheld)
    return files


def about(application: Application) -> dict:
    """What the package is for, as its manifest names it (mediation-package/2)."""
    return {
        "case": {"number": application.case.number},
        "court": {"id": application.court.id, "name": application.court.name},
        "application": {
            "id": application.id,
            "court_case_number": application.court_case_number,
            "status": str(application.status),
        },
    }


def build(application: Application) -> bytes:
    authority = agreement_credentials.authority()
    return package.build(
        files_of(application),
        authority=authority,
        timestamper=agreement_credentials.timestamper(),
        about=about(application),
    )


def embedded_certificates(data: bytes) -> list:
    """Certificates the package carries (manifest signature, signed PDFs): where a verifier
    given only the root's published fingerprint finds that root (agreements.anchors)."""
    from agreements import anchors

    found: list = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if package.SIGNATURE in names:
                found += anchors.in_cms(zf.read(package.SIGNATURE))
            for name in ("agreement.pdf", "application.pdf"):
                if name in names:
                    found += anchors.in_pdf(zf.read(name))
    except Exception:  # whatever zipfile refuses is not a package: verify() says why
        return []
    return found


def journal_checks(files: dict[str, bytes]) -> list[str]:
    """The package's journal holds together: each entry's hash and link, up to its head."""
    try:
        journal = json.loads(files["journal.json"])
    except (KeyError, ValueError):
        return ["journal.json is missing or unreadable"]
    entries = journal.get("entries") or []
    problem = chain_problem(entries)
    if problem:
        return [f"journal: {problem}"]
    head = journal.get("head") or {}
    if entries and (
        head.get("seq") != entries[-1]["seq"] or head.get("hash") != entries[-1]["hash"]
    ):
        return ["journal: entries are missing at its end"]
    return []


def signature_checks(trust_roots) -> Callable[[dict[str, bytes]], list[str]]:
    """The signed documents inside hold too: every signature intact and trusted. The
    decision is the court's own, signed under the court's root rather than the platform's
    (issue #17 item 4): the court checks it with its own tools; here the manifest's
    signature covers its bytes as it left the court."""
    from agreements.verify import verify_pdf

    def check(files: dict[str, bytes]) -> list[str]:
        problems = []
        for name in ("agreement.pdf", "application.pdf"):
            if name not in files:
                problems.append(f"{name} is missing")
            elif not verify_pdf(files[name], trust_roots=trust_roots).ok:
                problems.append(f"{name}: its signatures do not verify")
        return problems

    return check


def all_checks(trust_roots):
    signatures = signature_checks(trust_roots)
    return lambda files: journal_checks(files) + signatures(files)
