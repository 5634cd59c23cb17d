"""Verification: a four-signature agreement is valid; any changed byte, or a foreign CA, is not."""

import io
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import weasyprint
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers

from agreements import pki, signing, tsa, verify

PDFSIG = shutil.which("pdfsig")
SIGNERS = [
    ("张三", "party", "party-1", (50, 60, 230, 120)),
    ("李四", "party", "party-2", (330, 60, 510, 120)),
    ("王调解", "mediator", "mediator", (50, 200, 250, 270)),
    ("北京市某某人民调解委员会", "institution", "seal", (330, 200, 530, 270)),
]


@pytest.fixture(scope="module")
def authority(tmp_path_factory) -> pki.Authority:
    return pki.ensure_authority(tmp_path_factory.mktemp("pki"), name="Test Mediation")


@pytest.fixture(scope="module")
def foreign(tmp_path_factory) -> pki.Authority:
    # Same names as ours: only the keys tell them apart.
    return pki.ensure_authority(tmp_path_factory.mktemp("foreign"), name="Test Mediation")


@pytest.fixture(scope="module")
def agreement() -> bytes:
    html = (
        "<html lang='zh'><body><h1>人民调解协议书</h1><p>双方自愿达成如下协议。</p></body></html>"
    )
    return weasyprint.HTML(string=html).write_pdf()


def signatures(report: verify.Report) -> list[verify.SignatureCheck]:
    """The signers' entries (each signing act also adds a closing document timestamp)."""
    return [s for s in report.signatures if s.kind == "signature"]


def sign(pdf: bytes, authority: pki.Authority, steps=SIGNERS, **kwargs) -> bytes:
    for name, role, field, box in steps:
        credential = pki.issue_signer(authority, common_name=name, role=role, document_ref="A-1")
        pdf = signing.sign_pdf(
            pdf,
            signer_credential=credential,
            authority=authority,
            field_name=field,
            box=box,
            page=0,
            appearance_png=None,
            reason="同意",
            location="北京",
            timestamper=tsa.timestamper_for(authority),
            **kwargs,
        )
    return pdf


@pytest.fixture(scope="module")
def signed(agreement, authority) -> bytes:
    return sign(agreement, authority)


@pytest.fixture(scope="module")
def last_signature(signed):
    return PdfFileReader(io.BytesIO(signed)).embedded_regular_signatures[-1]


@pytest.fixture(scope="module")
def closing_timestamp(signed):
    # B-LTA: a document timestamp closes the file after every signature.
    last = PdfFileReader(io.BytesIO(signed)).embedded_signatures[-1]
    assert last.sig_object_type == "/DocTimeStamp"
    return last


def pdfsig(pdf: bytes, tmp_path, *args: str) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    done = subprocess.run([PDFSIG, *args, str(path)], capture_output=True, text=True, check=False)
    return done.stdout


def test_a_properly_signed_agreement_is_valid(signed, authority):
    report = verify.verify_pdf(signed, trust_roots=authority.trust_roots)
    assert report.ok, verify.summarize(report)
    assert [(s.signer, s.role, s.field_name) for s in signatures(report)] == [
        (name, role, field) for name, role, field, _ in SIGNERS
    ]
    kinds = [s.kind for s in report.signatures]
    assert kinds == ["signature", "document timestamp"] * 4
    for check in report.signatures:
        assert check.intact and check.trusted and check.timestamped and check.ok
        if check.kind == "signature":
            assert check.document_ref == "A-1"
        assert abs(check.signing_time - datetime.now(UTC)) < timedelta(minutes=2)
        assert check.only_signatures_after
    assert [s.coverage for s in report.signatures] == ["entire revision"] * 7 + ["entire file"]
    assert report.signatures[0].changes_after == "FORM_FILLING"
    times = [s.signing_time for s in report.signatures]
    assert times == sorted(times)


def test_the_summary_reads_well(signed, authority):
    text = verify.summarize(verify.verify_pdf(signed, trust_roots=authority.trust_roots))
    assert text.startswith("VALID: 4 signature(s), 4 document timestamp(s)")
    assert "张三 (party)" in text and "北京市某某人民调解委员会 (institution)" in text


def test_still_valid_after_the_signer_certificates_expired(signed, authority):
    # Ten-minute certificates: the timestamp proves they were valid when used.
    next_year = datetime.now(UTC) + timedelta(days=365)
    report = verify.verify_pdf(signed, trust_roots=authority.trust_roots, at=next_year)
    assert report.ok, verify.summarize(report)


def test_not_valid_once_the_tsa_certificate_itself_expired(signed, authority):
    # Beyond that horizon the document needs an archive timestamp (PAdES B-LTA).
    later = datetime.now(UTC) + timedelta(days=30 * 365)
    report = verify.verify_pdf(signed, trust_roots=authority.trust_roots, at=later)
    assert not report.ok
    # Each signature's timestamp is judged when the next document timestamp proves it
    # existed; the newest document timestamp has nothing after it and fails.
    assert not report.signatures[-1].timestamped


