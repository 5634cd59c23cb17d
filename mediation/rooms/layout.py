"""The media layout: who may exchange audio and video with whom, decided by the server.

Pure functions of the room's members and its caucus. In the joint session every admitted
participant who is present is in one group. In a caucus with side S, the mediator and S's
members form the caucus; each other side waits in a group of its own (a party may still
talk with their own agent). Media flows only within a group: the signaling server relays
offers, answers and candidates only inside one, and tells each client whom to connect to.
Within a group, someone whose identity is not yet confirmed, or who has not acknowledged the
warning against sham mediation, is connected to the mediator only.

Besides the media, a *lobby link* (``may_link``): a person waiting in the lobby and a
mediator present may make their peer connection while the person waits (offer, answer, ICE,
DTLS), with no camera or microphone on it, so that the let-in only puts the media on a
connection that is ready (issue 18: admission to first frame). Only that pair: never two
parties, never the recorder, and a link carries media only once ``may_flow`` joins the two.

The recorder is one more seat (id ``RECORDER``), hidden and receive-only: it is in the
joint session, and in a caucus only where the institution records caucuses, and present
only while the session has started and everyone in it has agreed to be recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

JOINT = "joint"
LOBBY = "lobby"
RECORDER = 0  # the recorder's id in layouts (participants' ids start at 1)


@dataclass(frozen=True)
class Seat:
    participant_id: int
    role: str  # mediator, party or agent
    side: str | None
    admitted: bool
    present: bool
    # Identity confirmed by the mediator and the art 17 warning acknowledged: until then a
    # participant sees and hears the mediator only.
    cleared: bool = True
    # Which connection of the participant this is (see RoomMember.epoch).
    epoch: int = 0
    # Their answer to recording: True, False, or None (not asked yet).
    consent: bool | None = None
    # The recorder has written frames of this participant's file of the current stretch
    # (the recorder's epoch and this participant's, ``recording_state``).
    written: bool = False


def group_of(seat: Seat, caucus_side: str | None) -> str:
    """The group ``seat`` is in: "lobby" (not admitted or away), "joint", "caucus:S" or
    "waiting:S"."""
    if not seat.present or not (seat.admitted or seat.role == "mediator"):
        return LOBBY
    if caucus_side is None:
        return JOINT
    if seat.role in ("mediator", "recorder") or seat.side == caucus_side:
        return f"caucus:{caucus_side}"
    return f"waiting:{seat.side}"


def may_flow(a: Seat, b: Seat, caucus_side: str | None) -> bool:
    if a.participant_id == b.participant_id:
        return False
    group = group_of(a, caucus_side)
    if group == LOBBY or group != group_of(b, caucus_side):
        return False
    # SPC online mediation rules art 17: identities are checked, and the warning given,
    # before the parties meet; the mediator needs to see each of them to do it.
    return "mediator" in (a.role, b.role) or (a.cleared and b.cleared)


def peers_of(seat: Seat, seats: Iterable[Seat], caucus_side: str | None) -> list[int]:
    """Whom ``seat`` exchanges media with, by participant id."""
    return sorted(s.participant_id for s in seats if may_flow(seat, s, caucus_side))


def _waiting(seat: Seat) -> bool:
    """A person in the lobby: here, not yet let in (the mediator is never "let in", and the
    recorder is no person)."""
    return seat.present and not seat.admitted and seat.role not in ("mediator", "recorder")


def _hosting(seat: Seat) -> bool:
    return seat.present and seat.role == "mediator"


def may_link(a: Seat, b: Seat) -> bool:
    """Whether ``a`` and ``b`` may make a peer connection without media: exactly a person
    waiting in the lobby and a mediator of the session who is here. Only the signaling of
    that connection is relayed (the mediator's ICE candidates reach the person waiting);
    clients put no camera or microphone on it until ``may_flow`` joins the two."""
    return (_waiting(a) and _hosting(b)) or (_waiting(b) and _hosting(a))


def links_of(seat: Seat, seats: Iterable[Seat]) -> list[int]:
    """With whom ``seat`` keeps a connection ready, without media (``may_link``)."""
    return sorted(s.participant_id for s in seats if may_link(seat, s))


def may_signal(a: Seat, b: Seat, caucus_side: str | None) -> bool:
    """Whether the server relays offers, answers and candidates between the two."""
    return may_flow(a, b, caucus_side) or may_link(a, b)


def chat_scopes(seat: Seat) -> set[str]:
    """The chat scopes a participant may read: the joint chat, and the caucus and waiting
    talk of their own side; the mediator reads every caucus they held."""
    if seat.role == "mediator":
        return {JOINT, "caucus:applicant", "caucus:respondent"}
    return {JOINT, f"caucus:{seat.side}", f"waiting:{seat.side}"}


def recording_on(seats: Iterable[Seat], *, started: bool, ended: bool) -> bool:
    """Whether the session may be recorded now: it has started, and everyone taking part
    (all admitted and present but the mediator) has agreed. SPC online mediation rules
    art 22: audio-video recording needs the parties' explicit consent; one "no", or a consent
    withdrawn, stops it for everyone."""
    people = [s for s in seats if s.admitted and s.role not in ("mediator", "recorder")]
    taking_part = [s for s in people if s.present]
    return (
        started
        and not ended
        and bool(taking_part)
        and all(s.consent is True for s in taking_part)
        # A "no" holds while its speaker is away too.
        and not any(s.consent is False for s in people)
    )


STARTING = "starting"
RECORDING = "recording"


def recording_state(seats: Iterable[Seat], caucus_side: str | None) -> str | None:
    """What the room says of its recording: None while the recorder receives nobody,
    "starting" from when it is let in until every stream it receives has frames written in
    a file of the current stretch, then "recording". Only then is it shown as recorded: what
    is said before goes into no file (SPC online mediation rules art 22)."""
    seats = list(seats)
    recorder = next((s for s in seats if s.participant_id == RECORDER), None)
    if recorder is None or not recorder.present:
        return None
    recorded = [s for s in seats if may_flow(recorder, s, caucus_side)]
    if not recorded:
        return None
    return RECORDING if all(s.written for s in recorded) else STARTING


def recorder_seat(
    *, connected: bool, epoch: int, caucus_side: str | None, record_caucus: bool, on: bool
) -> Seat:
    """The recorder's seat: admitted to a caucus only where the institution records them,
    present only while connected and ``recording_on``."""
    return Seat(
        RECORDER,
        "recorder",
        None,
        admitted=caucus_side is None or record_caucus,
        present=connected and on,
        epoch=epoch,
    )
