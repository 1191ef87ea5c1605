"""The ingest contract through the real server stack (Daphne/Twisted, not Django's test client)."""

from __future__ import annotations

import requests

from benchmarks.ingest import SHIPPED_MODEL, running_server


def test_malformed_multipart_gets_a_json_400_from_us_not_twisted() -> None:
    # Twisted used to parse the multipart body itself and answer a malformed one with an empty,
    # non-JSON 400 before Django saw it (inventory_monitor/daphne_tweaks.py).
    with running_server(model=SHIPPED_MODEL, cameras=1, workers=1, detector_threads=1, extra_env={}) as server:
        url, key = server.url(0), server.keys[0]
        response = requests.post(
            url,
            data=b"this is not a multipart body",  # and the header below names no boundary
            headers={"Authorization": f"Bearer {key}", "Content-Type": "multipart/form-data"},
            timeout=30,
        )
        assert response.status_code == 400
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["detail"]

        # The server keeps serving this camera afterwards.
        frame = requests.post(url, files={"image": ("f.jpg", _jpeg(), "image/jpeg")},
                              headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert frame.status_code == 201, frame.text


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 80, 70)).save(buf, "JPEG")
    return buf.getvalue()
