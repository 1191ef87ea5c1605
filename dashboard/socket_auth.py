"""A socket lives only as long as its sign-in.

The session and user are checked when a socket connects; without more, a socket opened before a
logout (or a password change, a removed role, a deactivated account) kept receiving live updates.
So:
- every socket joins a group named after its session; logging out sends that group "session.ended"
  and the sockets close with 4401 at once (any worker: it goes through the channel layer);
- before a push a socket checks its session again (the store, not the copy it connected with) when
  its last successful check is older than SOCKET_AUTH_RECHECK_S (1 s by default; 0: before every
  push): a session that was flushed, expired, belongs to someone else now or whose user lost the
  dashboard role closes the socket (4401 / 4403) at the first push after at most that long, instead
  of receiving it. The check is rate-limited because it ran before every push on every open screen
  and was about half of what a frame's broadcast cost them (dashboard/pushes.py); logout does not
  wait for it.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import import_module

from asgiref.sync import async_to_sync
from channels.auth import get_user
from channels.layers import get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)

SIGNED_OUT = 4401
NO_ACCESS = 4403
VIEW = "detection.view_stockstate"


def session_group(session_key: str | None) -> str | None:
    """The channel-layer group of one session's sockets (a digest: group names are short ASCII)."""
    if not session_key:
        return None
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def scope_session_group(scope) -> str | None:
    return session_group(_session_key(scope))


def _session_key(scope) -> str | None:
    return getattr(scope.get("session"), "session_key", None)


def close_code(scope) -> int | None:
    """None while the socket's sign-in still holds; else the code to close it with. Synchronous: the
    worker thread that renders a push runs it first (one trip for both, dashboard/pushes.py); it
    queries the session store, the user and their permissions."""
    session_key = _session_key(scope)
    if not session_key:
        return SIGNED_OUT
    connected_as_pk = getattr(scope.get("user"), "pk", None)
    fresh = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)  # not the cached copy
    user = get_user.func({"session": fresh})  # channels.auth.get_user's own check, without its own trip
    if not user.is_authenticated or user.pk != connected_as_pk:
        return SIGNED_OUT
    if not user.has_perm(VIEW):
        return NO_ACCESS
    return None


def _logged_out(sender, request, user, **kwargs) -> None:
    """user_logged_out: close the session's sockets now (before the session is flushed)."""
    group = session_group(getattr(getattr(request, "session", None), "session_key", None))
    layer = get_channel_layer()
    if group is None or layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "session.ended"})
    except Exception:  # the rate-limited check before a push closes them anyway
        logger.exception("could not tell the sockets of a logged-out session")


def connect_signals() -> None:
    from django.contrib.auth.signals import user_logged_out

    user_logged_out.connect(_logged_out, dispatch_uid="dashboard_sockets_logout")