def test_a_foreign_ca_is_not_trusted(signed, agreement, authority, foreign):
    report = verify.verify_pdf(signed, trust_roots=foreign.trust_roots)
    assert not report.ok
    assert not any(s.trusted or s.timestamped for s in report.signatures)
    assert all(s.intact for s in report.signatures)

    # One party signs with a certificate from the look-alike CA (which, to sign B-LTA over
    # our document timestamp, must be told to trust our root).
    mixed = sign(agreement, authority, SIGNERS[:1])
    mixed = sign(mixed, foreign, SIGNERS[1:2], external_tsa_roots=authority.trust_roots)
    report = verify.verify_pdf(mixed, trust_roots=authority.trust_roots)
    assert not report.ok
    assert [s.trusted for s in report.signatures] == [True, True, False, False]
    assert "trusted=NO" in verify.summarize(report)


def flip(pdf: bytes, offset: int) -> bytes:
    """Change one byte, keeping hex digits hex digits so that the file still parses."""
    data = bytearray(pdf)
    old = data[offset]
    hexdigits = b"0123456789ABCDEFabcdef"
    data[offset] = (
        hexdigits[(hexdigits.index(old) + 1) % 16] if old in hexdigits else old ^ 0x20 or 0x21
    )
    return bytes(data)


def container_offset(pdf: bytes, sig, der_offset: int) -> int:
    """File offset of a byte of the signature's DER (hex-encoded in /Contents)."""
    return int(sig.byte_range[1]) + 1 + 2 * der_offset


def der_offset_of(sig, part: bytes) -> int:
    offset = sig.pkcs7_content.find(part)
    assert offset > 0
    return offset


def tampered_versions(signed: bytes, sig, closing=None) -> dict[str, bytes]:
    versions = _tampered(signed, sig)
    if closing is not None:
        versions |= {f"{k} (closing timestamp)": v for k, v in _tampered(signed, closing).items()}
    return versions


def _tampered(signed: bytes, sig) -> dict[str, bytes]:
    signer_info = sig.signer_info
    in_container = {
        "signature value": der_offset_of(sig, signer_info["signature"].native) + 5,
        "embedded certificate": der_offset_of(sig, sig.signed_data["certificates"][0].dump()) + 40,
        "container padding": len(sig.signed_data.dump()) + 100,
    }
    if signer_info["unsigned_attrs"].native:
        in_container["timestamp token"] = (
            der_offset_of(sig, signer_info["unsigned_attrs"].dump()) + 300
        )
    in_file = {
        "page content (signed by all)": 2000,
        "middle of the file": len(signed) // 2,
        "last signature dictionary": int(sig.byte_range[2]) + 30,
        "final xref": len(signed) - 40,
    }
    versions = {name: flip(signed, offset) for name, offset in in_file.items()}
    for name, offset in in_container.items():
        versions[name] = flip(signed, container_offset(signed, sig, offset))
    gap_start = int(sig.byte_range[1])
    letter = gap_start + re.search(rb"[A-F]", signed[gap_start : int(sig.byte_range[2])]).start()
    versions["hex digit case"] = (
        signed[:letter] + signed[letter : letter + 1].lower() + signed[letter + 1 :]
    )
    versions["garbage appended"] = signed + b"%garbage\n"
    versions["newline appended"] = signed + b"\n"
    return versions


def test_any_changed_byte_makes_the_report_fail(
    signed, last_signature, closing_timestamp, authority
):
    for name, pdf in tampered_versions(signed, last_signature, closing_timestamp).items():
        assert len(pdf) >= len(signed)
        assert pdf != signed
        report = verify.verify_pdf(pdf, trust_roots=authority.trust_roots)
        assert not report.ok, f"{name} went undetected:\n{verify.summarize(report)}"


def test_later_unsigned_changes_to_the_content_are_reported(agreement, authority):
    two = sign(agreement, authority, SIGNERS[:2])
    writer = IncrementalPdfFileWriter(io.BytesIO(two))
    stream = generic.StreamObject(stream_data=b"q 0 0 1 rg 100 400 200 50 re f Q")
    writer.add_stream_to_page(0, writer.add_object(stream))
    out = io.BytesIO()
    writer.write(out)
    three = sign(out.getvalue(), authority, SIGNERS[2:3])
    report = verify.verify_pdf(three, trust_roots=authority.trust_roots)
    assert not report.ok
    first, second, mediator = signatures(report)
    assert first.intact and first.trusted and not first.only_signatures_after
    assert second.changes_after == "OTHER" and not second.ok
    assert mediator.ok  # the mediator signed what they saw


