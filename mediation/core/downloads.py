"""The name a downloaded file is saved under: made from the record (what it is, its case, its
id) and the type its content was recognised as, never from what an uploader typed. A name
such as "\u202egpj.exe" (a right-to-left override shows it as "exe.jpg") or "../x.pdf"
travels no further than the page that lists it."""

from __future__ import annotations

import mimetypes
import re

EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "video/webm": ".webm",
    "video/mp4": ".mp4",
    "application/zip": ".zip",
}


def extension(mimetype: str | None) -> str:
    known = EXTENSIONS.get(mimetype or "") or mimetypes.guess_extension(mimetype or "")
    return known or ".bin"


def download_name(
    kind: str, case_number: str | None = None, record_id: int | None = None, *, mimetype: str
) -> str:
    """``kind-casenumber-id.ext`` in ASCII letters, digits, - and _ only, e.g.
    ``evidence-2026-000042-17.png``."""
    parts = [kind, case_number, None if record_id is None else str(record_id)]
    stem = re.sub(r"[^0-9A-Za-z_-]+", "_", "-".join(p for p in parts if p)).strip("_-")
    return (stem or "file") + extension(mimetype)
