"""Recording in real browsers: the mediator and two parties in a room, a recorder process
(`mediation recorder`), and the files it writes opened with PyAV."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from mediation.extensions import db
from mediation.recording import operations as recording
from mediation.recording.models import Recording
from tests.browser.conftest import WAIT_MS, recorder, three_in_the_room
from tests.recording.media import probe


def finished_files(
    app, session_id: int, count: int, storage, within: float = 20
) -> list[tuple[Recording, object]]:
    """The session's closed files and where they are (``storage``: the server's folder)."""
    deadline = time.monotonic() + within
    while True:
        with app.app_context():
            files = db.session.scalars(
                select(Recording).where(Recording.session_id == session_id)
            ).all()
            done = [f for f in files if f.status != "recording"]
            paths = {f.id: storage / f.path for f in done}
            db.session.remove()
        if len(done) >= count or time.monotonic() > deadline:
            return [(f, paths[f.id]) for f in done]
        time.sleep(0.3)


@pytest.mark.parametrize("run", range(10))  # ten times: a race would show
def test_everyone_agreed_each_participant_is_recorded_for_the_whole_time(
    app, live_server, browser_factory, session_in_progress, tmp_path, run
):
    s = session_in_progress
    seconds = 5
    with recorder(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, live_server):
        mediator, a, b = three_in_the_room(browser_factory, live_server, s)
        mediator.click("#start", timeout=WAIT_MS)
        for page in (mediator, a, b):
            page.wait_for_selector("#recording:not([hidden])", timeout=WAIT_MS)
        began = time.monotonic()
        mediator.wait_for_timeout(seconds * 1000)
        mediator.on("dialog", lambda dialog: dialog.accept())
        mediator.click("#end")
        recorded = time.monotonic() - began
        files = finished_files(app, s["session"], 3, tmp_path / "storage")
    assert sorted(f.participant_id for f, _ in files) == sorted(s["ids"].values())
    for file, path in files:
        found = probe(path)
        assert found["codecs"] == ["opus", "vp8"], found
        assert abs(found["duration"] - recorded) <= 1.0, (found, recorded)
        assert found["video_frames"] > seconds * 5  # at least 5 pictures a second
        assert file.sha256 == recording.sha256_of(path)
