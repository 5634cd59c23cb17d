"""The institution's electronic seal (电子印章) as the visible appearance of its signature:
a red ring, the institution's name along the upper arc and a star in the middle, drawn
the way a round official seal looks. The legal force is in the signature, not the picture."""

from __future__ import annotations

import io
import math
from functools import cache, lru_cache

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"  # Debian fonts-noto-cjk
RED = (200, 16, 46, 255)
SIZE = 400


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT, size, index=2)  # index 2: Simplified Chinese


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.38
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    draw.polygon(points, fill=RED)


@lru_cache(maxsize=64)
def seal_png(name: str, caption: str = "") -> bytes:
    """A PNG of the seal, transparent outside the ink, ``SIZE`` pixels square.

    The same for the same name and caption, so it is drawn once per process and not at every
    seal signature (bench/agreement_signing.py); bytes cannot be changed by a caller."""
    image = Image.new("RGBA", (SIZE, SIZE), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    c = SIZE / 2
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), outline=RED, width=12)
    _star(draw, c, c, SIZE * 0.16)
    chars = list(name[:20])
    font = _font(max(26, int(SIZE * 0.11) - max(0, len(chars) - 10) * 2))
    # The name runs clockwise along the upper arc, each character upright toward the centre.
    span = min(math.radians(240), math.radians(22) * max(len(chars) - 1, 1))
    radius = SIZE / 2 - 58
    for i, char in enumerate(chars):
        angle = -math.pi / 2 - span / 2 + (span * i / max(len(chars) - 1, 1))
        glyph = Image.new("RGBA", (font.size + 10, font.size + 14), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((5, 0), char, font=font, fill=RED)
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.BICUBIC, expand=True)
        x = c + radius * math.cos(angle) - glyph.width / 2
        y = c + radius * math.sin(angle) - glyph.height / 2
        image.alpha_composite(glyph, (int(x), int(y)))
    if caption:
        small = _font(int(SIZE * 0.075))
        width = draw.textlength(caption, font=small)
        draw.text((c - width / 2, c + SIZE * 0.2), caption, font=small, fill=RED)
    out = io.BytesIO()
    # Lossless either way; the picture is decoded again at once to make the appearance, so
    # the fastest compression (a third of the drawing's time at the default level).
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()
