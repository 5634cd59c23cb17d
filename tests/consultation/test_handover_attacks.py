"""The handover pages attacked from outside: real logins of every role, the forms sent as a
browser sends them (every field of the page's form, in order), hostile notes, stale and
forged holders, repeated posts. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from mediation.accounts.models import Role, User
from mediation.consultation import operations as ops
from mediation.consultation.models import Handover
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import csrf_token
from tests.consultation.test_consultation import ZHEJIANG, _expert
from tests.consultation.test_handover_views import _client, _state, _world
from tests.core.test_no_english import english_words, visible_text
from tests.factories import make_mediating_case, make_user


class _PageForms(HTMLParser):
    """Every form of a page as a browser would send it: (name, value) pairs in the order
    the inputs come (hidden and text inputs; the first radio of a group if none is
    checked is left out, as a browser does)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._open: list[tuple[str, str]] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._open = self.forms.setdefault(attrs.get("action") or "", [])
        elif tag == "input" and self._open is not None and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("radio", "checkbox") and "checked" not in attrs:
                return
            if kind in ("submit", "button", "file"):
                return
            self._open.append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def page_form(client, page: str, action: str) -> list[tuple[str, str]]:
    parser = _PageForms()
    parser.feed(client.get(page).get_data(as_text=True))
    assert action in parser.forms, (action, list(parser.forms))
    return list(parser.forms[action])


def _send(client, action, pairs, **typed):
    """The form sent with ``typed`` in its fields, where the page has them."""
    filled = [(name, typed.pop(name)) if name in typed else (name, v) for name, v in pairs]
    return client.post(action, data=MultiDict([*filled, *typed.items()]))


def _alert(page: str) -> list[str]:
    return re.findall(r'role="alert"[^>]*>([^<]*)<', page)


def test_the_put_back_button_as_the_page_shows_it_puts_the_question_back(app):
    """The administrator presses 放回 on the question's page: the form the browser sends,
    every field of it as rendered, puts the late question back."""
    world = _world(app)
    page = f"/consultation/{world['question']}"
    admin = _client(app, world, "admin")
    action = f"{page}/put-back"
    pairs = page_form(admin, page, action)
    response = _send(admin, action, pairs, note="两天没有回复")
    assert response.status_code == 302, response.status_code
    shown = admin.get(response.location).get_data(as_text=True)
    assert "这个问题已放回本地区专家库" in shown, _alert(shown)
    assert _state(app, world["question"]) == ("open", None, 1)


def test_the_take_over_button_as_the_page_shows_it_takes_the_question_over(app):
    world = _world(app)
    page = f"/consultation/{world['question']}"
    colleague = _client(app, world, "colleague")
    action = f"{page}/take-over"
    response = _send(colleague, action, page_form(colleague, page, action))
    assert response.status_code == 302, response.status_code
    assert _state(app, world["question"]) == ("taken", world["ids"]["colleague"], 1)


def _people(app, world, **more) -> dict:
    """Outsiders not in ROLES: a mediator, a party of a case, an expert of the pool moved to
    another province by an administrator, an institution's administrator with no
    institution; their phones added to ``world``."""
    with app.app_context():
        case = make_mediating_case()
        moved = _expert(real_name="钱律师")
        ops.make_expert(
            moved, kind="lawyer", region_code=ZHEJIANG, categories_=[], languages=[], hours=""
        )
        people = {
            "mediator": case.mediator,
            "party": case.parties[0].user,
            "moved": moved,
            "no_institution": make_user(Role.institution_admin),
            **more,
        }
        db.session.commit()
        world["phones"].update({k: u.phone for k, u in people.items()})
        return {k: u.id for k, u in people.items()}


@pytest.mark.parametrize("step", ["give-back", "take-over", "put-back"])
def test_outsiders_are_refused_every_handover_step(app, step):
    world = _world(app)
    _people(app, world)
    page = f"/consultation/{world['question']}"
    before = _state(app, world["question"])
    for who in ("mediator", "party", "moved", "no_institution"):
        client = _client(app, world, who)
        token = csrf_token(client, "/consultation/ask")
        data = {"csrf_token": token, "holder": world["ids"]["holder"], "reason": "field"}
        response = client.post(f"{page}/{step}", data=data)
        assert response.status_code in (403, 404), (who, response.status_code)
        assert _state(app, world["question"]) == before, who
        listing = client.get("/consultation/questions")
        assert listing.status_code in (403, 404), (who, listing.status_code)


