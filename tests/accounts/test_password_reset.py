"""Password reset by a one-time code sent through the outbox."""

import re
import threading
from datetime import timedelta

from sqlalchemy import select

from mediation.accounts import operations as accounts
from mediation.accounts.models import CodePurpose, OneTimeCode, User
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_user


def last_code(app) -> str:
    with app.app_context():
        message = db.session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id.desc())
        ).first()
        return re.search(r"\d{6}", message.body).group()


def new_user(app) -> str:
    with app.app_context():
        phone = make_user().phone
        db.session.commit()
        return phone


def test_reset_with_the_code_changes_the_password(app, client):
    phone = new_user(app)
    other_session = app.test_client()
    assert login(other_session, phone, PASSWORD).status_code == 302

    response = post_form(client, "/password/forgot", {"identifier": phone})
    assert response.status_code == 302
    code = last_code(app)

    wrong = "000000" if code != "000000" else "111111"
    form = {"identifier": phone, "code": wrong, "password": "new password 2026"}
    response = post_form(client, "/password/reset", form)
    assert "验证码错误或已过期" in response.get_data(as_text=True)

    response = post_form(client, "/password/reset", {**form, "code": code})
    assert response.status_code == 302
    assert login(app.test_client(), phone, "new password 2026").status_code == 302
    assert login(app.test_client(), phone, PASSWORD).status_code == 200
    # The session logged in with the old password has ended.
    assert other_session.get("/cases/").status_code == 302


def test_wrong_tries_use_up_a_code_and_a_code_works_once(app_ctx):
    user = make_user()
    code = accounts.issue_code(user, CodePurpose.password_reset)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(app_ctx.config["ONE_TIME_CODE_MAX_ATTEMPTS"]):
        assert not accounts.consume_code(user, CodePurpose.password_reset, wrong)
    # Even the right code no longer works after too many wrong ones.
    assert not accounts.consume_code(user, CodePurpose.password_reset, code)

    code = accounts.issue_code(user, CodePurpose.password_reset)
    assert accounts.consume_code(user, CodePurpose.password_reset, code)
    assert not accounts.consume_code(user, CodePurpose.password_reset, code)


def test_an_expired_code_does_not_work(app_ctx):
    user = make_user()
    code = accounts.issue_code(user, CodePurpose.password_reset, now=utcnow() - timedelta(hours=1))
    assert not accounts.consume_code(user, CodePurpose.password_reset, code)


def test_reset_attempts_are_throttled_per_account(app, client):
    phone = new_user(app)
    form = {"identifier": phone, "code": "000000", "password": "x" * 10}
    statuses = [post_form(client, "/password/reset", form).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_unknown_accounts_get_the_same_answer(app, client):
    response = post_form(
        client, "/password/forgot", {"identifier": "13700000000"}, form_page="/password/forgot"
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage)) is None


def test_parallel_wrong_guesses_are_all_counted(app):
    with app.app_context():
        user = make_user()
        code = accounts.issue_code(user, CodePurpose.password_reset)
        db.session.commit()
        user_id = user.id
    wrong = "000000" if code != "000000" else "111111"
    barrier, results, errors = threading.Barrier(8), [], []

    def guess():
        try:
            with app.app_context():
                from mediation.accounts.models import User

                barrier.wait()
                user = db.session.get(User, user_id)
                results.append(accounts.consume_code(user, CodePurpose.password_reset, wrong))
                db.session.commit()
        except Exception as error:  # collected: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and results == [False] * 8
    with app.app_context():
        record = db.session.scalar(select(OneTimeCode))
        assert record.attempts == app.config["ONE_TIME_CODE_MAX_ATTEMPTS"]
        user = db.session.get(User, user_id)
        assert not accounts.consume_code(user, CodePurpose.password_reset, code)
