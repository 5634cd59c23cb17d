"""The storage interface on both backends (the local folder and S3 through moto's server),
how it is configured, and the local layout existing instances already have."""

from __future__ import annotations

import hashlib
import logging
import uuid

import pytest

from mediation import create_app
from mediation.core import storage as storages
from mediation.core.storage import CorruptObjectError, LocalStorage, S3Storage, StorageError

DATA = bytes(range(256)) * 40


def test_each_backend_keeps_reads_ranges_lists_and_deletes(storage_backend, app_ctx, tmp_path):
    backend = storages.storage()
    assert isinstance(backend, LocalStorage if storage_backend == "local" else S3Storage)
    top = f"t{uuid.uuid4().hex}"  # the folder outlives a test: keys of this one only
    key = f"{top}/agreements/round-1-0-abc.pdf"
    assert not backend.exists(key)
    with pytest.raises(FileNotFoundError):
        backend.size(key)
    backend.put(key, DATA)
    assert backend.exists(key) and backend.size(key) == len(DATA)
    assert backend.get(key, hashlib.sha256(DATA).hexdigest()) == DATA
    with backend.open_range(key, 100, 200) as part:
        assert part.read() == DATA[100:200]
    with backend.open_range(key, len(DATA) - 5) as tail:
        assert tail.read() == DATA[-5:]
    # Large files go from a path (a recording): streamed, multipart on S3.
    big = tmp_path / "big.webm"
    big.write_bytes(DATA * 250)  # 2.5 MB
    backend.put_file(f"{top}/recordings/2-x.webm", big)
    assert backend.size(f"{top}/recordings/2-x.webm") == big.stat().st_size
    with backend.as_local_file(f"{top}/recordings/2-x.webm", storages.sha256_of(big)) as copy:
        assert copy.read_bytes() == big.read_bytes()
    digest = backend.put_content(top.encode())
    assert backend.get(storages.content_key(digest)) == top.encode()
    assert storages.content_key(digest) in set(backend.iter_keys())
    assert sorted(backend.iter_keys(top)) == [key, f"{top}/recordings/2-x.webm"]
    assert list(backend.iter_keys(f"{top}/recordings/")) == [f"{top}/recordings/2-x.webm"]
    backend.delete(key)
    backend.delete(key)  # twice is nothing
    assert not backend.exists(key)
    for bad in ("../secret_key", "/etc/passwd", "a//b", "a/./b", ""):
        with pytest.raises(ValueError):
            backend.put(bad, b"x")


def test_a_damaged_file_is_refused_and_logged(storage_backend, app_ctx, caplog):
    backend = storages.storage()
    expected = hashlib.sha256(DATA).hexdigest()
    backend.put("minutes/1/session-1-v1.pdf", DATA[:-1] + bytes([DATA[-1] ^ 1]))
    with (
        caplog.at_level(logging.ERROR, "mediation.core.storage"),
        pytest.raises(CorruptObjectError) as refused,
    ):
        backend.get("minutes/1/session-1-v1.pdf", expected)
    assert refused.value.key == "minutes/1/session-1-v1.pdf"
    assert "minutes/1/session-1-v1.pdf is damaged" in caplog.text and expected in caplog.text


def test_the_local_folder_is_the_default_with_the_layout_instances_have(tmp_path):
    app = create_app({"ENV_NAME": "testing", "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        backend = storages.storage()
        assert isinstance(backend, LocalStorage) and backend.root == tmp_path / "storage"
        # Evidence as earlier versions kept it: STORAGE_DIR/ab/abcd... (its SHA-256).
        digest = hashlib.sha256(b"old upload").hexdigest()
        old = tmp_path / "storage" / digest[:2] / digest
        old.parent.mkdir(parents=True)
        old.write_bytes(b"old upload")
        assert backend.get(storages.content_key(digest), digest) == b"old upload"
        assert backend.put_content(b"old upload") == digest
        assert storages.spool_dir() == tmp_path / "storage"  # the recorder writes in place


def test_s3_is_configured_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDIATION_STORAGE_URL", "s3://mediation-files/province")
    monkeypatch.setenv("MEDIATION_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("MEDIATION_S3_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("MEDIATION_S3_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("MEDIATION_S3_REGION", "cn-east-1")
    app = create_app({"ENV_NAME": "testing", "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        backend = storages.storage()
        assert isinstance(backend, S3Storage)
        assert (backend.bucket, backend.prefix) == ("mediation-files", "province")
        assert backend.client.meta.endpoint_url == "http://127.0.0.1:9000"
        assert backend.client.meta.region_name == "cn-east-1"
        assert storages.spool_dir() == tmp_path / "spool"
    monkeypatch.setenv("MEDIATION_STORAGE_URL", "ftp://files")
    with pytest.raises(StorageError, match="s3://bucket/prefix"):
        create_app({"ENV_NAME": "testing", "INSTANCE_PATH": str(tmp_path)})


def test_storage_check_probes_the_configured_backend(storage_backend, runner):
    result = runner.invoke(args=["storage", "check"])
    assert result.exit_code == 0, result.output
    assert "write, ranged read and delete work" in result.output
    expected = "LocalStorage" if storage_backend == "local" else "S3Storage(s3://test-"
    assert expected in result.output


def test_storage_check_fails_clearly_without_a_bucket(app, runner, s3_server):
    from tests.storage_backends import s3_settings

    saved = {k: app.config.get(k) for k in s3_settings(s3_server, "x")}
    app.config.update(s3_settings(s3_server, "no-such-bucket"))
    try:
        result = runner.invoke(args=["storage", "check"])
    finally:
        app.config.update(saved)
    assert result.exit_code == 1 and "NoSuchBucket" in result.output
