"""What a court receives, made by the platform's own code, and a machine that is not the
platform's: a fresh environment to run commands in (tests of verification anywhere)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import pem
from flask import Flask

from mediation.agreements import credentials, signing
from mediation.extensions import db

from .conftest import apply_jointly, in_force

# The files are what is under test, not the database that made them: made once, on SQLite.
ONCE = "the files, not the database, are under test: checked once, on SQLite"


@dataclass(frozen=True)
class CourtFiles:
    """A signed agreement, the court package around it and the platform's root, in a folder
    any user can read (a court's tools may run as an unprivileged user)."""

    folder: Path
    agreement: Path
    package: Path
    root_pem: Path
    root_der: Path


def make_court_files(app: Flask) -> Iterator[CourtFiles]:
    """Sign an agreement and a package as the platform does; yield them; remove them."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip(ONCE)
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        db.session.commit()
        from mediation.court import bundle

        package = bundle.build(application)
        agreement = signing.document_bytes(application.agreement)
        root = credentials.platform_root().dump()
    folder = Path(tempfile.mkdtemp(prefix="court-files-"))
    folder.chmod(0o755)
    files = CourtFiles(
        folder,
        folder / "agreement.pdf",
        folder / "package.zip",
        folder / "root.pem",
        folder / "root.der",
    )
    for path, data in (
        (files.agreement, agreement),
        (files.package, package),
        (files.root_pem, pem.armor("CERTIFICATE", root)),
        (files.root_der, root),
    ):
        path.write_bytes(data)
        path.chmod(0o644)
    try:
        yield files
    finally:
        shutil.rmtree(folder)


NOBODY = 65534


def _owner(path: Path) -> int | None:
    try:
        return path.lstat().st_uid
    except OSError:  # gone meanwhile (another test's file)
        return None


@functools.cache
def _nobody_prefix() -> tuple[str, ...]:
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv is in util-linux"
    return (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--")


@functools.cache
def _as_nobody() -> tuple[str, ...]:
    """As root: run as `nobody`, when `nobody` can reach this checkout (a checkout under a
    private folder such as /root cannot be; then as root, and the folders' contents are
    still compared before and after)."""
    if os.geteuid() != 0:
        return ()
    probe = [*_nobody_prefix(), sys.executable, "-c", "import mediation.cli"]
    env = {"PATH": os.environ["PATH"], "HOME": "/"}
    reachable = subprocess.run(probe, env=env, cwd="/", capture_output=True, check=False)
    return _nobody_prefix() if reachable.returncode == 0 else ()


def _nobodys() -> frozenset[Path]:
    """What `nobody` owns in the folders anyone may write to (when commands run as it)."""
    if os.geteuid() != 0:
        return frozenset()
    shared = [Path(p) for p in ("/tmp", "/var/tmp", "/dev/shm") if Path(p).is_dir()]  # noqa: S108
    return frozenset(p for folder in shared for p in folder.iterdir() if _owner(p) == NOBODY)


@dataclass(frozen=True)
class Machine:
    """A court's machine: an empty working folder and a HOME that nobody may write to, no
    MEDIATION_* or FLASK_* settings; as root, commands run as the unprivileged `nobody`
    (root writes through any file mode)."""

    home: Path
    cwd: Path
    env: dict[str, str]
    nobodys_before: frozenset[Path]

    def run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*_as_nobody(), *command],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            check=False,
        )

    def written(self) -> list[Path]:
        """What appeared in HOME or the working folder, and (run as `nobody`) whatever
        `nobody` owns in the folders anyone may write to."""
        found = [p for folder in (self.home, self.cwd) for p in folder.rglob("*")]
        return sorted([*found, *(_nobodys() - self.nobodys_before)])


@contextmanager
def fresh_machine() -> Iterator[Machine]:
    base = Path(tempfile.mkdtemp(prefix="court-machine-"))
    base.chmod(0o755)
    home, cwd = base / "home", base / "work"
    for folder in (home, cwd):
        folder.mkdir()
        folder.chmod(0o555)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MEDIATION_", "FLASK_")) and name not in ("HOME", "PWD")
    }
    # A desktop's own cache folder, which a court's machine has: Fontconfig, when a library
    # loads it, writes its cache there instead of printing "No writable cache directories"
    # on the command's one line of stderr (seen on a loaded CI run). Not the platform's
    # files: what the command writes in HOME or the working folder is still checked.
    cache = base / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    env.update(HOME=str(home), PWD=str(cwd), LANG="C.UTF-8", XDG_CACHE_HOME=str(cache))
    try:
        yield Machine(home, cwd, env, _nobodys())
    finally:
        for folder in (home, cwd):
            folder.chmod(0o755)
        shutil.rmtree(base)


def mediation_command() -> str:
    """The installed `mediation` script beside this interpreter."""
    script = Path(sys.executable).parent / "mediation"
    assert script.exists(), "pip install -e . installs the mediation command"
    return str(script)


def default_instance_path() -> Path:
    """Where the platform would put its instance folder with no setting (Flask's rule)."""
    return Path(Flask("mediation").instance_path)
