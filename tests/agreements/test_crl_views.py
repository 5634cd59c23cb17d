"""The CA's CRLs are public where its certificates say they are."""

from datetime import UTC, datetime, timedelta

import time_machine
from cryptography import x509

from agreements import pki
from mediation.agreements import credentials


def test_the_crls_the_certificates_name_are_served(app, client):
    with app.app_context():
        authority = credentials.authority()
        credential = pki.issue_signer(authority, common_name="A", role="party", document_ref="D")
        base = credentials.crl_base()
    cert = x509.load_der_x509_certificate(credential.certificate.dump())
    issuing = x509.load_der_x509_certificate(authority.issuing.dump())
    root = x509.load_der_x509_certificate(authority.root.dump())
    tsa = x509.load_der_x509_certificate(authority.tsa.dump())
    for holder, issuer in ((cert, issuing), (tsa, issuing), (issuing, root)):
        points = holder.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        url = points[0].full_name[0].value
        assert url.startswith(base + "/")
        response = client.get(url.removeprefix(base.split("/pki")[0]))
        assert response.status_code == 200, url
        assert response.content_type == "application/pkix-crl"
        crl = x509.load_der_x509_crl(response.data)
        assert crl.is_signature_valid(issuer.public_key())
        assert len(crl) == 0  # nothing revoked
    assert client.get("/pki/root.crl").status_code == 200
    assert client.get("/pki/issuing.crl").status_code == 200
    assert client.get("/pki/other.crl").status_code == 404
    assert client.get("/pki/root.crt.pem").status_code == 404


def _issued(app):
    with app.app_context():
        authority = credentials.authority()
        credential = pki.issue_signer(authority, common_name="A", role="party", document_ref="D")
    cert = x509.load_der_x509_certificate(credential.certificate.dump())
    issuing = x509.load_der_x509_certificate(authority.issuing.dump())
    return cert, issuing


def test_a_serial_the_ca_never_issued_gets_no_crl(app, client):
    cert, _issuing = _issued(app)
    made_up = cert.serial_number ^ 1
    assert client.get(f"/pki/{pki.signer_stem(made_up)}.crl").status_code == 404
    assert client.get(f"/pki/{pki.signer_stem(cert.serial_number)}.crl").status_code == 200


def test_a_signer_crl_is_signed_once_per_refresh_period(app, client):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        cert, issuing = _issued(app)
    url = f"/pki/{pki.signer_stem(cert.serial_number)}.crl"
    # After the certificate expired, the CRL made at issuance is past its nextUpdate: the
    # first request re-signs it, the next ones in the period get the same bytes (an ECDSA
    # signature and the CRL number differ on every signing).
    later = start + timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        first = client.get(url).data
    with time_machine.travel(later + pki.CRL_REFRESH / 2, tick=False):
        assert client.get(url).data == first
    with time_machine.travel(later + pki.CRL_REFRESH + timedelta(minutes=2), tick=False):
        renewed = client.get(url).data
    assert renewed != first
    for data, moment in ((first, later), (renewed, later + pki.CRL_REFRESH)):
        crl = x509.load_der_x509_crl(data)
        assert crl.is_signature_valid(issuing.public_key())
        assert len(crl) == 0
        assert crl.next_update_utc > moment + timedelta(minutes=2)
        scope = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
        assert scope.full_name[0].value.endswith(url)
