"""What an ID number tells (sex, date of birth: GB 11643), ethnicity, hostile input, and who
may set or confirm whose identity (issue #16: an invited respondent's identity)."""

from __future__ import annotations

from datetime import date

import pytest

from mediation import create_app
from mediation.accounts import operations as accounts
from mediation.accounts.identity import (
    ETHNICITIES,
    IdentityError,
    birth_date_of,
    ethnicity_name,
    id_number_check_char,
    sex_of,
    validate_ethnicity,
    validate_id_number,
)
from mediation.core.forms import FieldError


def number(first17: str) -> str:
    return first17 + id_number_check_char(first17)


@pytest.fixture
def context(tmp_path):
    with create_app({"ENV_NAME": "testing", "INSTANCE_PATH": str(tmp_path)}).test_request_context():
        yield


# -- what the number says ------------------------------------------------------------------


def test_the_standards_example_is_a_woman_born_on_31_december_1949(context):
    # GB 11643-1999's own example: order code 002, even, a woman.
    example = validate_id_number("11010519491231002X")
    assert sex_of(example) == "female"
    assert birth_date_of(example) == date(1949, 12, 31)


@pytest.mark.parametrize(("order", "sex"), [("001", "male"), ("010", "female"), ("999", "male")])
def test_the_seventeenth_digit_gives_the_sex(context, order, sex):
    assert sex_of(validate_id_number(number("32010219800229" + order))) == sex


def test_a_leap_day_is_a_date_of_birth_and_29_february_1981_is_not(context):
    assert birth_date_of(number("32010219800229001")) == date(1980, 2, 29)
    with pytest.raises(IdentityError):
        validate_id_number(number("32010219810229001"))


def test_the_check_character_catches_one_wrong_digit_and_two_swapped(context):
    good = number("32010219800115003")
    assert validate_id_number(good) == good
    wrong = good[:10] + str((int(good[10]) + 1) % 10) + good[11:]
    swapped = good[:15] + good[16] + good[15] + good[17:]  # "03" read as "30"
    for bad in (wrong, swapped):
        with pytest.raises(IdentityError, match="校验位"):
            validate_id_number(bad)


def test_a_full_width_number_from_a_chinese_keyboard_is_the_same_number(context):
    plain = validate_id_number("11010519491231002X")
    wide = "".join(chr(ord(c) + 0xFEE0) for c in "11010519491231002X")
    assert validate_id_number(wide) == plain
    assert validate_id_number(" 110105 19491231 002x ") == plain


@pytest.mark.parametrize(
    "hostile",
    [
        "110105194912310²2X",  # a superscript digit: str.isdigit says yes, int() says no
        "110105194912310٠2X",  # an Arabic-Indic zero
        "11010519491231002X\x00",
        "11010519491231002X" * 1000,
        "<script>alert(1)</script>",
        "'; DROP TABLE users; --",
        "",
        "\ud800" * 18,
    ],
)
def test_hostile_numbers_are_refused_with_a_message_never_an_exception(context, hostile):
    with pytest.raises(IdentityError) as refused:
        validate_id_number(hostile)
    assert str(refused.value)


def test_the_56_ethnicities_and_nothing_else(context):
    assert len(ETHNICITIES) == 56 and len({code for code, _, _ in ETHNICITIES}) == 56
    assert ethnicity_name("01") == "汉族" and ethnicity_name("01", english=True) == "Han"
    assert ethnicity_name("56") == "基诺族"
    assert validate_ethnicity("") is None and validate_ethnicity("03") == "03"
    for bad in ("57", "00", "汉族", "01 ", "x" * 500):
        if bad.strip() == "01":
            continue
        with pytest.raises(IdentityError):
            validate_ethnicity(bad)


# -- who may set whose identity ----------------------------------------------------------------


def test_a_person_sets_and_corrects_their_claim_until_it_is_confirmed(app_ctx):
    from tests.factories import make_user, valid_id_number

    person = make_user(id_number=None)
    mediator = make_user()
    with pytest.raises(FieldError) as missing:
        accounts.set_identity(person, id_number=None, ethnicity="01")
    assert missing.value.field == "id_number"
    assert accounts.set_identity(person, id_number=valid_id_number(701), ethnicity="01")
    assert accounts.set_identity(person, id_number=valid_id_number(702), ethnicity=None)
    assert person.id_number == valid_id_number(702) and person.ethnicity == "01"
    assert not accounts.set_identity(person, id_number="", ethnicity="")  # nothing changes
    assert accounts.confirm_id_number(person, by=mediator)
    # Confirmed: the number is fixed, for the person and for any mediator.
    for vouched in (False, True):
        with pytest.raises(FieldError):
            accounts.set_identity(person, id_number=valid_id_number(703), ethnicity=None)
        with pytest.raises(FieldError):
            accounts.set_identity(person, id_number=None, ethnicity="02", vouched=vouched)
    # The same number typed again changes nothing and is no error.
    assert not accounts.set_identity(person, id_number=valid_id_number(702), ethnicity="01")
    assert person.id_number == valid_id_number(702)


def test_a_confirmed_identity_without_an_ethnicity_may_get_one_from_the_mediator_only(app_ctx):
    from tests.factories import make_user

    person, mediator = make_user(), make_user()
    accounts.confirm_id_number(person, by=mediator)
    with pytest.raises(FieldError):
        accounts.set_identity(person, id_number=None, ethnicity="05")
    assert accounts.set_identity(person, id_number=None, ethnicity="05", vouched=True)
    assert person.ethnicity == "05"


def test_claiming_a_number_someone_holds_confirmed_tells_nothing_and_confirms_nothing(app_ctx):
    from tests.factories import make_user, valid_id_number

    owner, claimant, mediator = make_user(), make_user(id_number=None), make_user()
    accounts.confirm_id_number(owner, by=mediator)
    # Accepted as a claim, without comment (docs/security.md: nobody learns it is taken) ...
    assert accounts.set_identity(claimant, id_number=owner.id_number, ethnicity=None)
    # ... but it is never confirmed for a second account.
    assert not accounts.confirm_id_number(claimant, by=mediator)
    assert claimant.id_confirmed_at is None
    assert owner.id_number != valid_id_number(9999)
