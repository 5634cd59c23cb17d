"""Opening an account: the phone number is proven by a code before the account exists;
bad identity data is explained and nothing is saved; the answers never tell who is
registered (issue #15, item 1 and the registration items of item 7)."""

from sqlalchemy import func, select

from mediation.accounts.models import User
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import code_sent_to, login, post_form
from tests.factories import PASSWORD, make_user, valid_id_number

PHONE = "+8613912345678"
GOOD = {
    "real_name": "王小明",
    "id_number": valid_id_number(7),
    "email": "",
    "password": "a long password",
}


def users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def start(client, phone: str = "13912345678"):
    return post_form(client, "/register", {"phone": phone})


def finish(client, code: str, **changes):
    return post_form(client, "/register/confirm", {**GOOD, "code": code, **changes})


def test_the_code_comes_first_and_the_account_after(app, client):
    response = start(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/register/confirm")
    assert users(app) == 0  # nothing exists before the number is proven
    response = finish(client, code_sent_to(app, PHONE))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/cases/")
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.phone == PHONE
        assert user.phone_verified_at is not None
        assert user.id_confirmed_at is None  # only claimed until a mediator sees the card
        assert user.password_hash.startswith("$argon2")
        assert {r.value for r in user.roles} == {"party"}


def test_a_wrong_code_opens_nothing_and_keeps_what_was_typed(app, client):
    start(client)
    right = code_sent_to(app, PHONE)
    wrong = "000000" if right != "000000" else "111111"
    response = finish(client, wrong)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "验证码错误或已过期" in page
    assert 'value="王小明"' in page
    assert users(app) == 0


def test_bad_id_number_is_explained_and_nothing_is_saved(app, client):
    start(client)
    bad = GOOD["id_number"][:-1] + ("1" if GOOD["id_number"][-1] != "1" else "2")
    response = finish(client, code_sent_to(app, PHONE), id_number=bad)
    page = response.get_data(as_text=True)
    assert "身份证号码校验位不正确" in page
    assert 'aria-invalid="true"' in page
    assert 'value="王小明"' in page
    assert users(app) == 0


def test_bad_phone_number_is_explained(app, client):
    response = start(client, "1234")
    page = response.get_data(as_text=True)
    assert "这不是有效的电话号码" in page or "该手机号码不存在" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_a_registered_number_gets_the_same_answer_and_its_owner_a_note(app, client):
    with app.app_context():
        make_user(phone="13912345678", real_name="李四")
        db.session.commit()
    other = app.test_client()
    free = start(other, "13912345670")
    taken = start(client)
    # The same redirect and the same words: nobody learns that the number has an account.
    assert taken.status_code == free.status_code == 302
    assert taken.headers["Location"] == free.headers["Location"]
    flashed = [client.get("/register/confirm").get_data(as_text=True)]
    assert "已向 +86 139****5678 发送短信" in flashed[0] or "139****5678" in flashed[0]
    with app.app_context():
        note = db.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.recipient == PHONE)
        ).one()
    assert "已有账户" in note and not any(ch.isdigit() for ch in note)
    # No code was sent, so none can take the account over.
    response = finish(client, "123456")
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(User.real_name).where(User.phone == PHONE)) == "李四"


def test_an_id_number_claimed_by_someone_else_does_not_lock_its_owner_out(app, client):
    with app.app_context():
        # Someone claimed the number first (never confirmed on camera).
        make_user(phone="13900000001", id_number=GOOD["id_number"])
        db.session.commit()
    start(client)
    response = finish(client, code_sent_to(app, PHONE))
    assert response.status_code == 302
    assert "已注册" not in response.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(User.id)).where(User.id_number == GOOD["id_number"])
            )
            == 2
        )


def test_pre_registration_gives_no_access_and_the_owner_takes_the_account_over(app, client):
    """The attack of issue #15 item 1: someone registered the victim's number first."""
    with app.app_context():
        squatter = make_user(phone="13912345678", real_name="冒名者", verified=False)
        db.session.commit()
        squatter_id = squatter.id
    # The squatter's right password opens nothing: the code goes to the victim's phone.
    attacker = app.test_client()
    response = login(attacker, PHONE, PASSWORD)
    assert response.headers["Location"].endswith("/login/verify")
    assert attacker.get("/cases/").status_code == 302  # not logged in
    # The owner proves the number and registers: the account becomes theirs.
    start(client)
    assert finish(client, code_sent_to(app, PHONE)).status_code == 302
    with app.app_context():
        user = db.session.get(User, squatter_id)
        assert user.real_name == "王小明" and user.phone_verified_at is not None
    assert login(app.test_client(), PHONE, PASSWORD).status_code == 200  # refused


def test_a_right_password_on_an_unproven_number_needs_the_code(app, client):
    with app.app_context():
        make_user(phone="13912345678", verified=False)
        db.session.commit()
    response = login(client, PHONE, PASSWORD)
    assert response.headers["Location"].endswith("/login/verify")
    response = post_form(client, "/login/verify", {"code": code_sent_to(app, PHONE)})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == PHONE))
        assert user.phone_verified_at is not None
        assert user.password_hash  # the person who knew it also holds the phone


def test_another_browser_can_neither_spend_nor_retire_the_owner_s_code(app, client):
    """The reviewer's finding: a registration code is the browser's that asked for it."""
    start(client)
    right = code_sent_to(app, PHONE)
    attacker = app.test_client()
    app.config.update(CODE_INTERVAL_SECONDS=0)
    start(attacker)  # asks too: the owner's code stays valid
    for guess in ("000000", "111111", "222222", "333333", "444444", "555555"):
        finish(attacker, guess)
    assert finish(attacker, right).status_code == 422  # the owner's code, the wrong browser
    assert finish(client, right).status_code == 302
    assert users(app) == 1


def test_a_closed_account_is_not_taken_over_by_registering(app, client):
    with app.app_context():
        closed = make_user(phone="13912345678", real_name="已注销", verified=False)
        closed.active = False
        db.session.commit()
    start(client)
    assert finish(client, "123456").status_code == 422  # no code was sent: nothing to enter
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == PHONE))
        assert user.real_name == "已注销" and not user.active
