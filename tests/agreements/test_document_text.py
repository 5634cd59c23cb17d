"""The signed agreement as a court reads it (pdftotext), and as an archive reads its metadata.

Issue #17: the default clause promised enforcement outright, though only a court's
confirmation makes an agreement enforceable (People's Mediation Law art 33; CPL art 206);
the agreement had no date line; sums were in figures only; dates were written 2027-01-03;
the mediator's block was not labelled 调解员; and the PDF/A claim contradicted the file's own
metadata after the signatures (Info Producer against XMP pdf:Producer, catalog /Version
2.0 against a 1.7 header)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, date, datetime

from lxml import etree
from pyhanko.pdf_utils.reader import PdfFileReader

from agreements.render import amount_in_capitals, signing_date
from mediation.agreements import draft, signing
from tests.core.test_no_english import english_words

from .conftest import agreeing_case, out_for_signing
from .test_workflow import sign_in_turn

ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?!\d)")
WRITTEN_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def pdf_text(data: bytes, *, layout: bool = False) -> str:
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext is installed by `make` (Debian poppler-utils)"
    command = [tool, *(["-layout"] if layout else []), "-", "-"]
    return subprocess.run(command, input=data, capture_output=True, check=True).stdout.decode()


def signed_agreement():
    """A case whose agreement every party, the mediator and the institution signed."""
    case, admin = agreeing_case()
    agreement = out_for_signing(case)
    for user in (*case.party_users(), case.mediator, admin):
        sign_in_turn(agreement, user)
    return case, agreement


def sentences_about_enforcement(text: str) -> list[str]:
    flat = re.sub(r"\s+", "", text)
    return [s for s in re.split(r"[。；]", flat) if "强制执行" in s]


def test_the_agreement_states_its_terms_as_the_law_has_them(app_ctx):
    case, agreement = signed_agreement()
    applicant, respondent = case.party_users()
    pdf = signing.document_bytes(agreement)
    text, layout = pdf_text(pdf), pdf_text(pdf, layout=True)
    flat = re.sub(r"\s+", "", text)

    # The sum in figures and in capitals, the deadline as dates are written, the method.
    due = date.fromisoformat(agreement.current.content["obligations"][0]["due"])
    assert f"于{due.year}年{due.month}月{due.day}日前向申请人支付维修费" in flat
    assert "计人民币3500.00元（大写：叁仟伍佰元整）" in flat
    assert "履行方式：银行转账" in flat
    assert not ISO_DATE.search(text), ISO_DATE.search(text)

    # Enforcement only after a court confirmed the agreement (art 33), in the mediator's
    # clause and in the agreement's own statement of its effect; binding from signature.
    about = sentences_about_enforcement(text)
    assert len(about) >= 2 and all("确认" in s for s in about), about
    assert "经人民法院依法确认有效后" in flat and "《人民调解法》第三十三条" in flat
    assert "当事人应当按照约定履行（《人民调解法》第三十一条）" in flat

    # Every signature block says who signs; the mediator's is the 调解员's.
    assert f"申请人：{applicant.real_name}" in flat and f"被申请人：{respondent.real_name}" in flat
    assert f"调解员：{case.mediator.real_name}" in flat
    assert f"调解组织（盖章）：{case.institution.name}" in flat

    # A date line of its own, after the signature blocks.
    lines = [line.strip() for line in layout.splitlines() if line.strip()]
    dated = [n for n, line in enumerate(lines) if WRITTEN_DATE.fullmatch(line)]
    signed = max(n for n, line in enumerate(lines) if "调解组织（盖章）" in line)
    assert dated and dated[-1] > signed, lines[signed:]
    assert english_words(text) == {}


def test_the_starting_default_clause_makes_enforcement_wait_for_confirmation(app_ctx):
    case, _admin = agreeing_case()
    terms = draft.starting_draft(case)["default_terms"]
    about = sentences_about_enforcement(terms)
    assert about and all("司法确认后" in s for s in about)
    assert "提起诉讼" in terms  # before confirmation, an action (art 32)


def test_sums_are_written_in_capitals_and_rulings_dated_in_chinese_numerals(app_ctx):
    assert amount_in_capitals("3500.00") == "叁仟伍佰元整"
    assert amount_in_capitals("12345.67") == "壹万贰仟叁佰肆拾伍元陆角柒分"
    assert amount_in_capitals("0.50") == "伍角"
    assert signing_date(date(2026, 12, 4)) == "二〇二六年十二月四日"
    assert signing_date(date(2030, 10, 31)) == "二〇三〇年十月三十一日"
    # An instant is dated in Beijing: 17:00 UTC on 31 December is New Year's Day there.
    assert signing_date(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == "二〇二七年一月一日"


def xmp_fields(xml: bytes) -> dict[str, str]:
    """pdf:Producer, pdfaid:part/rev/conformance and dc:title of an XMP packet, whether
    written as attributes or as elements."""
    packet = xml[xml.index(b"<x:xmpmeta") : xml.rindex(b"</x:xmpmeta>") + 12]
    root = etree.fromstring(packet, etree.XMLParser(resolve_entities=False, no_network=True))
    found: dict[str, str] = {}
    wanted = {
        f"{{{NS['pdf']}}}Producer": "pdf:Producer",
        f"{{{NS['pdfaid']}}}part": "pdfaid:part",
        f"{{{NS['pdfaid']}}}rev": "pdfaid:rev",
        f"{{{NS['pdfaid']}}}conformance": "pdfaid:conformance",
    }
    for description in root.iter(f"{{{NS['rdf']}}}Description"):
        for key, name in wanted.items():
            if key in description.attrib:
                found[name] = description.attrib[key]
            element = description.find(key)
            if element is not None:
                found[name] = element.text or ""
        title = description.find("dc:title/rdf:Alt/rdf:li", NS)
        if title is not None:
            found["dc:title"] = title.text or ""
    return found


def revisions(pdf: bytes) -> list[bytes]:
    """The file as it was after each update: every prefix that ends at an %%EOF marker."""
    ends = [m.end() for m in re.finditer(rb"%%EOF\r?\n?", pdf)]
    return [pdf[:end] for end in ends]


def assert_archival_metadata_consistent(pdf: bytes) -> int:
    """PDF/A-4 (ISO 19005-4) as claimed, in every revision: a 2.0 header that the catalog
    does not contradict, the XMP's pdfaid part 4 and rev 2020 (no conformance letter but E
    or F), and any Info dictionary agreeing with the XMP. Returns the revisions checked."""
    checked = 0
    for revision in revisions(pdf):
        reader = PdfFileReader(io.BytesIO(revision), strict=False)
        header = revision[:9].decode("ascii").strip()
        assert header == "%PDF-2.0", header
        version = reader.root.get("/Version")
        assert version is None or str(version).lstrip("/") == "2.0", version
        xmp = xmp_fields(reader.root["/Metadata"].get_object().data)
        assert xmp.get("pdfaid:part") == "4" and xmp.get("pdfaid:rev") == "2020", xmp
        assert xmp.get("pdfaid:conformance") in (None, "E", "F"), xmp
        assert xmp.get("pdf:Producer"), xmp
        info = reader.trailer_view.get("/Info")
        if info is not None:
            info = info.get_object()
            assert str(info.get("/Producer")) == xmp["pdf:Producer"], (info, xmp)
            if "/Title" in info:
                assert str(info["/Title"]) == xmp.get("dc:title"), (info, xmp)
        checked += 1
    return checked


def test_the_archival_metadata_hold_after_every_signature(app_ctx):
    case, agreement = signed_agreement()
    pdf = signing.document_bytes(agreement)
    parties = [p for p in case.parties if not p.is_agent]
    # Rendered, fields added, then one update per party, the mediator and the seal (and
    # whatever the long-term validation adds after them).
    assert assert_archival_metadata_consistent(pdf) >= 2 + len(parties) + 2
