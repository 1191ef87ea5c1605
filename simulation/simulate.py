"""A simulated camera: pushes every image of a folder to the ingest API at a set rate.

    CAMERA_KEY=... python -m simulation.simulate --url http://127.0.0.1:8000 --fps 1 --loop

Each image is shrunk (long side <= --max-side, EXIF orientation applied) and re-compressed as JPEG
locally first, as a real camera's encoder would, then posted to ``POST /api/v1/frames/`` with the
device key. Network errors, 5xx and 429 are retried with exponential back-off (Retry-After honoured,
capped, jittered), each frame's attempts under one ``Idempotency-Key`` so a retry never stores a
frame twice. One line per frame reports the server's count, status and latency (``--json``:
JSON lines).

What a camera operator gets:
- 401/403 (wrong, revoked or missing key; inactive camera): nothing will work until someone fixes the
  key, so the simulator stops at once with exit code 3.
- 400/413 (this one frame is not decodable / too large): reported with the server's ``detail``, the
  frame is skipped and the loop goes on; the exit code is 1 at the end.
- A frame still failing after --max-retries: reported and skipped; after --max-consecutive-failures
  such frames in a row the server is considered down and the simulator stops with exit code 4.

Exit codes: 0 every frame accepted · 1 some frames skipped · 2 usage (no key, no images) ·
3 key rejected · 4 server unreachable/failing. Stdlib + requests + Pillow only (no Django).
"""

from __future__ import annotations

import argparse
import email.utils
import io
import itertools
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol, TextIO

import requests
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_FOLDER = Path(__file__).resolve().parent / "samples"
FRAMES_PATH = "/api/v1/frames/"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
USER_AGENT = "inventory-monitor-simulator/1.0"

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_AUTH, EXIT_UNREACHABLE = 0, 1, 2, 3, 4
RETRYABLE_EXCEPTIONS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class Session(Protocol):
    """What post_frame needs from requests.Session (tests pass a fake)."""

    def post(self, url: str, **kwargs) -> requests.Response: ...


class KeyRejected(Exception):
    """401/403: the key is wrong, revoked or missing, or the camera is inactive. Fatal."""


class ImageUnreadable(ValueError):
    """A local file Pillow cannot open; the frame is skipped."""


# --- Image preparation --------------------------------------------------------------------------


def prepare_image(data: bytes, *, max_side: int = 1280, quality: int = 80) -> bytes:
    """Upright (EXIF orientation applied), RGB, long side <= max_side (never enlarged), JPEG at quality.

    The orientation is baked into the pixels and EXIF is not copied, so the server sees the frame
    the right way up whatever it does with metadata.
    """
    if max_side < 1 or not 1 <= quality <= 95:
        raise ValueError("need max_side >= 1 and 1 <= quality <= 95")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (max_side, max_side))  # JPEG: let libjpeg decode at a reduced scale
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageUnreadable(f"not a readable image ({exc})") from exc
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


# --- Posting with retries -----------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5  # retries after the first attempt
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0  # cap for our own back-off and for a server's Retry-After
    jitter: float = 0.2  # +-20 % so a fleet of cameras that failed together does not retry together

    def delay(self, retry: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        backoff = min(self.max_delay_s, self.base_delay_s * 2**retry)
        if retry_after_s is not None:
            # The server knows when the budget frees up: wait at least that long, never less.
            backoff = min(self.max_delay_s, max(backoff, retry_after_s))
            return backoff * (1 + self.jitter * rng.random())
        return backoff * (1 - self.jitter + 2 * self.jitter * rng.random())


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or HTTP-date); None when absent or malformed."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def parse_server_timing(value: str | None) -> dict[str, float]:
    """``decode;dur=4.1, detect;dur=25.3`` -> {"decode": 4.1, "detect": 25.3}."""
    stages: dict[str, float] = {}
    for part in (value or "").split(","):
        name, *params = [p.strip() for p in part.split(";")]
        for param in params:
            if param.startswith("dur="):
                try:
                    stages[name] = float(param[4:])
                except ValueError:
                    pass
    return stages


@dataclass
class FrameResult:
    name: str
    ok: bool
    http_status: int | None  # None: no answer (network error)
    latency_ms: float  # the last attempt's round trip
    attempts: int
    bytes_sent: int
    count: int | None = None
    smoothed_count: int | None = None
    status: str | None = None
    event_id: int | None = None
    inference_ms: float | None = None
    server_timing: dict[str, float] = field(default_factory=dict)
    detail: str | None = None
    fault: str | None = None  # status FAULT: why the server could not count this frame (lens, light, ...)


