"""A party opens an account; bad identity data is explained and nothing is saved."""

from sqlalchemy import func, select

from mediation.accounts.models import User
from mediation.extensions import db
from tests.conftest import post_form
from tests.factories import valid_id_number

GOOD = {
    "real_name": "王小明",
    "id_number": valid_id_number(7),
    "phone": "13912345678",
    "email": "",
    "password": "a long password",
}


def users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_register_creates_a_party_and_logs_in(app, client):
    response = post_form(client, "/register", GOOD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/cases/")
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.phone == "+8613912345678"
        assert user.password_hash.startswith("$argon2")
        assert {r.value for r in user.roles} == {"party"}


def test_bad_id_number_is_explained_and_nothing_is_saved(app, client):
    entered = {
        **GOOD,
        "id_number": GOOD["id_number"][:-1] + ("1" if GOOD["id_number"][-1] != "1" else "2"),
    }
    response = post_form(client, "/register", entered)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "身份证号码校验位不正确" in page
    assert 'aria-invalid="true"' in page
    # What the person typed is still in the form.
    assert 'value="王小明"' in page and 'value="13912345678"' in page
    assert users(app) == 0


def test_bad_phone_number_is_explained_and_nothing_is_saved(app, client):
    response = post_form(client, "/register", {**GOOD, "phone": "1234"})
    page = response.get_data(as_text=True)
    assert "这不是有效的电话号码" in page or "该手机号码不存在" in page
    assert 'value="王小明"' in page
    assert users(app) == 0


def test_an_id_number_registers_once(app, client):
    post_form(client, "/register", GOOD)
    other = app.test_client()
    response = post_form(other, "/register", {**GOOD, "phone": "13912345679"})
    assert "该身份证号码已注册" in response.get_data(as_text=True)
    assert users(app) == 1
