"""The name a downloaded file is saved under: made from the record (what it is, its case, its
id) and the type its content was recognised as, never from what an uploader typed. A name
such as "\u202egpj.exe" (a right-to-left override shows it as "exe.jpg") or "../x.pdf"
travels no further than the page that lists it."""

from __future__ import annotations

import mimetypes
import re
import tempfile

from flask import Response, abort, request, send_file, stream_with_context
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from .storage import CHUNK, sha256_of, storage, verify

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


def send_stored(
    key: str,
    *,
    mimetype: str,
    download_name: str,
    sha256: str | None = None,
    size: int | None = None,
    as_attachment: bool = False,
    max_age: int | None = 0,
) -> Response:
    """A stored file as the answer, from the folder or the object store alike (the caller
    has checked who may see it). A whole file is checked against ``sha256`` before a byte
    goes out (a damaged one is refused: CorruptObjectError); a Range request (a video seeking,
    a large PDF on a weak network) gets 206 with the bytes asked for, checked against the
    stored ``size`` only: hashing a whole recording for every seek would stall playback."""
    backend = storage()
    path = backend.local_path(key)
    if path is not None:
        if not path.is_file():
            abort(404)
        if request.range is None:
            if sha256 is not None:
                verify(key, sha256_of(path), sha256)
        elif size is not None and path.stat().st_size != size:
            verify(key, f"size {path.stat().st_size}", f"size {size}")
        return send_file(
            path,
            mimetype=mimetype,
            download_name=download_name,
            as_attachment=as_attachment,
            conditional=True,
            max_age=max_age,
            etag=sha256 or True,
        )
    try:
        length = backend.size(key)
    except FileNotFoundError:
        abort(404)
    if request.range is None:
        # Spooled to disk above 8 MiB: a long recording is checked, then streamed.
        whole = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - send_file closes it
        backend.fetch(key, whole, sha256)
        whole.seek(0)
        response = send_file(
            whole,
            mimetype=mimetype,
            download_name=download_name,
            as_attachment=as_attachment,
            conditional=True,
            max_age=max_age,
            etag=sha256 or False,
        )
        if response.status_code == 200:
            response.content_length = length
        response.headers["Accept-Ranges"] = "bytes"
        return response
    if size is not None and length != size:
        verify(key, f"size {length}", f"size {size}")
    span = request.range.range_for_length(length)
    if span is None:
        raise RequestedRangeNotSatisfiable(length=length)
    start, stop = span
    body = backend.open_range(key, start, stop)

    def chunks():
        try:
            yield from iter(lambda: body.read(CHUNK), b"")
        finally:
            body.close()

    response = Response(stream_with_context(chunks()), status=206, mimetype=mimetype)
    response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{length}"
    response.headers["Content-Length"] = str(stop - start)
    response.headers["Accept-Ranges"] = "bytes"
    disposition = "attachment" if as_attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{download_name}"'
    response.cache_control.no_cache = True
    if sha256:
        response.set_etag(sha256)
    return response


def send_page_picture(picture, etag: str) -> Response:
    """A page of a signed document as a picture (agreements, court applications): the same
    personal data as its PDF, so cached the same way: the browser's own cache only, and
    asked again each time (the access check runs again, after a logout too; on the tablet
    an office's signers pass round, the next person does not open the last one's pages from
    the history). ``etag`` (the document's hash and the page) answers an unchanged page 304,
    without sending it again on a slow phone."""
    response = send_file(picture, mimetype="image/png", etag=etag, max_age=None)
    response.cache_control.public = False
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response.make_conditional(request)
