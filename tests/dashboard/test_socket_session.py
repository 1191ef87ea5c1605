"""A socket lives only as long as its sign-in, and only pages of this very site (port included) may
open one."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from dashboard.broadcasts import DASHBOARD_GROUP
from inventory_monitor.asgi import application
from tests.roles import role_group

pytestmark = pytest.mark.django_db(transaction=True)
PATHS = ["/ws/dashboard/", "/ws/cameras/dock-1/", "/ws/cameras/dock-1/trends/"]


@database_sync_to_async
def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def open_socket(client: Client, path: str, *, origin: bytes = b"http://localhost",
                      host: bytes = b"localhost") -> tuple[WebsocketCommunicator, bool]:
    cookie = f"sessionid={client.cookies['sessionid'].value}; csrftoken=abc".encode()
    communicator = WebsocketCommunicator(application, path,
                                         headers=[(b"origin", origin), (b"host", host), (b"cookie", cookie)])
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def push(camera_id: int) -> None:
    await get_channel_layer().group_send(DASHBOARD_GROUP, {"type": "stock.updated", "camera_id": camera_id,
                                                           "event_id": None})


async def drain(communicator: WebsocketCommunicator) -> None:
    while not await communicator.receive_nothing(timeout=0.3):
        await communicator.receive_output(timeout=1)


@pytest.mark.parametrize("path", PATHS)
async def test_logging_out_closes_the_sessions_open_sockets(viewer, camera_with_key, path):
    await database_sync_to_async(camera_with_key)("dock-1")
    client = await signed_in(viewer)
    communicator, connected = await open_socket(client, path)
    assert connected
    await drain(communicator)
    await database_sync_to_async(client.post)("/accounts/logout/")
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()


@pytest.mark.parametrize("path", PATHS)
async def test_a_socket_whose_session_ended_gets_no_update_but_a_close(viewer, camera_with_key, path):
    # The session is gone without a logout message (expired, flushed by an admin, another worker
    # whose layer message was lost): the next push closes the socket instead of sending the update.
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    client = await signed_in(viewer)
    communicator, _ = await open_socket(client, path)
    await drain(communicator)
    from django.contrib.sessions.models import Session

    await database_sync_to_async(Session.objects.all().delete)()
    await push(camera.pk)
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()


async def test_a_socket_whose_user_lost_the_role_is_closed_on_the_next_push(viewer, camera_with_key):
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    client = await signed_in(viewer)
    communicator, _ = await open_socket(client, "/ws/dashboard/")
    await drain(communicator)
    await database_sync_to_async(viewer.groups.clear)()
    await push(camera.pk)
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await communicator.disconnect()


async def test_a_signed_in_socket_still_gets_its_updates(viewer, camera_with_key):
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    client = await signed_in(viewer)
    communicator, _ = await open_socket(client, "/ws/dashboard/")
    await drain(communicator)
    await push(camera.pk)
    assert 'id="camera-dock-1"' in await communicator.receive_from(timeout=5)
    await communicator.disconnect()


@pytest.mark.parametrize("origin, host, allowed", [
    (b"http://localhost:8000", b"localhost:8000", True),
    (b"http://localhost", b"localhost", True),
    (b"https://localhost", b"localhost", True),  # TLS ended at a load balancer: Host has no port
    (b"http://localhost:9999", b"localhost:8000", False),  # another app on the same host
    (b"http://localhost:8000", b"localhost", False),
    (b"http://127.0.0.1:8000", b"localhost:8000", False),
    (b"http://evil.example:8000", b"evil.example:8000", False),  # not in ALLOWED_HOSTS
    (b"null", b"localhost", False),
])
async def test_the_origin_must_be_this_site_port_included(viewer, camera_with_key, origin, host, allowed):
    await database_sync_to_async(camera_with_key)("dock-1")
    client = await signed_in(viewer)
    communicator, connected = await open_socket(client, "/ws/dashboard/", origin=origin, host=host)
    assert connected is allowed
    await communicator.disconnect()


async def test_a_deeply_nested_message_is_ignored_and_the_socket_stays_open(viewer, camera_with_key):
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    client = await signed_in(viewer)
    communicator, _ = await open_socket(client, "/ws/dashboard/")
    await drain(communicator)
    await communicator.send_to(text_data="[" * 50000 + "]" * 50000)  # RecursionError in json.loads
    assert await communicator.receive_nothing(timeout=0.5)
    await push(camera.pk)
    assert 'id="camera-dock-1"' in await communicator.receive_from(timeout=5)
    await communicator.disconnect()
