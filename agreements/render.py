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
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale
from jinja2 import Environment, FileSystemLoader
from weasyprint import HTML
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
    """The app's Jinja environment (filters, ``_()``) reading the document templates."""
    env = current_app.extensions.get("documents.jinja")
    if env is None:
        env = current_app.jinja_env.overlay(loader=FileSystemLoader(TEMPLATES))
        current_app.extensions["documents.jinja"] = env
    return env


def render_html(template: str, **context: Any) -> str:
    """The document's HTML, in the platform's default language."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return _environment().get_template(template).render(**context)


def render_pdf(template: str, **context: Any) -> bytes:
    """The document as an A4 PDF/A-2b with its fonts embedded (subsets)."""
    html = render_html(template, **context)
    return HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=DocumentFetcher()).write_pdf(
        pdf_variant="pdf/a-2b", uncompressed_pdf=False
    )
