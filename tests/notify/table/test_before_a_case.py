"""The notification table walked for what comes before a case
(``mediation/notify/table/before_a_case.py``): an account's codes, a question to the
region's experts, a reception day's talk. How a walk goes: tests/notify/table/walk.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.accounts import codes, registration
from mediation.accounts import operations as accounts
from mediation.accounts.models import CodePurpose, Role
from tests.factories import make_institution, make_mediator, make_user
from tests.notify.table.walk import Scenarios, mailable, mark, new_messages

scenario = Scenarios()


# -- accounts -------------------------------------------------------------------------------


@scenario("one-time code asked for")
def _code():
    user = make_user()
    mailable(user)
    return lambda: accounts.issue_code(user, CodePurpose.password_reset), {"the person": [user]}


@scenario("registration on a number that has an account")
def _registration():
    owner = make_user()
    mailable(owner)
    return lambda: registration.start_registration(owner.phone, browser="test"), {"owner": [owner]}


# -- consultation ---------------------------------------------------------------------------


def _expert(region: str = "320000"):
    from mediation.consultation import operations as consultation

    user = make_user(Role.expert)
    consultation.make_expert(
        user, kind="lawyer", region_code=region, categories_=[], languages=[], hours=""
    )
    return mailable(user)[0]


def _question(asker=None):
    from mediation.consultation import operations as consultation

    asker = asker or mailable(make_user())[0]
    return consultation.ask(
        asker, category="neighbourhood", region_code="320000", subject="漏水", text="楼上漏水"
    )


@scenario("question asked")
def _asked():

    experts = [_expert(), _expert()]
    _expert("330000")  # another province's pool is not told
    asker = mailable(make_user())[0]
    return lambda: _question(asker), {"experts": experts}


@scenario("question answered")
def _answered():
    from mediation.consultation import operations as consultation

    expert, question = _expert(), _question()
    return lambda: consultation.answer(question, expert, "可以申请调解。"), {
        "asker": [question.asker]
    }


@scenario("question not answered in time")
def _late():
    from mediation.consultation import operations as consultation

    expert, question = _expert(), _question()
    institution = make_institution(region_code="320102")
    admins = mailable(
        make_user(Role.institution_admin, institution_id=institution.id),
        make_user(Role.platform_admin),
    )
    make_user(Role.institution_admin, institution_id=make_institution(region_code="330102").id)
    later = question.due_at + timedelta(seconds=1)
    return lambda: consultation.escalate_late(now=later), {
        "region admins": list(admins),
        "experts": [expert],
    }


def _held_question():
    """A question the first of two experts of the pool took."""
    from mediation.consultation import operations as consultation

    holder, colleague = _expert(), _expert()
    question = _question()
    consultation.take(question, holder)
    return question, holder, colleague


@scenario("question given back by its expert")
def _given_back():
    from mediation.consultation import operations as consultation

    question, holder, colleague = _held_question()
    return lambda: consultation.give_back(question, holder, "conflict"), {"experts": [colleague]}


@scenario("late question taken over by another expert")
def _taken_over():
    from mediation.consultation import operations as consultation

    question, holder, colleague = _held_question()
    later = question.due_at + timedelta(seconds=1)
    return lambda: consultation.take_over(question, colleague, holder.id, now=later), {
        "withdrawn expert": [holder]
    }


@scenario("late question put back in the pool")
def _put_back():
    from mediation.consultation import operations as consultation

    question, holder, colleague = _held_question()
    admin = mailable(make_user(Role.platform_admin))[0]
    later = question.due_at + timedelta(seconds=1)
    return lambda: consultation.put_back(question, admin, holder.id, now=later), {
        "withdrawn expert": [holder],
        "experts": [colleague],
    }


@scenario("question turned into a case")
def _turned():
    from mediation.consultation import operations as consultation

    question = _question()
    return lambda: consultation.to_case(question, question.asker), {}


# -- reception -------------------------------------------------------------------------------


def _talk():
    from datetime import UTC, datetime, time

    from mediation.booking.availability import add_rule
    from mediation.reception import operations as reception

    now = datetime(2025, 12, 1, 1, 0, tzinfo=UTC)  # a Monday; Thursday is reception day
    host = make_mediator(make_institution(region_code="420102"))
    add_rule(host.id, 3, time(9), time(11), reception=True, place="社区服务中心")
    booker = mailable(make_user())[0]
    start = reception.free_slots(host.id, now.date(), now=now)[0].start
    return host, booker, start, now


@scenario("reception talk booked")
def _talk_booked():
    from mediation.reception import operations as reception

    host, booker, start, now = _talk()
    return lambda: reception.book(booker, host, start, "欠薪", now=now), {"booker": [booker]}


def _held():
    from mediation.reception import operations as reception

    host, booker, start, now = _talk()
    booking = reception.book(booker, host, start, "欠薪", now=now)
    reception.record(booking, host, "欠薪三个月。", now=start)
    return host, booker, booking


@scenario("reception talk cancelled")
def _talk_cancelled():
    from mediation.reception import operations as reception

    host, booker, start, now = _talk()
    booking = reception.book(booker, host, start, "欠薪", now=now)
    return lambda: reception.cancel(booking, booker, now=now), {}


@scenario("reception talk turned into a case")
def _talk_to_case():
    from mediation.reception import operations as reception

    host, booker, booking = _held()
    return lambda: reception.to_case(booking, host, "labour"), {"booker": [booker]}


@scenario("reception talk kept as a consultation answer")
def _talk_to_answer():
    from mediation.reception import operations as reception

    host, booker, booking = _held()
    return lambda: reception.to_answer(booking, host, "labour"), {"booker": [booker]}


@pytest.mark.parametrize("event", scenario.events())
def test_each_step_tells_exactly_whom_the_table_lists(app_ctx, event):
    scenario.walk(event)


def test_a_code_sent_to_a_number_without_an_account(app_ctx):
    """The registration code goes to a number that has no account yet: the table's "the
    person" is the number itself."""
    mark()
    codes.send_to_number("+8613877770011", CodePurpose.registration, browser="test", locale=None)
    assert [(m.channel, m.recipient) for m in new_messages()] == [("sms", "+8613877770011")]
