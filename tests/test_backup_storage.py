"""`mediation backup`/`restore` with the files in object storage: objects copied into the
backup under their keys, and the bucket made the backup's copy again, each file checked."""

from __future__ import annotations

import uuid

import pytest

from mediation import backup as backups
from mediation.core import storage as storages
from tests.storage_backends import s3_settings


def _bucket(endpoint: str) -> storages.S3Storage:
    backend = storages.from_config(s3_settings(endpoint, f"b-{uuid.uuid4().hex[:12]}"))
    backend.client.create_bucket(Bucket=backend.bucket)
    return backend


def test_objects_are_backed_up_and_restored_checked(s3_server, tmp_path):
    source, target = _bucket(s3_server), _bucket(s3_server)
    kept = {"ab/" + "ab" * 32: b"evidence", "recordings/1/2-x.webm": bytes(range(256)) * 9}
    for key, data in kept.items():
        source.put(key, data)
    copy = tmp_path / "backup"
    backups._copy_storage(source, copy / backups.STORAGE)
    files = {f"{backups.STORAGE}/{k}": backups._describe(copy / backups.STORAGE / k) for k in kept}
    target.put("stray/left-over.pdf", b"not in the backup")
    backups._replace_objects(copy / backups.STORAGE, target, files)
    assert sorted(target.iter_keys()) == sorted(kept)
    assert all(target.get(k) == data for k, data in kept.items())

    (copy / backups.STORAGE / "recordings/1/2-x.webm").write_bytes(b"changed")
    with pytest.raises(backups.BackupError, match="differs from the backup"):
        backups._replace_objects(copy / backups.STORAGE, target, files)
