"""What the platform calls "the database is away" (a 503 asking to try again) and what it
calls a fault of its own (a 500, logged with its traceback): PostgreSQL's answers, for real."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from mediation.accounts.models import User
from mediation.core.db import is_unreachable
from mediation.extensions import db

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def test_a_server_that_does_not_answer_is_away(app):
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/none")  # nothing listens
    with pytest.raises(OperationalError) as refused:
        engine.connect()
    assert is_unreachable(refused.value)


def test_a_client_side_fault_with_no_sqlstate_is_no_busy_database(app_ctx):
    # psycopg refuses more than 65,535 parameters before sending: an OperationalError with
    # no SQLSTATE, as a lost connection has, but the platform's own fault.
    with pytest.raises(OperationalError) as fault:
        db.session.execute(select(User.id).where(User.id.in_(list(range(70_000)))))
    db.session.rollback()
    assert getattr(fault.value.orig, "sqlstate", None) is None
    assert not is_unreachable(fault.value)
    assert db.session.execute(text("SELECT 1")).scalar() == 1
