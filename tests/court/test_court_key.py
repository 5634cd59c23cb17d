"""The court signs its ruling with its own key (issue 17, build 4).

A court's own PKI is made with cryptography (a root, the court's signing certificate and a
timestamp authority under it; own_key.py): not the platform's pki. The judge decides, the
platform prepares the decision, the court signs it with pyHanko's SimpleSigner outside the
platform, and the signed file is uploaded through the portal or posted through the API. Only
a file that is the prepared decision, signed once in its field under THIS court's root,
naming the court, with a trusted timestamp, makes the ruling; anything else is refused in the
user's language and the decision stays awaiting the signature.

Here the operations and the court's roots; the same through the portal and the court API:
test_court_key_portal.py.
"""

from __future__ import annotations

import io
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from agreements import pki
from agreements.signing import sign_pdf, signature_fields
from agreements.verify import verify_pdf
from mediation.agreements import credentials, signing
from mediation.cases.states import CaseStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.court import examination, keys
from mediation.court import ruling as rulings
from mediation.court.models import ApplicationStatus
from mediation.journal import operations as journal
from tests.agreements import softhsm

from .conftest import apply_jointly, in_force
from .own_key import (
    accepted_with_own_root,
    certificate,
    court_pki,
    court_signs,
    prepared_of,
    x509_name,
)


def refused(application, data: bytes, by) -> str:
    with pytest.raises(FieldError) as caught:
        rulings.signed_ruling(application, data, by=by)
    return caught.value.message


# -- the operations -----------------------------------------------------------------------


def test_a_ruling_signed_with_the_courts_own_key_is_accepted(app_ctx):
    world, made, application = accepted_with_own_root()
    ruling = rulings.rule(application, True, None, "协议内容合法，予以确认", by=world.judge)
    # Decided, not yet ruled: awaiting the court's signature, the clock running.
    assert application.status == ApplicationStatus.accepted
    assert world.case.status == CaseStatus.confirmation_requested
    assert rulings.awaiting_signature(application) is ruling
    assert application.decision_path is None
    prepared = prepared_of(application)
    assert signature_fields(prepared) == {keys.FIELD: False}  # its empty signature field

    signed = court_signs(made, prepared)
    rulings.signed_ruling(application, signed, by=world.judge)
    assert application.status == ApplicationStatus.confirmed
    assert world.case.status == CaseStatus.confirmed
    assert rulings.awaiting_signature(application) is None
    kept = rulings.decision_file(application).read_bytes()
    assert kept == signed
    report = verify_pdf(kept, trust_roots=[pki.to_asn1(made.root)])
    assert report.ok and report.signatures[0].signer == world.court.name
    # The platform's root does not vouch for it: the court's key is the court's.
    assert not verify_pdf(kept, trust_roots=credentials.authority().trust_roots).ok
    assert journal.verify_chain(world.case.id).ok
    # A replay of the same file after the ruling changes nothing.
    with pytest.raises(NotPermittedError):
        rulings.signed_ruling(application, signed, by=world.judge)


