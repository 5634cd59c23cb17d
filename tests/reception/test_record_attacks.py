"""The host's record of a talk attacked from outside: a forged kind of dispute or step,
the party, another mediator or a visitor posting to the record, and the record corrected
after the case was filed, then "file a case" pressed again with the first words. Each
answer a page; one case, whose facts are what it was filed with. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from mediation.cases.models import Case
from mediation.extensions import db
from mediation.reception.models import ReceptionBooking
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_institution, make_mediator

from .test_pressed_twice import NOTES, _booked, _count, _host_presses, world

__all__ = ["world"]  # the fixture, used below


def test_forged_kinds_and_steps_are_answered_with_the_form(app, world):
    booking_id = _booked(app, world)
    path = f"/reception/{booking_id}/record"
    [(client, form)] = _host_presses(app, world, booking_id, "case", 1)
    for category in ("../labour", "x" * 5000, "\u00b2", "LABOUR"):
        response = client.post(path, data={**form, "category": category})
        assert response.status_code == 422, (category[:10], response.status_code)
    # An unknown step saves the record, as the plain "save" does, and takes it no further.
    response = client.post(path, data={**form, "action": "delete"})
    assert response.status_code == 302 and _count(app, Case) == 0


def test_only_the_host_writes_the_record(app, world):
    booking_id = _booked(app, world)
    path = f"/reception/{booking_id}/record"
    with app.app_context():
        other = make_mediator(make_institution(region_code="420102"))
        db.session.commit()
        phones = {"party": world["party"], "other": world["other"], "mediator": other.phone}
    for who, phone in phones.items():
        client = app.test_client()
        assert login(client, phone, PASSWORD).status_code == 302
        token = csrf_token(client, "/account")
        data = {"notes": "伪造的记录", "category": "labour", "action": "case", "csrf_token": token}
        response = client.post(path, data=data)
        assert response.status_code in (403, 404), (who, response.status_code)
    with app.app_context():
        assert not db.session.get(ReceptionBooking, booking_id).notes
    assert _count(app, Case) == 0


def test_a_record_corrected_after_filing_leaves_the_case_as_filed(app, world):
    booking_id = _booked(app, world)
    path = f"/reception/{booking_id}/record"
    [(client, form)] = _host_presses(app, world, booking_id, "case", 1)
    assert client.post(path, data=form).status_code == 302
    corrected = NOTES + "更正：欠薪四个月。"
    saved = client.post(path, data={**form, "notes": corrected, "action": "save"})
    assert saved.status_code == 302
    again = client.post(path, data=form)  # "file a case" with the first words, at once
    assert again.status_code in (302, 422)
    with app.app_context():
        assert db.session.scalars(select(Case.facts)).all() == [NOTES]
        booking = db.session.get(ReceptionBooking, booking_id)
        assert booking.notes == corrected and booking.edited_at is not None
