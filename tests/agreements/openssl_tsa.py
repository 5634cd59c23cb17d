"""A timestamp authority the platform did not write: OpenSSL's ``openssl ts -reply``
(Debian's openssl) behind a small HTTP handler on loopback, with a CA and a TSA certificate
of its own made by ``openssl`` in a temporary folder.

What a real external TSA has, this one has too: a root of its own (not the platform's), a
TSA certificate whose extendedKeyUsage is timeStamping and critical (RFC 3161 2.3), and a
CRL, published at the URL its certificate names, that the platform must fetch and embed in
the document (PAdES B-LT). The handler answers ``POST`` (a DER TimeStampReq, piped to
``openssl ts -reply``) and ``GET /ca.crl``; it stops by itself after ``LIFETIME`` seconds at
the latest, and each openssl run is bounded too.

For the archive renewal's years, the TSA certificate's validity is a parameter
(``tsa_days``), the operator can replace it (:meth:`OpensslTsa.roll`), and with
``follow_clock`` the TSA keeps the test's clock (time-machine's, moved ahead): each openssl
run is under Debian's faketime at that moment, so tokens carry it as their genTime and the
CRL is issued anew at it on every fetch, as a TSA publishing its CRL regularly would.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509

from tests.conftest import CI

LIFETIME = 900  # seconds the server answers at most, whatever the test does
RUN_WITHIN = 60  # seconds one openssl run may take (a loaded 2-core machine)
POLICY = "1.3.6.1.4.1.4146.2.2"  # any policy of the TSA's own; the platform asks for none


def require_tools(*commands: str) -> dict[str, str]:
    """The path of each command; a missing one skips the test, or fails it under CI=true
    (as a missing service does, tests/conftest.py): the Makefile installs them
    (DEBIAN_NEEDS, command:package)."""
    import pytest

    found = {command: shutil.which(command) for command in commands}
    missing = sorted(command for command, path in found.items() if path is None)
    if missing:
        message = f"needs {', '.join(missing)} (the Makefile's Debian packages: make test)"
        if CI:
            pytest.fail(f"{message} (CI=true: every tool must be installed)")
        pytest.skip(message)
    return found


@dataclass
class OpensslTsa:
    """The running TSA: its URL, its root (PEM file and certificate), the TSA certificate,
    and the requests it answered (the DER replies, in order)."""

    folder: Path
    url: str
    crl_url: str
    root_pem: Path
    tsa_pem: Path
    answered: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: bool = False  # follow the test's clock (faketime), see the module's docstring

    @property
    def root(self) -> asn1_x509.Certificate:
        return _load_pem(self.root_pem)

    @property
    def certificate(self) -> asn1_x509.Certificate:
        return _load_pem(self.tsa_pem)

    def roll(self, days: int) -> asn1_x509.Certificate:
        """The operator replaces the TSA's key and certificate (valid ``days`` from the
        test's clock when it follows it); tokens from now on are signed with the new one."""
        with self.lock:
            issue_tsa_certificate(self.folder, days, at=now() if self.clock else None)
        return self.certificate


def _load_pem(path: Path) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(asn1_pem.unarmor(path.read_bytes())[2])


def now() -> datetime:
    """The test's clock (time-machine moves it; the openssl processes do not see that)."""
    return datetime.now(UTC)


