"""The production topology of deploy/ started on loopback: the very files there, templated
with free ports and a temporary directory, as a small stand-in for systemd reads them.

Private PostgreSQL (initdb/pg_ctl) and Redis instances on ports of their own: never the
machine's shared services or its system nginx and coturn."""

from __future__ import annotations

import http.server
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
START_WITHIN = 300  # seconds: a deadline; at a load of ~19 on 2 cores a web process took >120 s

# The Debian packages this needs, as command: package (the Makefile's DEBIAN_NEEDS).
PACKAGES = {
    "nginx": "nginx",
    "turnserver": "coturn",
    "redis-server": "redis-server",
    "openssl": "openssl",
    "softhsm2-util": "softhsm2",
}
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def missing_packages() -> list[str]:
    missing = [pkg for cmd, pkg in PACKAGES.items() if not _which(cmd)]
    if not postgres_bin():
        missing.append("postgresql")
    if not Path(SOFTHSM_MODULE).exists():
        missing.append("softhsm2")
    return missing


def _which(command: str) -> str | None:
    return shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin")


def postgres_bin() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- the files of deploy/ -------------------------------------------------------------------


def read_env_file(path: Path, *, commented: bool = False) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile= reads them (comments, blank lines);
    with ``commented``, also the settings shown commented out (``#MEDIATION_X=``): the
    optional ones an installation turns on, such as the S3 storage."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if commented and re.match(r"#MEDIATION_\w+=", line):
            line = line[1:]
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@dataclass
class Unit:
    """What the stand-in takes from a systemd unit: its command and its environment."""

    exec_start: list[str]
    environment: dict[str, str]
    env_files: list[str]
    restart: str | None


def read_unit(name: str, instance: str = "") -> Unit:
    text = (DEPLOY / "systemd" / name).read_text().replace("%i", instance)
    section = text.split("[Service]", 1)[1].split("\n[", 1)[0]
    pairs = [line.split("=", 1) for line in section.splitlines() if "=" in line and line[0] != "#"]
    environment = dict(v.split("=", 1) for k, v in pairs if k == "Environment")
    return Unit(
        exec_start=next(v for k, v in pairs if k == "ExecStart").split(),
        environment=environment,
        env_files=[v for k, v in pairs if k == "EnvironmentFile"],
        restart=next((v for k, v in pairs if k == "Restart"), None),
    )


def replace_all(text: str, replacements: dict[str, str], source: str) -> str:
    """Each replacement must apply: a file that changed shape fails the test, not a silent
    configuration that tests something else."""
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{source} no longer contains {old!r}")
        text = text.replace(old, new)
    return text


# -- the topology -----------------------------------------------------------------------------


@dataclass
class Topology:
    tmp: Path
    url: str = ""  # https://127.0.0.1:PORT, through nginx
    s3: dict[str, str] = field(default_factory=dict)  # endpoint, bucket, keys (with s3=True)
    database_url: str = ""
    storage: Path = Path()
    turn_log: Path = Path()
    web_ports: list[int] = field(default_factory=list)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    sms: list[bytes] = field(default_factory=list)

    def log_of(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")

    def describe(self) -> str:
        return "\n".join(
            f"--- {name} (exit {self.processes[name].poll()}):\n{self.log_of(name)[-3000:]}"
            for name in self.processes
        )


def _tls(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (nginx's and coturn's)."""
    cert, key = tmp / "tls" / "fullchain.pem", tmp / "tls" / "privkey.pem"
    cert.parent.mkdir()
    subprocess.run(
        [_which("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o644)  # nginx's workers and coturn may run as another user than the test
    return cert, key


def _as_postgres() -> dict:
    """initdb refuses to run as root: as the postgres user then."""
    if os.geteuid() != 0:
        return {}
    import pwd

    user = pwd.getpwnam("postgres")
    return {"user": user.pw_uid, "group": user.pw_gid}


def start_postgres(stack: ExitStack, top: Topology) -> str:
    bin_dir = postgres_bin()
    # Not under pytest's 0700 temporary folder: the postgres user must reach it.
    home = Path(tempfile.mkdtemp(prefix="mediation-deploy-pg-"))
    stack.callback(shutil.rmtree, home, True)
    as_postgres = _as_postgres()
    if as_postgres:
        os.chown(home, as_postgres["user"], as_postgres["group"])
    data, port = home / "data", free_port()
    subprocess.run(
        [bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--no-sync"],
        check=True, capture_output=True, **as_postgres,
    )  # fmt: skip
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = home / "postgres.log"
    control = [bin_dir / "pg_ctl", "-D", data, "-l", log, "-o", options]
    subprocess.run(
        [*control, "-w", "-t", "60", "start"], check=True, capture_output=True, **as_postgres
    )
    stack.callback(
        subprocess.run, [*control, "-m", "immediate", "stop"], capture_output=True, **as_postgres
    )
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE mediation")
    top.logs["postgres"] = log
    return f"postgresql://postgres@127.0.0.1:{port}/mediation"


def spawn(stack: ExitStack, top: Topology, name: str, command: list, env=None, cwd=None):
    log = top.tmp / f"{name}.log"
    handle = log.open("w")  # a file: a full pipe would block the process
    process = subprocess.Popen(
        [str(c) for c in command], env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT
    )
    top.processes[name], top.logs[name] = process, log
    stack.callback(handle.close)
    stack.callback(_stop, process)
    return process


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _sms_sink(stack: ExitStack, top: Topology) -> str:
    """The SMS provider: takes every message (the worker posts them)."""

    class Sink(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            top.sms.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(server.shutdown)
    return f"http://127.0.0.1:{server.server_address[1]}/send"


def unit_command(unit: Unit) -> list[str]:
    """ExecStart with the installation's virtualenv replaced by this one."""
    return [
        str(VENV_BIN / Path(part).name) if part.startswith("/opt/mediation/venv/bin/") else part
        for part in unit.exec_start
    ]


def unit_environment(unit: Unit, files: dict[str, Path], overrides: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
    for name in unit.env_files:
        env.update(read_env_file(files[name]))
    env.update(unit.environment)
    env.update(overrides)
    return env


def wait_for(url: str, process: subprocess.Popen | None, top: Topology) -> None:
    context = ssl._create_unverified_context()  # noqa: S323 - the test's self-signed cert
    deadline = time.monotonic() + START_WITHIN
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"a process stopped while starting:\n{top.describe()}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {START_WITHIN} s:\n{top.describe()}")


S3_KEY_ID, S3_SECRET = "deploy-key", "deploy-secret"  # moto accepts any pair


def start_s3(stack: ExitStack, top: Topology) -> dict[str, str]:
    """The S3 server (moto's standalone server: the S3 API server installable here, see
    docs/storage.md) on a loopback port, with an empty bucket for the installation."""
    port = free_port()
    spawn(stack, top, "s3", [VENV_BIN / "moto_server", "-H", "127.0.0.1", "-p", port])
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_WITHIN
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if top.processes["s3"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the S3 server did not start:\n{top.describe()}") from None
            time.sleep(0.2)
    top.s3 = {"endpoint": endpoint, "bucket": "mediation", "prefix": "province"}
    s3_client(top).create_bucket(Bucket=top.s3["bucket"])
    return {
        "MEDIATION_STORAGE_URL": f"s3://{top.s3['bucket']}/{top.s3['prefix']}",
        "MEDIATION_S3_ENDPOINT_URL": endpoint,
        "MEDIATION_S3_ACCESS_KEY_ID": S3_KEY_ID,
        "MEDIATION_S3_SECRET_ACCESS_KEY": S3_SECRET,
        "MEDIATION_S3_REGION": "us-east-1",
        # The recorder's files while it writes them: here, not the example's /var/lib.
        "MEDIATION_SPOOL_DIR": str(top.tmp / "spool"),
    }


def s3_client(top: Topology):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=top.s3["endpoint"],
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )


def start(stack: ExitStack, tmp: Path, *, s3: bool = False) -> Topology:
    """The topology; with ``s3``, its files in the S3 server's bucket instead of a folder."""
    top = Topology(tmp=tmp)
    cert, key = _tls(tmp)

    # -- PostgreSQL, Redis, the token --------------------------------------------------------
    top.database_url = start_postgres(stack, top)
    redis_port = free_port()
    spawn(stack, top, "redis", [_which("redis-server"), "--port", redis_port, "--bind",
          "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp])  # fmt: skip
    softhsm = tmp / "softhsm"
    (softhsm / "tokens").mkdir(parents=True)
    (softhsm / "softhsm2.conf").write_text(f"directories.tokendir = {softhsm / 'tokens'}\n")
    pin = tmp / "pkcs11-pin"
    pin.write_text("1234\n")
    token_env = {**os.environ, "SOFTHSM2_CONF": str(softhsm / "softhsm2.conf")}
    subprocess.run(
        [_which("softhsm2-util"), "--init-token", "--free", "--label", "mediation",
         "--pin", "1234", "--so-pin", "12345678"],
        check=True, capture_output=True, env=token_env,
    )  # fmt: skip

    # -- the environment files, with this machine's ports and folders ------------------------
    https_port, http_port, internal_port, turn_port, turns_port = (free_port() for _ in range(5))
    top.web_ports = [free_port(), free_port()]
    top.url = f"https://127.0.0.1:{https_port}"
    top.storage = tmp / "storage"
    relay_low = 40000 + secrets.randbelow(200) * 100  # a private range of relay ports
    turn_secret = secrets.token_urlsafe(32)
    overrides = {
        "MEDIATION_SECRET_KEY": secrets.token_urlsafe(48),
        "MEDIATION_INSTANCE_PATH": str(tmp / "instance"),
        "MEDIATION_BASE_URL": top.url,
        "MEDIATION_DATABASE_URL": top.database_url,
        "MEDIATION_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "MEDIATION_SOCKETIO_CHANNEL": f"deploy-test-{os.getpid()}",
        "MEDIATION_STORAGE_DIR": str(top.storage),
        "MEDIATION_PKI_DIR": str(tmp / "pki"),
        "MEDIATION_PKCS11_MODULE": SOFTHSM_MODULE,
        "MEDIATION_PKCS11_PIN_FILE": str(pin),
        "SOFTHSM2_CONF": str(softhsm / "softhsm2.conf"),
        "MEDIATION_SMS_URL": _sms_sink(stack, top),
        # Nothing listens there: e-mails wait in the outbox (the parties are told by SMS).
        "MEDIATION_SMTP_HOST": "127.0.0.1",
        "MEDIATION_SMTP_PORT": str(free_port()),
        "MEDIATION_SMTP_STARTTLS": "false",
        "MEDIATION_ICE_STUN_URLS": f"stun:127.0.0.1:{turn_port}",
        "MEDIATION_ICE_TURN_URLS": f"turn:127.0.0.1:{turn_port}?transport=udp",
        "MEDIATION_TURN_SECRET": turn_secret,
        "MEDIATION_ICE_TRANSPORT_POLICY": "relay",
        "MEDIATION_RECORDER_URL": f"http://127.0.0.1:{internal_port}",
    }
    if s3:
        overrides.update(start_s3(stack, top))
    files = {}
    for name in ("common", "web", "worker", "recorder"):
        # The optional settings shown commented out are turned on only where given (S3).
        example = read_env_file(DEPLOY / "env" / f"{name}.env.example")
        optional = read_env_file(DEPLOY / "env" / f"{name}.env.example", commented=True)
        given = {k: v for k, v in overrides.items() if k in optional}
        files[f"/etc/mediation/{name}.env"] = path = tmp / f"{name}.env"
        path.write_text("".join(f"{k}={v}\n" for k, v in {**example, **given}.items()))
    every = {k for n in ("common", "web", "worker", "recorder")
             for k in read_env_file(DEPLOY / "env" / f"{n}.env.example", commented=True)
             }  # fmt: skip
    unknown = set(overrides) - every
    assert not unknown, f"deploy/env/*.env.example no longer name {unknown}"

    def environment(unit: Unit) -> dict:
        return unit_environment(unit, files, {})

    (tmp / "instance").mkdir()

    # -- one release: migrations, the CA (root offline, keys in the token) -------------------
    migrate = read_unit("mediation-migrate.service")
    run = subprocess.run(unit_command(migrate), env=environment(migrate), capture_output=True,
                         text=True, cwd=tmp)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    passphrase = tmp / "root-passphrase"
    passphrase.write_text("a long root passphrase\n")
    offline = {**environment(migrate), "MEDIATION_ENV": "development"}
    for command, env in (
        (["init-root", tmp / "root", "--passphrase-file", passphrase], offline),
        (["issue-ca", tmp / "root", "--passphrase-file", passphrase], environment(migrate)),
    ):
        run = subprocess.run([VENV_BIN / "mediation", "pki", *map(str, command)], env=env,
                             capture_output=True, text=True, cwd=tmp)  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
    shutil.move(tmp / "root", tmp / "offline-root")  # the medium is taken away

    # -- coturn --------------------------------------------------------------------------
    top.turn_log = tmp / "turnserver.log"
    conf = (DEPLOY / "coturn" / "turnserver.conf").read_text()
    conf = replace_all(
        conf,
        {
            "listening-port=3478": f"listening-port={turn_port}",
            "tls-listening-port=5349": f"tls-listening-port={turns_port}",
            "listening-ip=0.0.0.0": "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1",
            "min-port=49160": f"min-port={relay_low}",
            "max-port=49999": f"max-port={relay_low + 99}",
            "static-auth-secret=change-me-the-same-as-MEDIATION_TURN_SECRET":
                f"static-auth-secret={turn_secret}",
            "cert=/etc/mediation/tls/fullchain.pem": f"cert={cert}",
            "pkey=/etc/mediation/tls/privkey.pem": f"pkey={key}",
            "log-file=/var/log/turnserver/turnserver.log": f"log-file={top.turn_log}",
            # Everyone is on this machine here: peers on 127.0.0.1, and what they do logged.
            "no-cli": f"no-cli\nallow-loopback-peers\nverbose\npidfile={tmp / 'turnserver.pid'}",
        },
        "deploy/coturn/turnserver.conf",
    )  # fmt: skip
    (tmp / "turnserver.conf").write_text(conf)
    spawn(stack, top, "coturn", [_which("turnserver"), "-c", tmp / "turnserver.conf"])

    # -- the web processes, the worker, a recorder: their units ------------------------------
    for port in top.web_ports:
        unit = read_unit("mediation-web@.service", str(port))
        assert unit.restart == "always"
        spawn(stack, top, f"web-{port}", unit_command(unit), environment(unit), cwd=tmp)
    for name, unit in (
        ("worker", read_unit("mediation-worker.service")),
        ("recorder", read_unit("mediation-recorder@.service", "1")),
    ):
        assert unit.restart == "always"
        spawn(stack, top, name, unit_command(unit), environment(unit), cwd=tmp)

    # -- nginx -------------------------------------------------------------------------------
    site = (DEPLOY / "nginx" / "mediation.conf").read_text()
    upstreams = "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;\n" for port in top.web_ports
    )
    site = replace_all(
        site,
        {
            "    server 127.0.0.1:8001 max_fails=1 fail_timeout=5s;\n"
            "    server 127.0.0.1:8002 max_fails=1 fail_timeout=5s;\n": upstreams,
            "    listen 80;\n    listen [::]:80;\n": f"    listen 127.0.0.1:{http_port};\n",
            "    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n":
                f"    listen 127.0.0.1:{https_port} ssl http2;\n",
            "listen 127.0.0.1:8080;": f"listen 127.0.0.1:{internal_port};",
            "/etc/mediation/tls/fullchain.pem": str(cert),
            "/etc/mediation/tls/privkey.pem": str(key),
            "/etc/mediation/nginx/common.conf": str(tmp / "nginx-common.conf"),
        },
        "deploy/nginx/mediation.conf",
    )  # fmt: skip
    (tmp / "mediation.conf").write_text(site)
    common = replace_all(
        (DEPLOY / "nginx" / "common.conf").read_text(),
        {"/opt/mediation/static/": f"{ROOT / 'static'}/"},
        "deploy/nginx/common.conf",
    )
    (tmp / "nginx-common.conf").write_text(common)
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / "nginx" / folder).mkdir(parents=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # the workers read the static files
    (tmp / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'nginx-error.log'} warn;\nevents {{ worker_connections 1024; }}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  access_log {tmp / 'nginx-access.log'};\n"
        + "".join(f"  {f}_temp_path {tmp / 'nginx' / f};\n" for f in ("fastcgi", "uwsgi", "scgi"))
        + f"  client_body_temp_path {tmp / 'nginx' / 'body'};\n"
        f"  proxy_temp_path {tmp / 'nginx' / 'proxy'};\n"
        f"  include {tmp / 'mediation.conf'};\n}}\n"
    )
    nginx = _which("nginx")
    check = subprocess.run([nginx, "-t", "-p", tmp, "-c", tmp / "nginx.conf"],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stderr
    spawn(stack, top, "nginx", [nginx, "-p", tmp, "-c", tmp / "nginx.conf", "-g", "daemon off;"])

    # -- everything answers ----------------------------------------------------------------
    for port in top.web_ports:
        wait_for(f"http://127.0.0.1:{port}/healthz", top.processes[f"web-{port}"], top)
    wait_for(f"{top.url}/healthz", top.processes["nginx"], top)
    deadline = time.monotonic() + START_WITHIN
    while "records rooms of" not in top.log_of("recorder"):
        if top.processes["recorder"].poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the recorder did not start:\n{top.describe()}")
        time.sleep(0.3)
    return top


def relay_log(top: Topology) -> str:
    return top.turn_log.read_text(errors="replace") if top.turn_log.exists() else ""


def relayed_for(top: Topology, participant_id: int) -> int:
    """Bytes coturn relayed from peers to the allocations made with this participant's TURN
    credentials (the REST API's username is "expiry:participant"), as coturn logs them when
    an allocation ends."""
    pattern = re.compile(rf"peer usage: .*username=<\d+:{participant_id}>, rp=\d+, rb=(\d+)")
    return sum(int(m.group(1)) for m in pattern.finditer(relay_log(top)))
