"""Backups of an instance and their restore (``mediation backup DIR`` / ``mediation restore DIR``).

A backup is a directory: the database (SQLite through its online backup API, a consistent
copy while the platform writes; PostgreSQL as a ``pg_dump`` custom-format archive), the
stored files (evidence, recordings, PDFs, packages: STORAGE_DIR), the PKI directory (the
CA's and TSA's certificates and file keys: PKI_DIR) and the development secret key, with a
``manifest.json`` naming every file with its size and SHA-256. The manifest is written last
and the directory is renamed into place only then: a backup cut short never looks complete.

The database is copied first, the files after it: a file is stored before the row that
names it is committed (core/storage.py), so every file the copied database names is in the
backup; files stored meanwhile come along unnamed and do no harm.

Keys in a PKCS#11 token never leave it and are not in a backup (docs/backup.md says how a
token is backed up). See docs/backup.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from .core.storage import CorruptObjectError, LocalStorage, Storage, from_config
from .extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
STORAGE = "storage"
PKI = "pki"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name
CHUNK = 1 << 20
# Tables whose rows make an instance "in use": restoring over them needs --force.
DATA_TABLES = ("users", "cases")


class BackupError(Exception):
    """A backup cannot be taken or restored; the message says why and what to do."""


@dataclass(frozen=True)
class Summary:
    directory: Path
    dialect: str
    files: int
    size: int
    revision: str | None


# -- taking a backup ------------------------------------------------------------------------


def backup(app: Flask, target: Path) -> Summary:
    """Write a backup of ``app``'s instance into the new directory ``target``."""
    target = target.resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not empty: give a new directory.")
    partial = target.with_name(target.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)  # an earlier backup cut short
    partial.mkdir(parents=True)
    try:
        with app.app_context():
            dialect = db.engine.dialect.name
            revision = _revision()
            if dialect == "sqlite":
                _dump_sqlite(_sqlite_path(), partial / SQLITE_FILE)
                database = SQLITE_FILE
            elif dialect == "postgresql":
                _run(
                    [
                        "pg_dump",
                        "--format=custom",
                        "--no-owner",
                        f"--file={partial / PG_FILE}",
                        _libpq_url(),
                    ],
                    _libpq_password(),
                )
                database = PG_FILE
            else:
                raise BackupError(f"no backup for a {dialect} database")
        config = app.config
        _copy_storage(from_config(config), partial / STORAGE)
        _copy_tree(Path(config["PKI_DIR"]), partial / PKI)
        secret = Path(app.instance_path) / SECRET_KEY_FILE
        if secret.is_file():
            shutil.copy2(secret, partial / SECRET_KEY_FILE)
        files = {name: _describe(partial / name) for name in _files(partial)}
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": {"dialect": dialect, "file": database, "revision": revision},
            # Keys in a token are not in the backup: the restored instance needs that token.
            "pkcs11": bool(config.get("PKCS11_MODULE")),
            "files": files,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        _fsync_tree(partial)
        if target.exists():
            target.rmdir()
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return Summary(target, dialect, len(files), sum(f["size"] for f in files.values()), revision)


def _dump_sqlite(source: Path, copy: Path) -> None:
    """SQLite's online backup API: one consistent snapshot, readers and writers go on (WAL)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)  # all pages in one step: one snapshot
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()


def _copy_tree(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_symlink():
            raise BackupError(f"{path} is a symbolic link; a backup copies files only.")
        if path.is_dir():
            (target / relative).mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            shutil.copy2(path, target / relative)


def _copy_storage(storage: Storage, target: Path) -> None:
    """The stored files, from the folder or from object storage (core/storage.py), into
    the backup under their keys: a backup restores into either backend."""
    if isinstance(storage, LocalStorage):
        _copy_tree(storage.root, target)
        return
    target.mkdir(parents=True, exist_ok=True)
    for key in sorted(storage.iter_keys()):
        destination = target / key
        destination.parent.mkdir(parents=True, exist_ok=True)
        with destination.open("wb") as handle:
            storage.fetch(key, handle)


# -- checking a backup ----------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest, once every file it names is there with its hash, and nothing
    else is: a tampered or incomplete backup is refused before anything is touched."""
    path = source / MANIFEST
    if not source.is_dir():
        raise BackupError(f"{source} is not a directory.")
    if not path.is_file():
        raise BackupError(f"{source} has no {MANIFEST}: not a backup, or one that was cut short.")
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
        database = manifest["database"]
    except (ValueError, KeyError, TypeError):
        raise BackupError(f"{path} cannot be read: the backup is damaged.") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{source} is a backup of format {manifest.get('format')!r}, "
            f"this version reads format {FORMAT}."
        )
    problems = []
    present = set(_files(source)) - {MANIFEST}
    for name, expected in sorted(files.items()):
        if name not in present:
            problems.append(f"missing: {name}")
        elif _describe(source / name) != expected:
            problems.append(f"altered: {name}")
    problems += [f"not in the manifest: {name}" for name in sorted(present - set(files))]
    if database.get("file") not in files:
        problems.append("the database is missing")
    if problems:
        shown = "\n  ".join(problems[:20]) + ("\n  ..." if len(problems) > 20 else "")
        raise BackupError(
            f"{source} is incomplete or was altered; nothing was restored:\n  {shown}"
        )
    return manifest


# -- restoring ------------------------------------------------------------------------------