def _network_detail(exc: Exception) -> str:
    """requests' messages nest urllib3's; keep the part an operator can act on."""
    text = str(exc)
    for marker in ("[Errno", "timed out", "Read timed out"):
        if marker in text:
            text = text[text.index(marker):].rstrip(")\"'")
            break
    return f"{type(exc).__name__}: {text[:160]}"


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])
    return f"HTTP {response.status_code} {response.reason or ''}".strip()


def post_frame(
    session: Session,
    url: str,
    key: str,
    jpeg: bytes,
    *,
    name: str = "frame.jpg",
    captured_at: datetime | None = None,
    timeout_s: float = 30.0,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    on_retry: Callable[[int, float, str], None] | None = None,
    idempotency_key: str | None = None,
) -> FrameResult:
    """Post one JPEG; retry network errors, 5xx and 429. Raises KeyRejected on 401/403.

    Every attempt carries the same ``Idempotency-Key`` (a fresh random one unless given): when the
    server stored the frame but its 201 never arrived, the retry gets that 201 again instead of the
    frame being stored twice.

    Returns a FrameResult: ok for 201; not ok with the server's ``detail`` for other 4xx (the caller
    skips the frame) or when the retries are used up.
    """
    rng = rng or random.Random()
    data = {"captured_at": captured_at.isoformat()} if captured_at else {}
    headers = {"Authorization": f"Bearer {key}", "User-Agent": USER_AGENT,
               "Idempotency-Key": idempotency_key or uuid.uuid4().hex}
    attempt = 0
    while True:
        attempt += 1
        started = time.perf_counter()
        retry_after: float | None = None
        try:
            response = session.post(url, headers=headers, data=data, timeout=timeout_s,
                                    files={"image": (name, jpeg, "image/jpeg")})
        except RETRYABLE_EXCEPTIONS as exc:
            latency = (time.perf_counter() - started) * 1000
            result = FrameResult(name, False, None, latency, attempt, len(jpeg), detail=_network_detail(exc))
        else:
            latency = (time.perf_counter() - started) * 1000
            code = response.status_code
            if code == 201:
                body = response.json()
                return FrameResult(
                    name, True, code, latency, attempt, len(jpeg), count=body.get("count"),
                    smoothed_count=body.get("smoothed_count"), status=body.get("status"),
                    event_id=body.get("event_id"), inference_ms=body.get("inference_ms"),
                    server_timing=parse_server_timing(response.headers.get("Server-Timing")), fault=body.get("fault"),
                )
            if code in (401, 403):
                raise KeyRejected(f"HTTP {code}: {_detail(response)}")
            result = FrameResult(name, False, code, latency, attempt, len(jpeg), detail=_detail(response))
            if code != 429 and code < 500:
                return result  # 400, 413, ...: this frame will never be accepted; do not retry it
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if attempt > policy.max_retries:
            return result
        wait = policy.delay(attempt - 1, retry_after, rng)
        if on_retry:
            on_retry(attempt, wait, result.detail or "")
        sleep(wait)


# --- The camera loop ----------------------------------------------------------------------------


def frames_url(base: str) -> str:
    base = base.rstrip("/")
    return base + "/" if base.endswith(FRAMES_PATH.rstrip("/")) else base + FRAMES_PATH


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def format_line(index: int, result: FrameResult) -> str:
    kb = result.bytes_sent / 1024
    retries = f" after {result.attempts - 1} retries" if result.attempts > 1 else ""
    if result.ok:
        stages = " ".join(f"{k} {v:.1f}" for k, v in result.server_timing.items())
        fault = f" ({result.fault})" if result.fault else ""
        return (f"[{index:>4}] {result.name}  count={result.count} smoothed={result.smoothed_count} "
                f"{result.status}{fault}  {result.latency_ms:.0f} ms{retries}  ({kb:.0f} KB; server ms: {stages})")
    code = result.http_status if result.http_status is not None else "network"
    return f"[{index:>4}] {result.name}  SKIPPED ({code}{retries}): {result.detail}"


