"""The built-in RFC 3161 TSA: answering DER requests, rejecting bad ones, serving over HTTP."""

import asyncio
import hashlib
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import weasyprint
from asn1crypto import cms, core, tsp
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

from agreements import pki, signing, tsa, verify


class LenientResp(core.Sequence):
    """TimeStampResp whose token may be absent (asn1crypto's own insists on it)."""

    _fields: ClassVar = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


@pytest.fixture(scope="module")
def authority(tmp_path_factory) -> pki.Authority:
    return pki.ensure_authority(tmp_path_factory.mktemp("pki"), name="Test Mediation")


def request(digest: bytes, algorithm: str = "sha256", **extra) -> bytes:
    fields = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest},
        "cert_req": True,
        **extra,
    }
    return tsp.TimeStampReq(fields).dump()


def status_of(der: bytes) -> dict:
    return LenientResp.load(der)["status"].native


def test_answers_a_request_with_a_valid_token(authority):
    digest = hashlib.sha256(b"agreement").digest()
    response = tsp.TimeStampResp.load(
        tsa.respond(request(digest, nonce=424242), authority=authority)
    )
    assert response["status"]["status"].native == "granted"
    token = response["time_stamp_token"]["content"]
    info = token["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == 424242
    assert info["policy"].native == tsa.POLICY_OID
    assert abs(info["gen_time"].native - datetime.now(UTC)) < timedelta(seconds=10)
    context = ValidationContext(trust_roots=authority.trust_roots, allow_fetching=False)
    kwargs = asyncio.run(validate_tst_signed_data(token, context, lambda _algorithm: digest))
    status = TimestampSignatureStatus(**kwargs)
    assert status.intact and status.valid and status.trusted


def test_certificates_are_left_out_unless_requested(authority):
    digest = hashlib.sha256(b"x").digest()
    der = tsa.respond(request(digest, cert_req=False), authority=authority)
    token = tsp.TimeStampResp.load(der)["time_stamp_token"]["content"]
    assert not token["certificates"].native


@pytest.mark.parametrize(
    ("der", "failure"),
    [
        (b"not DER at all", "bad_data_format"),
        (request(hashlib.sha1(b"x").digest(), "sha1"), "bad_alg"),  # noqa: S324
        (request(b"short"), "bad_data_format"),
        (request(hashlib.sha256(b"x").digest(), req_policy="1.2.3.4"), "unaccepted_policy"),
    ],
)
def test_bad_requests_get_a_rejection_not_an_exception(authority, der, failure):
    status = status_of(tsa.respond(der, authority=authority))
    assert status["status"] == "rejection"
    assert status["fail_info"] == {failure}


def test_configured_timestamper(authority):
    assert isinstance(tsa.timestamper_for(authority), tsa.PlatformTimeStamper)
    external = tsa.timestamper_for(authority, url="https://tsa.example/tsr")
    assert isinstance(external, HTTPTimeStamper)


@pytest.fixture
def tsa_server(authority):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Content-Type"] == tsa.QUERY_CONTENT_TYPE
            reply = tsa.respond(body, authority=authority)
            self.send_response(200)
            self.send_header("Content-Type", tsa.REPLY_CONTENT_TYPE)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tsr"
    server.shutdown()
    server.server_close()


def test_a_standard_rfc3161_client_can_use_it_over_http(authority, tsa_server):
    pdf = weasyprint.HTML(string="<p lang='zh'>调解协议</p>").write_pdf()
    credential = pki.issue_signer(authority, common_name="张三", role="party", document_ref="D")
    signed = signing.sign_pdf(
        pdf,
        signer_credential=credential,
        authority=authority,
        field_name="party-1",
        reason="同意",
        location="北京",
        timestamper=tsa.timestamper_for(authority, url=tsa_server),
    )
    report = verify.verify_pdf(signed, trust_roots=authority.trust_roots)
    assert report.ok, verify.summarize(report)


def test_tokens_are_what_pyhankos_own_construction_makes(authority):
    """The parts encoded once per TSA certificate (tsa._static_parts) give the same bytes as
    pyHanko building the SignedData and signed attributes afresh."""
    from pyhanko.sign import general
    from pyhanko.sign.general import simple_cms_attribute
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    stamper = tsa.PlatformTimeStamper(authority)
    when = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    req = tsp.TimeStampReq.load(request(hashlib.sha256(b"x").digest()))
    info = stamper._build_tst_info(req["message_imprint"], when, req).dump()
    for _ in range(2):  # the second time from the cache
        signature, attrs = stamper._sign_tst_info(info, "sha256", when)
        ours = cms.SignedData(stamper._build_signed_data(info, "sha256", signature, attrs))
        theirs = DummyTimeStamper._build_signed_data(stamper, info, "sha256", signature, attrs)
        assert ours.dump() == cms.SignedData(theirs).dump()
        expected = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(when)})),
                simple_cms_attribute(
                    "signing_certificate", general.as_signing_certificate(stamper.tsa_cert)
                ),
                attrs[3],  # the message digest
            ]
        )
        assert attrs.dump() == expected.dump()
