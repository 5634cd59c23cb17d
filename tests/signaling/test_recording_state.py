"""The room's recording state through the socket events: "starting" from when the recorder
is let in, "recording" (the red badge) only once every stream it receives has a file of
the current stretch with frames written, which only the room's recorder may report
(``recording_written``). SPC online mediation rules art 22: what the page shows as recorded
is in a file."""

from __future__ import annotations

from sqlalchemy import select

from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.recording import gaps
from mediation.recording import operations as recording
from mediation.recording.models import Recording
from mediation.rooms.layout import RECORDER
from mediation.rooms.models import Room
from tests.signaling.test_recorder import connect_recorder, everyone_agreed_and_started
from tests.signaling.test_rooms import NS, clear, drain, events

HOLDER = "worker-1"


def open_files(app, room, told: dict, holder: str = HOLDER) -> dict[int, int]:
    """What the recorder does for the layout ``told``: a file for each peer, of its stretch
    (the recorder's epoch and the peer's). Returns participant -> file id."""
    files = {}
    with app.app_context():
        for peer in told["peers"]:
            stretch = (told["stretch"], told["epochs"][str(peer)])
            files[peer] = recording.open_file(room["session"], peer, holder, "joint", stretch).id
        db.session.commit()
    return files


def written(recorder, file_id: int) -> None:
    recorder.emit("recording_written", {"file": file_id}, namespace=NS)


def newest(sock) -> dict:
    """The newest layout the page received: an arrival's broadcast, sent from a task of its
    own at the tick's end, may come after a newer one."""
    received = sock.get_received(NS)
    layouts = [e["args"][0] for e in received if e["name"] in ("layout", "welcome")]
    layouts = [told.get("layout", told) for told in layouts]
    return max(layouts, key=lambda told: told["version"])


def states(*socks) -> list:
    """Each page's recording state now; the red badge (``recording``) shows "recording"
    alone."""
    found = []
    for sock in socks:
        told = newest(sock)
        assert told["recording"] is (told["recording_state"] == "recording")
        found.append(told["recording_state"])
    return found


def test_starting_until_every_recorded_stream_has_frames_written(app, room, connect):
    ids = room["ids"]
    mediator, a, b = everyone_agreed_and_started(room, connect)
    recorder = connect_recorder(app, room)
    told = newest(recorder)
    assert told["peers"] == sorted(ids.values()) and told["recording_state"] == "starting"
    # The recorder is let in: grey, not red, while nothing is written.
    assert states(mediator, a, b) == ["starting"] * 3
    files = open_files(app, room, told)
    for who in ("mediator", "a"):
        written(recorder, files[ids[who]])
    assert states(mediator, a, b) == ["starting"] * 3
    written(recorder, files[ids["b"]])
    assert states(mediator, a, b) == ["recording"] * 3
    assert events(recorder, "error") == []
    with app.app_context():  # the recorder's own mark, if it came first, is kept
        marked = db.session.scalars(select(Recording.written_at)).all()
        assert len(marked) == 3 and all(marked)
        db.session.remove()


def test_only_the_room_s_recorder_may_report_its_own_room_s_files(app, room, connect):
    ids = room["ids"]
    mediator, a, b = everyone_agreed_and_started(room, connect)
    recorder = connect_recorder(app, room)
    files = open_files(app, room, newest(recorder))
    drain(mediator, a, b)
    written(a, files[ids["a"]])  # a party is no recorder
    assert events(a, "error")[-1]["code"] == "forbidden"
    # Files of another holder (a worker that lost the lease), of no room, or closed.
    with app.app_context():
        stranger = recording.open_file(room["session"], ids["a"], "worker-2", "joint", (1, 1))
        closed = recording.open_file(room["session"], ids["b"], HOLDER, "joint", (1, 1))
        closed.status = "finished"
        db.session.commit()
        stranger, closed = stranger.id, closed.id
    for file_id in (stranger, closed, 10**6):
        written(recorder, file_id)
        assert events(recorder, "error")[-1]["code"] == "unknown"
    # Hostile payloads: refused with the usual error, never a traceback.
    for data in (None, [], "x", {"file": "1"}, {"file": -1}, {"file": 2**40}, {"file": True}):
        recorder.emit("recording_written", data, namespace=NS)
        assert events(recorder, "error")[-1]["code"] == "invalid", data
    recorder.emit("recording_written", {"file": 1, "pad": "x" * 70_000}, namespace=NS)
    assert events(recorder, "error")[-1]["code"] == "invalid"
    assert [events(sock, "layout") for sock in (mediator, a, b)] == [[]] * 3  # nothing counted


