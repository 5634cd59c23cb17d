"""Rendering documents (minutes, agreements) to PDF with WeasyPrint.

Documents are Jinja templates in ``agreements/templates/``, rendered with the app's Jinja
environment (so ``_()`` works) and always in the platform's default language: they are
records for the parties and the court, not pages for one reader.

Nothing a document refers to is fetched from outside: the URL fetcher serves ``data:``
URLs and the files beside the templates, and refuses everything else (``file://``, any
host), so text typed by a user can never make the server read a local file or call
another machine (the SSRF class of WeasyPrint advisories).
"""

from __future__ import annotations

import logging
import mimetypes
import re
import zlib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cn2an
import pydyf
from flask import current_app
from flask_babel import force_locale
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.pdf import fonts as pdf_fonts
from weasyprint.pdf import stream as pdf_stream
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.text.ffi import ffi, harfbuzz, harfbuzz_subset
from weasyprint.text.fonts import FontConfiguration, get_hb_object_data
from weasyprint.urls import URLFetcher, URLFetcherResponse

TEMPLATES = Path(__file__).parent / "templates"
# Where the documents' own files (stylesheet, images) are found: asset:document.css
ASSET_SCHEME = "asset:"

log = logging.getLogger(__name__)


class ResourceRefusedError(ValueError):
    """A document referred to something outside the document's own files."""


