"""Dispute categories are data: the platform administrator adds and edits them."""

import pytest
from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.cases import categories
from mediation.cases.models import Category
from mediation.core.forms import FieldError
from mediation.extensions import db
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_case, make_user


def test_the_defaults_say_where_judicial_confirmation_is_impossible(app_ctx):
    rows = {c.code: c for c in categories.all_categories()}
    assert len(rows) >= 24
    # SPC CPL interpretation art 355: identity relations and ownership confirmation.
    assert not rows["identity_relations"].judicial_confirmation
    assert not rows["ownership_confirmation"].judicial_confirmation
    assert rows["neighbourhood"].judicial_confirmation
    assert rows["neighbourhood"].name_zh == "邻里纠纷"


def test_admin_adds_and_edits_a_category(app):
    with app.app_context():
        phone = make_user(Role.platform_admin).phone
        db.session.commit()
    client = app.test_client()
    login(client, phone, PASSWORD)
    new = {
        "code": "pets",
        "name_zh": "宠物饲养纠纷",
        "name_en": "Pets",
        "judicial_confirmation": "y",
        "active": "y",
    }
    assert post_form(client, "/admin/categories/new", new).status_code == 302
    assert "宠物饲养纠纷" in client.get("/admin/categories/").get_data(as_text=True)
    edit = {**new, "code": "renamed", "name_zh": "宠物纠纷", "judicial_confirmation": ""}
    assert post_form(client, "/admin/categories/pets", edit).status_code == 302
    with app.app_context():
        pets = db.session.get(Category, "pets")
        assert pets.name_zh == "宠物纠纷" and not pets.judicial_confirmation
        assert db.session.get(Category, "renamed") is None  # codes never change
    duplicate = post_form(client, "/admin/categories/new", new, form_page="/admin/categories/new")
    assert "已有相同代码的纠纷类型" in duplicate.get_data(as_text=True)


def test_a_withdrawn_category_takes_no_new_cases(app_ctx):
    categories.save_category(
        code="other", name_zh="其他", name_en="Other", judicial_confirmation=True, active=False
    )
    a, b = make_user(), make_user()
    from mediation.cases import operations as cases

    with pytest.raises(FieldError):
        cases.open_case(title="x", category="other", applicants=[a], respondents=[b], by=a)
    assert make_case(a, b).category == "neighbourhood"
    assert "other" not in [code for code, _ in categories.choices()]
    assert db.session.scalar(select(Category.active).where(Category.code == "other")) is False