def test_a_recorder_replaced_may_not_report_the_new_one_s_files(app, room, connect):
    ids = room["ids"]
    everyone_agreed_and_started(room, connect)
    first = connect_recorder(app, room)
    files = open_files(app, room, newest(first))
    with app.app_context():  # another worker takes the room over (the first one died)
        lease = db.session.get(recording.RecordingLease, room["session"])
        lease.holder = "worker-2"
        db.session.commit()
    second = connect_recorder(app, room, "worker-2")
    assert not first.is_connected(NS)  # sent away by the server
    written(second, files[ids["a"]])  # the first worker's file: not the second's
    assert events(second, "error")[-1]["code"] == "unknown"


def all_written(app, room, recorder, told: dict | None = None) -> dict[int, int]:
    files = open_files(app, room, told or newest(recorder))
    for file_id in files.values():
        written(recorder, file_id)
    return files


def test_a_consent_withdrawn_ends_it_and_given_again_starts_a_new_stretch(app, room, connect):
    ids = room["ids"]
    mediator, a, b = everyone_agreed_and_started(room, connect)
    recorder = connect_recorder(app, room)
    told = newest(recorder)
    stretch = told["stretch"]
    old = all_written(app, room, recorder, told)
    assert states(mediator, a, b) == ["recording"] * 3
    b.emit("recording_consent", {"consent": False}, namespace=NS)
    assert states(mediator, a, b) == [None] * 3
    # Agreed again while the old files are still closing (status "recording", written):
    # they are of the stretch before and do not count.
    b.emit("recording_consent", {"consent": True}, namespace=NS)
    told = newest(recorder)
    assert told["stretch"] > stretch and told["peers"] == sorted(ids.values())
    seen = newest(a)
    # The browsers drop their connection to the recorder: a new epoch of it.
    assert seen["epochs"][str(RECORDER)] == told["stretch"]
    assert seen["recording_state"] == "starting" and states(mediator, b) == ["starting"] * 2
    written(recorder, old[ids["a"]])  # a late report of an old file changes nothing
    assert events(recorder, "error") == [] and events(a, "layout") == []
    new = open_files(app, room, told)
    for file_id in new.values():
        written(recorder, file_id)
    assert states(mediator, a, b) == ["recording"] * 3


def test_a_party_who_agrees_later_puts_it_back_to_starting(app, room, connect):
    """Recorded with the mediator and A; B comes late and is let in: nothing is recorded
    until B answers; once B agrees, "starting" until every stream, B's too, is written."""
    ids = room["ids"]
    mediator, a = everyone_agreed_and_started(room, connect, parties=("a",))
    recorder = connect_recorder(app, room)
    all_written(app, room, recorder)
    assert states(mediator, a) == ["recording"] * 2
    b = connect("b")
    clear(mediator, b, ids["b"])
    assert states(mediator, a, b) == [None] * 3  # B has not answered: nothing recorded
    b.emit("recording_consent", {"consent": True}, namespace=NS)
    assert states(mediator, a, b) == ["starting"] * 3
    told = newest(recorder)
    files = open_files(app, room, told)
    for who in ("mediator", "a"):
        written(recorder, files[ids[who]])
    assert states(mediator, a, b) == ["starting"] * 3
    written(recorder, files[ids["b"]])
    assert states(mediator, a, b) == ["recording"] * 3


def test_a_reload_is_starting_again_until_the_new_connection_is_written(app, room, connect):
    ids = room["ids"]
    mediator, a, b = everyone_agreed_and_started(room, connect)
    recorder = connect_recorder(app, room)
    all_written(app, room, recorder)
    a.disconnect(NS)
    assert states(mediator, b) == ["recording"] * 2  # A is away: the others go on
    a = connect("a")  # back, a new epoch: a new file
    assert states(mediator, a, b) == ["starting"] * 3
    told = newest(recorder)
    with app.app_context():
        stretch = (told["stretch"], told["epochs"][str(ids["a"])])
        file_id = recording.open_file(room["session"], ids["a"], HOLDER, "joint", stretch).id
        db.session.commit()
    written(recorder, file_id)
    assert states(mediator, a, b) == ["recording"] * 3


