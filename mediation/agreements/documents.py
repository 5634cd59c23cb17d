"""The agreement's document as stored: every revision under a key named by its hash, read
back only if it still has that hash, its pages drawn as pictures.

A revision is stored before the agreement's lock is taken and only recorded under it
(``put``, then ``record``): storing is a network call with object storage, and nothing slow
happens under a lock (core/locks.py). A revision stored for a step that then loses its
race (the same signature twice at once, an edit meanwhile, a round opened on other words)
is never recorded and is left where it is: its key names its own hash, so it never
overwrites a recorded revision, and it is one more of the revisions kept anyway (each
round's, each signature's), as is the file of a step whose commit failed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

from flask import current_app

from agreements import pages
from mediation.core.storage import storage

from .models import Agreement


class Stored(NamedTuple):
    key: str
    sha256: str


def put(agreement: Agreement, pdf: bytes, name: str, *, in_round: int | None = None) -> Stored:
    """Store a revision of ``agreement``'s document (``name``: the signature's position,
    "0" for the unsigned one) without recording it: the key holds the round (``in_round``,
    else the agreement's), the name and the hash, so a request that lost a race can never
    overwrite the document the record points at."""
    digest = hashlib.sha256(pdf).hexdigest()
    number = agreement.round if in_round is None else in_round
    key = f"agreements/{agreement.case_id}/round-{number}-{name}-{digest[:16]}.pdf"
    storage().put(key, pdf)
    return Stored(key, digest)


def record(agreement: Agreement, stored: Stored) -> None:
    """The stored revision is the agreement's document from now on (under its lock)."""
    agreement.document_path = stored.key
    agreement.document_sha256 = stored.sha256


def document_path_of(agreement: Agreement) -> Path | None:
    """The file itself when the storage is a local folder (tests, tools), else None."""
    if agreement.document_path is None:
        return None
    return storage().local_path(agreement.document_path)


def document_bytes(agreement: Agreement) -> bytes | None:
    """The current document, checked against the hash the record keeps (a damaged file is
    refused, never signed on or sent to a court)."""
    if agreement.document_path is None:
        return None
    return storage().get(agreement.document_path, agreement.document_sha256)


def page_picture(key: str, sha256: str, number: int) -> Path | None:
    """Page ``number`` of a stored PDF as a PNG (agreements/pages.py), drawn once per
    document hash: beside the PDF in a local folder (as always), under SPOOL_DIR when the
    files are in object storage. The PDF is checked against ``sha256`` before drawing."""
    backend = storage()
    local = backend.local_path(key)
    folder = (
        local.parent / "pages"
        if local is not None
        else Path(current_app.config["SPOOL_DIR"]) / "pages" / Path(key).parent
    )
    cached = folder / f"{sha256[:16]}-{number}.png"
    if cached.exists():
        return cached
    try:
        with backend.as_local_file(key, sha256) as path:
            return pages.picture(path, sha256, number, folder)
    except FileNotFoundError:
        return None
