"""The outside tools a court would use on a file stamped by an external TSA (pdfsig, pyHanko's
CLI, openssl ts), run on a machine whose clock is moved (faketime): shared by
test_external_tsa.py and test_external_tsa_renewal.py."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms, crl
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore

from agreements import verify

PYHANKO = Path(sys.executable).parent / "pyhanko"  # pyhanko-cli, from the [test] extra


def require_pyhanko() -> str:
    if not PYHANKO.exists():
        pytest.fail("pyhanko-cli is in the [test] extra: pip install -e '.[test]'")
    return str(PYHANKO)


def run_at(signed, moment: datetime, *command: str) -> subprocess.CompletedProcess:
    """A command on a machine whose clock says ``moment`` (faketime), in the court folder,
    with no network to speak of: the TSA is stopped and the platform's CRL URL is not served."""
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return subprocess.run(
        [signed.tools["faketime"], "-f", f"@{stamp}", *command],
        capture_output=True,
        text=True,
        cwd=signed.dir,
        # PYTHONPATH: the `mediation` command runs this checkout's code (tests/conftest.py),
        # not the editable install's, which may be another worktree's.
        env={
            "PATH": "/usr/bin:/bin",
            "TZ": "UTC",
            "HOME": str(signed.dir),
            "LANG": "C.UTF-8",
            "PYTHONPATH": os.environ["PYTHONPATH"],
        },
        check=False,
        timeout=300,
    )


def signatures_of(pdf: bytes):
    return PdfFileReader(io.BytesIO(pdf)).embedded_signatures


def token_signer(token: cms.ContentInfo):
    signed_data = token["content"]
    sid = signed_data["signer_infos"][0]["sid"].chosen
    for choice in signed_data["certificates"]:
        cert = choice.chosen
        if cert.issuer == sid["issuer"] and cert.serial_number == sid["serial_number"].native:
            return cert
    return None


def signature_tokens(pdf: bytes) -> list[tuple[str, bytes, cms.ContentInfo]]:
    """Each signer's signature value and the RFC 3161 token over it (its unsigned
    signature-time-stamp-token attribute)."""
    found = []
    for sig in signatures_of(pdf):
        if sig.sig_object_type == "/DocTimeStamp":
            continue
        (attr,) = [
            a
            for a in sig.signer_info["unsigned_attrs"]
            if a["type"].native == "signature_time_stamp_token"
        ]
        found.append((sig.field_name, sig.signer_info["signature"].native, attr["values"][0]))
    return found


def package_tokens(package: bytes) -> list[tuple[str, bytes, bytes]]:
    """(name, token, the bytes it covers) of the manifest signature's timestamp and the
    package's archive timestamp."""
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        p7s = zf.read("manifest.json.p7s")
        archive_token = zf.read("manifest.json.p7s.1.tsr")
    signer = cms.ContentInfo.load(p7s)["content"]["signer_infos"][0]
    (attr,) = [
        a for a in signer["unsigned_attrs"] if a["type"].native == "signature_time_stamp_token"
    ]
    return [
        ("manifest", attr["values"][0].dump(), signer["signature"].native),
        ("package-archive", archive_token, p7s),
    ]


