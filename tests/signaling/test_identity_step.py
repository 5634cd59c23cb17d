"""The room's identity step: the mediator types the number on the card for a party who has
none (or corrects a wrong one), with the ethnicity, and confirms it; only the mediator, and
a confirmed number is not changed (issue #16)."""

from __future__ import annotations

from sqlalchemy import select

from mediation.accounts.models import User
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.factories import valid_id_number

from .test_rooms import NS, drain, events


def respondent_of(app, room) -> User:
    with app.app_context():
        return db.session.scalar(select(User).where(User.phone == room["phones"]["b"]))


def without_id_number(app, room) -> None:
    """The invited respondent, named by phone only: nothing on record."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == room["phones"]["b"]))
        user.id_number = None
        db.session.commit()


def received(sock) -> dict[str, list[dict]]:
    """Everything the client received since last asked, by event name."""
    found: dict[str, list[dict]] = {}
    for event in sock.get_received(NS):
        found.setdefault(event["name"], []).append(event["args"][0])
    return found


def entry_in(rosters: list[dict], participant_id: int) -> dict:
    return next(m for m in rosters[-1]["members"] if m["id"] == participant_id)


def roster_entry(sock, participant_id: int) -> dict:
    return entry_in(events(sock, "roster"), participant_id)


def test_the_mediator_types_the_number_on_the_card_and_confirms_it(app, room, connect):
    without_id_number(app, room)
    mediator, b = connect("mediator"), connect("b")
    mediator.emit("admit", {"participant": room["ids"]["b"]}, namespace=NS)
    entry = roster_entry(mediator, room["ids"]["b"])
    # What the mediator's identity step shows: nothing on record, nothing confirmed.
    assert entry["id_number"] is None and entry["id_confirmed"] is False
    # The party sees none of it about himself in his own roster either.
    assert roster_entry(b, room["ids"]["b"])["id_confirmed"] is None
    drain(mediator)
    # A wrong number is refused with the reason; nothing is confirmed.
    mediator.emit(
        "confirm_identity",
        {"participant": room["ids"]["b"], "id_number": "110105194912310021"},
        namespace=NS,
    )
    [error] = events(mediator, "error")
    assert error["code"] == "invalid" and "校验位" in error["message"]
    assert respondent_of(app, room).id_number is None
    mediator.emit(
        "confirm_identity",
        {"participant": room["ids"]["b"], "id_number": valid_id_number(55), "ethnicity": "04"},
        namespace=NS,
    )
    got = received(mediator)
    assert "error" not in got
    user = respondent_of(app, room)
    assert (user.id_number, user.ethnicity) == (valid_id_number(55), "04")
    assert user.id_confirmed_at is not None
    entry = entry_in(got["roster"], room["ids"]["b"])
    assert entry["identity_confirmed"] and entry["id_confirmed"]
    assert entry["id_number"] == user.id_number_masked and entry["ethnicity"] == "04"
    with app.app_context():
        logged = db.session.scalars(
            select(JournalEntry.payload).where(
                JournalEntry.case_id == room["case"],
                JournalEntry.action == "room.identity_confirmed",
            )
        ).one()
    assert logged["entered_by_mediator"] and logged["id_confirmed"]
    assert valid_id_number(55) not in str(logged)  # masked in the journal


def test_only_the_mediator_and_never_over_a_confirmed_number(app, room, connect):
    mediator, a, b = connect("mediator"), connect("a"), connect("b")
    for who in ("a", "b"):
        mediator.emit("admit", {"participant": room["ids"][who]}, namespace=NS)
    drain(a, b)
    # A party cannot type anyone's number, his own included.
    a.emit(
        "confirm_identity",
        {"participant": room["ids"]["a"], "id_number": valid_id_number(66)},
        namespace=NS,
    )
    assert events(a, "error")[-1]["code"] == "forbidden"
    mediator.emit("confirm_identity", {"participant": room["ids"]["a"]}, namespace=NS)
    with app.app_context():
        applicant = db.session.scalar(select(User).where(User.phone == room["phones"]["a"]))
        before = applicant.id_number
        assert applicant.id_confirmed_at is not None
    drain(mediator)
    # Confirmed: typing another number later for the same account is refused.
    mediator.emit(
        "confirm_identity",
        {"participant": room["ids"]["b"], "id_number": before},
        namespace=NS,
    )
    # The number is claimed by b now and confirmed only for a: b's stays unconfirmed.
    assert respondent_of(app, room).id_confirmed_at is None
    assert roster_entry(mediator, room["ids"]["b"])["id_confirmed"] is False


def test_malformed_identity_fields_are_refused(app, room, connect):
    mediator, _b = connect("mediator"), connect("b")
    mediator.emit("admit", {"participant": room["ids"]["b"]}, namespace=NS)
    drain(mediator)
    for bad in (
        {"id_number": 110105194912310021},
        {"id_number": "1" * 41},
        {"ethnicity": ["01"]},
        {"ethnicity": "汉族"},
    ):
        mediator.emit("confirm_identity", {"participant": room["ids"]["b"], **bad}, namespace=NS)
        [error] = events(mediator, "error")
        assert error["code"] == "invalid", bad
    assert respondent_of(app, room).id_confirmed_at is None