def _run(*args: str, cwd: Path, data: bytes | None = None, at: datetime | None = None) -> bytes:
    clock = []
    if at is not None:
        stamp = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        clock = [shutil.which("faketime"), "-f", f"@{stamp}"]
    done = subprocess.run(
        [*clock, shutil.which("openssl"), *args],
        cwd=cwd,
        input=data,
        capture_output=True,
        check=False,
        timeout=RUN_WITHIN,
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {done.stderr.decode(errors='replace')}")
    return done.stdout


CONFIG = """\
[ca]
default_ca = the_ca

[the_ca]
dir = .
database = index.txt
serial = ca.serial
crlnumber = crl.serial
certificate = root.pem
private_key = root.key
default_md = sha256
default_crl_days = 30
policy = anything
new_certs_dir = .
unique_subject = no

[anything]
commonName = supplied
organizationName = optional
countryName = optional

[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[root_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[tsa_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:{crl_url}

[tsa]
default_tsa = tsa_config

[tsa_config]
dir = .
serial = tsa.serial
crypto_device = builtin
signer_cert = tsa.pem
certs = root.pem
signer_key = tsa.key
signer_digest = {signer_digest}
default_policy = {policy}
other_policies = {policy}
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = {ess_cert_id_alg}
"""


def make_pki(
    folder: Path, crl_url: str, *, ess_cert_id_alg: str = "sha1", tsa_days: int = 730
) -> None:
    """The TSA's own CA and certificate (valid ``tsa_days``), made with openssl as an
    operator would.

    ``ess_cert_id_alg`` is what openssl's own default writes (sha1: the ESS
    signing-certificate attribute of RFC 2634; sha256 and up: signing-certificate-v2 of
    RFC 5035)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "openssl.cnf").write_text(
        CONFIG.format(
            crl_url=crl_url,
            policy=POLICY,
            signer_digest="sha256",
            ess_cert_id_alg=ess_cert_id_alg,
        )
    )
    (folder / "index.txt").write_text("")
    (folder / "ca.serial").write_text("1000\n")
    (folder / "crl.serial").write_text("01\n")
    (folder / "tsa.serial").write_text("01\n")
    cnf = "openssl.cnf"
    _run(
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "root.key",
        cwd=folder,
    )
    _run(
        "req",
        "-config",
        cnf,
        "-new",
        "-x509",
        "-key",
        "root.key",
        "-sha256",
        "-days",
        "3650",
        "-subj",
        "/C=CN/O=Test Timestamping Ltd/CN=Test External TSA Root",
        "-extensions",
        "root_ext",
        "-out",
        "root.pem",
        cwd=folder,
    )
    issue_tsa_certificate(folder, tsa_days)
    publish_crl(folder)


def issue_tsa_certificate(folder: Path, days: int, *, at: datetime | None = None) -> None:
    """A new RSA key and TSA certificate (tsa.key, tsa.pem) from the TSA's root."""
    cnf = "openssl.cnf"
    _run(
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "tsa.key",
        cwd=folder,
    )
    _run(
        "req",
        "-config",
        cnf,
        "-new",
        "-key",
        "tsa.key",
        "-subj",
        "/C=CN/O=Test Timestamping Ltd/CN=Test External TSA",
        "-out",
        "tsa.csr",
        cwd=folder,
    )
    _run(
        "ca",
        "-config",
        cnf,
        "-batch",
        "-notext",
        "-days",
        str(days),
        "-in",
        "tsa.csr",
        "-extensions",
        "tsa_ext",
        "-out",
        "tsa.pem",
        cwd=folder,
        at=at,
    )


def publish_crl(folder: Path, *, at: datetime | None = None, days: int = 30) -> None:
    """The root's CRL (ca.crl, DER), issued at ``at`` (now when None), valid ``days``."""
    _run(
        "ca",
        "-config",
        "openssl.cnf",
        "-gencrl",
        "-crldays",
        str(days),
        "-out",
        "ca.crl.pem",
        cwd=folder,
        at=at,
    )
    _run("crl", "-in", "ca.crl.pem", "-outform", "DER", "-out", "ca.crl", cwd=folder)


@contextmanager
def openssl_tsa(
    folder: Path,
    *,
    ess_cert_id_alg: str = "sha1",
    tsa_days: int = 730,
    follow_clock: bool = False,
    crl_days: int = 30,
) -> Iterator[OpensslTsa]:
    """Run the TSA on loopback until the block ends (or LIFETIME passes); its CRL is
    valid ``crl_days`` from when it is issued."""
    lock = threading.Lock()  # openssl ts -reply keeps its serial in a file: one at a time
    answered: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                with lock:
                    reply = _run(
                        "ts",
                        "-reply",
                        "-config",
                        "openssl.cnf",
                        "-queryfile",
                        "/dev/stdin",
                        "-out",
                        "/dev/stdout",
                        cwd=folder,
                        data=request,
                        at=now() if follow_clock else None,
                    )
            except (RuntimeError, subprocess.TimeoutExpired):
                self.send_error(500)
                return
            answered.append(reply)
            self._send(reply, "application/timestamp-reply")

        def do_GET(self) -> None:
            if self.path != "/ca.crl":
                self.send_error(404)
                return
            with lock:
                if follow_clock:
                    publish_crl(folder, at=now(), days=crl_days)
                crl = (folder / "ca.crl").read_bytes()
            self._send(crl, "application/pkix-crl")

        def _send(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_port}"
    make_pki(folder, f"{base}/ca.crl", ess_cert_id_alg=ess_cert_id_alg, tsa_days=tsa_days)
    publish_crl(folder, days=crl_days)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop = threading.Timer(LIFETIME, server.shutdown)  # stops by itself, at the latest
    stop.daemon = True
    stop.start()
    try:
        yield OpensslTsa(
            folder=folder,
            url=f"{base}/tsr",
            crl_url=f"{base}/ca.crl",
            root_pem=folder / "root.pem",
            tsa_pem=folder / "tsa.pem",
            answered=answered,
            lock=lock,
            clock=follow_clock,
        )
    finally:
        stop.cancel()
        server.shutdown()
        server.server_close()
