"""Identity data: resident ID numbers (GB 11643), phone numbers, and their masked forms.

Validators return the normalised value or raise ``IdentityError`` with a message that is
shown to the user as it is (already translated).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime

import phonenumbers
from flask_babel import lazy_gettext as _l

# GB 11643-1999: weights of the first 17 digits are 2^(17-i) mod 11; the check character
# is chosen so that the weighted sum including it is 1 modulo 11.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)

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
    # Full-width digits and "Ｘ" (typed with a Chinese input method) are the same number;
    # any other digit of Unicode (str.isdigit accepts "²" or "٣") is not.
    number = unicodedata.normalize("NFKC", value).strip().replace(" ", "").upper()
    if len(number) != 18:
        raise IdentityError(_l("A resident ID number has 18 characters."))
    if not _SHAPE.fullmatch(number):
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


def sex_of(number: str) -> str:
    """ "male" or "female", from a valid 18-digit number: the 17th digit (the order code's
    last) is odd for men and even for women (GB 11643-1999, 4.3.2)."""
    return "male" if int(number[16]) % 2 else "female"


def birth_date_of(number: str) -> date:
    """The date of birth a valid 18-digit number carries in its 7th to 14th digits
    (GB 11643-1999, 4.2)."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


# The 56 nationalities (民族) with their codes of GB/T 3304-1991, as the resident identity
# card names them; the Chinese name is what documents print, the English one is for an
# English page.
ETHNICITIES: tuple[tuple[str, str, str], ...] = (
    ("01", "汉族", "Han"),
    ("02", "蒙古族", "Mongol"),
    ("03", "回族", "Hui"),
    ("04", "藏族", "Tibetan"),
    ("05", "维吾尔族", "Uyghur"),
    ("06", "苗族", "Miao"),
    ("07", "彝族", "Yi"),
    ("08", "壮族", "Zhuang"),
    ("09", "布依族", "Bouyei"),
    ("10", "朝鲜族", "Korean"),
    ("11", "满族", "Manchu"),
    ("12", "侗族", "Dong"),
    ("13", "瑶族", "Yao"),
    ("14", "白族", "Bai"),
    ("15", "土家族", "Tujia"),
    ("16", "哈尼族", "Hani"),
    ("17", "哈萨克族", "Kazakh"),
    ("18", "傣族", "Dai"),
    ("19", "黎族", "Li"),
    ("20", "傈僳族", "Lisu"),
    ("21", "佤族", "Va"),
    ("22", "畲族", "She"),
    ("23", "高山族", "Gaoshan"),
    ("24", "拉祜族", "Lahu"),
    ("25", "水族", "Sui"),
    ("26", "东乡族", "Dongxiang"),
    ("27", "纳西族", "Naxi"),
    ("28", "景颇族", "Jingpo"),
    ("29", "柯尔克孜族", "Kyrgyz"),
    ("30", "土族", "Tu"),
    ("31", "达斡尔族", "Daur"),
    ("32", "仫佬族", "Mulao"),
    ("33", "羌族", "Qiang"),
    ("34", "布朗族", "Blang"),
    ("35", "撒拉族", "Salar"),
    ("36", "毛南族", "Maonan"),
    ("37", "仡佬族", "Gelao"),
    ("38", "锡伯族", "Xibe"),
    ("39", "阿昌族", "Achang"),
    ("40", "普米族", "Pumi"),
    ("41", "塔吉克族", "Tajik"),
    ("42", "怒族", "Nu"),
    ("43", "乌孜别克族", "Uzbek"),
    ("44", "俄罗斯族", "Russian"),
    ("45", "鄂温克族", "Evenki"),
    ("46", "德昂族", "De'ang"),
    ("47", "保安族", "Bonan"),
    ("48", "裕固族", "Yugur"),
    ("49", "京族", "Gin"),
    ("50", "塔塔尔族", "Tatar"),
    ("51", "独龙族", "Derung"),
    ("52", "鄂伦春族", "Oroqen"),
    ("53", "赫哲族", "Hezhen"),
    ("54", "门巴族", "Monba"),
    ("55", "珞巴族", "Lhoba"),
    ("56", "基诺族", "Jino"),
)
_ETHNICITY_NAMES = {code: (zh, en) for code, zh, en in ETHNICITIES}


def validate_ethnicity(value: str | None) -> str | None:
    """The code of one of the 56 nationalities, or None for none given."""
    value = (value or "").strip()
    if not value:
        return None
    if value not in _ETHNICITY_NAMES:
        raise IdentityError(_l("Choose the ethnicity from the list."))
    return value


def ethnicity_name(code: str | None, *, english: bool = False) -> str:
    if not code or code not in _ETHNICITY_NAMES:
        return ""
    return _ETHNICITY_NAMES[code][1 if english else 0]


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
