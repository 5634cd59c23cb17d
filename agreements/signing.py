"""PAdES signing of agreement PDFs: one B-T signature per signer, as incremental updates.

Coordinates: a field ``box`` is ``(x1, y1, x2, y2)`` in PDF points (1/72 inch) on the
page's user space, origin at the bottom-left corner; A4 is 595 x 842 points. Pages are
0-based, negative values count from the end (-1 is the last page).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import TypeAlias

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from PIL import Image, ImageDraw, ImageFont
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import BaseStampStyle, StaticStampStyle, TextStampStyle

from agreements import archive
from agreements._loop import outside_event_loop
from agreements.pki import Authority, SignerCredential
from agreements.tsa import ExternalTimeStamper, PlatformTimeStamper

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_INDEX = 2  # "Noto Sans CJK SC" inside the collection
# Stamp times are shown in China Standard Time (no DST); the authoritative time is the
# timestamp token, this is only the picture.
STAMP_TZ = timezone(timedelta(hours=8), "UTC+8")
_PX_PER_PT = 4  # raster resolution of the appearance image (288 dpi)

Box: TypeAlias = tuple[float, float, float, float]


# Hex digits reserved in /Contents for the CMS container (two per byte): 8 KiB of DER.
RESERVED_BYTES = 16 * 1024


@dataclass(frozen=True)
class FieldSpec:
    """An empty signature field to pre-create: name, page (0-based) and box in points."""

    name: str
    page: int
    box: Box


def add_signature_fields(pdf: bytes, specs: Sequence[FieldSpec]) -> bytes:
    """Add empty visible signature fields (one per expected signer) as an incremental update.

    Do this before the first signature: adding fields later is tolerated by validators
    (form filling) but is a change the earlier signers did not see.
    """
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for spec in specs:
        fields.append_signature_field(
            writer, SigFieldSpec(spec.name, on_page=spec.page, box=_int_box(spec.box))
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def signature_fields(pdf: bytes) -> dict[str, bool]:
    """Signature field names in document order, mapped to whether they are signed; the
    document timestamps' fields (B-LTA, see :func:`sign_pdf`) are not signers' fields."""
    reader = PdfFileReader(io.BytesIO(pdf))
    return {
        name: value is not None
        for name, value, _ in fields.enumerate_sig_fields(reader)
        if value is None or value.get_object().get("/Type") != "/DocTimeStamp"
    }


def sign_pdf(
    pdf: bytes,
    *,
    signer_credential: SignerCredential,
    authority: Authority,
    field_name: str,
    box: Box | None = None,
    page: int = 0,
    appearance_png: bytes | None = None,
    role_label: str | None = None,
    reason: str,
    location: str,
    timestamper: TimeStamper,
    external_tsa_roots: list[asn1_x509.Certificate] | None = None,
) -> bytes:
    """Add one PAdES B-LTA signature: ETSI.CAdES.detached with a signature timestamp, the
    validation data of every chain involved in the DSS, and a document timestamp after it.

    Each signing act closes with its own document timestamp, so that every revision a
    party downloads (after the first signature, the second...) validates long-term on its
    own, not only the final one; the cost is one more timestamp per signature (see
    bench/agreement_signing.py). With an external TSA, give its roots as
    ``external_tsa_roots``: its revocation data is then fetched over the network.

    Signs into the empty field ``field_name`` if the document has it (``box`` must then be
    None), otherwise creates that field on ``page``: visible at ``box``, or invisible when
    ``box`` is None. The signature is an incremental update, so earlier signatures keep
    their byte ranges and stay valid. ``role_label`` is the role as the stamp's caption
    writes it, in the document's language (the certificate keeps the role's code).

    The credential is destroyed afterwards, whatever the outcome: each key signs once.
    """
    try:
        _check_credential(signer_credential, authority)
        # The file is parsed once: the writer's reader finds the field too.
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        existing = list(fields.enumerate_sig_fields(writer.prev, with_name=field_name))
        if existing:
            _, value, field_ref = existing[0]
            if value is not None:
                raise SigningError(f"Signature field {field_name!r} is already signed")
            if box is not None:
                raise ValueError(f"Field {field_name!r} exists; its box cannot be changed")
            rect = _field_rect(field_ref.get_object())
            new_field = None
        else:
            rect = box
            new_field = SigFieldSpec(field_name, on_page=page, box=_int_box(box) if box else None)
        stamp = _stamp_style(signer_credential, appearance_png, rect, role_label) if rect else None
        if external_tsa_roots is None and isinstance(timestamper, ExternalTimeStamper):
            external_tsa_roots = timestamper.trust_roots
        context = archive.validation_context(
            authority,
            credential=signer_credential,
            extra_roots=external_tsa_roots,
            allow_fetching=external_tsa_roots is not None,
        )
        meta = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
            embed_validation_info=True,
            validation_context=context,
            dss_settings=archive.DSS_SETTINGS,
        )
        pdf_signer = signers.PdfSigner(
            meta,
            signer_credential.signer(),
            timestamper=timestamper,
            stamp_style=stamp,
            new_field_spec=new_field,
        )
        # With the built-in TSA the container's size is known (about 6 KiB of DER: the EC
        # certificates, an RSA-3072 TSA token); reserving room saves pyHanko a rehearsal
        # signature and timestamp. An external TSA's chain is measured each time.
        reserved = RESERVED_BYTES if isinstance(timestamper, PlatformTimeStamper) else None
        signed = outside_event_loop(
            pdf_signer.sign_pdf,
            writer,
            existing_fields_only=bool(existing),
            bytes_reserved=reserved,
        ).getvalue()
        # B-LTA: a document timestamp closes each signing act (see above). The built-in TSA
        # also made the signature's timestamp, so its chain's validation data is already in
        # the DSS; an external one's is gathered again.
        builtin = isinstance(timestamper, PlatformTimeStamper)
        return archive.close_with_timestamp(signed, timestamper, None if builtin else context)
    finally:
        # Electronic Signature Law art 13(1)-(2): the key exists for this one act only.
        signer_credential.destroy()


def _check_credential(credential: SignerCredential, authority: Authority) -> None:
    if credential.destroyed:
        raise SigningError("The signing credential has been destroyed")
    now = datetime.now(UTC)
    if credential.not_after <= now:
        raise SigningError("The signer certificate has expired; issue a new one")
    cert = x509.load_der_x509_certificate(credential.certificate.dump())
    issuing = x509.load_der_x509_certificate(authority.issuing.dump())
    try:
        cert.verify_directly_issued_by(issuing)
    except (ValueError, TypeError, InvalidSignature) as e:
        # Such a signature would never validate against the platform's trust root.
        raise SigningError("The signer certificate is not from this authority") from e


def _int_box(box: Box) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (round(v) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"Box {box} must be (x1, y1, x2, y2) with x1 < x2 and y1 < y2")
    return x1, y1, x2, y2


def _field_rect(field: dict) -> Box | None:
    widget = field if "/Rect" in field else field.get("/Kids", [None])[0]
    if widget is None:
        return None
    x1, y1, x2, y2 = (float(v) for v in widget.get_object()["/Rect"])
    if x2 - x1 < 1 or y2 - y1 < 1:
        return None  # invisible field
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _subject(credential: SignerCredential) -> tuple[str, str]:
    subject = credential.certificate.subject.native
    return subject.get("common_name", ""), subject.get("title", "")


def _stamp_style(
    credential: SignerCredential,
    appearance_png: bytes | None,
    rect: Box,
    role_label: str | None = None,
) -> BaseStampStyle:
    """Drawn signature above a caption with name, role and time.

    pyHanko's own text stamps need uharfbuzz for non-Latin fonts, which is not installed,
    so the caption is rasterised with Pillow instead; the certificate, not the picture,
    is what identifies the signer.
    """
    name, role = _subject(credential)
    role = role_label or role
    now = datetime.now(STAMP_TZ)
    if not CJK_FONT.exists():
        who = name if name.isascii() else "Signed"  # the built-in PDF fonts are Latin-only
        when = now.strftime("%Y-%m-%d %H:%M UTC+8")
        text = f"{who} ({role})\n{when}".replace("%", "%%")  # the style %-formats the text
        return TextStampStyle(
            stamp_text=text, border_width=0, text_box_style=TextBoxStyle(font_size=7)
        )
    width = max(1, round((rect[2] - rect[0]) * _PX_PER_PT))
    height = max(1, round((rect[3] - rect[1]) * _PX_PER_PT))
    # Written as the rest of the document writes times (no English in a Chinese PDF).
    when = f"{now.year}年{now.month}月{now.day}日 {now:%H:%M}（北京时间）"
    image = _appearance_image(appearance_png, f"{name}（{role}）", when, (width, height))
    return StaticStampStyle(
        background=PdfImage(image),
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
            inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT,
        ),
    )


def _caption_line(height: int, drawn: bool) -> int:
    return max(8, height // 6 if drawn else height // 3)


def drawing_area(size: tuple[int, int], drawing: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where a drawing of ``drawing`` pixels goes in an appearance image of ``size``:
    (left, top, right, bottom). The whole drawing, its proportions kept, centred above the
    two caption lines, never enlarged: a signature is shown as drawn, not cut to fit."""
    width, height = size
    room = max(1, height - 2 * _caption_line(height, True))
    scale = min(width / drawing[0], room / drawing[1], 1)
    w, h = max(1, round(drawing[0] * scale)), max(1, round(drawing[1] * scale))
    left, top = (width - w) // 2, (room - h) // 2
    return left, top, left + w, top + h