def test_an_expert_moved_to_another_province_still_gives_back_the_question_they_hold(app):
    world = _world(app, late=False)
    with app.app_context():
        holder = db.session.get(User, world["ids"]["holder"])
        ops.make_expert(
            holder, kind="lawyer", region_code=ZHEJIANG, categories_=[], languages=[], hours=""
        )
        db.session.commit()
    page = f"/consultation/{world['question']}"
    client = _client(app, world, "holder")
    action = f"{page}/give-back"
    response = _send(client, action, page_form(client, page, action), reason="field")
    assert response.status_code == 302, response.status_code
    assert _state(app, world["question"]) == ("open", None, 1)


BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _records(app, question_id) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (h.kind, h.note)
            for h in db.session.scalars(
                select(Handover).where(Handover.question_id == question_id).order_by(Handover.id)
            )
        ]


def _outbox(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(OutboxMessage.id)))


@pytest.mark.parametrize("step", ["give-back", "put-back"])
def test_a_note_too_long_comes_back_with_the_form_and_nothing_is_stored(app, step):
    world = _world(app)
    who = "holder" if step == "give-back" else "admin"
    page = f"/consultation/{world['question']}"
    client = _client(app, world, who)
    action = f"{page}/{step}"
    pairs = page_form(client, page, action)
    before = _state(app, world["question"])
    for note in ("长" * 201, "x" * 100_000):
        response = _send(client, action, pairs, reason="other", note=note)
        assert response.status_code == 422, response.status_code
        text = response.get_data(as_text=True)
        assert "200" in text and english_words(visible_text(text)) == {}
        assert _state(app, world["question"]) == before
    # The page it came back with still sends: the note shortened, it goes through.
    again = page_form(client, page, action)
    response = _send(client, action, again, reason="other", note="出差两周")
    assert response.status_code == 302, response.status_code
    assert _records(app, world["question"])[-1][1] == "出差两周"


@pytest.mark.parametrize("step", ["give-back", "put-back"])
def test_a_hostile_note_is_kept_as_plain_words_and_shown_inert(app, step):
    """HTML is shown as text; control characters and the marks that reverse the direction
    of what follows (U+202E) are not words: the record keeps the words, and the staff's
    table shows them in the order they were typed."""
    world = _world(app)
    who = "holder" if step == "give-back" else "admin"
    page = f"/consultation/{world['question']}"
    client = _client(app, world, who)
    action = f"{page}/{step}"
    note = "<script>alert(1)</script>\x07\x1b[31m\u202e回复没\u202c <img src=x onerror=alert(2)>"
    response = _send(client, action, page_form(client, page, action), reason="other", note=note)
    assert response.status_code == 302, response.status_code
    (_kind, stored), *_ = _records(app, world["question"])
    assert not any(unicodedata.category(c) == "Cc" or c in BIDI for c in stored), repr(stored)
    assert "<script>alert(1)</script>" in stored and "回复没" in stored
    admin = _client(app, world, "admin")
    for shown in (admin.get(page), admin.get("/consultation/questions")):
        text = shown.get_data(as_text=True)
        assert shown.status_code == 200
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert(1)" not in text
        assert "<img src=x" not in text


def test_forged_holders_change_nothing_and_break_nothing(app):
    world = _world(app)
    page = f"/consultation/{world['question']}"
    before = _state(app, world["question"])
    for who, step in (("colleague", "take-over"), ("admin", "put-back")):
        client = _client(app, world, who)
        token = csrf_token(client, page)
        for holder in ("", "abc", "-1", "0", "99999999999999999999", "1e3", "\u0661", " "):
            data = {"csrf_token": token, "holder": holder}
            response = client.post(f"{page}/{step}", data=data)
            assert response.status_code == 302, (who, holder, response.status_code)
            said = client.get(response.location).get_data(as_text=True)
            assert "另一位专家刚刚接手了这个问题" in said, (who, holder, _alert(said))
            assert _state(app, world["question"]) == before, (who, holder)
    huge = _client(app, world, "admin").post(f"/consultation/{2**63}/put-back")
    assert huge.status_code in (400, 404), huge.status_code


@pytest.mark.parametrize("step", ["give-back", "take-over", "put-back"])
def test_the_same_step_posted_hundreds_of_times_is_done_and_told_once(app, step):
    """A script posting the step again and again (10,000 times by hand, bench-style; a few
    hundred here): one record, one round of messages, each answer a page, not an error."""
    world = _world(app)
    who = {"give-back": "holder", "take-over": "colleague", "put-back": "admin"}[step]
    page = f"/consultation/{world['question']}"
    client = _client(app, world, who)
    action = f"{page}/{step}"
    pairs = page_form(client, page, action)
    first = _send(client, action, pairs, reason="time", note="")
    assert first.status_code == 302
    told = _outbox(app)
    for _ in range(300):
        response = _send(client, action, pairs, reason="time", note="")
        assert response.status_code in (302, 409), response.status_code
    assert len(_records(app, world["question"])) == 1
    assert _outbox(app) == told
