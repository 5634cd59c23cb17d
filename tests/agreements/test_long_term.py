"""Five years later, on a court's machine: a signed agreement and a court package still hold
in independent tools, with only what they carry and the platform's root.

The clock is moved (time-machine for this process, Debian's faketime for the tools): the
documents are signed on day one, the worker's renewal runs every month as it would, the
TSA certificate (two years) is replaced twice on the way, and then everything is checked
five years after signing, offline (the CRL URLs point at a port nothing listens on).
"""

import io
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
import weasyprint
from asn1crypto import cms
from asn1crypto import pem as asn1_pem
from pyhanko.pdf_utils.reader import PdfFileReader

from agreements import archive, pki, signing, tsa, verify
from mediation.court import package, package_verify

from .test_verify import SIGNERS, flip

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
FIVE_YEARS = datetime(2032, 3, 1, 9, 0, tzinfo=UTC)
MONTHLY = [T0 + timedelta(days=30 * n) for n in range(1, 61)]
CRL_BASE = "http://127.0.0.1:9/pki"  # the discard port: any fetch fails at once
PYHANKO = Path(sys.executable).parent / "pyhanko"  # pyhanko-cli, from the [test] extra

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("faketime", "openssl", "pdfsig", "certutil")),
    reason="needs faketime, openssl, pdfsig and certutil",
)


def ensure(directory: Path) -> pki.Authority:
    return pki.ensure_authority(directory, name="Test Mediation", crl_base=CRL_BASE)


def sign_four(pdf: bytes, authority: pki.Authority) -> bytes:
    for name, role, field, box in SIGNERS:
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
        )
    return pdf


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    html = (
        "<html lang='zh'><body><h1>人民调解协议书</h1><p>双方自愿达成如下协议。</p></body></html>"
    )
    with time_machine.travel(T0, tick=False):
        authority = ensure(directory)
        signed = sign_four(weasyprint.HTML(string=html).write_pdf(), authority)
        built = package.build(
            {"agreement.pdf": signed, "journal.json": b"[]"}, authority=authority, created=T0
        )
    pdf, zipped, renewals = signed, built, []
    for moment in MONTHLY:  # the worker's schedule (it scans daily; monthly is enough here)
        with time_machine.travel(moment, tick=False):
            authority = ensure(directory)  # renews the TSA certificate when due
            stamper = tsa.timestamper_for(authority)
            current = archive.timestamper_expiry(stamper, authority)
            if archive.due_for_renewal(archive.last_timestamp_expiry(pdf), current, moment):
                pdf = archive.renew_pdf(pdf, authority, stamper)
                renewals.append(moment)
            if archive.due_for_renewal(package.archive_expiry(zipped), current, moment):
                zipped = package.renew(zipped, authority=authority)
    tools = tmp_path_factory.mktemp("court")
    (tools / "root.pem").write_text(pem(authority.root))
    return SimpleNamespace(
        authority=authority, signed=signed, pdf=pdf, zip=zipped, renewals=renewals, dir=tools
    )


def pem(cert) -> str:
    return asn1_pem.armor("CERTIFICATE", cert.dump()).decode()


def faked(moment: datetime, *command: str, cwd: Path) -> subprocess.CompletedProcess:
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return subprocess.run(
        [shutil.which("faketime"), "-f", f"@{stamp}", *command],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "TZ": "UTC", "HOME": str(cwd)},
        check=False,
        timeout=300,
    )


def test_the_tsa_certificate_was_replaced_and_the_documents_renewed_on_the_way(world):
    # Two-year TSA certificates, renewed 90 days ahead: twice within five years.
    assert len(world.renewals) == 2
    reader = PdfFileReader(io.BytesIO(world.pdf))
    assert len(reader.embedded_timestamp_signatures) == 4 + 2
    with zipfile.ZipFile(io.BytesIO(world.zip)) as zf:
        names = zf.namelist()
    assert [n for n in names if n.endswith(".tsr")] == [
        "manifest.json.p7s.1.tsr",
        "manifest.json.p7s.2.tsr",
        "manifest.json.p7s.3.tsr",
    ]


def test_verify_holds_five_years_later_with_only_the_root(world):
    report = verify.verify_pdf(world.pdf, trust_roots=[world.authority.root], at=FIVE_YEARS)
    assert report.ok, verify.summarize(report)
    with time_machine.travel(FIVE_YEARS, tick=False):
        checked = package_verify.verify(world.zip, trust_roots=[world.authority.root])
    assert checked.ok, package_verify.summarize(checked)
    # Without the renewals, the same documents would not hold.
    assert not verify.verify_pdf(world.signed, trust_roots=[world.authority.root], at=FIVE_YEARS).ok


def adesverify(world, pdf: bytes, name: str) -> subprocess.CompletedProcess:
    (world.dir / name).write_bytes(pdf)
    return faked(
        FIVE_YEARS,
        str(PYHANKO),
        "sign",
        "adesverify",
        "--trust",
        "root.pem",
        "--trust-replace",
        "--validation-time",
        FIVE_YEARS.isoformat(),
        name,
        cwd=world.dir,
    )