@lru_cache(maxsize=32)
def _caption_font(size_px: int) -> ImageFont.FreeTypeFont:
    # Loaded once per size, not at every signature (the collection is a 19 MB file).
    return ImageFont.truetype(str(CJK_FONT), size_px, index=CJK_FONT_INDEX)


def _appearance_image(
    png: bytes | None, caption: str, when: str, size: tuple[int, int]
) -> Image.Image:
    width, height = size
    canvas = Image.new("RGBA", size, (255, 255, 255, 0))
    line_h = _caption_line(height, bool(png))
    caption_h = 2 * line_h
    size_px = int(line_h * 0.75)
    font = _caption_font(size_px)
    widest = max(font.getlength(caption), font.getlength(when))
    if widest > width - 8:  # long names shrink rather than being cut off
        size_px = max(6, int(size_px * (width - 8) / widest))
        font = _caption_font(size_px)
    draw = ImageDraw.Draw(canvas)
    # With a drawing the caption sits at the bottom; alone it is centred.
    top = height - caption_h if png else (height - caption_h) // 2
    for i, line in enumerate((caption, when)):
        draw.text((4, top + i * line_h), line, font=font, fill=(0, 0, 0, 255))
    if png:
        drawn = Image.open(io.BytesIO(png)).convert("RGBA")
        left, upper, right, lower = drawing_area(size, drawn.size)
        if (right - left, lower - upper) != drawn.size:
            drawn = drawn.resize((right - left, lower - upper), Image.Resampling.LANCZOS)
        canvas.alpha_composite(drawn, (left, upper))
    return canvas