def test_anything_but_the_courts_signature_is_refused_and_nothing_is_lost(app_ctx):
    world, made, application = accepted_with_own_root()
    rulings.rule(application, False, "unclear", "履行期限不明", by=world.judge)
    prepared = prepared_of(application)
    judge = world.judge

    # The platform's root: a seal the platform minted for the court.
    credential = pki.issue_signer(
        credentials.authority(), common_name=world.court.name, role="court", document_ref="x"
    )
    by_platform = sign_pdf(
        prepared,
        signer_credential=credential,
        authority=credentials.authority(),
        field_name="Court",
        reason="司法确认",
        location=world.court.name,
        timestamper=credentials.timestamper(),
    )
    assert "根证书" in refused(application, by_platform, judge)
    # Another court's root, even with a certificate in this court's name.
    impostor = court_pki(world.court.name)
    assert "根证书" in refused(application, court_signs(impostor, prepared), judge)
    # The same root (shared by a province's courts) but a certificate of another court.
    shared = court_pki(
        world.court.name, signer_name=world.other_court.name, root=(made.root, made.root_key)
    )
    assert world.court.name in refused(application, court_signs(shared, prepared), judge)
    branch = court_pki(
        world.court.name, signer_name=world.court.name + "分院", root=(made.root, made.root_key)
    )
    assert world.court.name in refused(application, court_signs(branch, prepared), judge)
    # The text changed: another rendering, or the first revision touched.
    changed = prepared[:10] + bytes([prepared[10] ^ 1]) + prepared[11:]  # the binary comment
    assert changed != prepared
    assert "文本" in refused(application, court_signs(made, changed), judge)
    # A change slipped in before the court's signature (the signature itself is good).
    writer = IncrementalPdfFileWriter(io.BytesIO(prepared))
    page = writer.root["/Pages"]["/Kids"][0]
    overlay = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 700 Td (FORGED) Tj ET")
    )
    writer.add_stream_to_page(0, overlay)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    assert "签名之外" in refused(application, court_signs(made, out.getvalue()), judge)
    # Unsigned, garbage, oversize, no timestamp, bytes added after the signature.
    assert "未签名" in refused(application, prepared, judge)
    assert "文本" in refused(application, b"%PDF-1.7 garbage", judge)
    assert refused(application, b"", judge)
    assert "过大" in refused(application, prepared + b"\0" * keys.MAX_SIGNED_BYTES, judge)
    assert "时间戳" in refused(application, court_signs(made, prepared, timestamp=False), judge)
    good = court_signs(made, prepared)
    assert refused(application, good + b"\n% appended\n", judge)
    # Signed in another field than the court's (its own is left empty).
    elsewhere = refused(application, court_signs(made, prepared, field="Other"), judge)
    assert "签章栏" in elsewhere or "签名之外" in elsewhere
    # A compression bomb in an added stream: refused before the reader unpacks it.
    bomb = zlib.compress(b"\0" * (keys.MAX_UNPACKED_BYTES * 2), 9)
    added = b"99 0 obj\n<</Length %d/Filter/FlateDecode>>stream\n" % len(bomb)
    bombed = prepared + added + bomb + b"\nendstream\nendobj\n"
    assert "解压" in refused(application, bombed, judge)
    # A chain of filters where one Flate layer looks small: 200 MiB of zeros packed twice,
    # and hex over Flate. Refused before any is decoded.
    twice = zlib.compress(zlib.compress(b"\0" * (200 << 20), 9), 9)
    for filters, data in (
        (b"[/FlateDecode /FlateDecode]", twice),
        (b"[/ASCIIHexDecode /FlateDecode]", bomb.hex().encode() + b">"),
        (b"[/F#6CateDecode /FlateDecode]", twice),
        (b"7 0 R", twice),
    ):
        added = b"99 0 obj\n<</Length %d/Filter %s>>stream\n" % (len(data), filters)
        chained = prepared + added + data + b"\nendstream\nendobj\n"
        assert "无法检查" in refused(application, chained, judge)
    # The keyword as the reader also takes it (no end of line, a comment before it), and
    # "endstream" inside the packed data: the whole stream is still unpacked.
    for keyword in (b">>stream", b">> % note\nstream  \r\n"):
        added = b"99 0 obj\n<</Length %d/Filter/FlateDecode%s" % (len(bomb), keyword)
        assert "解压" in refused(application, prepared + added + bomb + b"endstream\n", judge)
    # "endstream" stored as is (a stored deflate block), then the zeros packed.
    stored, packed = (zlib.compressobj(level, zlib.DEFLATED, -15) for level in (0, 9))
    zeros = b"\0" * (keys.MAX_UNPACKED_BYTES * 2)
    early = (
        b"\x78\x01"
        + stored.compress(b"endstream")
        + stored.flush(zlib.Z_SYNC_FLUSH)
        + packed.compress(zeros)
        + packed.flush()
        + zlib.adler32(b"endstream" + zeros).to_bytes(4, "big")
    )
    assert b"endstream" in early and len(zlib.decompress(early)) > keys.MAX_UNPACKED_BYTES
    added = b"99 0 obj\n<</Length %d/Filter/FlateDecode>>stream\n" % len(early)
    assert "解压" in refused(application, prepared + added + early + b"\nendstream\n", judge)
    # Many revisions before the signature.
    many = prepared
    for _ in range(keys.MAX_ADDED_REVISIONS + 1):
        w = IncrementalPdfFileWriter(io.BytesIO(many))
        w.update_root()
        buffer = io.BytesIO()
        w.write(buffer)
        many = buffer.getvalue()
    assert refused(application, court_signs(made, many), judge)

    # Nothing lost: the decision still awaits the court's signature, and the good one works.
    assert application.status == ApplicationStatus.accepted
    assert rulings.awaiting_signature(application).reasons == "履行期限不明"
    # A court's tool that adds validation data after its signature (PAdES B-LT) is fine.
    good = court_signs(made, prepared, validation_data=True)
    assert signature_fields(good) == {"Court": True}
    rulings.signed_ruling(application, good, by=judge)
    assert application.status == ApplicationStatus.rejected
    assert application.reasons == "履行期限不明" and world.case.status == CaseStatus.rejected


