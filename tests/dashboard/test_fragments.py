"""A stored frame's card, log row and system status are rendered once where the frame is stored and
travel with its "stock.updated" message (dashboard/fragments.py); screens put frames-only pushes
together from them without a query (panels.fragments_html)."""

from __future__ import annotations

import asyncio

import pytest

from dashboard import broadcasts, fragments, panels, presence
from dashboard.pushes import Updates
from dashboard.triage import DashboardView, LiveGrid
from detection.ingest.services import frame_record
from tests.dashboard.test_shared_renders import result

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    panels.shared_renders.clear()
    presence.reset()
    yield
    panels.shared_renders.clear()
    presence.reset()


def screen(view: DashboardView | None = None) -> LiveGrid:
    grid = LiveGrid(view or DashboardView())
    panels.snapshot_html(panels.Viewer(can_manage=False), grid=grid)  # what a socket does on connect
    return grid


def with_fragments(*frames) -> Updates:
    rendered = fragments.render_frames([(event.camera_id, event.pk) for event in frames])
    updates = Updates()
    for event in frames:
        updates.add(event.camera_id, event.pk, rendered[event.pk])
    return updates


def without_fragments(*frames) -> Updates:
    updates = Updates()
    for event in frames:
        updates.add(event.camera_id, event.pk)
    return updates


@pytest.mark.parametrize("view", [DashboardView(), DashboardView(camera="dock-1"), DashboardView(q="dock")])
def test_a_push_from_fragments_shows_what_the_screen_would_have_rendered(camera_with_key, view):
    camera, _ = camera_with_key()
    other, _ = camera_with_key("dock-2")
    mine, theirs = screen(view), screen(view)
    frames = [frame_record(camera=camera, result=result(7)), frame_record(camera=other, result=result(9))]
    shared = with_fragments(*frames)
    panels.shared_renders.clear()
    rendered_here = panels.updates_html(panels.Viewer(can_manage=False), updates=without_fragments(*frames),
                                        grid=theirs)
    assert panels.fragments_html(shared, grid=mine) == rendered_here
    assert mine.keys == theirs.keys and mine.card_events == theirs.card_events


def test_a_frames_only_push_costs_the_screen_no_query(camera_with_key, django_assert_num_queries):
    camera, _ = camera_with_key()
    grid = screen()
    updates = with_fragments(frame_record(camera=camera, result=result(7)))
    with django_assert_num_queries(0):
        html = panels.updates_html(panels.Viewer(can_manage=False), updates=updates, grid=grid)
    assert ">7<" in html and 'id="activity-new"' in html and 'id="system-status"' in html


def test_a_card_that_moves_in_the_grid_is_rendered_by_the_screen_as_before(camera_with_key):
    camera, _ = camera_with_key()  # critical level 3: 1 package turns it CRITICAL
    other, _ = camera_with_key("dock-2")
    frame_record(camera=other, result=result(9))
    grid = screen(DashboardView(status="CRITICAL"))
    before = (dict(grid.keys), grid.shown)
    updates = with_fragments(frame_record(camera=camera, result=result(1)))
    assert panels.fragments_html(updates, grid=grid) is None  # it enters the CRITICAL filter
    assert (grid.keys, grid.shown) == before  # untouched: updates_html decides afresh
    html = panels.updates_html(panels.Viewer(can_manage=False), updates=updates, grid=grid)
    assert 'id="inventory"' in html and grid.shown == ("dock-1",)


def test_a_frame_without_fragments_is_rendered_by_the_screen(camera_with_key):
    camera, _ = camera_with_key()
    grid = screen()
    first, second = frame_record(camera=camera, result=result(7)), frame_record(camera=camera, result=result(8))
    updates = with_fragments(first)
    updates.add(camera.pk, second.pk)  # stored before this worker knew a screen was open
    assert panels.fragments_html(updates, grid=grid) is None
    assert ">8<" in panels.updates_html(panels.Viewer(can_manage=False), updates=updates, grid=grid)


def test_the_newest_status_wins_when_two_workers_frames_arrive_out_of_order(camera_with_key):
    camera, _ = camera_with_key()
    other, _ = camera_with_key("dock-2")
    grid = screen()
    first = frame_record(camera=camera, result=result(7))
    early = fragments.render_frames([(camera.pk, first.pk)])[first.pk]  # worker A renders first...
    second = frame_record(camera=other, result=result(9))
    late = fragments.render_frames([(other.pk, second.pk)])[second.pk]  # ...worker B after its own frame
    early["status"]["html"], late["status"]["html"] = "<div id=system-status>A</div>", "<div id=system-status>B</div>"
    updates = Updates()
    updates.add(other.pk, second.pk, late)  # B's message arrives first
    updates.add(camera.pk, first.pk, early)
    assert "system-status>B<" in panels.fragments_html(updates, grid=grid)
    # A's older status alone, in a later push, does not replace B's on the screen.
    again = Updates()
    again.add(camera.pk, first.pk, early)
    assert "system-status" not in panels.fragments_html(again, grid=grid)


def test_an_older_card_than_the_one_shown_is_not_sent(camera_with_key):
    camera, _ = camera_with_key()
    grid = screen()
    first = frame_record(camera=camera, result=result(7))
    old = fragments.render_frames([(camera.pk, first.pk)])[first.pk]
    second = frame_record(camera=camera, result=result(8))
    panels.fragments_html(with_fragments(second), grid=grid)
    updates = Updates()
    updates.add(camera.pk, first.pk, old)
    html = panels.fragments_html(updates, grid=grid)
    assert 'id="camera-dock-1"' not in html and f'id="event-{first.pk}"' in html  # its log row is still new


class Layer:
    """Records group messages."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def group_send(self, group: str, message: dict) -> None:
        self.sent.append(message)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shared_layer", [True, False])
async def test_fragments_are_rendered_only_while_a_screen_is_open_on_a_shared_layer(camera_with_key, monkeypatch,
                                                                                    shared_layer):
    # With the in-memory layer there is one worker, whose screens share one render per push anyway
    # (cheaper than one per frame when frames come faster than pushes): no fragments there.
    from asgiref.sync import sync_to_async

    camera, _ = await sync_to_async(camera_with_key)()
    monkeypatch.setattr(presence, "_shared_layer", lambda: shared_layer)  # Redis: the cache says who watches
    layer = Layer()
    renders: list[list] = []
    real = fragments.render_frames
    monkeypatch.setattr(fragments, "render_frames", lambda frames: renders.append(frames) or real(frames))
    monkeypatch.setattr(broadcasts, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(broadcasts, "_consumer_loop", asyncio.get_running_loop())
    store = sync_to_async(lambda count: frame_record(camera=camera, result=result(count)), thread_sensitive=False)

    alone = await store(7)  # the hook hands the broadcast to the loop from this "request thread"
    assert await broadcasts.flush_pending(timeout=5) == 0
    assert renders == [] and layer.sent == [{"type": "stock.updated", "camera_id": camera.pk, "event_id": alone.pk}]

    presence.opened()  # a dashboard socket joined
    watched = await store(8)
    assert await broadcasts.flush_pending(timeout=5) == 0
    message = layer.sent[-1]
    if shared_layer:
        assert renders == [[(camera.pk, watched.pk)]]
        assert message["event_id"] == watched.pk and ">8<" in message["fragments"]["card"]["html"]
    else:
        assert renders == [] and "fragments" not in message
    presence.closed()
