"""The room's identity step in a real browser: the mediator types the number on the card
of a respondent who has none on record, chooses his ethnicity, and confirms (issue #16)."""

from __future__ import annotations

from sqlalchemy import select

from mediation.accounts.models import User
from mediation.extensions import db
from tests.browser.conftest import WAIT_MS, enter
from tests.factories import valid_id_number


def test_the_mediator_types_the_number_on_the_card_and_confirms(
    app, live_server, browser_factory, session_in_progress
):
    s = session_in_progress
    with app.app_context():  # the invited respondent, named by phone only
        him = db.session.scalar(select(User).where(User.phone == s["phones"]["b"]))
        him.id_number = None
        db.session.commit()
    mediator = enter(browser_factory, live_server, s["phones"]["mediator"], s["session"])
    enter(browser_factory, live_server, s["phones"]["b"], s["session"])
    line = f"#roster li[data-participant='{s['ids']['b']}']"
    mediator.click(f"{line} button.admit", timeout=WAIT_MS)
    number = mediator.locator(f"{line} input[name=id_number]")
    number.wait_for(timeout=WAIT_MS)
    assert "尚未登记" in mediator.inner_text(line)  # nothing on record: type the card's
    # A mistyped digit: the reason is shown, nothing is confirmed, nothing typed is lost.
    number.fill("110105194912310021")
    mediator.click(f"{line} button.confirm-identity")
    mediator.wait_for_function(
        "() => document.getElementById('notice').textContent.includes('校验位')",
        timeout=WAIT_MS,
    )
    assert number.input_value() == "110105194912310021"
    number.fill(valid_id_number(909))
    mediator.select_option(f"{line} select[name=ethnicity]", label="壮族")
    mediator.click(f"{line} button.confirm-identity")
    mediator.wait_for_selector(f"{line} button.confirm-identity", state="detached", timeout=WAIT_MS)
    assert "身份已核实" in mediator.inner_text(line)
    with app.app_context():
        him = db.session.scalar(select(User).where(User.phone == s["phones"]["b"]))
        assert (him.id_number, him.ethnicity) == (valid_id_number(909), "08")
        assert him.id_confirmed_at is not None