def test_only_the_courts_judge_submits_and_a_redrafted_decision_needs_a_new_signature(app_ctx):
    world, made, application = accepted_with_own_root()
    rulings.rule(application, True, None, "", by=world.judge)
    first = court_signs(made, prepared_of(application))
    for someone in (world.clerk, world.other_judge, world.case.party_users()[0]):
        with pytest.raises(NotPermittedError):
            rulings.signed_ruling(application, first, by=someone)
    rulings.rule(application, False, "unclear", "重新裁定", by=world.judge)
    assert "早先" in refused(application, first, world.judge)
    # The court's good signature over another application's decision does not fit this one.
    other_world = in_force()
    other = apply_jointly(other_world)
    other_world.court.region_code = "320211"  # its own series of case numbers
    keys.set_roots(other_world.court, made.pem())
    examination.accept(other, by=other_world.clerk)
    rulings.rule(other, True, None, "", by=other_world.judge)
    elsewhere = court_signs(made, prepared_of(other))
    assert "文本" in refused(application, elsewhere, world.judge)
    rulings.signed_ruling(application, court_signs(made, prepared_of(application)), by=None)
    assert application.status == ApplicationStatus.rejected


def test_in_production_a_court_without_its_own_root_cannot_rule(app, app_ctx):
    world = in_force()
    application = apply_jointly(world)
    examination.accept(application, by=world.clerk)
    app.config["ENV_NAME"] = "production"
    try:
        with pytest.raises(NotPermittedError) as caught:
            rulings.rule(application, True, None, "", by=world.judge)
        assert "根证书" in str(caught.value)
    finally:
        app.config["ENV_NAME"] = "testing"
    assert application.status == ApplicationStatus.accepted
    assert rulings.awaiting_signature(application) is None  # nothing half-made


def test_the_built_in_seal_says_it_is_for_demonstration_only(app_ctx):
    world = in_force()
    application = apply_jointly(world)
    examination.accept(application, by=world.clerk)
    rulings.rule(application, True, None, "", by=world.judge)
    assert application.status == ApplicationStatus.confirmed
    decision = rulings.decision_file(application).read_bytes()
    report = verify_pdf(decision, trust_roots=credentials.authority().trust_roots)
    assert report.signatures[0].role == rulings.DEMONSTRATION_ROLE
    assert str(signing.stamp_role(rulings.DEMONSTRATION_ROLE)).endswith("（仅供演示）")


# -- the court's roots, set by the platform administrator ---------------------------------


