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
from markupsafe import Markup
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


def render_pdf(template: str, **context: Any) -> bytes:
    """The document as an A4 PDF/A-2b with its fonts embedded (subsets)."""
    return render_pdf_with_boxes(template, **context)[0]


def render_pdf_with_boxes(
    template: str, *, box_prefix: str = "sig-", **context: Any
) -> tuple[bytes, dict[str, tuple[int, Box]]]:
    """The PDF and where each element whose id starts with ``box_prefix`` was laid out:
    id -> (page index, box in PDF points), so signature fields go exactly on the signature
    blocks the template drew."""
    html = render_html(template, **context)
    document = HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=DocumentFetcher()).render()
    boxes: dict[str, tuple[int, Box]] = {}
    for index, page in enumerate(document.pages):
        height = page.height * PX_TO_PT
        for name, (x0, y0, x1, y1) in page.anchors.items():
            if name.startswith(box_prefix):
                boxes[name] = (
                    index,
                    (x0 * PX_TO_PT, height - y1 * PX_TO_PT, x1 * PX_TO_PT, height - y0 * PX_TO_PT),
                )
    pdf = document.write_pdf(pdf_variant="pdf/a-2b")
    return pdf, boxes
