"""An institution administrator adds mediators to the roster."""

from sqlalchemy import func, select

from mediation.accounts.models import Role, User
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_institution, make_user, valid_id_number


def admin_client(app):
    with app.app_context():
        institution = make_institution()
        phone = make_user(Role.institution_admin, institution_id=institution.id).phone
        db.session.commit()
    client = app.test_client()
    login(client, phone, PASSWORD)
    return client


FORM = {
    "real_name": "孙调解",
    "id_number": valid_id_number(500),
    "phone": "13711112222",
    "specialities": "婚姻家庭",
    "categories": ["marriage_family", "inheritance"],
    # As a Chinese administrator types a list: the enumeration comma (顿号) and the wide one.
    "languages": "普通话、闽南话，客家话",
    "charges_fee": "",
    "fee_note": "",
}


def test_a_mediator_is_added_with_a_profile_and_a_code(app):
    client = admin_client(app)
    response = post_form(client, "/institution/mediators/new", FORM)
    assert response.status_code == 302
    with app.app_context():
        mediator = db.session.scalar(select(User).where(User.real_name == "孙调解"))
        assert mediator.roles == {Role.mediator}
        assert mediator.mediator_profile.categories == ["marriage_family", "inheritance"]
        assert mediator.mediator_profile.languages == ["普通话", "闽南话", "客家话"]
        assert mediator.password_hash is None
        sms = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.recipient == "+8613711112222")
        )
        assert "重置密码的验证码" in sms.body
    roster = client.get("/institution/").get_data(as_text=True)
    assert "孙调解" in roster and "普通话、闽南话、客家话" in roster


def test_a_bad_id_number_saves_nothing_and_keeps_the_form(app):
    client = admin_client(app)
    response = post_form(
        client, "/institution/mediators/new", {**FORM, "id_number": "320102198001011230"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "身份证号码校验位不正确" in page or "出生日期" in page
    assert 'value="孙调解"' in page and "婚姻家庭" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.real_name == "孙调解")) == 0
