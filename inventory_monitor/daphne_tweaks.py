"""Daphne runs on Twisted, whose HTTP request parses every multipart POST body into ``request.args``
before Daphne hands the raw body to Django. Daphne never reads ``args``, so that parse is pure
waste on our hottest path (about 5 ms of CPU per 200 KB frame, measured with py-spy), and worse: on
a malformed multipart body Twisted answers an empty, non-JSON 400 and hangs up before Django (and
our JSON ``detail``) ever sees the request. Twisted's Request takes ``parsePOSTFormSubmission=False``
for exactly this; Daphne just doesn't pass it, so we do.

Twisted also writes every request body of 100,000 bytes or more to a temporary file on disk
(``twisted.web.http._getContentFile``), which Daphne then reads back to hand it to Django: a
1920x1080 JPEG (150-600 KB) went through a file create, writes, a seek and reads, 0.9 ms of CPU per
200 KB against 0.11 ms in memory. Bodies that declare a length up to ``MEMORY_BODY_MAX_BYTES`` now
stay in memory (Django keeps uploads of up to INGEST_MAX_BYTES + 1 MiB in memory anyway, and the
request gate has already refused anything declaring more than REQUEST_MAX_BYTES); longer or
chunked bodies still go to a temporary file.
"""

from __future__ import annotations

import functools
from io import BytesIO

# A 4K JPEG is 1-2 MB; bigger bodies (rare: uploads near INGEST_MAX_BYTES) spool to disk as before.
MEMORY_BODY_MAX_BYTES = 2 * 1024 * 1024


def disable_twisted_form_parsing() -> None:
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # served by another ASGI server: nothing to do
        return
    if getattr(WebRequest, "_form_parsing_disabled", False):
        return
    original_init = WebRequest.__init__

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original_init(self, *args, **kwargs)

    WebRequest.__init__ = __init__
    WebRequest._form_parsing_disabled = True


def keep_bodies_in_memory() -> None:
    """Twisted's choice of body buffer, replaced where it makes it (so hooks on gotLength still run)."""
    try:
        import twisted.web.http as twisted_http
    except ImportError:
        return
    original = twisted_http._getContentFile
    if getattr(original, "_bodies_in_memory", False):
        return

    @functools.wraps(original)
    def _getContentFile(length):  # noqa: N802 (Twisted's name)
        if length is not None and length <= MEMORY_BODY_MAX_BYTES:
            return BytesIO()
        return original(length)

    _getContentFile._bodies_in_memory = True
    twisted_http._getContentFile = _getContentFile
