"""Where the platform keeps its files: evidence, recordings, PDFs and court packages.

One interface (:class:`Storage`), two backends:

- :class:`LocalStorage`, a folder (``STORAGE_DIR``, default ``instance/storage``): the
  embedded default, with the layout instances always had, so they keep working unchanged;
- :class:`S3Storage`, any S3-compatible object store (MinIO, Ceph, Alibaba OSS, Tencent COS,
  AWS S3) through boto3, chosen by ``STORAGE_URL=s3://bucket/prefix``: what several web
  processes and recorders on several machines share.

A key is the file's path relative to the storage root (``recordings/12/3-….webm``,
``agreements/7/round-1-….pdf``); evidence and court materials are content-addressed
(``ab/ab12…``, their SHA-256). Every record that points at a file also keeps its SHA-256:
reads that return a whole file check it (:meth:`Storage.get` with ``sha256``), and a file
that does not match is refused and logged (:class:`CorruptObjectError`) rather than handed to a
party or a court as if it were the document that was signed.

``mediation backup``/``restore`` copy an instance's files through :meth:`Storage.iter_keys`,
:meth:`Storage.get` and :meth:`Storage.put`, whatever the backend.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from werkzeug.exceptions import InternalServerError

log = logging.getLogger(__name__)

CHUNK = 1 << 20


class CorruptObjectError(InternalServerError):
    """A stored file's bytes do not match the SHA-256 its record keeps."""

    name = "Stored File Damaged"  # the court API's error slug: stored_file_damaged

    def __init__(self, key: str, expected: str, found: str) -> None:
        super().__init__(f"stored file {key} is damaged: sha256 {found}, expected {expected}")
        self.key, self.expected, self.found = key, expected, found


class StorageError(RuntimeError):
    """The storage is misconfigured or unreachable."""


def check_key(key: str) -> str:
    """A key is a relative path of plain names: never absolute, never ``..``."""
    parts = key.split("/")
    if not key or "\\" in key or "\0" in key or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not a storage key: {key!r}")
    return key


def content_key(sha256: str) -> str:
    """The key of a content-addressed file (evidence, court materials)."""
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 key")
    return f"{sha256[:2]}/{sha256}"


def verify(key: str, digest: str, expected: str | None) -> None:
    """Refuse (and log) a file whose hash (or size) is not the one its record keeps."""
    if expected is not None and digest != expected:
        log.error("stored file %s is damaged: sha256 %s, expected %s", key, digest, expected)
        raise CorruptObjectError(key, expected, digest)