def test_the_recorder_leaving_and_the_end_clear_the_state(app, room, connect):
    mediator, a, b = everyone_agreed_and_started(room, connect)
    recorder = connect_recorder(app, room)
    all_written(app, room, recorder)
    recorder.disconnect(NS)
    assert states(mediator, a, b) == [None] * 3
    recorder = connect_recorder(app, room)  # a new connection: new files
    assert states(mediator, a, b) == ["starting"] * 3
    all_written(app, room, recorder)
    assert states(mediator, a, b) == ["recording"] * 3
    mediator.emit("end", {}, namespace=NS)
    told = newest(recorder)
    assert told["ended"] and told["recording_state"] is None and told["ended_at"] > 0
    with app.app_context():
        room_row = db.session.get(Room, room["session"])
        assert room_row.ended_at.timestamp() == told["ended_at"]
        assert room_row.recorder_on is False
        db.session.remove()


def test_a_file_stopped_by_a_full_disk_is_no_longer_shown_as_recording(app, room, connect):
    """The recorder's disk fills: the file closes (``disk_full``) and the recorder tells of
    the gap; every page reads the state again, grey, not red (art 22)."""
    ids = room["ids"]
    mediator, a, b = everyone_agreed_and_started(room, connect)
    recorder = connect_recorder(app, room)
    files = all_written(app, room, recorder)
    assert states(mediator, a, b) == ["recording"] * 3
    with app.app_context():
        db.session.get(Recording, files[ids["a"]]).status = recording.DISK_FULL_STATUS
        db.session.commit()
    gap = {"participant": ids["a"], "reason": "disk_full", "state": "started"}
    recorder.emit("recording_gap", gap, namespace=NS)
    assert states(mediator, a, b) == ["starting"] * 3
    assert events(recorder, "error") == []


def test_a_stalled_stream_is_not_shown_as_recording_until_it_flows_again(app, room, connect):
    """A phone loses its network: the recorder's watch opens a gap for its stream (journaled,
    its file marked) and tells; every page goes grey though the file has frames from before,
    and red again once the stream flows and the gap is closed (art 22)."""
    ids = room["ids"]
    mediator, a, b = everyone_agreed_and_started(room, connect)
    recorder = connect_recorder(app, room)
    files = all_written(app, room, recorder)
    assert states(mediator, a, b) == ["recording"] * 3
    began = utcnow()
    with app.app_context():  # what the recorder's watch does (watch.Watch.begin)
        gaps.begin(room["session"], ids["a"], "stalled", "gap-1", began, files[ids["a"]])
        db.session.commit()
    gap = {"participant": ids["a"], "reason": "stalled", "state": "started"}
    recorder.emit("recording_gap", gap, namespace=NS)
    assert states(mediator, a, b) == ["starting"] * 3
    with app.app_context():  # the stream flows again (watch.Watch.end)
        gaps.end(room["session"], ids["a"], "stalled", "gap-1", began, utcnow(), files[ids["a"]])
        db.session.commit()
        assert db.session.get(Recording, files[ids["a"]]).gap_since is None
        db.session.remove()
    recorder.emit("recording_gap", {**gap, "state": "ended", "seconds": 3.0}, namespace=NS)
    assert states(mediator, a, b) == ["recording"] * 3
    assert events(recorder, "error") == []


def test_the_whole_room_s_gap_changes_no_stream_s_state(app, room, connect):
    """The recorder falling behind (no participant) is told to the mediator; its files still
    get frames, and the layout is not sent again each time the load comes and goes."""
    mediator, a, b = everyone_agreed_and_started(room, connect)
    recorder = connect_recorder(app, room)
    all_written(app, room, recorder)
    version = newest(mediator)["version"]
    gap = {"participant": None, "reason": "overloaded", "state": "started"}
    recorder.emit("recording_gap", gap, namespace=NS)
    recorder.emit("recording_gap", {**gap, "state": "ended", "seconds": 1.0}, namespace=NS)
    received = mediator.get_received(NS)
    told = [e["args"][0]["state"] for e in received if e["name"] == "recording_gap"]
    assert told == ["started", "ended"]
    assert all(e["args"][0]["version"] <= version for e in received if e["name"] == "layout")
    assert states(a, b) == ["recording"] * 2
