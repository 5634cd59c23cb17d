"""``mediation backup`` / ``mediation restore`` (mediation/backup.py, docs/backup.md).

A backup taken while a session is in progress (its room open, the mediator's chat written
line after line by a Socket.IO client in another thread) restores into an empty instance
(a new SQLite file, a new PostgreSQL database): the same cases, the chat and journal as they
were at one moment of the backup (at least everything committed before it began, every
chat line with its journal entry), every chain verifying (`mediation journal verify`), the
same files with the same hashes, and every signed agreement's signatures verifying.
A tampered or incomplete backup, and an instance that holds data, are refused.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from mediation import create_app
from mediation.agreements import signing, verification
from mediation.agreements.models import Agreement
from mediation.cases.models import Case
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.rooms.models import ChatMessage
from signaling import limits
from tests.court.conftest import in_force
from tests.signaling import conftest as signaling

# A session whose room is open now, and Socket.IO clients of its participants.
room, connect = signaling.room, signaling.connect


def _files(root: Path) -> dict[str, str]:
    """Every file under ``root``, by relative path, with its SHA-256."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _state(app: Flask) -> dict:
    """Cases, journal entries (case, seq, hash) and stored files of an instance."""
    with app.app_context():
        state = {
            "cases": db.session.scalar(select(func.count(Case.id))),
            "entries": set(
                db.session.execute(
                    select(JournalEntry.case_id, JournalEntry.seq, JournalEntry.hash)
                ).all()
            ),
            "chat": set(db.session.execute(select(ChatMessage.id, ChatMessage.text)).all()),
            "storage": _files(Path(app.config["STORAGE_DIR"])),
            "pki": _files(Path(app.config["PKI_DIR"])),
        }
        db.session.remove()
    return state


class ChatWriter(threading.Thread):
    """The mediator in the room, saying one line after another (each line committed with
    its journal entry by the room's handler) until stopped."""

    def __init__(self, sock) -> None:
        super().__init__(daemon=True)
        self.sock = sock
        self.stop = threading.Event()
        self.said = 0
        self.failed: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set() and self.said < 5_000:
                self.sock.emit("chat", {"text": f"第{self.said}句"}, namespace="/room")
                self.said += 1
                if self.said % 50 == 0:
                    self.sock.get_received("/room")  # not kept: only the database counts
        except BaseException as error:  # told to the test, not lost in the thread
            self.failed = error


@pytest.fixture
def empty_instance(app, tmp_path, request):
    """A new instance on the same database system: no tables, no files."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        database = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        database = request.getfixturevalue("fresh_postgres_database")()
    restored = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": database,
            "INSTANCE_PATH": str(tmp_path / "restored-instance"),
            "SERVER_NAME": "mediation.test",
        }
    )
    yield restored
    with restored.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_backup_taken_during_a_session_restores_whole(
    app, room, connect, empty_instance, tmp_path
):
    with app.app_context():
        world = in_force()  # a case with its agreement signed by everyone
        db.session.commit()
        signed_case = world.case.id
    # The chat's own limit (20 a minute) would stop the writer within a second.
    app.extensions[limits.KEY] = limits.RoomLimits(
        {**app.config, "ROOM_LIMIT_CHAT": "1000000/minute"}
    )
    mediator = connect("mediator")  # room["case"]'s session, open now
    writer = ChatWriter(mediator)
    writer.start()
    try:
        while writer.said < 5 and writer.is_alive():  # the talk is under way
            writer.join(0.05)
        before = _state(app)
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
    finally:
        writer.stop.set()
        writer.join(timeout=60)
    assert writer.failed is None, writer.failed
    assert result.exit_code == 0, result.output
    after = _state(app)
    assert len(after["chat"]) > len(before["chat"]) >= 5  # written before and during it

    result = empty_instance.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    restored = _state(empty_instance)

    assert restored["cases"] == before["cases"] == after["cases"]
    # The chat and the journal as they were at one moment during the writing: nothing
    # half-written, everything committed before the backup began, every row the very one
    # the source holds.
    assert before["entries"] <= restored["entries"] <= after["entries"]
    assert before["chat"] <= restored["chat"] <= after["chat"]
    assert restored["storage"] == after["storage"] and restored["storage"]
    assert restored["pki"] == after["pki"] and restored["pki"]
    runner = empty_instance.test_cli_runner()
    with empty_instance.app_context():
        # Each chat line with its journal entry (they are committed together).
        chat_entries = db.session.scalar(
            select(func.count(JournalEntry.id)).where(
                JournalEntry.case_id == room["case"], JournalEntry.action == "room.chat"
            )
        )
        assert chat_entries == len(restored["chat"])
        numbers = db.session.scalars(select(Case.number)).all()
        agreements = db.session.scalars(select(Agreement)).all()
        assert [a.case_id for a in agreements] == [signed_case]
        for agreement in agreements:
            report, found = verification.check(signing.document_bytes(agreement))
            assert report.ok, report
            assert [s.kind for s in report.signatures].count("signature") == 4
            assert found is not None and found.final
        db.session.remove()
    for number in numbers:
        result = runner.invoke(args=["journal", "verify", number])
        assert result.exit_code == 0 and "chain intact" in result.output, result.output


def _backup(app: Flask, target: Path) -> Path:
    with app.app_context():
        in_force()
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    return target


def test_a_tampered_or_incomplete_backup_is_refused(app, empty_instance, tmp_path):
    backup = _backup(app, tmp_path / "backup")
    manifest = json.loads((backup / "manifest.json").read_text())
    pdf = next(name for name in manifest["files"] if name.endswith(".pdf"))
    runner = empty_instance.test_cli_runner()

    original = (backup / pdf).read_bytes()
    (backup / pdf).write_bytes(original[:-1] + b"X")
    result = runner.invoke(args=["restore", str(backup)])
    assert result.exit_code == 1
    assert f"altered: {pdf}" in result.output and "nothing was restored" in result.output

    (backup / pdf).unlink()
    result = runner.invoke(args=["restore", str(backup)])
    assert f"missing: {pdf}" in result.output

    (backup / pdf).write_bytes(original)
    (backup / "storage" / "extra.bin").write_bytes(b"planted")
    result = runner.invoke(args=["restore", str(backup)])
    assert "not in the manifest: storage/extra.bin" in result.output
    (backup / "storage" / "extra.bin").unlink()

    (backup / "manifest.json").unlink()
    result = runner.invoke(args=["restore", str(backup)])
    assert "no manifest.json: not a backup, or one that was cut short" in result.output
    with empty_instance.app_context():
        assert not Path(empty_instance.config["STORAGE_DIR"]).exists()


def test_restoring_over_an_instance_with_data_needs_force(app, tmp_path):
    backup = _backup(app, tmp_path / "backup")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["restore", str(backup)])
    assert result.exit_code == 1
    assert "This instance is not empty" in result.output and "--force" in result.output
    before = _state(app)
    result = runner.invoke(args=["restore", "--force", str(backup)])
    assert result.exit_code == 0, result.output
    assert _state(app) == before


def test_a_backup_goes_only_into_a_new_directory(app, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "used")])
    assert result.exit_code == 1
    assert "exists and is not empty" in result.output
    assert (tmp_path / "used" / "notes.txt").read_text() == "mine"
