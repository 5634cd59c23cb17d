"""Resident ID numbers (GB 11643), phone numbers, masking."""

import pytest

from mediation import create_app
from mediation.accounts.identity import (
    IdentityError,
    id_number_check_char,
    mask_id_number,
    mask_phone,
    validate_id_number,
    validate_phone,
)


@pytest.fixture(autouse=True)
def _context(tmp_path):
    # Messages are lazy strings: they need an app to be rendered in the default language.
    with create_app({"ENV_NAME": "testing", "INSTANCE_PATH": str(tmp_path)}).test_request_context():
        yield


def test_published_example_number_is_valid():
    # The example of GB 11643-1999 itself, with X as its check character.
    assert id_number_check_char("11010519491231002") == "X"
    assert validate_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("110105194912310021", "校验位不正确"),  # right length, wrong check digit
        ("11010519491231002", "应为18位"),
        ("11010519491231002Y", "17位数字"),
        ("99010519491231002X", "行政区划代码"),
        ("110105194902300025", "出生日期不存在"),  # 30 February
        ("110105290001010020", "出生日期不合理"),  # born in 2900
    ],
)
def test_bad_id_numbers_are_explained(number, message):
    with pytest.raises(IdentityError) as error:
        validate_id_number(number)
    assert message in str(error.value)


def test_every_single_digit_change_is_caught():
    good = "11010519491231002X"
    for position in range(17):
        digit = good[position]
        changed = good[:position] + str((int(digit) + 1) % 10) + good[position + 1 :]
        with pytest.raises(IdentityError):
            validate_id_number(changed)


def test_phone_numbers_are_normalised_to_e164():
    assert validate_phone("138 0013 8000") == "+8613800138000"
    assert validate_phone("+86 138-0013-8000") == "+8613800138000"
    for bad in ("12345", "abc", "+86 100 0000 0000"):
        with pytest.raises(IdentityError):
            validate_phone(bad)


def test_only_mobile_numbers_are_accepted():
    with pytest.raises(IdentityError, match="手机号码"):
        validate_phone("025 8330 0000")  # a Nanjing landline: a text message never arrives


def test_masks_show_only_what_identifies_loosely():
    assert mask_id_number("32010219850418007X") == "3201**********007X"
    assert mask_phone("+8613800138000") == "+86 138****8000"
    assert mask_id_number(None) == ""
