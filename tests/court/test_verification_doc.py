"""docs/verification.md is right: its `sh` blocks, run as they stand (the published
fingerprint filled in), pass for an agreement and a package the platform just signed, and
stop with NOT VALID for a changed byte of the agreement, a changed file of the package, or
a root other than the published one."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from agreements import pki
from tests.agreements.test_verify import flip

from .offline import make_court_files

DOC = Path(__file__).resolve().parents[2] / "docs" / "verification.md"
PLACEHOLDER = "<PUBLISHED FINGERPRINT>"
TOOLS = ("openssl", "pdfsig", "certutil", "unzip", "sha256sum", "python3", "faketime")


@pytest.fixture(scope="module")
def files(app):
    yield from make_court_files(app)


def script() -> str:
    blocks = re.findall(r"^```sh\n(.*?)^```$", DOC.read_text(), flags=re.S | re.M)
    assert len(blocks) >= 6, "the page's steps are its ```sh blocks"
    return "\n".join(blocks)


def run_steps(
    folder: Path, fingerprint: str, *, later: str | None = None
) -> subprocess.CompletedProcess:
    """The page's steps in ``folder``; ``later`` ("+30d") runs them with the clock moved on
    (libfaketime: every tool of the script sees that date)."""
    for tool in TOOLS:
        assert shutil.which(tool), f"{tool} is installed by `make` (Debian packages)"
    venv = str(Path(sys.executable).parent)  # pyhanko (pyhanko-cli) and mediation
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIATION_", "FLASK_"))}
    env.update(PATH=f"{venv}:{env['PATH']}", HOME=str(folder), LANG="C.UTF-8", TZ="UTC")
    clock = [shutil.which("faketime"), "-f", later] if later else []
    return subprocess.run(
        [*clock, shutil.which("bash"), "-c", script().replace(PLACEHOLDER, fingerprint)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def court_folder(tmp_path: Path, files, *, agreement=None, package=None) -> Path:
    folder = tmp_path / "court"
    folder.mkdir(parents=True)
    (folder / "agreement.pdf").write_bytes(agreement or files.agreement.read_bytes())
    (folder / "package.zip").write_bytes(package or files.package.read_bytes())
    shutil.copy(files.root_pem, folder / "root.pem")
    return folder


def published(files) -> str:
    digest = hashlib.sha256(files.root_der.read_bytes()).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


@pytest.mark.parametrize("later", [None, "+30d"], ids=["on the day", "a month later"])
def test_every_step_of_the_page_passes_for_what_the_platform_signed(files, tmp_path, later):
    # A month later every signer's ten-minute certificate has long expired: the steps check
    # each one at the time its timestamp proves.
    done = run_steps(court_folder(tmp_path, files), published(files), later=later)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.rstrip().endswith("ALL CHECKS PASSED")
    for step in (
        "OK: root.pem is the published root",
        "OK: pdfsig: 4 signatures match the document",
        "OK: pyHanko: every signature valid",
        "CMS Verification successful",
        "Verification: OK",
        "package/journal.json: OK",
        "OK: openssl: the manifest is signed and timestamped",
        "OK: pyHanko: the package's agreement, application and manifest",
    ):
        assert step in done.stdout + done.stderr, step
    assert "NOT VALID" not in done.stdout + done.stderr


def test_the_steps_stop_for_a_changed_byte_file_or_root(files, tmp_path):
    agreement = files.agreement.read_bytes()
    with zipfile.ZipFile(files.package) as original:
        contents = {name: original.read(name) for name in original.namelist()}
    contents["journal.json"] = contents["journal.json"].replace(b'"seq": 1', b'"seq": 0', 1)
    changed = io.BytesIO()
    with zipfile.ZipFile(changed, "w") as package:
        for name, data in contents.items():
            package.writestr(name, data)
    cases = {
        "a changed byte of the agreement": ({"agreement": flip(agreement, 300)}, "a signature"),
        "a changed file of the package": ({"package": changed.getvalue()}, "changed"),
    }
    for number, (name, (given, said)) in enumerate(cases.items()):
        done = run_steps(court_folder(tmp_path / str(number), files, **given), published(files))
        assert done.returncode != 0, name
        assert "NOT VALID" in done.stderr and said in done.stderr, (name, done.stderr[-2000:])
        assert "ALL CHECKS PASSED" not in done.stdout
    other = run_steps(court_folder(tmp_path / "other", files), "AB" * 32)
    assert other.returncode != 0 and "NOT VALID: root.pem is not the published root" in other.stderr
    # Another root of the same name, with its own fingerprint "published": nothing chains.
    foreign = pki.ensure_authority(tmp_path / "foreign-ca", name="Online Mediation Platform")
    folder = court_folder(tmp_path / "foreign", files)
    shutil.copy(tmp_path / "foreign-ca" / "root.crt.pem", folder / "root.pem")
    digest = hashlib.sha256(foreign.root.dump()).hexdigest()
    done = run_steps(folder, digest)
    assert done.returncode != 0 and "NOT VALID: a certificate does not chain" in done.stderr
