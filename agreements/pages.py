"""A PDF's pages as pictures, for reading on a phone: most phone browsers show no PDF inside
a page. Poppler's pdftoppm draws them from the very file that is signed; each picture is
kept beside it, named by the file's hash, so it is drawn once."""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader

RESOLUTION = 110  # dpi: an A4 page about 900 pixels wide, sharp on a phone


def count(pdf: bytes) -> int:
    return int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])


MAX_PAGES = 50


def picture(pdf_path: Path, sha256: str, number: int, folder: Path) -> Path | None:
    """Page ``number`` (from 1) of the PDF as a PNG, drawn on first use; None when the
    document has no such page."""
    if not 1 <= number <= MAX_PAGES or number > count(pdf_path.read_bytes()):
        return None
    out = folder / f"{sha256[:16]}-{number}.png"
    if not out.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tool = shutil.which("pdftoppm")
        if tool is None:
            raise FileNotFoundError("pdftoppm (Debian poppler-utils)")
        # A name of this drawing's own: two readers opening a newly signed document at
        # once both draw the page, and with one shared name the second found its file
        # already moved away (a broken picture on the signer's phone).
        partial = folder / f".{out.stem}.{uuid.uuid4().hex}"
        command = [tool, "-r", str(RESOLUTION), "-f", str(number), "-l", str(number)]
        command += ["-png", "-singlefile", str(pdf_path), str(partial)]
        # Fixed arguments: a tool found on PATH, a number, and paths of our own storage.
        subprocess.run(command, check=True, capture_output=True, timeout=60)  # noqa: S603
        Path(f"{partial}.png").replace(out)  # whole pictures only, even in a race
    return out
