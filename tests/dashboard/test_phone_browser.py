"""A phone as a camera, end to end in Chromium: a manager adds a phone camera and gets the QR page; a
"phone" (a second browser whose camera is a fake device playing a rendered warehouse frame) opens the
pairing link, starts, and its frames are posted with its own key and counted; the link is then used up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.dashboard import live

pytestmark = pytest.mark.browser


def y4m_from(image: Path, out: Path, width: int = 960) -> Path:
    """A one-frame Y4M video (Chromium's fake camera loops it), 4:2:0, from a still picture."""
    picture = Image.open(image).convert("RGB")
    height = round(picture.height * width / picture.width / 2) * 2
    ycbcr = np.asarray(picture.resize((width, height)).convert("YCbCr"))
    y = ycbcr[:, :, 0]
    cb = ycbcr[::2, ::2, 1]
    cr = ycbcr[::2, ::2, 2]
    out.write_bytes(f"YUV4MPEG2 W{width} H{height} F1:1 Ip A1:1 C420jpeg\n".encode() + b"FRAME\n"
                    + y.tobytes() + cb.tobytes() + cr.tobytes())
    return out


def test_a_phone_pairs_through_the_link_and_posts_counted_frames(live_server_proc, browser, new_page, real_images,
                                                                 tmp_path):
    base = live_server_proc.url
    manager = new_page()
    live.log_in(manager, base, "manager")
    manager.fill("[data-field=phone-add] input[name=name]", "Phone aisle")
    manager.click("[data-field=phone-add] button")
    manager.wait_for_selector("[data-field=qr] svg")
    pair_url = manager.get_attribute("[data-field=pair-url]", "href")
    assert pair_url.startswith(f"{base}/pair/")

    video = y4m_from(real_images[0], tmp_path / "shelf.y4m")
    # A second Chromium, from the session's Playwright: its camera is the fake device.
    phone_browser = browser.browser_type.launch(executable_path=live.CHROMIUM, args=[
        *live.CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    try:
        context = phone_browser.new_context(viewport={"width": 400, "height": 800})
        context.grant_permissions(["camera"], origin=base)
        phone = context.new_page()
        phone.goto(pair_url)
        phone.click("[data-field=pair]")
        phone.wait_for_function("() => Number(document.querySelector('[data-field=sent]').textContent) >= 1",
                                timeout=30_000)
        assert phone.url == f"{base}/capture/"  # the one-time URL is gone from the address bar
        count = int(phone.inner_text("[data-field=count]"))
        assert count > 0  # a real shelf, counted by the real model
        assert phone.inner_text("[data-field=status]") in ("CRITICAL", "WARNING", "FULL")
        # A reload keeps working: the key lives in the phone's localStorage.
        phone.reload()
        phone.wait_for_function("() => Number(document.querySelector('[data-field=sent]').textContent) >= 1",
                                timeout=30_000)
        # The link is used up: opening it again is refused in words.
        again = context.new_page()
        again.goto(pair_url)
        assert "already used" in again.inner_text("body")
    finally:
        phone_browser.close()

    manager.goto(f"{base}/")
    card = manager.locator("article.camera-card", has_text="Phone aisle")
    assert card.locator("[data-field=count]").inner_text().strip().isdigit()
