""" "Send me the code" on the application for judicial confirmation pressed twice, with
production pacing: answered as the first press, one text (as on the agreement's signing
page, tests/agreements/test_code_pressed_twice.py)."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from mediation.core.db import utcnow
from mediation.court import application as applying
from mediation.extensions import db
from tests.agreements.test_code_pressed_twice import paced, press_send_code_twice

from .conftest import in_force

__all__ = ["paced"]  # the fixture, used below


def test_send_code_pressed_twice_on_the_application_sends_one_code(app, paced):
    with app.app_context():
        world = in_force()  # the agreement signed: each party was sent a signing code
        applicant = world.case.party_users()[0]
        applying.start(world.case, world.court, by=applicant)
        db.session.commit()
        case_id, phone = world.case.id, applicant.phone
    # Past the minute of the agreement's signing codes (a new need, told to wait otherwise).
    with time_machine.travel(utcnow() + timedelta(minutes=5)):
        press_send_code_twice(app, f"/cases/{case_id}/confirmation/sign", phone)
