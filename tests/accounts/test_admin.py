"""The platform administrator creates institutions, courts and staff accounts."""

from sqlalchemy import select

from mediation.accounts.models import Court, Institution, Role, User
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_user, valid_id_number


def admin_client(app):
    with app.app_context():
        phone = make_user(Role.platform_admin).phone
        db.session.commit()
    client = app.test_client()
    login(client, phone, PASSWORD)
    return client


def test_institution_court_and_judge_are_created(app):
    client = admin_client(app)
    institution = {
        "name": "鼓楼区人民调解委员会",
        "region_code": "320106",
        "address": "南京市鼓楼区",
    }
    assert post_form(client, "/admin/institutions/new", institution).status_code == 302
    court = {
        "name": "南京市鼓楼区人民法院",
        "level": "basic",
        "region_code": "320106",
        "address": "",
    }
    assert post_form(client, "/admin/courts/new", court).status_code == 302
    with app.app_context():
        court_id = db.session.scalar(select(Court.id))
    judge = {
        "real_name": "钱法官",
        "id_number": valid_id_number(801),
        "phone": "13722223333",
        "email": "",
        "role": "judge",
        "institution_id": "0",
        "court_id": str(court_id),
    }
    assert post_form(client, "/admin/accounts/new", judge).status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.real_name == "钱法官"))
        assert user.roles == {Role.judge} and user.court_id == court_id
        assert user.institution_id is None and user.password_hash is None
        assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == user.phone))
        assert db.session.scalar(select(Institution.region_code)) == "320106"


def test_staff_needs_their_organisation_and_nothing_is_saved_without(app):
    client = admin_client(app)
    mediator = {
        "real_name": "冯调解",
        "id_number": valid_id_number(802),
        "phone": "13722224444",
        "email": "",
        "role": "mediator",
        "institution_id": "0",
        "court_id": "0",
    }
    page = post_form(client, "/admin/accounts/new", mediator).get_data(as_text=True)
    assert "请选择此人所在的调解机构" in page and 'value="冯调解"' in page
    with app.app_context():
        assert db.session.scalar(select(User).where(User.real_name == "冯调解")) is None


def test_bad_region_code_is_explained(app):
    client = admin_client(app)
    page = post_form(
        client, "/admin/institutions/new", {"name": "x", "region_code": "32", "address": "y"}
    ).get_data(as_text=True)
    assert "行政区划代码为6位数字" in page
    with app.app_context():
        assert db.session.scalar(select(Institution)) is None


def test_a_code_naming_no_division_is_refused_and_a_good_one_read_back_as_a_place(app):
    """A mistyped digit would file an institution's cases, or point a region's staff, at a
    place that does not exist: their pages would stay empty without saying why."""
    client = admin_client(app)
    typed = {"name": "西湖区人民调解委员会", "region_code": "330199", "address": "杭州市西湖区"}
    page = post_form(client, "/admin/institutions/new", typed).get_data(as_text=True)
    assert "没有代码为330199的行政区划，请对照行政区划代码核对；2023年以后新设的区划" in page
    assert 'value="西湖区人民调解委员会"' in page  # what was typed is kept
    street = {**typed, "region_code": "330106", "street_code": "330199001"}
    page = post_form(client, "/admin/institutions/new", street).get_data(as_text=True)
    assert "没有代码为330199001的行政区划" in page
    court = {"name": "某法院", "level": "basic", "region_code": "999999", "address": ""}
    page = post_form(client, "/admin/courts/new", court).get_data(as_text=True)
    assert "没有代码为999999的行政区划" in page
    staff = {
        "real_name": "褚区域",
        "id_number": valid_id_number(803),
        "phone": "13722225555",
        "email": "",
        "role": "governance",
        "institution_id": "0",
        "court_id": "0",
        "area_code": "320199",
    }
    page = post_form(client, "/admin/accounts/new", staff).get_data(as_text=True)
    assert "没有代码为320199的行政区划" in page
    with app.app_context():
        assert db.session.scalar(select(Institution)) is None
        assert db.session.scalar(select(Court)) is None
        assert db.session.scalar(select(User).where(User.real_name == "褚区域")) is None

    # Typed right, each is read back by its name beside the code.
    assert post_form(client, "/admin/institutions/new", {**typed, "region_code": "330106"})
    assert post_form(client, "/admin/courts/new", {**court, "region_code": "330106"})
    assert post_form(client, "/admin/accounts/new", {**staff, "area_code": "320102007"})
    page = client.get("/admin/").get_data(as_text=True)
    assert "西湖区人民调解委员会（浙江省杭州市西湖区）" in page
    assert "浙江省杭州市西湖区" in page.split("某法院")[1]
    with app.app_context():
        assert db.session.scalar(select(User.area_code).where(User.real_name == "褚区域")) == (
            "320102007"
        )


def test_a_county_created_after_the_list_is_taken_once_the_operator_adds_it(
    app, runner, divisions_added
):
    """A county the list does not have yet is refused, saying who can add it; the operator
    adds it from the command line, and the administrator's same form is then taken and the
    institution listed by the county's name."""
    client = admin_client(app)
    typed = {"name": "新设区人民调解委员会", "region_code": "330199", "address": "杭州市新设区"}
    page = post_form(client, "/admin/institutions/new", typed).get_data(as_text=True)
    assert "2023年以后新设的区划，请联系平台运维人员添加。" in page

    shown = runner.invoke(args=["divisions", "show", "330199"])
    assert shown.exit_code == 0 and "浙江省杭州市下辖区划330199\trefused" in shown.output
    wrong = runner.invoke(args=["divisions", "add", "339901", "新设区"])
    assert wrong.exit_code == 1 and "339900 is not listed" in wrong.output
    added = runner.invoke(args=["divisions", "add", "330199", "新设区"])
    assert added.exit_code == 0, added.output
    assert added.output.startswith("added 330199 浙江省杭州市新设区 in ")
    assert str(divisions_added) in added.output
    again = runner.invoke(args=["divisions", "add", "330109", "新设区"])
    assert again.exit_code == 1 and "listed already, as 萧山区" in again.output
    renamed = runner.invoke(args=["divisions", "add", "--rename", "330109", "萧山新区"])
    assert renamed.output.startswith("renamed 330109 浙江省杭州市萧山新区 (was 萧山区) in ")
    shown = runner.invoke(args=["divisions", "show", "330199"])
    assert "浙江省杭州市新设区\ttaken" in shown.output

    assert post_form(client, "/admin/institutions/new", typed).status_code == 302
    page = client.get("/admin/").get_data(as_text=True)
    assert "新设区人民调解委员会（浙江省杭州市新设区）" in page


def test_the_first_administrator_is_created_from_the_command_line(app, runner):
    result = runner.invoke(
        args=["create-admin", "--name", "管理员", "--phone", "13700001234"],
        input="a long password\na long password\n",
    )
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "13700001234", "a long password").status_code == 302
    bad = runner.invoke(
        args=["create-admin", "--name", "x", "--phone", "123"], input="a long password\n" * 2
    )
    assert bad.exit_code != 0