def pdfsig_blocks(signed, moment: datetime) -> list[str]:
    nssdb = signed.dir / "nssdb"
    if not nssdb.exists():
        nssdb.mkdir()
        certutil = signed.tools["certutil"]
        subprocess.run([certutil, "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
        for name in ("root.pem", "tsa-root.pem"):
            subprocess.run(
                [certutil, "-A", "-d", f"sql:{nssdb}", "-n", name, "-t", "C,C,C", "-a", "-i", name],
                check=True,
                cwd=signed.dir,
            )
    done = run_at(
        signed, moment, signed.tools["pdfsig"], "-nssdir", f"sql:{nssdb}", "agreement.pdf"
    )
    return done.stdout.split("Signature #")[1:]


def pyhanko(signed, moment: datetime, *args: str) -> subprocess.CompletedProcess:
    return run_at(signed, moment, str(PYHANKO), *args)


def adesverify(signed, moment: datetime, *more: str, expected: str = "VALID") -> None:
    """``pyhanko sign adesverify`` of agreement.pdf at ``moment``, trusting the platform's
    and the TSA's roots alone, with ``more`` options: each of the four signatures
    ``expected``."""
    done = pyhanko(
        signed,
        moment,
        "sign",
        "adesverify",
        "--trust",
        "root.pem",
        "--trust",
        "tsa-root.pem",
        "--trust-replace",
        "--executive-summary",
        *more,
        "agreement.pdf",
    )
    assert done.returncode == (0 if expected == "VALID" else 1), done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 4 and all(line.endswith(f":{expected}") for line in lines), done.stdout
    return done


def checked_past_the_tsas_crl(signed, pdf: bytes, tsa_root_pem: bytes, moment: datetime) -> None:
    """Outside tools, offline, at ``moment``: after the nextUpdate of the CRL the file
    carries for its newest document timestamp's TSA (docs/verification.md, "Months later").

    ETSI EN 319 102-1 (5.6.2.2, 5.6.3) asks for revocation data current at the validation
    time for the newest timestamp, or a later proof of existence: the file can have
    neither. So pyHanko's AdES validation, with revocation checking, says INVALID for every
    signature (its time sliding ends at that CRL's nextUpdate, nothing proves the newest
    timestamp existed before it, and without that proof each signer's ten-minute
    certificate is judged now, long expired), and ``openssl ts -verify -crl_check`` says
    "CRL has expired". Both are right by their rules: neither can learn offline whether
    the TSA's certificate was revoked after the file was last stamped. What a court does
    instead, offline: validate as of the newest document timestamp's time, where the
    file's revocation data was current (pyHanko's --validation-time, openssl's -attime):
    VALID and OK. (Online, pyHanko fetches the TSA's current CRL from the address in its
    certificate.) The platform's verifier decides the same way (newest_timestamp_status)."""
    newest = [s for s in signatures_of(pdf) if s.sig_object_type == "/DocTimeStamp"][-1]
    made = verify._token_time(newest.signed_data)
    done = adesverify(signed, moment, expected="INVALID")
    assert "Document timestamp chain failed to validate" in done.stderr, done.stderr
    adesverify(signed, moment, "--validation-time", made.strftime("%Y-%m-%dT%H:%M:%SZ"))
    # openssl: the newest document timestamp over its bytes, with the TSA's CRL the file
    # carries (its DSS), checked now and at the token's time.
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(pdf)))
    carried = [crl.CertificateList.load(ref.get_object().data) for ref in dss.crls]
    tsa_root = asn1_x509.Certificate.load(asn1_pem.unarmor(tsa_root_pem)[2])
    theirs = [c for c in carried if c.issuer == tsa_root.subject]
    assert theirs and all(c["tbs_cert_list"]["next_update"].native < moment for c in theirs)
    trusted = signed.dir / "tsa-root-and-file-crls.pem"
    trusted.write_bytes(
        tsa_root_pem + b"".join(asn1_pem.armor("X509 CRL", c.dump()) for c in theirs)
    )
    a, la, b, lb = newest.byte_range
    data = pdf[a : a + la] + pdf[b : b + lb]
    for at, verdict in ((None, "CRL has expired"), (made, "Verification: OK")):
        when = [] if at is None else ["-attime", str(int(at.timestamp()))]
        done = openssl_ts_verify(
            signed, moment, "newest", newest.pkcs7_content, data, trusted.name, "-crl_check", *when
        )
        assert (done.returncode == 0) == (at is not None), done.stdout + done.stderr
        assert verdict in done.stdout + done.stderr, done.stdout + done.stderr


def openssl_ts_verify(
    signed,
    moment: datetime,
    name: str,
    token: bytes,
    data: bytes,
    ca: str = "tsa-root.pem",
    *more: str,
):
    """``openssl ts -verify`` of ``token`` over ``data`` at ``moment``, trusting ``ca`` (a
    file in ``signed.dir``), with ``more`` options (``-crl_check_all``)."""
    (signed.dir / f"{name}.tst").write_bytes(token)
    (signed.dir / f"{name}.data").write_bytes(data)
    return run_at(
        signed,
        moment,
        signed.tools["openssl"],
        "ts",
        "-verify",
        "-token_in",
        "-in",
        f"{name}.tst",
        "-data",
        f"{name}.data",
        "-CAfile",
        ca,
        *more,
    )