def test_a_closing_document_timestamp_counts_as_covering_the_file(signed, authority):
    # PAdES B-LTA adds one later; it must not make the earlier signatures look tampered.
    stamper = signers.PdfTimeStamper(tsa.timestamper_for(authority))
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    stamped = stamper.timestamp_pdf(writer, "sha256").getvalue()
    report = verify.verify_pdf(stamped, trust_roots=authority.trust_roots)
    assert report.ok, verify.summarize(report)
    assert len(report.signatures) == 9
    closing = report.signatures[-1]
    assert closing.kind == "document timestamp" and closing.coverage == "entire file"
    assert report.signatures[-2].changes_after == "LTA_UPDATES"


def test_garbage_and_unsigned_files_are_reports_not_exceptions(agreement, authority):
    assert not verify.verify_pdf(b"not a pdf", trust_roots=authority.trust_roots).ok
    report = verify.verify_pdf(agreement, trust_roots=authority.trust_roots)
    assert not report.ok and report.problems == ("no signatures",)


def test_pdfsig_finds_every_signature_valid(signed, tmp_path):
    out = pdfsig(signed, tmp_path, "-nocert")
    assert out.count("Signature Validation: Signature is Valid.") == 4, out
    assert out.count("Signature Type: ETSI.CAdES.detached") == 4
    assert "Signer Certificate Common Name: 张三" in out
    assert "Total document signed" in out


def test_pdfsig_detects_a_changed_byte_in_the_signed_content(signed, tmp_path):
    out = pdfsig(flip(signed, 2000), tmp_path, "-nocert")
    assert out.count("Digest Mismatch") == 4, out
    assert "Signature is Valid" not in out


def test_pdfsig_detects_a_changed_signature_value(signed, last_signature, tmp_path):
    value = last_signature.signer_info["signature"].native
    offset = container_offset(signed, last_signature, der_offset_of(last_signature, value) + 5)
    out = pdfsig(flip(signed, offset), tmp_path, "-nocert")
    assert out.count("Signature is Valid.") == 3, out


def test_pdfsig_trusts_the_chain_given_our_root(signed, authority, tmp_path):
    nssdb = tmp_path / "nssdb"
    nssdb.mkdir()
    root = tmp_path / "root.der"
    root.write_bytes(authority.root.dump())
    certutil = shutil.which("certutil")
    subprocess.run([certutil, "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
    subprocess.run(
        [certutil, "-A", "-d", f"sql:{nssdb}", "-n", "root", "-t", "C,C,C", "-i", str(root)],
        check=True,
    )
    out = pdfsig(signed, tmp_path, "-nssdir", f"sql:{nssdb}")
    assert out.count("Signature is Valid.") == 4, out
    assert out.count("Certificate is Trusted.") == 4, out


# -- the closing document timestamp's container is outside every byte range ----------------


def replace_closing_container(pdf: bytes, closing, signed_data) -> bytes:
    """``pdf`` with the closing timestamp's SignedData re-encoded, padded to its length and
    written in the same hex case: only the container differs."""
    from asn1crypto import cms

    contents = closing.pkcs7_content
    der = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump(force=True)
    assert len(der) <= len(contents)
    start, end = int(closing.byte_range[1]), int(closing.byte_range[2])
    hexed = (der + b"\0" * (len(contents) - len(der))).hex().encode()
    if any(c in pdf[start:end] for c in b"ABCDEF"):
        hexed = hexed.upper()
    return pdf[:start] + b"<" + hexed + b">" + pdf[end:]


def test_a_foreign_crl_in_the_closing_timestamp_is_reported(
    signed, closing_timestamp, authority, foreign
):
    from asn1crypto import cms

    signed_data = closing_timestamp.signed_data.copy()
    crl = pki.validation_crls(foreign)[0]  # same names as ours, another key
    signed_data["crls"] = [cms.RevocationInfoChoice(name="crl", value=crl)]
    report = verify.verify_pdf(
        replace_closing_container(signed, closing_timestamp, signed_data),
        trust_roots=authority.trust_roots,
    )
    assert not report.ok
    assert "container carries a CRL no validated chain vouches for" in (
        report.signatures[-1].problems
    )


def test_an_extra_unsigned_attribute_on_the_closing_timestamp_is_reported(
    signed, closing_timestamp, authority
):
    from asn1crypto import cms

    signed_data = closing_timestamp.signed_data.copy()
    signed_data["signer_infos"][0]["unsigned_attrs"] = [
        cms.CMSAttribute(
            {
                "type": "signing_time",
                "values": [
                    cms.Time(name="utc_time", value=datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
                ],
            }
        )
    ]
    report = verify.verify_pdf(
        replace_closing_container(signed, closing_timestamp, signed_data),
        trust_roots=authority.trust_roots,
    )
    assert not report.ok
    assert any("unsigned attributes it may not" in p for p in report.signatures[-1].problems)
