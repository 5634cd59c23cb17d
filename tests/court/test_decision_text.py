"""The documents of judicial confirmation as the court reads them (pdftotext): the parties'
joint application (司法确认申请书) and the court's ruling (民事裁定书).

Issue #17: the ruling printed a generic sentence instead of the judge's reasons, was signed
法官 without a 书记员, numbered the case in the old 调确字 form, identified the agreement by
16 hex digits and left out the agreed method of payment; the application called the
second applicant 被申请人 and its undertaking lacked the court's promises."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from agreements.render import signing_date
from mediation.accounts.models import CourtLevel
from mediation.agreements import signing
from mediation.court import application as applying
from mediation.court import examination, ruling
from tests.agreements.test_document_text import (
    ISO_DATE,
    WRITTEN_DATE,
    assert_archival_metadata_consistent,
    pdf_text,
)
from tests.core.test_no_english import english_words
from tests.factories import make_court

from .conftest import apply_jointly, in_force

REASONS = (
    "双方当事人系自愿达成调解协议，协议内容不违反法律、行政法规的强制性规定。\n"
    "协议约定的给付内容明确，可以确认。"
)
CHINESE_DATE = re.compile(
    r"二〇[〇一二三四五六七八九]{2}年[一二三四五六七八九十]+月[一二三四五六七八九十]+日"
)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def ruled(confirmed: bool, ground: str | None, reasons: str):
    world = in_force()
    application = apply_jointly(world)
    examination.accept(application, by=world.clerk)
    ruling.rule(application, confirmed, ground, reasons, by=world.judge)
    return world, application, ruling.decision_file(application).read_bytes()


def test_a_confirmation_gives_the_judges_reasons_and_names_judge_and_clerk(app_ctx):
    world, application, pdf = ruled(True, None, REASONS)
    text, layout = pdf_text(pdf), pdf_text(pdf, layout=True)
    words = flat(text)
    applicant, respondent = world.case.party_users()

    assert "民事裁定书" in words and world.court.name in words
    # The current case-number form: province character, division, 民特, serial.
    assert re.fullmatch(r"（\d{4}）苏0102民特1号", application.court_case_number)
    assert application.court_case_number in words and "调确字" not in words
    # Both parties are applicants (CPL art 205).
    assert f"申请人：{applicant.real_name}" in words and f"申请人：{respondent.real_name}" in words
    assert "被申请人：" not in words

    # The judge's own reasons, line by line, and not the generic sentence.
    assert "本院经审查认为：" in words
    for line in REASONS.splitlines():
        assert line in words
    assert "符合司法确认调解协议的法定条件" not in words
    assert "依照《中华人民共和国民事诉讼法》第二百零五条、第二百零六条规定，裁定如下" in words
    assert "调解协议有效" in words and "可以向人民法院申请强制执行" in words

    # The agreement as filed: its full SHA-256, the sum in capitals, the method of payment.
    agreement_file = signing.document_bytes(application.agreement)
    assert application.agreement.document_sha256 == hashlib.sha256(agreement_file).hexdigest()
    assert application.agreement.document_sha256 in words
    assert "计人民币3500.00元（大写：叁仟伍佰元整）" in words
    assert "履行方式：银行转账" in words

    # Signed by the 审判员 and the 书记员 who accepted it, dated in Chinese numerals between.
    assert re.search(rf"审判员\s+{world.judge.real_name}", layout), layout
    assert re.search(rf"书记员\s+{world.clerk.real_name}", layout), layout
    date_line = signing_date(application.decided_at)
    assert CHINESE_DATE.fullmatch(date_line)
    assert words.index("审判员") < words.index(date_line) < words.index("书记员")
    assert "法官" not in words

    # Dates in the text as they are written, never ISO; no English.
    assert WRITTEN_DATE.search(text) and not ISO_DATE.search(text)
    assert english_words(text) == {}
    assert_archival_metadata_consistent(pdf)


def test_a_rejection_gives_the_ground_and_the_reasons_and_rejects_the_application(app_ctx):
    reasons = "协议第一项未载明履行期限，经要求补充说明后仍不明确。"
    world, _application, pdf = ruled(False, "unclear", reasons)
    words = flat(pdf_text(pdf))
    applicant, respondent = world.case.party_users()
    assert "不符合司法确认的条件" in words and reasons in words
    assert "第三百五十八条" in words
    assert f"驳回申请人{applicant.real_name}、{respondent.real_name}的司法确认申请" in words
    assert "也可以向人民法院提起诉讼" in words
    assert "调解协议有效" not in words
    layout = pdf_text(pdf, layout=True)
    assert re.search(rf"审判员\s+{world.judge.real_name}", layout), layout
    assert re.search(rf"书记员\s+{world.clerk.real_name}", layout), layout


def test_case_numbers_carry_the_province_character_and_the_courts_division(app_ctx):
    beijing = make_court(region_code="110105", level=CourtLevel.basic)
    nanjing = make_court(region_code="320100", level=CourtLevel.intermediate)
    # 17:00 UTC on 31 December 2026 is already 2027 in Beijing: the court's year.
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert examination._next_number(beijing, new_year) == "（2027）京0105民特1号"
    assert examination._next_number(beijing, new_year) == "（2027）京0105民特2号"
    assert examination._next_number(nanjing, new_year) == "（2027）苏01民特1号"


def test_the_joint_application_has_two_applicants_and_the_full_undertaking(app_ctx):
    world = in_force()
    application = apply_jointly(world)
    pdf = applying.document_path(application).read_bytes()
    text, layout = pdf_text(pdf), pdf_text(pdf, layout=True)
    words = flat(text)
    applicant, respondent = world.case.party_users()

    assert "司法确认申请书" in words
    # Both parties apply, so both are 申请人 (CPL art 205), in the table and at the foot.
    rows = [line.split() for line in layout.splitlines() if line.split()]
    labels = {row[1].split("，")[0]: row[0] for row in rows if len(row) > 1}
    assert labels.get(applicant.real_name) == "申请人", rows
    assert labels.get(respondent.real_name) == "申请人", rows
    assert not any(row[0] == "被申请人" for row in rows)
    assert f"申请人：{applicant.real_name}" in words and f"申请人：{respondent.real_name}" in words

    # The undertaking the court's form requires.
    for promise in (
        "出于解决纠纷的目的自愿达成调解协议",
        "没有恶意串通、规避法律和行政法规的行为",
        "不损害国家利益、社会公共利益、集体利益或者他人的合法权益",
        "陈述真实，提交的证明材料真实、合法",
        "因调解协议内容给他人造成损害的，愿意承担相应的民事责任和其他法律责任",
    ):
        assert promise in words, promise
    assert "此致" in words and world.court.name in words
    lines = [line.strip() for line in layout.splitlines() if line.strip()]
    assert any(WRITTEN_DATE.fullmatch(line) for line in lines)
    assert not ISO_DATE.search(text)
    assert english_words(text) == {}
    assert_archival_metadata_consistent(pdf)
