"""The CA's CRLs are public where its certificates say they are."""

from cryptography import x509

from agreements import pki
from mediation.agreements import signing


def test_the_crls_the_certificates_name_are_served(app, client):
    with app.app_context():
        authority = signing.authority()
        credential = pki.issue_signer(authority, common_name="A", role="party", document_ref="D")
        base = signing.crl_base()
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
