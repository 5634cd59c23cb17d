"""A court's own PKI, made here with cryptography (a root, the court's signing certificate
naming the court, and a timestamp authority under it): not the platform's pki; what the
court's own tool does with it (:func:`court_signs`: a PAdES signature in the decision's
field, timestamped); and an application accepted by a court that has set that root, ready
for its ruling (:func:`accepted_with_own_root`, :func:`accepted_in_db`).

Used by test_court_key.py, test_court_key_portal.py, test_moved_on.py and the journey
tests/journeys/test_court_signs_ruling.py.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from agreements import pki
from mediation.court import examination, keys, ruling
from mediation.extensions import db

from .conftest import apply_jointly, in_force


@dataclass
class CourtPKI:
    root: x509.Certificate
    signer: x509.Certificate
    signer_key: ec.EllipticCurvePrivateKey
    tsa: x509.Certificate
    tsa_key: rsa.RSAPrivateKey

    def pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)


def x509_name(cn: str, o: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    return x509.Name(attrs)


def certificate(subject, key, issuer, issuer_key, *, ca, start, days, eku=None):
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def court_pki(court_name: str, *, signer_name: str | None = None, root=None) -> CourtPKI:
    """A court's own CA: root, signing certificate naming the court, TSA. ``root`` reuses
    another PKI's root (a province's courts sharing one)."""
    start = datetime.now(UTC) - timedelta(days=1)
    if root is None:
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = x509_name(f"{court_name} 根证书", court_name)
        root_cert = certificate(
            root_name, root_key, root_name, root_key, ca=True, start=start, days=3650
        )
    else:
        root_cert, root_key = root
    key = ec.generate_private_key(ec.SECP256R1())
    name = signer_name or court_name
    signer = certificate(
        x509_name(name, name), key, root_cert.subject, root_key, ca=False, start=start, days=730
    )
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's test TSA
    tsa = certificate(
        x509_name(f"{court_name} 时间戳"),
        tsa_key,
        root_cert.subject,
        root_key,
        ca=False,
        start=start,
        days=730,
        eku=[ExtendedKeyUsageOID.TIME_STAMPING],
    )
    made = CourtPKI(root_cert, signer, key, tsa, tsa_key)
    made.root_key = root_key
    return made


def court_signs(
    made: CourtPKI,
    pdf: bytes,
    *,
    field: str = "Court",
    timestamp: bool = True,
    validation_data: bool = False,
) -> bytes:
    """What the court's own tool does: a PAdES signature in the field, with a timestamp."""
    root = pki.to_asn1(made.root)
    signer = signers.SimpleSigner(
        signing_cert=pki.to_asn1(made.signer),
        signing_key=pki.private_key_info(made.signer_key),
        cert_registry=SimpleCertificateStore.from_certs([root]),
    )
    stamper = (
        DummyTimeStamper(
            tsa_cert=pki.to_asn1(made.tsa),
            tsa_key=pki.private_key_info(made.tsa_key),
            certs_to_embed=SimpleCertificateStore.from_certs([root]),
        )
        if timestamp
        else None
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        # PAdES B-LT: validation data (DSS) in a revision after the signature.
        embed_validation_info=validation_data,
        validation_context=ValidationContext(
            trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail"
        )
        if validation_data
        else None,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    pdf_signer = signers.PdfSigner(meta, signer, timestamper=stamper)
    return pdf_signer.sign_pdf(writer, existing_fields_only=field == "Court").getvalue()


def accepted_with_own_root():
    world = in_force()
    made = court_pki(world.court.name)
    keys.set_roots(world.court, made.pem())
    application = apply_jointly(world)
    examination.accept(application, by=world.clerk)
    return world, made, application


def prepared_of(application) -> bytes:
    return ruling.prepared_file(application).read_bytes()


def accepted_in_db(app) -> dict:
    """accepted_with_own_root() committed: the ids, phones and API tokens a client needs."""
    with app.app_context():
        from mediation.court import api as court_api

        world, made, application = accepted_with_own_root()
        ids = {
            "application": application.id,
            "case": world.case.id,
            "judge": world.judge.phone,
            "clerk": world.clerk.phone,
            "other_judge": world.other_judge.phone,
            "party": world.case.party_users()[0].phone,
            "token": court_api.new_token(world.court, "test"),
            "other_token": court_api.new_token(world.other_court, "test"),
            "made": made,
        }
        db.session.commit()
        return ids