class DocumentFetcher(URLFetcher):
    """Serves ``data:`` and ``asset:`` URLs; refuses every other scheme and host."""

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if url.startswith(ASSET_SCHEME):
            name = url[len(ASSET_SCHEME) :]
            path = (TEMPLATES / name).resolve()
            if path.parent != TEMPLATES.resolve() or not path.is_file():
                raise ResourceRefusedError(f"no such document asset: {name}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})
        log.warning("document resource refused: %s", url[:200])
        raise ResourceRefusedError(f"document resources are not fetched: {url[:200]}")


def _environment() -> Environment:
    """The app's Jinja environment (filters, ``_()``) reading the document templates, with
    the documents' own ways of writing sums and dates."""
    env = current_app.extensions.get("documents.jinja")
    if env is None:
        env = current_app.jinja_env.overlay(loader=FileSystemLoader(TEMPLATES))
        env.filters.update(capitals=amount_in_capitals, signing_date=signing_date)
        current_app.extensions["documents.jinja"] = env
    return env


def amount_in_capitals(amount: str | Decimal) -> str:
    """A sum of yuan in Chinese capitals (大写), as agreements and rulings write a sum beside
    its figures so that neither can be altered alone: 3500.00 -> 叁仟伍佰元整."""
    return cn2an.an2cn(str(Decimal(str(amount)).quantize(Decimal("0.01"))), "rmb")


def signing_date(value: datetime | date) -> str:
    """The date a court signs a ruling with, in Chinese numerals: 二〇二六年十二月四日 (the
    SPC's rules for civil judgment documents, 2016: the date under a ruling is written in
    Chinese characters, the dates in its text in figures). An instant is taken to the
    platform's zone first, so a ruling made at 07:00 in Beijing is not dated the day before."""
    if isinstance(value, datetime):
        zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        value = value.astimezone(zone).date()
    year = "".join("〇一二三四五六七八九"[int(d)] for d in str(value.year))
    return f"{year}年{cn2an.an2cn(value.month)}月{cn2an.an2cn(value.day)}日"


def css_string(value: str) -> Markup:
    """``value`` as a quoted CSS string (for page margin boxes), every other character
    escaped, so no text can end the string or the rule."""
    safe = "".join(
        c if (c.isalnum() and c.isascii()) or c in " .:/-_" else f"\\{ord(c):x} " for c in value
    )
    # Safe to mark as markup: every character but ASCII letters, digits and " .:/-_" is
    # escaped above, so neither HTML nor CSS syntax can pass through.
    return Markup(f'"{safe}"')  # noqa: S704


def render_html(template: str, **context: Any) -> str:
    """The document's HTML, in the platform's default language."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return _environment().get_template(template).render(css_string=css_string, **context)


# A box on a page, in PDF points from the page's lower left corner: (x0, y0, x1, y1).
Box = tuple[float, float, float, float]
PX_TO_PT = 0.75  # CSS px are 1/96 in, PDF points 1/72 in


# PDF/A-4 (ISO 19005-4), the archival form of PDF 2.0, not PDF/A-2b (PDF 1.7): the
# documents are signed with ECDSA P-256 keys, which ISO 32002 defines for PDF 2.0, so pyHanko
# declares /Version 2.0 in the catalog of a 1.7 file at the first signature, and the file
# contradicts its own header and its PDF/A-2 claim (issue #17). A 2.0 file needs no such
# declaration. PDF/A-4 also keeps no Info dictionary (metadata live in XMP only), so the
# Producer that pyHanko writes at every incremental update cannot disagree with another.
PDF_VARIANT = "pdf/a-4u"


class ArchivalMetadata(DocumentMetadata):
    """WeasyPrint's XMP for PDF/A-4 without its conformance letter: ISO 19005-4 knows
    "E" and "F" only (plain PDF/A-4 has none); pdfaid:part 4 and pdfaid:rev 2020 stay."""

    def generate_rdf_metadata(self, variant, version, conformance):
        xml = super().generate_rdf_metadata(variant, version, conformance)
        return re.sub(rb'\s+pdfaid:conformance="U"', b"", xml)


class _CompressedOnce:
    """Mixed into the document's streams: each is compressed once, at zlib's default level.

    pydyf compresses a stream each time its bytes are asked for, at level 9, and a PDF/A
    file asks twice: once to write it, once more for the MD5 of every object that makes the
    trailer's /ID (ISO 19005 requires the /ID). The two embedded CJK font subsets (about
    1.5 MB before compression) were so compressed twice at level 9, a sixth of a render;
    level 6 makes the file 0.2% larger (bench/agreement_signing.py). The same bytes serve
    both times, as they did before: only how often they are computed changes."""

    @property
    def data(self):
        if self._bytes is None:
            stream = b"\n".join(pydyf._to_bytes(item) for item in self.stream)
            extra = pydyf.Dictionary(self.extra.copy())
            if self.compress:
                extra["Filter"] = "/FlateDecode"
                stream = zlib.compress(stream, 6)
            extra["Length"] = len(stream)
            self._bytes = b"\n".join((extra.data, b"stream", stream, b"endstream"))
        return self._bytes


_COMPRESSED_ONCE: dict[type, type] = {}


def _compress_once(document, pdf: pydyf.PDF) -> None:
    """WeasyPrint's finisher, run when the PDF's objects are complete, right before the file
    is written: its streams (pydyf's and WeasyPrint's own, which keeps pydyf's ``data``)
    become :class:`_CompressedOnce`."""
    for obj in pdf.objects:
        kind = type(obj)
        if isinstance(obj, pydyf.Stream) and kind.data is pydyf.Stream.data:
            if kind not in _COMPRESSED_ONCE:
                _COMPRESSED_ONCE[kind] = type(kind.__name__, (_CompressedOnce, kind), {})
            obj._bytes = None
            obj.__class__ = _COMPRESSED_ONCE[kind]


# Tables WeasyPrint leaves out of an embedded font (PDF text needs no layout tables).
_DROPPED_TABLES = (
    b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH", b"PCLT",
    b"SVG ",
)  # fmt: skip
_weasyprint_subset = pdf_fonts.Font._harfbuzz_subset


def _subset_once(font, to_unicode, hinting) -> None:
    """WeasyPrint's HarfBuzz subsetting of an embedded font, in one pass instead of two.

    WeasyPrint subsets each face twice: first keeping the glyph ids, then once more keeping
    every id up to the highest used, only to leave out the hints. The second pass reads the
    first one's output, with every empty slot below the highest id (a CJK face's ideographs
    sit at ids up to 65,000), and cost more than the first: the two took a fifth of an
    agreement's render (two faces, bench/agreement_signing.py). One pass with the same glyph
    set, the same dropped tables and the same flags, hints left out at once, embeds the same
    glyphs at the same ids (tests/agreements/test_render.py compares the two). Should
    WeasyPrint's internals differ from what this expects, its own method runs instead.
    """
    try:
        flags = (
            harfbuzz_subset.HB_SUBSET_FLAGS_RETAIN_GIDS
            | harfbuzz_subset.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED
            | harfbuzz_subset.HB_SUBSET_FLAGS_DESUBROUTINIZE
        )
        if not hinting:
            flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NO_HINTING
        if font.missing:
            flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NOTDEF_OUTLINE
        source = font.hb_face
    except AttributeError:
        return _weasyprint_subset(font, to_unicode, hinting)
    plan = ffi.gc(
        harfbuzz_subset.hb_subset_input_create_or_fail(), harfbuzz_subset.hb_subset_input_destroy
    )
    glyphs = harfbuzz_subset.hb_subset_input_glyph_set(plan)
    ids = ffi.new(f"hb_codepoint_t[{len(to_unicode)}]", sorted(to_unicode))
    harfbuzz.hb_set_add_sorted_array(glyphs, ids, len(to_unicode))
    harfbuzz_subset.hb_subset_input_set_flags(plan, flags)
    dropped = harfbuzz_subset.hb_subset_input_set(
        plan, harfbuzz_subset.HB_SUBSET_SETS_DROP_TABLE_TAG
    )
    tags = sorted(harfbuzz.hb_tag_from_string(name, -1) for name in _DROPPED_TABLES)
    harfbuzz.hb_set_add_sorted_array(
        dropped, ffi.new(f"hb_codepoint_t[{len(tags)}]", tags), len(tags)
    )
    face = ffi.gc(harfbuzz_subset.hb_subset_or_fail(source, plan), harfbuzz.hb_face_destroy)
    content = get_hb_object_data(face) if face else None
    if not content:
        return _weasyprint_subset(font, to_unicode, hinting)  # it warns and embeds it whole
    font.file_content = content
    return None


pdf_fonts.Font._harfbuzz_subset = _subset_once


class _UnreadFile:
    """A HarfBuzz face's whole font file, not copied out yet (see :class:`_FontReadLazily`)."""

    __slots__ = ("face",)

    def __init__(self, face) -> None:
        self.face = face

    def __bool__(self) -> bool:
        # WeasyPrint tests a subset's file before keeping it ("if file_content:"): an empty
        # blob must stay falsy (it then warns and embeds the whole face), without copying.
        blob = harfbuzz.hb_face_reference_blob(self.face)
        try:
            return harfbuzz.hb_blob_get_length(blob) > 0
        finally:
            harfbuzz.hb_blob_destroy(blob)