class Storage(ABC):
    """What every backend offers. Keys: see :func:`check_key`."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, whole or not at all."""

    @abstractmethod
    def put_file(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key`` (streamed, for large recordings)."""

    @abstractmethod
    def open_range(self, key: str, start: int = 0, end: int | None = None) -> IO[bytes]:
        """A readable stream of bytes ``start`` to ``end`` (exclusive; None: to the end)."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int:
        """The stored length in bytes; FileNotFoundError when there is none."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens when there is none."""

    @abstractmethod
    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix``, in no promised order."""

    def local_path(self, key: str) -> Path | None:
        """The file itself when the backend is a folder on this machine, else None."""
        return None

    def get(self, key: str, sha256: str | None = None) -> bytes:
        """The whole file; with ``sha256`` refused (:class:`CorruptObjectError`) unless it
        matches. FileNotFoundError when there is none."""
        with self.open_range(key) as stream:
            data = stream.read()
        verify(key, hashlib.sha256(data).hexdigest(), sha256)
        return data

    def put_content(self, data: bytes) -> str:
        """Store ``data`` content-addressed; returns its SHA-256, which names it."""
        digest = hashlib.sha256(data).hexdigest()
        key = content_key(digest)
        if not self.exists(key):  # the same upload is kept once
            self.put(key, data)
        return digest

    def fetch(self, key: str, target: IO[bytes], sha256: str | None = None) -> None:
        """Copy the whole file into ``target``, checking ``sha256`` when given (the copy
        is then not to be used if this raises)."""
        digest = hashlib.sha256()
        with self.open_range(key) as stream:
            for block in iter(lambda: stream.read(CHUNK), b""):
                digest.update(block)
                target.write(block)
        verify(key, digest.hexdigest(), sha256)

    @contextmanager
    def as_local_file(self, key: str, sha256: str | None = None) -> Iterator[Path]:
        """A path to the file's bytes for tools that need one (FFmpeg, pdftoppm): the file
        itself on a local folder, a temporary copy otherwise."""
        path = self.local_path(key)
        if path is not None:
            if not path.exists():
                raise FileNotFoundError(key)
            if sha256 is not None:
                verify(key, sha256_of(path), sha256)
            yield path
            return
        suffix = Path(key).suffix
        with tempfile.NamedTemporaryFile(suffix=suffix, prefix="mediation-") as handle:
            self.fetch(key, handle, sha256)
            handle.flush()
            yield Path(handle.name)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class _Limited(IO[bytes]):
    """A file object that stops after ``length`` bytes (a local range)."""

    def __init__(self, handle: IO[bytes], length: int | None) -> None:
        self._handle, self._left = handle, length

    def read(self, size: int = -1) -> bytes:
        if self._left is not None:
            size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._handle.read(size)
        if self._left is not None:
            self._left -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> _Limited:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalStorage(Storage):
    """A folder on this machine (or a shared mount): the embedded default."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def local_path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        target = self.local_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed: a crash never leaves half a file.
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def put_file(self, key: str, source: Path) -> None:
        target = self.local_path(key)
        if Path(source).resolve() == target.resolve():
            return  # written in place (the recorder on a local folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as handle, Path(source).open("rb") as src:
                shutil.copyfileobj(src, handle, CHUNK)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> IO[bytes]:
        handle = self.local_path(key).open("rb")
        handle.seek(start)
        return _Limited(handle, None if end is None else max(0, end - start))

    def exists(self, key: str) -> bool:
        return self.local_path(key).is_file()

    def size(self, key: str) -> int:
        return self.local_path(key).stat().st_size

    def delete(self, key: str) -> None:
        self.local_path(key).unlink(missing_ok=True)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        if not self.root.is_dir():
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith((".partial-", ".tmp")):
                    continue  # a write under way
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key


class S3Storage(Storage):
    """A bucket (and a prefix in it) of an S3-compatible object store."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket, self.prefix, self.client = bucket, prefix.strip("/"), client

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix})"

    def _name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> None:
        # A PUT is atomic in S3: a reader sees the old object or the new one, never half.
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data)

    def put_file(self, key: str, source: Path) -> None:
        # Multipart above boto3's threshold (8 MiB): a long recording is not held in memory.
        self.client.upload_file(str(source), self.bucket, self._name(key))

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> IO[bytes]:
        arguments = {"Bucket": self.bucket, "Key": self._name(key)}
        if start or end is not None:
            if end is not None and end <= start:
                return _Limited(_Empty(), 0)
            arguments["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            return self.client.get_object(**arguments)["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None

    def _head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(key)
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base + prefix
        )
        for page in pages:
            for item in page.get("Contents", ()):
                yield item["Key"][len(base) :]


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


def from_config(config: dict[str, Any]) -> Storage:
    """The backend ``STORAGE_URL`` names (``s3://bucket/prefix``), or the folder
    ``STORAGE_DIR`` when it is unset (or ``file:///path``)."""
    url = config.get("STORAGE_URL")
    if not url:
        return LocalStorage(config["STORAGE_DIR"])
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalStorage(parts.path)
    if parts.scheme != "s3" or not parts.netloc:
        raise StorageError(f"MEDIATION_STORAGE_URL must be s3://bucket/prefix, not {url!r}")
    import boto3
    from botocore.config import Config as BotoConfig

    client = boto3.client(
        "s3",
        endpoint_url=config.get("S3_ENDPOINT_URL") or None,
        aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
        region_name=config.get("S3_REGION") or None,
        config=BotoConfig(
            s3={"addressing_style": config.get("S3_ADDRESSING_STYLE") or "path"},
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        ),
    )
    return S3Storage(parts.netloc, parts.path, client)


def _signature(config: Any) -> tuple:
    return tuple(
        config.get(k) for k in ("STORAGE_URL", "STORAGE_DIR", "S3_ENDPOINT_URL", "S3_ACCESS_KEY_ID")
    )


def init_app(app: Flask) -> None:
    app.extensions["storage"] = (_signature(app.config), from_config(app.config))


def storage() -> Storage:
    """The current app's storage (built again if a test changed its settings)."""
    app = current_app
    cached = app.extensions.get("storage")
    if cached is None or cached[0] != _signature(app.config):
        init_app(app)
        cached = app.extensions["storage"]
    return cached[1]


def spool_dir() -> Path:
    """Where the recorder writes files while they grow: the storage folder itself when it
    is local (today's layout), a local folder otherwise (uploaded when a file closes)."""
    backend = storage()
    if isinstance(backend, LocalStorage):
        return backend.root
    return Path(current_app.config["SPOOL_DIR"])
