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