@dataclass
class Camera:
    """Everything the loop needs; tests build one with a fake session, sleep and clock."""

    url: str
    key: str
    images: list[Path]
    fps: float = 1.0
    loop: bool = False
    count: int | None = None
    max_side: int = 1280
    quality: int = 80
    timeout_s: float = 30.0
    policy: RetryPolicy = RetryPolicy()
    max_consecutive_failures: int = 5
    json_lines: bool = False
    session: Session = field(default_factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    out: TextIO = sys.stdout
    err: TextIO = sys.stderr

    def _frames(self) -> Iterator[Path]:
        source: Iterable[Path] = itertools.cycle(self.images) if self.loop else self.images
        return itertools.islice(source, self.count)

    def run(self) -> int:
        prepared: dict[Path, bytes] = {}  # --loop re-sends the same files: encode each once
        skipped = consecutive_failures = sent = 0
        interval = 1.0 / self.fps if self.fps > 0 else 0.0
        next_at = self.clock()
        for index, path in enumerate(self._frames(), start=1):
            delay = next_at - self.clock()
            if delay > 0:
                self.sleep(delay)
            # Open loop at --fps; when a slow answer put us behind, do not burst to catch up.
            next_at = max(next_at + interval, self.clock())
            try:
                if path not in prepared:
                    prepared[path] = prepare_image(path.read_bytes(), max_side=self.max_side, quality=self.quality)
            except (OSError, ImageUnreadable) as exc:
                self._emit(index, FrameResult(path.name, False, None, 0.0, 0, 0, detail=f"local file: {exc}"))
                skipped += 1
                continue
            try:
                result = post_frame(
                    self.session, self.url, self.key, prepared[path], name=path.name,
                    captured_at=datetime.now(timezone.utc), timeout_s=self.timeout_s, policy=self.policy,
                    sleep=self.sleep, rng=self.rng, on_retry=self._retrying(path.name),
                )
            except KeyRejected as exc:
                print(f"error: the server rejected the camera key ({exc}). Check --key / CAMERA_KEY: it may be "
                      "mistyped, revoked, or the camera deactivated. Stopping.", file=self.err)
                return EXIT_AUTH
            self._emit(index, result)
            sent += result.ok
            if result.ok:
                consecutive_failures = 0
                continue
            skipped += 1
            gave_up = result.http_status is None or result.http_status == 429 or result.http_status >= 500
            consecutive_failures = consecutive_failures + 1 if gave_up else 0
            if gave_up and consecutive_failures >= self.max_consecutive_failures:
                print(f"error: {consecutive_failures} frames in a row failed after retries (last: {result.detail}); "
                      f"is the server at {self.url} up? Stopping.", file=self.err)
                return EXIT_UNREACHABLE
        if not self.json_lines:
            print(f"done: {sent} frames accepted, {skipped} skipped", file=self.err)
        return EXIT_SKIPPED if skipped else EXIT_OK

    def _retrying(self, name: str) -> Callable[[int, float, str], None]:
        def report(attempt: int, wait: float, why: str) -> None:
            print(f"       {name}: attempt {attempt} failed ({why}); retrying in {wait:.1f} s", file=self.err)

        return report

    def _emit(self, index: int, result: FrameResult) -> None:
        if self.json_lines:
            print(json.dumps({"frame": index, **asdict(result)}), file=self.out, flush=True)
        else:
            print(format_line(index, result), file=self.out, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulation.simulate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER, help="images to send (default: %(default)s)")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL (default: %(default)s)")
    parser.add_argument("--key", default=None, help="device key (default: $CAMERA_KEY)")
    parser.add_argument("--fps", type=float, default=1.0, help="frames per second; 0 = as fast as answers come")
    parser.add_argument("--loop", action="store_true", help="repeat the folder until --count or Ctrl-C")
    parser.add_argument("--count", type=int, default=None, help="stop after N frames")
    parser.add_argument("--max-side", type=int, default=1280, help="shrink so the long side is at most this")
    parser.add_argument("--quality", type=int, default=80, help="JPEG quality for re-compression (1-95)")
    parser.add_argument("--max-retries", type=int, default=5, help="retries per frame for network errors/5xx/429")
    parser.add_argument("--max-delay", type=float, default=30.0, help="cap on one back-off wait, seconds")
    parser.add_argument("--max-consecutive-failures", type=int, default=5,
                        help="stop after this many frames in a row failed after retries")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    parser.add_argument("--json", action="store_true", help="one JSON object per frame on stdout")
    return parser


def main(argv: list[str] | None = None, *, session: Session | None = None,
         sleep: Callable[[float], None] = time.sleep, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)
    key = args.key or os.environ.get("CAMERA_KEY", "")
    if not key:
        print("error: no device key; pass --key or set CAMERA_KEY", file=err)
        return EXIT_USAGE
    if not args.folder.is_dir() or not (images := list_images(args.folder)):
        print(f"error: no .jpg/.jpeg/.png/.webp images in {args.folder}", file=err)
        return EXIT_USAGE
    if args.fps < 0 or args.max_retries < 0 or (args.count is not None and args.count < 1):
        print("error: --fps and --max-retries must be >= 0, --count >= 1", file=err)
        return EXIT_USAGE
    camera = Camera(
        url=frames_url(args.url), key=key, images=images, fps=args.fps, loop=args.loop, count=args.count,
        max_side=args.max_side, quality=args.quality, timeout_s=args.timeout,
        policy=RetryPolicy(max_retries=args.max_retries, max_delay_s=args.max_delay),
        max_consecutive_failures=args.max_consecutive_failures, json_lines=args.json,
        session=session or requests.Session(), sleep=sleep, out=out, err=err,
    )
    try:
        return camera.run()
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
