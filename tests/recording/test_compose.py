"""The side-by-side review video: everyone's pictures in a grid, everyone's sound mixed."""

from __future__ import annotations

from mediation.recording.compose import TILE, Part, compose
from mediation.recording.writer import WebmWriter
from tests.recording.media import probe
from tests.recording.test_writer import feed


def recorded(path, seconds: float, **options):
    writer = WebmWriter(path, opened=0.0)
    feed(writer, seconds, **options)
    writer.close()
    return path


def test_two_participants_side_by_side_with_their_sound_mixed(tmp_path):
    mediator = recorded(tmp_path / "m.webm", 4)
    party = recorded(tmp_path / "p.webm", 3)
    later = recorded(tmp_path / "p2.webm", 2)  # the same party again after a caucus
    seconds = compose(
        [[Part(mediator, 0.0)], [Part(party, 1.0), Part(later, 4.5)]],
        tmp_path / "review.mp4",
        duration=6.5,
    )
    assert abs(seconds - 6.5) < 0.1
    found = probe(tmp_path / "review.mp4")
    assert found["codecs"] == ["aac", "h264"]
    assert abs(found["duration"] - 6.5) < 0.2
    import av

    with av.open(str(tmp_path / "review.mp4")) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (2 * TILE[0], TILE[1])


def test_one_participant_without_a_camera(tmp_path):
    sound = recorded(tmp_path / "a.webm", 3, video=False)
    compose([[Part(sound, 0.0)]], tmp_path / "review.mp4", duration=3)
    found = probe(tmp_path / "review.mp4")
    assert found["codecs"] == ["aac", "h264"] and abs(found["duration"] - 3) < 0.2


def test_the_review_video_of_an_ended_session_is_made_once_and_journaled(app, runner, client):
    from datetime import timedelta

    from mediation.core.db import utcnow
    from mediation.extensions import db
    from mediation.journal.models import JournalEntry
    from mediation.recording import operations as recording
    from mediation.rooms.models import Room
    from tests.factories import make_mediating_case
    from tests.signaling.conftest import open_session

    with app.app_context():
        case = make_mediating_case()
        session = open_session(case)
        room = Room(session_id=session.id, started_at=utcnow())
        db.session.add(room)
        db.session.flush()
        for participant in session.participants[:2]:
            file = recording.open_file(session.id, participant.id, "w")
            recorded(recording.absolute(file), 2)
            recording.finish_file(file, duration=2.0)
        db.session.commit()
        assert recording.to_compose() == []  # not ended yet
        room.ended_at = utcnow() + timedelta(seconds=3)
        db.session.commit()
        assert recording.to_compose() == [session.id]
        session_id, case_id = session.id, case.id
        db.session.remove()
    result = runner.invoke(args=["recording", "compose"])
    assert result.exit_code == 0, result.output
    assert f"session {session_id}: finished" in result.output
    assert runner.invoke(args=["recording", "compose"]).output == ""  # made once
    with app.app_context():
        composed = db.session.scalar(
            db.select(JournalEntry).where(JournalEntry.action == "recording.composed")
        )
        assert composed.case_id == case_id
        found = probe(app.config["STORAGE_DIR"] + f"/recordings/{session_id}/review.mp4")
        assert found["codecs"] == ["aac", "h264"] and found["duration"] >= 1.9
        db.session.remove()
    number = case.number
    verified = runner.invoke(args=["recording", "verify", number])
    assert verified.exit_code == 0 and "2 recordings, all intact" in verified.output

    from tests.conftest import login
    from tests.factories import PASSWORD

    with app.app_context():
        stranger = make_mediating_case().party_users()[0].phone
        applicant = db.session.get(type(case), case_id).party_users()[0].phone
        db.session.commit()
        db.session.remove()
    login(client, stranger, PASSWORD)
    assert client.get(f"/sessions/{session_id}/review.mp4").status_code == 404
    mine = app.test_client()
    login(mine, applicant, PASSWORD)
    assert mine.get(f"/sessions/{session_id}/review.mp4").status_code == 200
    assert "review.mp4" in mine.get(f"/cases/{case_id}/recordings").get_data(as_text=True)
