"""A socket lives only as long as its sign-in.

The session and user are checked when a socket connects; without more, a socket opened before a
logout (or a password change, a removed role, a deactivated account) kept receiving live updates.
So:
- every socket joins a group named after its session; logging out sends that group "session.ended"
  and the sockets close with 4401 at once (any worker: it goes through the channel layer);
- before each push a socket checks its session again (the store, not the copy it connected with):
  a session that was flushed, expired, belongs to someone else now or whose user lost the dashboard
  role closes the socket instead of receiving the update.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import import_module

from asgiref.sync import async_to_sync
from channels.auth import get_user
from channels.db import database_sync_to_async
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
    session = scope.get("session")
    return session_group(getattr(session, "session_key", None))


async def close_code_now(scope) -> int | None:
    """None while the socket's sign-in still holds; else the code to close it with."""
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    if not key:
        return SIGNED_OUT
    return await _close_code(key, getattr(scope.get("user"), "pk", None))


@database_sync_to_async
def _close_code(session_key: str, connected_as_pk) -> int | None:
    """The check itself, in one trip to a worker thread (one database connection): it runs before
    every push on every open screen, so it is a large part of what a frame's broadcast costs."""
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
    except Exception:  # the per-push check closes them anyway
        logger.exception("could not tell the sockets of a logged-out session")


def connect_signals() -> None:
    from django.contrib.auth.signals import user_logged_out

    user_logged_out.connect(_logged_out, dispatch_uid="dashboard_sockets_logout")