def _face_file(hb_object, ot_color=None, glyph=None):
    """``get_hb_object_data`` as WeasyPrint's fonts module calls it: a whole face's file is
    only read when it is used; a colour glyph is read at once."""
    if ot_color is None and glyph is None:
        return _UnreadFile(hb_object)
    return get_hb_object_data(hb_object, ot_color, glyph)


class _FontReadLazily(pdf_fonts.Font):
    """WeasyPrint's embedded font, whose ``file_content`` is copied out of the face only
    when something reads it. WeasyPrint copies each face's whole file (the CJK collections:
    20-27 MB) for every font size drawn, four times per agreement, although a subset
    (:func:`_subset_once`) reads the face, not the copy: the copies cost a twelfth of a
    render. What reads it (a full font embedded, a variable or colour font, WeasyPrint's
    own subsetting) gets the same bytes as before."""

    @property
    def file_content(self) -> bytes:
        content = self.__dict__["_file_content"]
        if isinstance(content, _UnreadFile):
            content = self.__dict__["_file_content"] = get_hb_object_data(content.face)
        return content

    @file_content.setter
    def file_content(self, content) -> None:
        self.__dict__["_file_content"] = content


if pdf_stream.Font is pdf_fonts.Font and pdf_fonts.get_hb_object_data is get_hb_object_data:
    pdf_fonts.get_hb_object_data = _face_file
    pdf_stream.Font = _FontReadLazily


# Font configurations ready for the next render. Making one loads Fontconfig's settings, and
# a fresh one loads every font face again (the CJK collections are 20-27 MB each): reusing
# them saves about a tenth of a render (bench/agreement_signing.py). Each render takes one
# for itself (Pango's font maps are not thread-safe) and puts it back; the documents use
# system fonts only (no @font-face), so a configuration carries nothing from one to the next.
_FONT_CONFIGS: list[FontConfiguration] = []


def render_pdf(template: str, **context: Any) -> bytes:
    """The document as an A4 PDF/A-4 with its fonts embedded (subsets)."""
    return render_pdf_with_boxes(template, **context)[0]


def render_pdf_with_boxes(
    template: str, *, box_prefix: str = "sig-", **context: Any
) -> tuple[bytes, dict[str, tuple[int, Box]]]:
    """The PDF and where each element whose id starts with ``box_prefix`` was laid out:
    id -> (page index, box in PDF points), so signature fields go exactly on the signature
    blocks the template drew."""
    return pdf_with_boxes(render_html(template, **context), box_prefix=box_prefix)


def pdf_of(html: str) -> bytes:
    """``render_html``'s document as a PDF: the slow part of a render (a step that must
    know what it would store cheaply compares the HTML, which alone decides the PDF)."""
    return pdf_with_boxes(html)[0]


def pdf_with_boxes(
    html: str, *, box_prefix: str = "sig-"
) -> tuple[bytes, dict[str, tuple[int, Box]]]:
    """``render_pdf_with_boxes`` of HTML already made."""
    source = HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=DocumentFetcher())
    try:
        font_config = _FONT_CONFIGS.pop()
    except IndexError:
        font_config = FontConfiguration()
    try:
        document = source.render(pdf_variant=PDF_VARIANT, font_config=font_config)
        # The metadata WeasyPrint read from the HTML (title, author), written the archival way.
        document.metadata.__class__ = ArchivalMetadata
        pdf = document.write_pdf(pdf_variant=PDF_VARIANT, finisher=_compress_once)
    finally:
        _FONT_CONFIGS.append(font_config)
    boxes: dict[str, tuple[int, Box]] = {}
    for index, page in enumerate(document.pages):
        height = page.height * PX_TO_PT
        for name, (x0, y0, x1, y1) in page.anchors.items():
            if name.startswith(box_prefix):
                boxes[name] = (
                    index,
                    (x0 * PX_TO_PT, height - y1 * PX_TO_PT, x1 * PX_TO_PT, height - y0 * PX_TO_PT),
                )
    return pdf, boxes