def restore(app: Flask, source: Path, *, force: bool = False) -> Summary:
    """Restore the backup in ``source`` into ``app``'s instance (its database, STORAGE_DIR,
    PKI_DIR). Refused into an instance holding data, unless ``force``: then it is replaced."""
    source = source.resolve()
    manifest = read_manifest(source)
    dialect = manifest["database"]["dialect"]
    config = app.config
    storage, pki = from_config(config), Path(config["PKI_DIR"])
    with app.app_context():
        here = db.engine.dialect.name
        if here != dialect:
            raise BackupError(
                f"This backup holds a {dialect} database and this instance uses {here}: "
                "restore it into an instance on the same database system."
            )
        used = _in_use(storage, pki)
        if used and not force:
            raise BackupError(
                f"This instance is not empty ({used}). Restoring would replace it: "
                "use --force to do so, or restore into an empty instance."
            )
        db.session.remove()
        db.engine.dispose()  # no pooled connection may outlive the database it points to
        database = source / manifest["database"]["file"]
        if dialect == "sqlite":
            _load_sqlite(database, _sqlite_path())
        else:
            _load_postgresql(database, clean=bool(used))
        db.engine.dispose()
    if isinstance(storage, LocalStorage):
        _replace_tree(source / STORAGE, storage.root, manifest["files"], STORAGE)
    else:
        _replace_objects(source / STORAGE, storage, manifest["files"])
    _replace_tree(source / PKI, pki, manifest["files"], PKI)
    secret = source / SECRET_KEY_FILE
    if secret.is_file():
        instance = Path(app.instance_path)
        instance.mkdir(parents=True, exist_ok=True)
        target = instance / SECRET_KEY_FILE
        target.unlink(missing_ok=True)
        shutil.copy2(secret, target)
        target.chmod(0o600)  # it signs sessions and join links
    files = manifest["files"]
    return Summary(
        source,
        dialect,
        len(files),
        sum(f["size"] for f in files.values()),
        manifest["database"].get("revision"),
    )


def _in_use(storage: Storage, pki: Path) -> str:
    """What makes this instance not empty, or "" when it is."""
    tables = set(inspect(db.engine).get_table_names())
    for table in DATA_TABLES:
        if table in tables and db.session.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first():  # noqa: S608 - fixed names
            db.session.rollback()
            return f"its database has {table}"
    db.session.rollback()
    if isinstance(storage, LocalStorage):
        if storage.root.is_dir() and any(storage.root.iterdir()):
            return f"{storage.root} holds files"
    elif next(storage.iter_keys(), None) is not None:
        return f"{storage!r} holds files"
    if pki.is_dir() and any(pki.iterdir()):
        return f"{pki} holds files"
    return ""


def _load_sqlite(copy: Path, target: Path) -> None:
    """Through the backup API again: the target's WAL and journal stay consistent."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=60)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = WAL")
    finally:
        dst.close()
        src.close()


def _load_postgresql(archive: Path, *, clean: bool) -> None:
    """pg_restore in one transaction: it fails whole or not at all."""
    command = ["pg_restore", "--no-owner", "--single-transaction", "--exit-on-error"]
    if clean:
        command += ["--clean", "--if-exists"]
    _run([*command, f"--dbname={_libpq_url()}", str(archive)], _libpq_password())


def _replace_tree(copy: Path, target: Path, files: dict[str, Any], prefix: str) -> None:
    """``target`` becomes the backup's copy, each file checked against the manifest again."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name, expected in files.items():
        if not name.startswith(prefix + "/"):
            continue
        destination = target / name.removeprefix(prefix + "/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(copy / name.removeprefix(prefix + "/"), destination)
        if _describe(destination) != expected:
            raise BackupError(
                f"{destination} differs from the backup after copying: "
                "check the disk, then restore again with --force."
            )


def _replace_objects(copy: Path, storage: Storage, files: dict[str, Any]) -> None:
    """Object storage becomes the backup's copy: every object the backup lacks removed,
    every file uploaded and read back against the manifest."""
    prefix = STORAGE + "/"
    keys = {name.removeprefix(prefix) for name in files if name.startswith(prefix)}
    for key in list(storage.iter_keys()):
        if key not in keys:
            storage.delete(key)
    for key in sorted(keys):
        expected = files[prefix + key]
        storage.put_file(key, copy / key)
        try:
            storage.get(key, expected["sha256"])
        except CorruptObjectError:
            raise BackupError(
                f"{key} differs from the backup after uploading: check the object "
                "storage, then restore again with --force."
            ) from None


# -- helpers --------------------------------------------------------------------------------


def _files(root: Path) -> Iterator[str]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path.relative_to(root).as_posix()


def _describe(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "size": path.stat().st_size}


def _fsync_tree(root: Path) -> None:
    """On disk before the rename that makes the backup count as complete."""
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def _revision() -> str | None:
    if "alembic_version" not in inspect(db.engine).get_table_names():
        return None
    revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.rollback()
    return revision


def _sqlite_path() -> Path:
    database = make_url(str(db.engine.url)).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return Path(database)


def _libpq_url() -> str:
    """The SQLAlchemy URL as libpq (pg_dump, pg_restore) reads it, without the password:
    a command line is visible to every user of the machine (ps)."""
    url = db.engine.url.set(drivername="postgresql", password=None)
    return url.render_as_string(hide_password=False)


def _libpq_password() -> dict[str, str]:
    password = db.engine.url.password
    return {"PGPASSWORD": str(password)} if password else {}


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed programs, our own arguments
            command, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
        )
    except FileNotFoundError:
        raise BackupError(
            f"{command[0]} is not installed: install the PostgreSQL client "
            "(Debian: postgresql-client, the server's major version)."
        ) from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()}")
