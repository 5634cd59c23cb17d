"""Sealed content: an entry that records one side's words keeps their salted hash, the
words are kept beside the chain for that side; the chain still verifies, a changed or
missing sealed record is found, and the journal views show the words to that side and the
case's staff only. Entries of a session with one side written before sealing existed are
redacted for the other side by the view."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from mediation.cases.models import Side
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import SealedContent
from tests.conftest import login
from tests.factories import PASSWORD, make_mediating_case
from tests.one_side import body_of

WORDS = "同意"  # short enough that an unsalted hash would give it away


@pytest.fixture
def made(app):
    with app.app_context():
        case = make_mediating_case()
        sealed = journal.append(
            case.id,
            "room.chat",
            {"session_id": 999, "scope": "caucus:applicant"},
            actor_id=None,
            sealed={"text": WORDS},
            side=Side.applicant,
        )
        db.session.commit()
        applicant, respondent = case.party_users()
        ids = {
            "case": case.id,
            "entry": sealed.id,
            "applicant": applicant.phone,
            "respondent": respondent.phone,
            "mediator": case.mediator.phone,
        }
        db.session.remove()
    return ids


def test_the_entry_keeps_a_salted_hash_and_the_chain_holds(app_ctx, made):
    entry = db.session.get(journal.JournalEntry, made["entry"])
    assert "text" not in entry.payload and WORDS not in str(entry.payload)
    kept = db.session.get(SealedContent, entry.id)
    assert entry.payload["sealed"] == {
        "side": "applicant",
        "sha256": journal.sealed_digest(kept.nonce, {"text": WORDS}),
    }
    # The same words sealed twice hash differently: nobody confirms a guess from the hash.
    again = journal.append(
        made["case"], "room.chat", {}, actor_id=None, sealed={"text": WORDS}, side="applicant"
    )
    assert again.payload["sealed"]["sha256"] != entry.payload["sealed"]["sha256"]
    assert journal.verify_chain(made["case"]).ok
    assert journal.sealed_problems(made["case"]) == []


def test_sealed_content_needs_a_side(app_ctx, made):
    with pytest.raises(ValueError):
        journal.append(made["case"], "room.chat", {}, actor_id=None, sealed={"text": WORDS})


def test_a_changed_or_missing_sealed_record_is_found(app_ctx, made):
    seq = db.session.get(journal.JournalEntry, made["entry"]).seq
    db.session.execute(
        text("UPDATE journal_sealed SET content = :c WHERE entry_id = :e"),
        {"c": '{"text": "不同意"}', "e": made["entry"]},
    )
    assert journal.sealed_problems(made["case"]) == [seq]
    db.session.execute(text("DELETE FROM journal_sealed WHERE entry_id = :e"), {"e": made["entry"]})
    assert journal.sealed_problems(made["case"]) == [seq]
    assert journal.verify_chain(made["case"]).ok  # the chain itself never held the words


def _chat_payload(app, phone: str, case_id: int) -> dict:
    client = app.test_client()
    login(client, phone, PASSWORD)
    entries = client.get(f"/cases/{case_id}/journal.json").get_json()["entries"]
    return next(e["payload"] for e in entries if e["action"] == "room.chat")


def test_the_views_show_the_words_to_their_side_and_staff_only(app, made):
    assert _chat_payload(app, made["respondent"], made["case"])["text"] == "—"
    assert _chat_payload(app, made["applicant"], made["case"])["text"] == WORDS
    assert _chat_payload(app, made["mediator"], made["case"])["text"] == WORDS
    client = app.test_client()
    login(client, made["respondent"], PASSWORD)
    # (The page's own words include 同意 — "待被申请人同意" —, so the chat line is read.)
    page = client.get(f"/cases/{made['case']}/journal").get_data(as_text=True)
    assert f'<span class="prewrap">{WORDS}</span>' not in page
    mediator = app.test_client()
    login(mediator, made["mediator"], PASSWORD)
    page = mediator.get(f"/cases/{made['case']}/journal").get_data(as_text=True)
    assert f'<span class="prewrap">{WORDS}</span>' in page


def test_entries_written_before_sealing_are_redacted_for_the_other_side(app):
    with app.app_context():
        case = make_mediating_case()
        # As the platform wrote them before: the booking names the side, the words in clear.
        journal.append(
            case.id, "session.booked", {"session_id": 7, "side": "applicant"}, actor_id=None
        )
        journal.append(
            case.id,
            "room.chat",
            {"session_id": 7, "scope": "joint", "text": "底线三万"},
            actor_id=None,
        )
        journal.append(
            case.id,
            "minutes.saved",
            {"session_id": 7, "version": 1, "facts": "申请人承认延期", "proposals": "先提四万"},
            actor_id=None,
        )
        db.session.commit()
        applicant, respondent = case.party_users()
        phones, case_id = (applicant.phone, respondent.phone), case.id
        db.session.remove()
    other = app.test_client()
    login(other, phones[1], PASSWORD)
    for url in (f"/cases/{case_id}/journal.json", f"/cases/{case_id}/journal"):
        body = body_of(other.get(url))
        assert "底线三万" not in body and "申请人承认延期" not in body and "先提四万" not in body
    own = app.test_client()
    login(own, phones[0], PASSWORD)
    assert "底线三万" in body_of(own.get(f"/cases/{case_id}/journal.json"))
