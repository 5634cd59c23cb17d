"""Identity data: resident ID numbers (GB 11643), phone numbers, and their masked forms.

Validators return the normalised value or raise ``IdentityError`` with a message that is
shown to the user as it is (already translated).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import phonenumbers
from flask_babel import lazy_gettext as _l

# GB 11643-1999: weights of the first 17 digits are 2^(17-i) mod 11; the check character
# is chosen so that the weighted sum including it is 1 modulo 11.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARS = "10X98765432"

# Province-level codes of GB/T 2260 (first two digits of every division code).
_PROVINCES = frozenset(
    str(code)
    for code in (
        *(11, 12, 13, 14, 15),  # north
        *(21, 22, 23),  # north-east
        *(31, 32, 33, 34, 35, 36, 37),  # east
        *(41, 42, 43, 44, 45, 46),  # centre and south
        *(50, 51, 52, 53, 54),  # south-west
        *(61, 62, 63, 64, 65),  # north-west
        *(71, 81, 82, 83),  # Taiwan, Hong Kong, Macao; 83: residence permits of Taiwan residents
    )
)


class IdentityError(ValueError):
    """A user-supplied identity value is malformed; ``str(error)`` is the user message."""


def id_number_check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def validate_id_number(value: str, *, today: date | None = None) -> str:
    """Return the 18-character resident ID number in canonical form (upper-case X)."""
    number = value.strip().replace(" ", "").upper()
    if len(number) != 18:
        raise IdentityError(_l("A resident ID number has 18 characters."))
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdentityError(_l("A resident ID number has 17 digits followed by a digit or X."))
    if number[:2] not in _PROVINCES:
        raise IdentityError(_l("The first digits of this ID number are not a region code."))
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentityError(_l("The date of birth in this ID number does not exist.")) from None
    if born > (today or datetime.now(UTC).date()) or born.year < 1900:
        raise IdentityError(_l("The date of birth in this ID number is not possible."))
    if id_number_check_char(number[:17]) != number[17]:
        raise IdentityError(
            _l("This ID number's check digit is wrong; please check every digit again.")
        )
    return number


_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def validate_phone(value: str, region: str = "CN") -> str:
    """Return the mobile number in E.164 form; mainland numbers may omit +86.

    Only mobile numbers: codes and notices go out by text message, and a landline would
    leave them queued for ever.
    """
    try:
        parsed = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        raise IdentityError(_l("This is not a phone number.")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise IdentityError(_l("This phone number does not exist; please check it."))
    if phonenumbers.number_type(parsed) not in _MOBILE_TYPES:
        raise IdentityError(_l("Please give a mobile number: codes are sent by text message."))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_id_number(number: str | None) -> str:
    """3201**********1234: region prefix and last four only."""
    if not number:
        return ""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str | None) -> str:
    """+86 138****5678: enough for a person to recognise their own number."""
    if not phone:
        return ""
    parsed = phonenumbers.parse(phone)
    national = str(parsed.national_number)
    return f"+{parsed.country_code} {national[:3]}{'*' * (len(national) - 7)}{national[-4:]}"
