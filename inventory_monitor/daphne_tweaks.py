"""Daphne runs on Twisted, whose HTTP request parses every multipart POST body into ``request.args``
before Daphne hands the raw body to Django. Daphne never reads ``args``, so that parse is pure
waste on our hottest path (about 5 ms of CPU per 200 KB frame, measured with py-spy), and worse: on
a malformed multipart body Twisted answers an empty, non-JSON 400 and hangs up before Django (and
our JSON ``detail``) ever sees the request. Twisted's Request takes ``parsePOSTFormSubmission=False``
for exactly this; Daphne just doesn't pass it, so we do.
"""

from __future__ import annotations

import functools


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