def test_the_courts_roots_are_checked_when_configured(app_ctx):
    world = in_force()
    made = court_pki(world.court.name)
    court = world.court
    for bad, words in (
        (b"", "PEM"),
        (b"not a certificate", "PEM"),
        (made.signer.public_bytes(serialization.Encoding.PEM), "证书颁发机构"),
        (pki.private_key_info(made.signer_key).dump(), "PEM"),
        (
            made.signer_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            "私钥",
        ),
        (credentials.authority().root.dump(), "PEM"),
    ):
        with pytest.raises(FieldError) as caught:
            keys.set_roots(court, bad)
        assert words in caught.value.message, caught.value.message
    platform_root = pki.certificates.to_crypto(credentials.authority().root)
    platform_pem = platform_root.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(FieldError) as caught:
        keys.set_roots(court, platform_pem)
    assert "平台" in caught.value.message
    # Nothing the platform holds a key under, nor a CA it issued, is a court's root: the
    # platform could mint the court's certificate with it (issue #17 item 4).
    authority = credentials.authority()
    issuing = pki.certificates.to_crypto(authority.issuing)
    start = datetime.now(UTC) - timedelta(days=1)
    other_key = ec.generate_private_key(ec.SECP256R1())
    minted = certificate(
        x509_name("冒名法院根证书"),
        other_key,
        issuing.subject,
        authority.issuing_key,
        ca=True,
        start=start,
        days=365,
    )
    same_key = certificate(
        x509_name("同一密钥"),
        authority.issuing_key,
        made.root.subject,
        made.root_key,
        ca=True,
        start=start,
        days=365,
    )
    retired_key = ec.generate_private_key(ec.SECP256R1())
    retired = certificate(
        x509_name("已退役签发机构"),
        retired_key,
        x509_name("已退役签发机构"),
        retired_key,
        ca=True,
        start=start,
        days=365,
    )
    retired_path = authority.directory / "retired" / "issuing-4711.crt.pem"
    retired_path.parent.mkdir(mode=0o700, exist_ok=True)
    retired_path.write_bytes(retired.public_bytes(serialization.Encoding.PEM))
    try:
        for cert, words in (
            (issuing, "平台"),
            (pki.certificates.to_crypto(authority.tsa), "平台"),
            (retired, "平台"),
            (minted, "平台签发"),
            (same_key, "平台"),
        ):
            with pytest.raises(FieldError) as caught:
                keys.set_roots(court, cert.public_bytes(serialization.Encoding.PEM) + made.pem())
            assert words in caught.value.message, caught.value.message
    finally:
        retired_path.unlink()
    with pytest.raises(FieldError) as caught:
        keys.set_roots(court, made.pem(), now=made.root.not_valid_after_utc + timedelta(days=1))
    assert "过期" in caught.value.message
    assert court.trust_roots_pem is None
    keys.set_roots(court, made.pem())
    assert keys.roots_of(court) == [made.root] and keys.mode(court) == keys.Mode.own


@pytest.mark.skipif(bool(softhsm.available()), reason=softhsm.available() or "")
def test_the_court_signs_with_the_key_in_its_own_token(app_ctx, tmp_path_factory):
    """The court's key in a PKCS#11 token the court holds (SoftHSM2 standing in): its
    signing tool signs the prepared decision there, and the platform accepts it."""
    from pyhanko.sign.pkcs11 import PKCS11Signer

    from agreements import keys as token_keys

    world, made, application = accepted_with_own_root()
    rulings.rule(application, True, None, "", by=world.judge)
    token = token_keys.Token(softhsm.token(tmp_path_factory.mktemp("softhsm")))
    key = token.generate(f"court-{application.id}-{datetime.now(UTC).timestamp()}")
    start = datetime.now(UTC) - timedelta(days=1)
    name = world.court.name
    cert = certificate(
        x509_name(name, name),
        key,
        made.root.subject,
        made.root_key,
        ca=False,
        start=start,
        days=730,
    )
    root = pki.to_asn1(made.root)
    with token.session() as session:
        signer = PKCS11Signer(
            session,
            key_id=key.key_id,
            signing_cert=pki.to_asn1(cert),
            ca_chain=[root],
            use_raw_mechanism=True,
            embed_roots=True,
        )
        stamper = DummyTimeStamper(
            tsa_cert=pki.to_asn1(made.tsa),
            tsa_key=pki.private_key_info(made.tsa_key),
            certs_to_embed=SimpleCertificateStore.from_certs([root]),
        )
        meta = signers.PdfSignatureMetadata(
            field_name="Court", md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
        )
        writer = IncrementalPdfFileWriter(io.BytesIO(prepared_of(application)))
        signed = (
            signers.PdfSigner(meta, signer, timestamper=stamper)
            .sign_pdf(writer, existing_fields_only=True)
            .getvalue()
        )
    rulings.signed_ruling(application, signed, by=world.judge)
    assert application.status == ApplicationStatus.confirmed
