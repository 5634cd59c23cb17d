"""Recording operations: the lease that lets exactly one recorder worker record a room, the
files it writes (opened, finished, hashed, journaled), and their verification.

A worker claims a room by a conditional write on ``recording_leases`` and renews the lease
twice a second; a lease that has not been renewed for ``LEASE_SECONDS`` may be taken by another
worker, which also closes the files the dead one left open. Files are WebM written as they
arrive, so a file cut off by a crash stays playable up to its last cluster.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

import av
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from mediation.accounts.models import Institution
from mediation.booking import links
from mediation.booking.models import MediationSession, SessionParticipant, SessionStatus
from mediation.core.db import utcnow
from mediation.core.storage import LocalStorage, sha256_of, spool_dir, storage
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.rooms.models import Room

from . import compose, gaps
from .models import MAIN_SCOPES, Composition, Recording, RecordingLease, file_scope

log = logging.getLogger(__name__)

# A recorder renews its leases twice a second; after this long without renewal another worker
# takes the room over (the bound: recording continues within 5 s).
LEASE_SECONDS = 2
TOKEN_SECONDS = 60


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="recorder")


def token_for(holder: str, session_id: int) -> str:
    """What the recorder shows the signaling server to join a room it holds."""
    return _serializer().dumps([holder, session_id])


def may_connect(token: str, session_id: int, now: datetime | None = None) -> bool:
    """A valid, fresh token for this session whose holder holds the lease now."""
    try:
        holder, signed_for = _serializer().loads(token, max_age=TOKEN_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return False
    return signed_for == session_id and holds(session_id, holder, now)


def holds(session_id: int, holder: str, now: datetime | None = None) -> bool:
    lease = db.session.get(RecordingLease, session_id, populate_existing=True)
    return lease is not None and lease.holder == holder and lease.expires_at > (now or utcnow())


def rooms_to_record(now: datetime | None = None) -> list[int]:
    """Sessions whose room has started and not ended, within their hours, that no live
    worker holds: a worker may claim them."""
    now = now or utcnow()
    return db.session.scalars(
        select(Room.session_id)
        .join(MediationSession, MediationSession.id == Room.session_id)
        .outerjoin(RecordingLease, RecordingLease.session_id == Room.session_id)
        .where(
            Room.started_at.is_not(None),
            Room.ended_at.is_(None),
            MediationSession.status == SessionStatus.scheduled,
            MediationSession.end_at > now - timedelta(minutes=30),
            or_(RecordingLease.session_id.is_(None), RecordingLease.expires_at <= now),
        )
        .order_by(Room.session_id)
    ).all()


def still_recordable(session_id: int) -> bool:
    """The room started and has not ended, and the session is on (not cancelled, within its
    hours): a room nobody ended stops being recorded when its time is up."""
    room = db.session.get(Room, session_id, populate_existing=True)
    if room is None or room.started_at is None or room.ended_at is not None:
        return False
    session = room.session
    return links.window_open(session.status, session.start_at, session.end_at)


def claim(session_id: int, holder: str, now: datetime | None = None) -> bool:
    """Take the room's lease if nobody holds it, or its holder stopped renewing."""
    now = now or utcnow()
    expires = now + timedelta(seconds=LEASE_SECONDS)
    taken = db.session.execute(
        update(RecordingLease)
        .where(
            RecordingLease.session_id == session_id,
            or_(RecordingLease.expires_at <= now, RecordingLease.holder == holder),
        )
        .values(holder=holder, expires_at=expires, taken_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 1:
        return True
    try:
        with db.session.begin_nested():
            db.session.add(
                RecordingLease(
                    session_id=session_id, holder=holder, expires_at=expires, taken_at=now
                )
            )
    except IntegrityError:
        return False  # another worker holds it
    return True


def renew(session_id: int, holder: str, now: datetime | None = None) -> bool:
    """Extend our lease; False if another worker took it over (a late renewal is still
    ours as long as nobody did)."""
    now = now or utcnow()
    kept = db.session.execute(
        update(RecordingLease)
        .where(RecordingLease.session_id == session_id, RecordingLease.holder == holder)
        .values(expires_at=now + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False)
    )
    return kept.rowcount == 1


def release(session_id: int, holder: str) -> None:
    db.session.execute(
        delete(RecordingLease).where(
            RecordingLease.session_id == session_id, RecordingLease.holder == holder
        )
    )


def path_for(session_id: int, participant_id: int, started: datetime) -> str:
    """Where a new file goes, under STORAGE_DIR."""
    return f"recordings/{session_id}/{participant_id}-{started:%Y%m%dT%H%M%S%f}.webm"


def absolute(recording: Recording) -> Path:
    """Where the recorder writes the file: in the storage folder itself when it is local
    (as always), else in the local SPOOL_DIR until the file closes (finish_file uploads)."""
    return spool_dir() / recording.path


def _keep(key: str, path: Path) -> None:
    """Put a closed file into object storage and drop the local copy; on a local folder
    the file is already where it belongs. A failed upload keeps the copy for
    upload_spooled() (the recorder retries on its next start and round)."""
    if isinstance(storage(), LocalStorage) or not path.exists():
        return
    try:
        storage().put_file(key, path)
    except Exception:
        log.exception("upload of %s failed; kept in %s for a retry", key, path)
        return
    path.unlink(missing_ok=True)


def upload_spooled() -> int:
    """Upload the closed files a failed upload left in SPOOL_DIR; returns how many."""
    if isinstance(storage(), LocalStorage):
        return 0
    root = spool_dir()
    done = 0
    for path in sorted((root / "recordings").glob("*/*")):
        key = path.relative_to(root).as_posix()
        closed = db.session.scalar(
            select(Recording.id).where(Recording.path == key, Recording.status != "recording")
        ) or db.session.scalar(
            select(Composition.session_id).where(
                Composition.path == key, Composition.status == "finished"
            )
        )
        if closed is not None:
            _keep(key, path)
            done += not path.exists()
    return done


def open_file(
    session_id: int, participant_id: int, holder: str, scope: str = "joint", stretch=(None, None)
) -> Recording:
    """A new file of ``participant_id``, recorded in the room's group ``scope`` under the
    recorder's and their epochs ``stretch``, labelled with the side of a one-side session."""
    started = utcnow()
    session = db.session.get(MediationSession, session_id)
    scope = file_scope(scope, session.side if session is not None else None)
    recording = Recording(
        session_id=session_id,
        participant_id=participant_id,
        path=path_for(session_id, participant_id, started),
        holder=holder,
        started_at=started,
        scope=scope,
    )
    recording.recorder_epoch, recording.member_epoch = stretch
    db.session.add(recording)
    db.session.flush()
    absolute(recording).parent.mkdir(parents=True, exist_ok=True)
    return recording


def mark_written(recording_id: int, at: datetime, began: datetime | None = None) -> None:
    """The recorder wrote the file's first frame (which ``began`` it, where the review video
    places it): it is someone's recording (``rooms.recorded_throughout`` counts these)."""
    db.session.execute(
        update(Recording)
        .where(Recording.id == recording_id, Recording.written_at.is_(None))
        .values(written_at=at, **({"started_at": began} if began is not None else {}))
        .execution_options(synchronize_session=False)
    )


# A file closed with nothing in it: the stream never reached the recorder.
EMPTY_STATUS = "empty"


def finish_file(
    recording: Recording,
    *,
    duration: float | None,
    status: str = "finished",
    by: str | None = None,
    ended_at: datetime | None = None,
) -> Recording:
    """Close a file's record, once: its SHA-256, size, duration and time span are stored and
    journaled (the hashes later go into the court package). ``by``: only if that worker
    still holds the file (a worker that was taken over leaves it to the one that did)."""
    path = absolute(recording)
    if status == "finished" and not path.exists():
        # Nothing reached the recorder, so nothing was written: no file, and the gap is
        # journaled (peer.py). Not "finished": there is nothing to hash, play or check.
        status, duration = EMPTY_STATUS, None
    closing = update(Recording).where(Recording.id == recording.id, Recording.status == "recording")
    if by is not None:
        closing = closing.where(Recording.holder == by)
    closed = db.session.execute(
        closing.values(status=status).execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:
        return recording  # closed already
    db.session.refresh(recording)
    recording.ended_at = ended_at or utcnow()  # when the writer closed it, if known
    recording.duration_seconds = duration
    if path.exists():
        # Written by its close at the latest (sound shorter than the wait for a picture is
        # written only then): a closed file with something in it counts as written.
        recording.written_at = recording.written_at or recording.ended_at
        recording.size = path.stat().st_size
        recording.sha256 = sha256_of(path)
        _keep(recording.path, path)
    db.session.flush()
    participant = db.session.get(SessionParticipant, recording.participant_id)
    journal.append(
        participant.session.case_id,
        "recording.finished",
        {
            "recording_id": recording.id,
            "session_id": recording.session_id,
            "participant_id": recording.participant_id,
            "sha256": recording.sha256,
            "size": recording.size,
            "duration_seconds": duration,
            "started_at": recording.started_at.isoformat(),
            "ended_at": recording.ended_at.isoformat(),
            "status": status,
        },
        actor_id=None,  # the platform's recorder
    )
    return recording


# A file the recorder stopped because its disk was full: kept as written, hashed.
DISK_FULL_STATUS = "disk_full"
DISK_FULL = "recording.stopped_disk_full"


def stopped_disk_full(
    recording: Recording, *, duration: float | None, by: str, ended_at: datetime
) -> None:
    """Close a file the full disk stopped (flushes): its record as any file's, with what was
    written, and the stop journaled, so that the minutes say the recording is incomplete
    and they are the record (SPC online mediation rules art 22)."""
    path = absolute(recording)
    # The file as the disk kept it, to its last whole cluster (the writer cannot end it).
    written = playable_seconds(path) if path.exists() else None
    finish_file(
        recording,
        duration=written if written is not None else duration,
        status=DISK_FULL_STATUS,
        by=by,
        ended_at=ended_at,
    )
    if recording.status != DISK_FULL_STATUS:
        return  # closed already, by another worker
    journal.append(
        recording.participant.session.case_id,
        DISK_FULL,
        {
            "recording_id": recording.id,
            "session_id": recording.session_id,
            "participant_id": recording.participant_id,
            "stopped_at": recording.ended_at.isoformat(),
            "seconds_written": recording.duration_seconds,
            "sha256": recording.sha256,
        },
        actor_id=None,  # the platform's recorder
    )


def disk_full_in(session_id: int) -> list[Recording]:
    """The session's files a full disk stopped (for the minutes)."""
    return db.session.scalars(
        select(Recording)
        .where(Recording.session_id == session_id, Recording.status == DISK_FULL_STATUS)
        .order_by(Recording.ended_at)
    ).all()


def left_open(holder: str, now: datetime | None = None) -> list[Recording]:
    """Files still open whose writer no longer holds its room (it died, or was taken
    over), whatever became of the room since."""
    now = now or utcnow()
    live = select(RecordingLease.session_id).where(
        RecordingLease.session_id == Recording.session_id,
        RecordingLease.holder == Recording.holder,
        RecordingLease.expires_at > now,
    )
    return db.session.scalars(
        select(Recording).where(
            Recording.status == "recording", Recording.holder != holder, ~live.exists()
        )
    ).all()


def close_orphans(holder: str, now: datetime | None = None) -> int:
    """Close what dead workers left open, as it is (playable to its last cluster), marked
    interrupted, with the length the file really has. From the file's end until now its
    participant went unrecorded: journaled as a gap, so the recording no longer stands in
    for the minutes (SPC online mediation rules art 22; ``rooms.recorded_throughout``).
    The new file begins a moment after ``now``, when this worker's connection is up."""
    now = now or utcnow()
    orphans = left_open(holder, now)
    for left in orphans:
        playable = playable_seconds(absolute(left))
        finish_file(left, duration=playable, status="interrupted")
        if left.status != "interrupted":
            continue  # another worker closed it first, and journaled the gap
        room = db.session.get(Room, left.session_id)
        began = left.started_at + timedelta(seconds=playable or 0.0)
        ended = min(now, room.ended_at) if room is not None and room.ended_at else now
        if ended > began:
            gaps.missed(
                left.session_id, left.participant_id, "interrupted", f"file-{left.id}", began, ended
            )
    return len(orphans)


def playable_seconds(path: Path) -> float | None:
    if not path.exists():
        return None
    try:
        with av.open(str(path)) as container:
            return max(
                (
                    float((p.pts + (p.duration or 0)) * p.time_base)
                    for p in container.demux()
                    if p.pts is not None
                ),
                default=0.0,
            )
    except av.error.FFmpegError:
        return None


def of_case(case_id: int) -> list[Recording]:
    return db.session.scalars(
        select(Recording)
        .join(MediationSession, MediationSession.id == Recording.session_id)
        .where(MediationSession.case_id == case_id)
        .order_by(Recording.started_at, Recording.id)
    ).all()


def to_compose(now: datetime | None = None) -> list[int]:
    """Ended sessions whose files are all closed and that have no review video yet."""
    open_files = select(Recording.session_id).where(Recording.status == "recording")
    return db.session.scalars(
        select(Room.session_id)
        .join(Recording, Recording.session_id == Room.session_id)
        .outerjoin(Composition, Composition.session_id == Room.session_id)
        .where(
            Room.ended_at.is_not(None),
            Composition.session_id.is_(None),
            Room.session_id.not_in(open_files),
        )
        .distinct()
        .order_by(Room.session_id)
    ).all()


def claim_composition(session_id: int) -> Composition | None:
    """Take the session's review video to make; None if another worker has it."""
    composition = Composition(
        session_id=session_id, path=f"recordings/{session_id}/review.mp4", status="composing"
    )
    try:
        with db.session.begin_nested():
            db.session.add(composition)
    except IntegrityError:
        return None
    return composition


def compose_session(composition: Composition) -> Composition:
    """Make the review video from the session's main-group files (a caucus stays its
    side's only; a session with one side gives that side's review video), store its hash
    and journal it."""
    session = db.session.get(MediationSession, composition.session_id)
    files = [r for r in of_case(session.case_id) if r.session_id == session.id]
    joint = [r for r in files if r.scope in MAIN_SCOPES and r.sha256]
    start = min((r.started_at for r in joint), default=None)
    end = max(
        ((r.started_at - start).total_seconds() + (r.duration_seconds or 0) for r in joint),
        default=0.0,
    )
    path = spool_dir() / composition.path
    if not joint or end <= 0:
        composition.status = "failed"
        db.session.flush()
        return composition
    with ExitStack() as files:
        tracks: dict[int, list[compose.Part]] = {}
        for r in joint:
            # Each part checked against its hash: a damaged file is refused, not composed.
            local = files.enter_context(storage().as_local_file(r.path, r.sha256))
            offset = (r.started_at - start).total_seconds()
            tracks.setdefault(r.participant_id, []).append(compose.Part(local, offset))
        path.parent.mkdir(parents=True, exist_ok=True)
        composition.duration_seconds = compose.compose(list(tracks.values()), path, end)
    composition.size = path.stat().st_size
    composition.sha256 = sha256_of(path)
    composition.status = "finished"
    _keep(composition.path, path)
    db.session.flush()
    journal.append(
        session.case_id,
        "recording.composed",
        {
            "session_id": session.id,
            "sha256": composition.sha256,
            "duration_seconds": composition.duration_seconds,
            "from": sorted(r.id for r in joint),
        },
        actor_id=None,
    )
    return composition


def set_caucus_recording(institution: Institution, record: bool) -> None:
    """The institution's choice whether caucuses are recorded (off by default; each caucus
    journals the choice that applied)."""
    institution.record_caucus = record
    db.session.flush()


def verify(case_id: int) -> list[tuple[Recording, str]]:
    """Hash every finished file of the case again; each difference is reported as
    (recording, "missing" | "changed" | "unfinished")."""
    problems = []
    for recording in of_case(case_id):
        if recording.status == EMPTY_STATUS:
            continue  # never written: nothing to check (its gap is in the journal)
        if recording.sha256 is None:
            problems.append((recording, "unfinished"))  # still written, or never closed
            continue
        try:
            with storage().open_range(recording.path) as stream:
                digest = hashlib.sha256()
                for block in iter(lambda s=stream: s.read(1 << 20), b""):
                    digest.update(block)
        except FileNotFoundError:
            problems.append((recording, "missing"))
            continue
        if digest.hexdigest() != recording.sha256:
            problems.append((recording, "changed"))
    return problems
