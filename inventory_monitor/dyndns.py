"""Dynamic DNS: keep a name pointing at a box on a line without a fixed address (a site or home
connection), from the original design.

Either DuckDNS (DUCKDNS_DOMAINS + DUCKDNS_TOKEN; DuckDNS takes the address the request comes from) or
any provider with an update URL (DYNDNS_UPDATE_URL, fetched with GET as given, e.g. a dyndns2
`.../nic/update?hostname=...` URL with credentials in it). Updated once when a worker starts and then
every DYNDNS_INTERVAL_S, from a background thread: start-up never waits for the provider, and a
provider that is down only leaves an error in the last result. The last result (when, ok, the
provider's answer or the error) is logged and shown in /healthz under "dyndns"; it never makes the
health check fail, since serving does not depend on it. Secrets never reach the log or /healthz.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)
_stopped = threading.Event()
_started = threading.Event()
_lock = threading.Lock()
_last: DnsUpdate | None = None


@dataclass(frozen=True)
class DnsUpdate:
    provider: str
    at: str  # ISO 8601
    ok: bool
    answer: str  # the provider's answer, or the error


def configured() -> str:
    """'duckdns', 'url' or '' (off)."""
    if settings.DUCKDNS_DOMAINS and settings.DUCKDNS_TOKEN:
        return "duckdns"
    if settings.DYNDNS_UPDATE_URL:
        return "url"
    return ""


def dyndns_update() -> DnsUpdate:
    """One update now (blocking, with a timeout); the result is also kept for /healthz."""
    import requests

    provider = configured()
    if provider == "duckdns":
        query = urlencode({"domains": ",".join(settings.DUCKDNS_DOMAINS), "token": settings.DUCKDNS_TOKEN, "ip": ""})
        url = f"{settings.DUCKDNS_UPDATE_ENDPOINT}?{query}"
    else:
        url = settings.DYNDNS_UPDATE_URL
    try:
        response = requests.get(url, timeout=settings.DYNDNS_TIMEOUT_S, allow_redirects=False)
        answer = response.text.strip()[:200]
        # DuckDNS answers 200 with "OK" or "KO"; other providers: a 2xx, and not a dyndns2 error word.
        ok = answer.startswith("OK") if provider == "duckdns" else (
            response.ok and not re.match(r"(badauth|nohost|notfqdn|abuse|badagent|911|dnserr|KO)\b", answer))
        if not response.ok:
            answer = f"HTTP {response.status_code}: {answer}"
    except requests.RequestException as exc:
        ok, answer = False, f"{exc.__class__.__name__}: {_redact(str(exc))}"
    result = DnsUpdate(provider=provider, at=timezone.now().isoformat(), ok=ok, answer=_redact(answer)[:200])
    (logger.info if ok else logger.warning)("dynamic DNS update (%s): %s %s", provider,
                                            "ok" if ok else "failed", result.answer)
    global _last
    with _lock:
        _last = result
    return result


def _redact(text: str) -> str:
    """No token or URL credentials in logs or /healthz."""
    for secret in filter(None, [settings.DUCKDNS_TOKEN]):
        text = text.replace(secret, "***")
    return re.sub(r"(//[^/:@\s]+:)[^@/\s]+@", r"\1***@", re.sub(r"(token=)[^&\s]+", r"\1***", text))


def last_result() -> dict | None:
    """For /healthz: the last update, or a note that it has not run yet; None when not configured."""
    if not configured():
        return None
    with _lock:
        return asdict(_last) if _last else {"provider": configured(), "ok": None, "answer": "not run yet"}


def start_dyndns() -> bool:
    """Start the updater thread once per process when configured. Returns at once."""
    if not configured() or _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_run, args=(settings.DYNDNS_INTERVAL_S,), name="dyndns", daemon=True).start()
    return True


def stop_dyndns() -> None:
    _stopped.set()


def _run(interval_s: int) -> None:
    while not _stopped.is_set():
        try:
            dyndns_update()
        except Exception:  # never let the updater die: the next round tries again
            logger.exception("dynamic DNS update failed")
        if interval_s <= 0 or _stopped.wait(interval_s):
            return
