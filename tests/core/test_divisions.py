"""Divisions named as people name them (core.divisions: the National Bureau of Statistics'
list of division codes, GB/T 2260 and GB/T 10114), never by a bare code where the list has
the place."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from mediation.core import divisions


@pytest.fixture
def without_the_list(tmp_path, monkeypatch):
    """An installation whose ``make assets`` never copied the list."""
    monkeypatch.setattr(divisions, "TABLE_DIR", tmp_path)
    for cached in (divisions._counties_and_up, divisions._streets):
        cached.cache_clear()
    yield
    for cached in (divisions._counties_and_up, divisions._streets):
        cached.cache_clear()


def test_a_division_is_named_alone_or_with_its_parents(app_ctx):
    with app_ctx.test_request_context():
        assert divisions.name("32") == "江苏省"
        assert divisions.name("3201") == "南京市"
        assert divisions.name("320102") == "玄武区"
        assert divisions.name("320102", full=True) == "江苏省南京市玄武区"
    with app_ctx.test_request_context(), force_locale("en"):
        assert divisions.name("320102") == "Xuanwu District"
        assert divisions.name("320102", full=True) == "Xuanwu District, Nanjing, Jiangsu"


def test_every_province_city_county_and_street_of_the_list_is_named(app_ctx):
    with app_ctx.test_request_context():
        # Elsewhere than the places first served (once "浙江省下辖区划330100").
        assert divisions.name("3301", full=True) == "浙江省杭州市"
        assert divisions.name("330106", full=True) == "浙江省杭州市西湖区"
        # A street (GB/T 10114: its county's code and three digits).
        assert divisions.name("320102007") == "锁金村街道"
        assert divisions.name("320102007", full=True) == "江苏省南京市玄武区锁金村街道"
        # A municipality's districts are not in a city: no 市辖区 in the full name.
        assert divisions.name("110101", full=True) == "北京市东城区"
        assert divisions.name("1101") == "北京市市辖区"
        assert divisions.name("1101", full=True) == "北京市市辖区"
        # A county-level city a province governs directly.
        assert divisions.name("419001", full=True) == "河南省济源市"
        assert divisions.name("81") == "香港特别行政区"
        # A city without counties is listed again as its own county: named once.
        assert divisions.name("441900003", full=True) == "广东省东莞市东城街道"
        assert divisions.name("441900", full=True) == "广东省东莞市"
        assert divisions.name("441900") == "东莞市"
    with app_ctx.test_request_context(), force_locale("en"):
        # No English name on record: the Chinese one, within the English ones known.
        assert divisions.name("330106", full=True) == "西湖区, 杭州市, Zhejiang"


def test_a_code_not_in_the_list_is_named_by_its_nearest_parent_and_the_code(app_ctx):
    with app_ctx.test_request_context():
        # A street the list does not have (it lags behind the streets a county opens).
        assert divisions.name("320102001") == "玄武区下辖区划320102001"
        assert divisions.name("330199", full=True) == "浙江省杭州市下辖区划330199"
        assert divisions.name("99") == "区划 990000"
    with app_ctx.test_request_context(), force_locale("en"):
        assert divisions.name("320102001") == "Xuanwu District, division 320102001"


def test_which_codes_name_a_division(app_ctx):
    for area in ("32", "3201", "320102", "320102007", "1101", "4190", "71"):
        assert divisions.exists(area), area
    # A street is known by its county, listed or not.
    assert divisions.exists("320102001")
    for area in ("99", "3299", "330199", "330199001", "", "3"):
        assert not divisions.exists(area), area
    # A Chinese input method's full-width digits are no code.
    assert divisions.prefix("３２０１０２") == ""


def test_the_page_filter_reads_a_typed_code_back_as_a_place(app_ctx):
    with app_ctx.test_request_context():
        assert divisions.of_code("330106") == "浙江省杭州市西湖区"
        assert divisions.of_code("320000") == "江苏省"
        assert divisions.of_code("") == ""
        assert divisions.of_code("abc") == "abc"


def test_without_the_list_the_english_list_names_and_codes_are_checked_for_shape(
    app_ctx, without_the_list
):
    assert not divisions.listed()
    assert divisions.exists("330199")  # nothing to check it against
    with app_ctx.test_request_context():
        assert divisions.name("320102", full=True) == "江苏省南京市玄武区"
        assert divisions.name("3301", full=True) == "浙江省下辖区划330100"


def test_a_list_without_its_counties_or_unreadable_checks_codes_for_shape_only(
    app_ctx, without_the_list
):
    (divisions.TABLE_DIR / "provinces.csv").write_text("code,name\n32,江苏省\n")
    (divisions.TABLE_DIR / "cities.csv").write_bytes(b"code,name\n\xff\xfe\n")  # not UTF-8
    assert not divisions.listed()
    assert divisions.exists("330106")  # not refused for want of its county's row
    with app_ctx.test_request_context():
        assert divisions.name("32") == "江苏省"


def test_every_province_has_a_name():
    assert len(divisions.PROVINCES) == 34
    assert all(code in divisions.NAMES for code, _zh, _en in divisions.PROVINCES)


def test_a_division_created_after_the_list_is_added_by_the_operator(app_ctx, divisions_added):
    """A county created since the list was published: refused and named by a code until the
    operator adds it (``mediation divisions add``), then taken and named like any other,
    its streets with it."""
    assert not divisions.exists("330199")
    assert divisions.add("330199", "新设区") == "330199"
    assert divisions.exists("330199") and divisions.exists("330199001")
    assert divisions.add("330199001", " 新设街道 ") == "330199001"
    with app_ctx.test_request_context():
        assert divisions.name("330199", full=True) == "浙江省杭州市新设区"
        assert divisions.name("330199001", full=True) == "浙江省杭州市新设区新设街道"
        assert divisions.name("330199002", full=True) == "浙江省杭州市新设区下辖区划330199002"
    assert divisions_added.read_text(encoding="utf-8") == "330199,新设区\n330199001,新设街道\n"
    # Read again by a process started afterwards (configure, as create_app does).
    divisions.configure(divisions_added)
    assert divisions.chinese_name("330199") == "新设区"


@pytest.mark.parametrize(
    ("code", "name", "why"),
    [
        ("33019", "某区", "no division code"),
        ("３３０１９９", "某区", "no division code"),
        ("330000", "某省", "provinces are not added"),
        ("339901", "某区", "339900 is not listed"),  # a mistyped city: its county is refused
        ("330199001", "某街道", "330199 is not listed"),
        ("330199", "", "Chinese characters only"),
        ("330199", "某区,330106,西湖区", "Chinese characters only"),
        ("330199", "某" * 41, "at most 40"),
        ("330199", "Oops City", "Chinese characters only"),  # English on a Chinese page
        ("330199", "=1+2", "Chinese characters only"),  # a formula, in a spreadsheet
        ("330199", "新设\u202e区", "Chinese characters only"),  # a bidi control
        ("330109", "新设区", "listed already, as 萧山区: check the code, or rename it"),
        ("330106", "西湖区", "listed already, as 西湖区"),
    ],
)
def test_a_division_is_added_only_under_a_listed_parent_with_a_plain_name(
    divisions_added, code, name, why
):
    with pytest.raises(ValueError, match=why):
        divisions.add(code, name)
    assert not divisions_added.exists()


def test_an_added_file_with_bad_rows_keeps_the_good_ones(app_ctx, divisions_added, caplog):
    divisions_added.write_text(
        "\ufeff# added by the operator\n330199,新设区\n\nabc,某区\n３３０１９８,某区\n330197\n"
        "330196,Oops\n330195,=1+2\n330000,某省\n",
        encoding="utf-8",
    )
    divisions.configure(divisions_added)
    assert divisions.chinese_name("330199") == "新设区"
    for area in ("330198", "330197", "330196", "330195"):
        assert not divisions.exists(area), area
    assert divisions.chinese_name("33") == "浙江省"
    assert sum("not a code and a name" in r.message for r in caplog.records) == 6
    divisions_added.write_bytes(b"330199,\xff\xfe\n")  # not UTF-8: nothing added, said
    divisions.configure(divisions_added)
    assert not divisions.exists("330199")
    assert any("cannot be read" in r.message for r in caplog.records)


def test_a_row_is_added_on_a_line_of_its_own(divisions_added):
    divisions_added.write_text("330199,新设区", encoding="utf-8")  # edited by hand, no end
    divisions.add("330198", "又一新区")
    assert divisions_added.read_text(encoding="utf-8") == "330199,新设区\n330198,又一新区\n"
    assert divisions.chinese_name("330199") == "新设区"


def test_a_listed_division_is_renamed_only_when_asked(app_ctx, divisions_added):
    assert divisions.add("330109", "萧山新区", rename=True) == "330109"
    with app_ctx.test_request_context():
        assert divisions.name("330109", full=True) == "浙江省杭州市萧山新区"


def test_the_file_is_read_when_the_process_starts(divisions_added):
    """Every process names alike: one that has named no place yet does not read rows added
    since it started."""
    divisions.configure(divisions_added)
    divisions_added.write_text("330199,新设区\n", encoding="utf-8")
    assert not divisions.exists("330199")
    divisions.configure(divisions_added)
    assert divisions.exists("330199")


def test_without_a_file_configured_nothing_is_added(divisions_added):
    divisions.configure(None)
    with pytest.raises(ValueError, match="DIVISIONS_ADDED"):
        divisions.add("330199", "新设区")


def test_an_app_reads_the_file_its_configuration_names(tmp_path, divisions_added):
    from mediation import create_app

    divisions_added.write_text("330199,新设区\n", encoding="utf-8")
    settings = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    create_app(
        {**settings, "INSTANCE_PATH": str(tmp_path / "a"), "DIVISIONS_ADDED": str(divisions_added)}
    )
    assert divisions.chinese_name("330199") == "新设区"
    app = create_app({**settings, "INSTANCE_PATH": str(tmp_path / "b")})  # by default
    assert tmp_path / "b" / "divisions-added.csv" == divisions.ADDED
    assert app.config["DIVISIONS_ADDED"] == str(divisions.ADDED)
    assert not divisions.exists("330199")
