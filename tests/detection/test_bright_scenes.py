"""Overexposure is clipped pixels and lost detail, not a bright mean alone: white cartons on a white
backdrop are counted; the sun into the lens is still a FAULT."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from detection.detector import FaultThresholds, assess_image, decode_image
from tests.conftest import labelled_val_images


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def white_cartons(size: int = 4500, backdrop: int = 250) -> Image.Image:
    """Six white cartons (outlined, taped, each with a soft shadow) on a white backdrop, like a product photo."""
    image = Image.new("RGB", (size, size), (backdrop,) * 3)
    draw = ImageDraw.Draw(image)
    side = size // 6
    for i in range(6):
        x, y = (i % 3) * size // 3 + side // 3, (i // 3) * size // 2 + side
        draw.rectangle([x + side // 10, y + side // 10, x + side * 11 // 10, y + side * 11 // 10], fill=(215,) * 3)
        draw.rectangle([x, y, x + side, y + side], fill=(244, 243, 240), outline=(170,) * 3, width=size // 400)
        draw.line([x, y + side // 3, x + side, y + side // 3], fill=(200,) * 3, width=size // 500)
    return image.filter(ImageFilter.GaussianBlur(2))


def health(data: bytes):
    return assess_image(decode_image(data, target_size=416))


def test_white_cartons_on_a_white_backdrop_are_bright_but_countable():
    seen = health(jpeg(white_cartons()))
    assert seen.brightness > 243  # what the mean alone called "too bright"
    assert seen.fault(FaultThresholds()) == ""


def test_the_sun_into_the_lens_is_still_too_bright():
    for path, _ in labelled_val_images(min_boxes=8, max_boxes=20, limit=2):
        blown = ImageEnhance.Brightness(Image.open(path).convert("RGB")).enhance(12.0)
        assert "too bright" in health(jpeg(blown)).fault(FaultThresholds())
    glare = Image.new("RGB", (1280, 720), (255, 255, 255))
    ImageDraw.Draw(glare).rectangle([0, 680, 1280, 720], fill=(90, 80, 70))  # a strip of floor survives
    assert "too bright" in health(jpeg(glare)).fault(FaultThresholds())