def test_pyhanko_ades_validation_five_years_later(world):
    done = adesverify(world, world.pdf, "agreement.pdf")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 4, done.stdout
    assert all(":INTACT:TRUSTED," in line for line in lines), done.stdout


def test_pdfsig_trusts_every_signature_at_signing_time(world):
    nssdb = world.dir / "nssdb"
    nssdb.mkdir(exist_ok=True)
    (world.dir / "root.der").write_bytes(world.authority.root.dump())
    certutil = shutil.which("certutil")
    subprocess.run([certutil, "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
    subprocess.run(
        [certutil, "-A", "-d", f"sql:{nssdb}", "-n", "root", "-t", "C,C,C", "-i", "root.der"],
        check=True,
        cwd=world.dir,
    )
    (world.dir / "renewed.pdf").write_bytes(world.pdf)
    at_signing = T0 + timedelta(minutes=1)
    done = faked(
        at_signing,
        shutil.which("pdfsig"),
        "-nssdir",
        f"sql:{nssdb}",
        "renewed.pdf",
        cwd=world.dir,
    )
    out = done.stdout
    regular = out.split("Signature #")[1:]
    signers = [s for s in regular if "ETSI.CAdES.detached" in s]
    assert len(signers) == 4, out
    for block in signers:
        assert "Signature Validation: Signature is Valid." in block, block
        assert "Certificate Validation: Certificate is Trusted." in block, block


def openssl(world, *args: str, at: datetime = FIVE_YEARS) -> subprocess.CompletedProcess:
    return faked(at, shutil.which("openssl"), *args, cwd=world.dir)


def unpack(world, zipped: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(zipped)) as zf:
        zf.extractall(world.dir / "package")
        return sorted(n for n in zf.namelist() if n.endswith(".tsr"))


def openssl_checks(world, zipped: bytes) -> list[subprocess.CompletedProcess]:
    """What docs/verification.md tells a court to run, five years later."""
    tokens = unpack(world, zipped)
    d = world.dir / "package"
    # The manifest signature, with the CRLs it carries, as of the time its archive
    # timestamp proves it existed (the signer's certificate lived ten minutes).
    first = archive.timestamp_time(cms.ContentInfo.load((d / tokens[0]).read_bytes()))
    runs = [
        openssl(
            world,
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "package/manifest.json.p7s",
            "-content",
            "package/manifest.json",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-crl_check_all",
            "-attime",
            str(int(first.timestamp()) - 1),
            "-out",
            "/dev/null",
        )
    ]
    # Each archive timestamp over the signature file and the tokens before it, as of the
    # next one; the newest as of now (five years later).
    covered = (d / "manifest.json.p7s").read_bytes()
    for i, name in enumerate(tokens):
        data = world.dir / f"covered-{i}"
        data.write_bytes(covered)
        args = ["ts", "-verify", "-token_in", "-in", f"package/{name}", "-data", data.name]
        args += ["-CAfile", "root.pem"]
        if i + 1 < len(tokens):
            later = archive.timestamp_time(cms.ContentInfo.load((d / tokens[i + 1]).read_bytes()))
            args += ["-attime", str(int(later.timestamp()))]
        runs.append(openssl(world, *args))
        covered += (d / name).read_bytes()
    return runs


def test_openssl_verifies_the_package_five_years_later(world):
    runs = openssl_checks(world, world.zip)
    assert len(runs) == 4
    for done in runs:
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_flipped_byte_anywhere_signed_fails_everywhere(world):
    # The agreement: one byte of the page content, signed by every signature.
    tampered = flip(world.pdf, 2000)
    assert not verify.verify_pdf(tampered, trust_roots=[world.authority.root], at=FIVE_YEARS).ok
    assert adesverify(world, tampered, "tampered.pdf").returncode != 0
    (world.dir / "tampered.pdf").write_bytes(tampered)
    out = faked(
        T0 + timedelta(minutes=1), shutil.which("pdfsig"), "-nocert", "tampered.pdf", cwd=world.dir
    )
    assert "Signature is Valid." not in out.stdout.split("Signature #5")[0]
    # And a byte of the last signature's own revision (covered by the timestamps after it).
    last = PdfFileReader(io.BytesIO(world.pdf)).embedded_regular_signatures[-1]
    tampered = flip(world.pdf, int(last.byte_range[2]) + 30)
    assert not verify.verify_pdf(tampered, trust_roots=[world.authority.root], at=FIVE_YEARS).ok
    assert adesverify(world, tampered, "tampered2.pdf").returncode != 0

    # The package: the manifest, the signature file, an archive timestamp.
    with zipfile.ZipFile(io.BytesIO(world.zip)) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    for name in ("manifest.json", "manifest.json.p7s", "manifest.json.p7s.2.tsr"):
        data = files[name]
        changed = {**files, name: flip(data, len(data) // 2)}
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for n, d in changed.items():
                zf.writestr(n, d)
        with time_machine.travel(FIVE_YEARS, tick=False):
            assert not package_verify.verify(out.getvalue(), trust_roots=[world.authority.root]).ok
        runs = openssl_checks(world, out.getvalue())
        assert any(r.returncode != 0 for r in runs), name
