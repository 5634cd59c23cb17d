"""A drawn signature as the signature pad sends it, checked before it is stamped on a
document (the agreement's signatures, the application for judicial confirmation)."""

from __future__ import annotations

import io

from flask_babel import gettext as _
from PIL import Image, ImageChops, UnidentifiedImageError

from mediation.core.forms import FieldError

MAX_DRAWING_BYTES = 512 * 1024


def checked_drawing(png: bytes | None, required: bool) -> bytes | None:
    """The drawn signature, checked to be a small PNG image (it is stamped as it is)."""
    if not png:
        if required:
            raise FieldError("drawing", _("Draw your signature in the box."))
        return None
    if len(png) > MAX_DRAWING_BYTES:
        raise FieldError("drawing", _("The drawing is too large."))
    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG" or not (
                20 <= image.width <= 4000 and 20 <= image.height <= 4000
            ):
                raise FieldError("drawing", _("Draw your signature in the box."))
            image.verify()
        with Image.open(io.BytesIO(png)) as image:
            inked = _has_ink(image)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise FieldError("drawing", _("Draw your signature in the box.")) from None
    if not inked:  # an empty pad is no signature
        raise FieldError("drawing", _("Draw your signature in the box."))
    return png


def _has_ink(image: Image.Image) -> bool:
    """Some stroke shows: opaque and dark pixels (on a transparent or a white ground)."""
    grey = image.convert("LA")
    opaque = grey.getchannel("A").point(lambda v: 255 if v > 32 else 0)
    dark = grey.getchannel("L").point(lambda v: 255 if v < 160 else 0)
    return ImageChops.multiply(opaque, dark).getbbox() is not None
