"""What is said in the room and is one side's alone — everything in a session held with
one side (SPC online mediation rules art 16), a caucus in a joint session — is journaled
as a hash; the words are sealed for that side. What is said before everyone stays in the
journal as it was said. Identities confirmed in a session with one side are sealed too."""

from __future__ import annotations

from mediation.cases.models import Side
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry, SealedContent
from mediation.rooms import arrival
from mediation.rooms import operations as rooms
from mediation.rooms.models import RoomMember
from tests.factories import make_mediating_case
from tests.one_side import SECRET_CHAT, book_one_side
from tests.signaling.conftest import open_session


def _in_the_room(session):
    members = {}
    for n, participant in enumerate(session.participants):
        arrival.arrive(participant, f"sid-{session.id}-{n}")
        members[participant.role] = db.session.get(RoomMember, participant.id)
    rooms.admit(members["party"], by=members["mediator"])
    rooms.confirm_identity(members["party"], by=members["mediator"])
    return members, rooms.room_of(session)


def _entries(case_id: int, action: str) -> list[JournalEntry]:
    return (
        db.session.query(JournalEntry)
        .filter_by(case_id=case_id, action=action)
        .order_by(JournalEntry.seq)
        .all()
    )


def test_chat_and_identities_in_a_session_with_one_side_are_sealed(app_ctx):
    case = make_mediating_case()
    session = book_one_side(case, Side.applicant)
    members, room = _in_the_room(session)
    rooms.say(members["party"], room, SECRET_CHAT)

    (chat,) = _entries(case.id, "room.chat")
    assert "text" not in chat.payload and SECRET_CHAT not in str(chat.payload)
    assert chat.payload["sealed"]["side"] == Side.applicant
    assert db.session.get(SealedContent, chat.id).content == {"text": SECRET_CHAT}
    (identity,) = _entries(case.id, "room.identity_confirmed")
    applicant = case.party_users()[0]
    assert applicant.real_name not in str(identity.payload)
    assert db.session.get(SealedContent, identity.id).content["name"] == applicant.real_name
    assert journal.verify_chain(case.id).ok and journal.sealed_problems(case.id) == []


def test_a_caucus_is_sealed_and_the_joint_session_is_not(app_ctx):
    case = make_mediating_case()
    session = open_session(case)
    members = {}
    for n, participant in enumerate(session.participants):
        arrival.arrive(participant, f"sid-{n}")
        members[participant.user_id] = db.session.get(RoomMember, participant.id)
    mediator = members[case.mediator_id]
    applicant, respondent = (members[u.id] for u in case.party_users())
    for party in (applicant, respondent):
        rooms.admit(party, by=mediator)
    room = rooms.room_of(session)
    rooms.say(applicant, room, "大家好")
    rooms.caucus(room, Side.applicant, by=mediator)
    rooms.say(applicant, room, SECRET_CHAT)
    rooms.say(respondent, room, "我们等一下")  # the waiting side's own talk

    joint, caucus, waiting = _entries(case.id, "room.chat")
    assert joint.payload["text"] == "大家好" and "sealed" not in joint.payload
    assert SECRET_CHAT not in str(caucus.payload)
    assert caucus.payload["sealed"]["side"] == Side.applicant
    assert waiting.payload["sealed"]["side"] == Side.respondent
    assert journal.sealed_problems(case.id) == []
