"""The storage backends the storage-touching tests run on: the local folder (the embedded
default) and S3-compatible object storage, served by moto's standalone server
(``moto_server``, from ``moto[server]``: the S3 API server installable here; production
uses MinIO, Ceph, Alibaba OSS, Tencent COS or any S3-compatible service).

Only the tests that ask for ``storage_backend`` run twice; the server starts once, on the
first of them, on a free loopback port, and stops with the session.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from mediation.core import storage as storages

# The storage is under test, not the database (tests/court/offline.py does the same).
ONCE = "the storage, not the database, is under test: checked on SQLite"
KEY_ID, SECRET = "test-key", "test-secret"  # moto accepts any pair


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[str]:
    """moto's S3 server in its own process; yields its endpoint URL."""
    binary = Path(sys.executable).with_name("moto_server")
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def s3_settings(endpoint: str, bucket: str, prefix: str = "instance") -> dict:
    return {
        "STORAGE_URL": f"s3://{bucket}/{prefix}",
        "S3_ENDPOINT_URL": endpoint,
        "S3_ACCESS_KEY_ID": KEY_ID,
        "S3_SECRET_ACCESS_KEY": SECRET,
        "S3_REGION": "us-east-1",
    }


@pytest.fixture(params=["local", "s3"])
def storage_backend(request, app: Flask) -> Iterator[str]:
    """The app's files in its local folder, or in a fresh bucket of the S3 server."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip(ONCE)
    if request.param == "local":
        yield "local"
        return
    endpoint = request.getfixturevalue("s3_server")
    settings = s3_settings(endpoint, f"test-{uuid.uuid4().hex[:12]}")
    saved = {key: app.config.get(key) for key in settings}
    app.config.update(settings)
    with app.app_context():
        backend = storages.storage()
        backend.client.create_bucket(Bucket=backend.bucket)
    try:
        yield "s3"
    finally:
        app.config.update(saved)
