"""Writing the minutes: the mediator only, every version journaled."""

from __future__ import annotations

import pytest

from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.minutes import operations as minutes
from tests.factories import make_mediating_case
from tests.signaling.conftest import open_session


def test_the_mediator_writes_and_every_version_is_kept_in_the_journal(app_ctx):
    case = make_mediating_case()
    session = open_session(case)
    assert not minutes.written(session.id)
    minutes.save(session, {"attendees": "王调解、张三、李四"}, by=case.mediator)
    assert not minutes.written(session.id)  # attendees alone are no record
    minutes.save(session, {"facts": "双方确认欠款5000元"}, by=case.mediator)
    saved = minutes.save(session, {"facts": "双方确认欠款6000元"}, by=case.mediator)
    assert saved.version == 3 and saved.attendees == "王调解、张三、李四"
    assert minutes.written(session.id)
    entries = db.session.query(JournalEntry).filter_by(action="minutes.saved").all()
    assert [e.payload.get("facts") for e in entries] == [
        None,
        "双方确认欠款5000元",
        "双方确认欠款6000元",
    ]


def test_nobody_else_writes_and_bad_input_is_refused(app_ctx):
    case = make_mediating_case()
    session = open_session(case)
    with pytest.raises(NotPermittedError):
        minutes.save(session, {"facts": "x"}, by=case.party_users()[0])
    with pytest.raises(FieldError) as unknown:
        minutes.save(session, {"verdict": "x"}, by=case.mediator)
    assert unknown.value.field == "verdict"
    with pytest.raises(FieldError):
        minutes.save(session, {"facts": "长" * 20_001}, by=case.mediator)
    assert minutes.of_session(session.id) is None
