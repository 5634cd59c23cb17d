"""Signing an agreement in turn: two parties, the mediator, then the institution's seal."""

import io
import itertools

import pytest
import weasyprint
from PIL import Image, ImageDraw
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from agreements import pki, signing, tsa

AGREEMENT_HTML = """<html lang="zh"><body>
<h1>人民调解协议书</h1>
<p>甲方张三与乙方李四，经北京市某某人民调解委员会调解，自愿达成如下协议：</p>
<p>一、乙方于2026年12月31日前向甲方支付人民币伍万元整。</p>
</body></html>"""


@pytest.fixture(scope="module")
def authority(tmp_path_factory) -> pki.Authority:
    return pki.ensure_authority(tmp_path_factory.mktemp("pki"), name="Test Mediation")


@pytest.fixture(scope="module")
def agreement() -> bytes:
    pdf = weasyprint.HTML(string=AGREEMENT_HTML).write_pdf()
    # The mediator's and the institution's fields exist from the start; the parties' are
    # created when they sign, which exercises both ways in.
    return signing.add_signature_fields(
        pdf,
        [
            signing.FieldSpec("mediator", page=0, box=(50, 200, 250, 270)),
            signing.FieldSpec("seal", page=-1, box=(330, 200, 530, 270)),
        ],
    )


@pytest.fixture(scope="module")
def drawn_png() -> bytes:
    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 80), (90, 20), (190, 70), (290, 25)], (20, 40, 160), 6)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def sign(pdf, authority, name, role, field, *, box=None, png=None, timestamper=None):
    credential = pki.issue_signer(authority, common_name=name, role=role, document_ref="AGR-1")
    return signing.sign_pdf(
        pdf,
        signer_credential=credential,
        authority=authority,
        field_name=field,
        box=box,
        page=0,
        appearance_png=png,
        reason="同意本协议全部内容",
        location="北京",
        timestamper=timestamper or tsa.timestamper_for(authority),
    )


@pytest.fixture(scope="module")
def signed(agreement, authority, drawn_png) -> list[bytes]:
    """Every revision: the prepared agreement, then after each of the four signatures."""
    revisions = [agreement]
    steps = [
        ("张三", "party", "party-1", (50, 60, 230, 120), drawn_png),
        ("李四", "party", "party-2", (330, 60, 510, 120), drawn_png),
        ("王调解", "mediator", "mediator", None, drawn_png),
        ("北京市某某人民调解委员会", "institution", "seal", None, None),
    ]
    for name, role, field, box, png in steps:
        revisions.append(sign(revisions[-1], authority, name, role, field, box=box, png=png))
    return revisions


def test_four_signatures_fill_four_fields(signed):
    assert signing.signature_fields(signed[0]) == {"mediator": False, "seal": False}
    assert signing.signature_fields(signed[-1]) == dict.fromkeys(
        ["mediator", "seal", "party-1", "party-2"], True
    )


def test_each_signature_is_an_incremental_update(signed):
    for before, after in itertools.pairwise(signed):
        assert after.startswith(before)


def test_pyhanko_finds_all_four_intact_trusted_and_timestamped(signed, authority):
    reader = PdfFileReader(io.BytesIO(signed[-1]))
    sigs = reader.embedded_regular_signatures
    assert [s.field_name for s in sigs] == ["party-1", "party-2", "mediator", "seal"]
    for sig in sigs:
        context = ValidationContext(trust_roots=authority.trust_roots, allow_fetching=False)
        status = validate_pdf_signature(sig, context)
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
        assert status.timestamp_validity is not None and status.timestamp_validity.trusted
        assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
        assert sig.sig_object["/Reason"] == "同意本协议全部内容"
        assert sig.sig_object["/Location"] == "北京"


def test_each_signing_act_is_b_lta(signed):
    # ETSI EN 319 142-1 B-LTA: validation data in the DSS, then a document timestamp, after
    # every signature, so that each revision a party downloads stands on its own.
    for pdf in signed[1:]:
        reader = PdfFileReader(io.BytesIO(pdf))
        assert reader.embedded_signatures[-1].sig_object_type == "/DocTimeStamp"
        dss = reader.root["/DSS"]
        assert len(dss["/CRLs"]) >= 3 and len(dss["/OCSPs"]) >= 2 and len(dss["/Certs"]) >= 4
    kinds = [s.sig_object_type for s in PdfFileReader(io.BytesIO(signed[-1])).embedded_signatures]
    assert kinds == ["/Sig", "/DocTimeStamp"] * 4


def test_signer_names_are_in_the_certificates(signed):
    reader = PdfFileReader(io.BytesIO(signed[-1]))
    subjects = [s.signer_cert.subject.native for s in reader.embedded_regular_signatures]
    assert [(s["common_name"], s["title"]) for s in subjects] == [
        ("张三", "party"),
        ("李四", "party"),
        ("王调解", "mediator"),
        ("北京市某某人民调解委员会", "institution"),
    ]


def appearance_resources(pdf: bytes, field: str):
    reader = PdfFileReader(io.BytesIO(pdf))
    for sig in reader.embedded_signatures:
        if sig.field_name == field:
            return sig.sig_field["/AP"]["/N"]["/Resources"]
    raise AssertionError(field)


def test_visible_fields_carry_the_picture(signed):
    for field in ("party-1", "mediator", "seal"):
        assert "/XObject" in appearance_resources(signed[-1], field)


def test_the_credential_is_destroyed_after_signing_and_cannot_sign_again(agreement, authority):
    credential = pki.issue_signer(authority, common_name="A", role="party", document_ref="D")
    kwargs = dict(
        signer_credential=credential,
        authority=authority,
        field_name="x",
        reason="r",
        location="l",
        timestamper=tsa.timestamper_for(authority),
    )
    signing.sign_pdf(agreement, **kwargs)
    assert credential.destroyed
    with pytest.raises(SigningError, match="destroyed"):
        signing.sign_pdf(agreement, **kwargs)


def test_a_signed_field_cannot_be_signed_again(signed, authority):
    with pytest.raises(SigningError, match="already signed"):
        sign(signed[-1], authority, "X", "party", "party-1")


def test_a_pre_created_field_keeps_its_box(agreement, authority):
    with pytest.raises(ValueError, match="exists"):
        sign(agreement, authority, "X", "mediator", "mediator", box=(0, 0, 10, 10))


def test_a_credential_from_another_ca_is_refused(agreement, authority, tmp_path):
    other = pki.ensure_authority(tmp_path, name="Test Mediation")
    credential = pki.issue_signer(other, common_name="X", role="party", document_ref="D")
    with pytest.raises(SigningError, match="not from this authority"):
        signing.sign_pdf(
            agreement,
            signer_credential=credential,
            authority=authority,
            field_name="x",
            reason="r",
            location="l",
            timestamper=tsa.timestamper_for(authority),
        )
    assert credential.destroyed
