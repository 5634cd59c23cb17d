"""Who may exchange media with whom, as a pure function of the room."""

from mediation.rooms.layout import LOBBY, Seat, chat_scopes, group_of, may_flow, peers_of

MEDIATOR = Seat(1, "mediator", None, admitted=True, present=True)
A = Seat(2, "party", "applicant", admitted=True, present=True)
A_AGENT = Seat(3, "agent", "applicant", admitted=True, present=True)
B = Seat(4, "party", "respondent", admitted=True, present=True)
SEATS = [MEDIATOR, A, A_AGENT, B]


def test_in_the_joint_session_everyone_admitted_and_present_is_connected():
    assert peers_of(MEDIATOR, SEATS, None) == [2, 3, 4]
    assert peers_of(B, SEATS, None) == [1, 2, 3]


def test_the_lobby_and_the_absent_exchange_nothing():
    waiting = Seat(5, "party", "respondent", admitted=False, present=True)
    away = Seat(6, "party", "applicant", admitted=True, present=False)
    assert group_of(waiting, None) == LOBBY == group_of(away, None)
    assert not may_flow(MEDIATOR, waiting, None) and not may_flow(A, away, None)
    assert peers_of(waiting, [*SEATS, waiting], None) == []


def test_a_caucus_cuts_the_other_side_off_from_everyone_in_it():
    assert peers_of(MEDIATOR, SEATS, "applicant") == [2, 3]
    assert peers_of(A, SEATS, "applicant") == [1, 3]
    assert peers_of(B, SEATS, "applicant") == []
    assert not may_flow(B, MEDIATOR, "applicant") and not may_flow(A, B, "applicant")
    # The side waiting keeps its own people together.
    b_agent = Seat(7, "agent", "respondent", admitted=True, present=True)
    assert peers_of(B, [*SEATS, b_agent], "applicant") == [7]


def test_chat_of_a_caucus_is_read_by_its_side_and_the_mediator_only():
    assert "caucus:applicant" in chat_scopes(A) and "caucus:applicant" in chat_scopes(MEDIATOR)
    assert "caucus:applicant" not in chat_scopes(B)
    assert "waiting:respondent" not in chat_scopes(MEDIATOR)
