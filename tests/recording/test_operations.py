"""The recorder's lease, its files' records, and verification."""

from __future__ import annotations

from datetime import timedelta

from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.recording import gaps
from mediation.recording import operations as recording
from mediation.rooms.models import Room
from tests.factories import make_mediating_case
from tests.signaling.conftest import open_session


def started_session(*, ended: bool = False):
    case = make_mediating_case()
    session = open_session(case)
    db.session.add(
        Room(session_id=session.id, started_at=utcnow(), ended_at=utcnow() if ended else None)
    )
    db.session.flush()
    return case, session


def test_one_worker_holds_a_room_until_it_stops_renewing(app_ctx):
    _, session = started_session()
    now = utcnow()
    assert recording.rooms_to_record(now) == [session.id]
    assert recording.claim(session.id, "a", now)
    assert not recording.claim(session.id, "b", now)
    assert recording.rooms_to_record(now) == []
    assert recording.renew(session.id, "a", now + timedelta(seconds=1))
    # "a" died: LEASE_SECONDS without renewal and "b" takes the room over.
    later = now + timedelta(seconds=1 + recording.LEASE_SECONDS)
    assert recording.rooms_to_record(later) == [session.id]
    assert recording.claim(session.id, "b", later)
    assert not recording.renew(session.id, "a", later)
    assert recording.holds(session.id, "b", later) and not recording.holds(session.id, "a", later)


def test_ended_or_not_started_rooms_are_not_recorded(app_ctx):
    started_session(ended=True)
    case = make_mediating_case()
    waiting = open_session(case)
    db.session.add(Room(session_id=waiting.id))
    db.session.flush()
    assert recording.rooms_to_record() == []


def test_a_token_is_good_for_its_session_and_its_holder_only(app_ctx):
    _, session = started_session()
    token = recording.token_for("a", session.id)
    assert not recording.may_connect(token, session.id)  # no lease yet
    recording.claim(session.id, "a")
    assert recording.may_connect(token, session.id)
    assert not recording.may_connect(token, session.id + 1)
    assert not recording.may_connect(token + "x", session.id)
    assert not recording.may_connect(recording.token_for("b", session.id), session.id)


def test_a_finished_file_is_hashed_and_journaled_and_verify_finds_a_changed_byte(app_ctx):
    case, session = started_session()
    participant = session.participants[0]
    file = recording.open_file(session.id, participant.id, "a")
    path = recording.absolute(file)
    path.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 40)
    recording.finish_file(file, duration=12.5)
    assert file.sha256 == recording.sha256_of(path) and file.size == path.stat().st_size
    assert file.status == "finished" and file.written_at == file.ended_at  # written, at last
    entry = db.session.query(JournalEntry).filter_by(action="recording.finished").one()
    assert entry.case_id == case.id and entry.payload["sha256"] == file.sha256
    assert recording.verify(case.id) == []

    data = bytearray(path.read_bytes())
    data[1000] ^= 0x01  # one bit of one byte
    path.write_bytes(bytes(data))
    assert recording.verify(case.id) == [(file, "changed")]
    path.unlink()
    assert recording.verify(case.id) == [(file, "missing")]


def test_a_dead_worker_s_file_in_a_room_that_has_ended_is_a_gap_until_the_end(app_ctx):
    _, session = started_session()
    participant = session.participants[0]
    left = recording.open_file(session.id, participant.id, "dead")  # nothing written
    room = db.session.get(Room, session.id)
    room.ended_at = left.started_at + timedelta(seconds=3)
    assert recording.close_orphans("alive", now=left.started_at + timedelta(seconds=30)) == 1
    assert left.status == "interrupted"
    (gap,) = gaps.of_session(session.id)
    assert gap.began == left.started_at and abs(gap.seconds - 3) < 0.2


def test_a_file_closed_with_nothing_in_it_is_empty_and_verify_passes_over_it(app_ctx):
    case, session = started_session()
    file = recording.open_file(session.id, session.participants[0].id, "a")
    recording.finish_file(file, duration=0.0)  # the writer never began: no file
    assert file.status == recording.EMPTY_STATUS
    assert file.sha256 is None and file.written_at is None and file.duration_seconds is None
    entry = db.session.query(JournalEntry).filter_by(action="recording.finished").one()
    assert entry.payload["status"] == recording.EMPTY_STATUS
    assert recording.verify(case.id) == []


def test_files_a_dead_worker_left_open_are_closed_by_the_next_one(app_ctx):
    from tests.recording.media import opus_frames

    case, session = started_session()
    participant = session.participants[1]
    recording.claim(session.id, "alive")
    left = recording.open_file(session.id, participant.id, "dead")  # its lease is gone
    mine = recording.open_file(session.id, participant.id, "alive")
    assert recording.left_open("alive") == [left]
    from mediation.recording.writer import WebmWriter

    writer = WebmWriter(recording.absolute(left), opened=0.0)
    for i, frame in enumerate(opus_frames(4)):
        writer.add_audio(frame, i * 960, arrived=i * 0.02)
    writer.close()
    taken_over = left.started_at + timedelta(seconds=10)
    assert recording.close_orphans("alive", now=taken_over) == 1
    assert left.status == "interrupted" and left.sha256 and abs(left.duration_seconds - 4) < 0.1
    assert recording.left_open("alive") == [] and mine.status == "recording"
    # From the file's last sound to the takeover the participant went unrecorded: a gap,
    # so the recording no longer stands in for the minutes (art 22).
    (gap,) = gaps.of_session(session.id)
    assert (gap.participant_id, gap.reason) == (participant.id, "interrupted")
    assert abs((gap.began - left.started_at).total_seconds() - 4) < 0.1
    assert abs(gap.seconds - 6) < 0.2
    assert recording.close_orphans("alive", now=taken_over) == 0
    assert len(gaps.of_session(session.id)) == 1
    # A late close by the dead worker changes nothing: a file is closed once.
    recording.finish_file(left, duration=1.0, by="dead")
    assert left.status == "interrupted" and abs(left.duration_seconds - 4) < 0.1
    assert recording.verify(case.id) == [(mine, "unfinished")]
