"""The document renderer fetches nothing but the documents' own files and data: URLs."""

from __future__ import annotations

import http.server
import threading

import pytest
from weasyprint import HTML

from agreements.render import ASSET_SCHEME, DocumentFetcher, ResourceRefusedError


def test_the_fetcher_serves_assets_and_data_and_refuses_the_rest():
    fetcher = DocumentFetcher()
    css = fetcher.fetch(f"{ASSET_SCHEME}document.css")
    assert b"@page" in css.read() and css.content_type == "text/css"
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    for url in (
        "file:///etc/passwd",
        "http://127.0.0.1/",
        "https://example.org/x.css",
        f"{ASSET_SCHEME}../render.py",
        f"{ASSET_SCHEME}/etc/passwd",
        f"{ASSET_SCHEME}missing.css",
    ):
        with pytest.raises(ResourceRefusedError):
            fetcher.fetch(url)


@pytest.fixture
def local_server():
    """A server on loopback that counts what is asked of it."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_a_document_that_names_a_host_or_a_file_fetches_nothing(local_server):
    base, hits = local_server
    html = (
        f'<link rel="stylesheet" href="{base}/style.css">'
        f'<img src="{base}/pixel.png"><img src="file:///etc/hostname">'
        f"<p style=\"background: url('{base}/bg.png')\">调解</p>"
    )
    pdf = HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=DocumentFetcher()).write_pdf()
    assert pdf.startswith(b"%PDF-")
    assert hits == []


def test_text_in_a_page_margin_is_a_css_string_that_cannot_break_out():
    from agreements.render import css_string

    quoted = str(css_string('验证 "}</style><script>'))
    inner = quoted[1:-1]
    assert quoted.startswith('"') and quoted.endswith('"')
    assert not set('"}<>;') & set(inner)
    assert "\\9a8c " in inner  # 验 as a CSS escape


def _embedded_glyphs(pdf: bytes) -> dict[str, dict[str, tuple]]:
    """The glyphs of each embedded font that the text uses (the CIDs its /W lists): base font
    name (without its subset tag) -> CID -> (advance width, the outline's drawing commands).
    By CID, as a PDF reader finds a glyph of a CID-keyed font (its charset maps CIDs to
    glyph ids)."""
    import io

    from fontTools.pens.recordingPen import RecordingPen
    from fontTools.ttLib import TTFont
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    found: dict[str, dict[str, tuple]] = {}
    for page in reader.root["/Pages"]["/Kids"]:
        for font in page.get_object()["/Resources"]["/Font"].values():
            font = font.get_object()
            cid_font = font["/DescendantFonts"][0].get_object()
            widths, used = list(cid_font["/W"]), set()
            for first, run in zip(widths[::2], widths[1::2], strict=True):
                used.update(range(first, first + len(run)))
            descriptor = cid_font["/FontDescriptor"]
            ttfont = TTFont(io.BytesIO(descriptor.get_object()["/FontFile3"].get_object().data))
            top = ttfont["CFF "].cff.topDictIndex[0]
            assert top.ROS == ("Adobe", "Identity", 0)
            metrics = ttfont["hmtx"].metrics
            outlines = {}
            for cid in sorted(used):
                name = f"cid{cid:05d}"
                pen = RecordingPen()
                top.CharStrings[name].draw(pen)
                outlines[name] = (metrics[name][0], tuple(pen.value))
            found[str(font["/BaseFont"]).split("+", 1)[1]] = outlines
    return found


def test_fonts_subset_in_one_pass_embed_the_glyphs_weasyprint_would(monkeypatch):
    """agreements.render subsets each font once (WeasyPrint does it twice, for speed): the
    same glyphs for the same CIDs, with the same outlines and widths, in every face used.
    (WeasyPrint's second pass also renumbers the last glyphs into the empty slots; the CIDs
    the text refers to, and so what is shown, stay the same.)"""
    from weasyprint.pdf import fonts as pdf_fonts

    from agreements import render

    html = (
        '<html lang="zh"><body style="font-family: \'Noto Serif CJK SC\'">'
        "<h1>人民调解协议书</h1><p>申请人张三与被申请人李四，Agreement 2026 ¥3500.00。</p>"
        "<p><b>被申请人于2027年1月3日前支付</b></p></body></html>"
    )

    def pdf() -> bytes:
        return HTML(string=html).write_pdf(pdf_variant=render.PDF_VARIANT)

    assert pdf_fonts.Font._harfbuzz_subset is render._subset_once
    ours = _embedded_glyphs(pdf())
    monkeypatch.setattr(pdf_fonts.Font, "_harfbuzz_subset", render._weasyprint_subset)
    theirs = _embedded_glyphs(pdf())
    assert set(ours) == set(theirs) and len(ours) == 2  # regular and bold
    assert ours == theirs
    assert all(sum(bool(outline) for _, outline in g.values()) > 10 for g in ours.values())


def test_a_font_embedded_whole_is_the_font_file():
    """Fonts are copied out of HarfBuzz only when read (agreements.render): one embedded
    whole (no subsetting) is still byte for byte the file."""
    import io
    from pathlib import Path

    from pyhanko.pdf_utils.reader import PdfFileReader
    from weasyprint.pdf import stream as pdf_stream

    from agreements import render

    assert pdf_stream.Font is render._FontReadLazily
    path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    html = "<p style=\"font-family: 'DejaVu Sans'; font-weight: normal\">Agreement</p>"
    pdf = HTML(string=html).write_pdf(full_fonts=True)
    page = PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"][0].get_object()
    (font,) = page["/Resources"]["/Font"].values()
    descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
    assert descriptor.get_object()["/FontFile2"].get_object().data == path.read_bytes()
