"""Content-addressed file storage: a file's key is its SHA-256, so a stored file proves its
own integrity and the same upload is kept once. Local folder on the embedded defaults."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app


class FileStorage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 key")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its SHA-256 (hex), which is also its key."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Written beside the target and renamed: a crash never leaves half a file.
            fd, temporary = tempfile.mkstemp(dir=target.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)
        return digest

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


def storage() -> FileStorage:
    return FileStorage(current_app.config["STORAGE_DIR"])
