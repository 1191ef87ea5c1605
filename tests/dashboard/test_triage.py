"""Dashboard triage: filter by status, search, sort; kept in the URL and obeyed by live pushes.
Also: the big number is the smoothed count (the one the status follows), the raw one beside it."""

from __future__ import annotations

import re

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from dashboard.triage import CardKey, DashboardView, LiveGrid
from detection.models import StockState
from devices.models import Camera
from tests.dashboard.test_consumer import connect

pytestmark = pytest.mark.django_db


def set_reading(camera: Camera, *, raw: int, smoothed: int, status: str) -> None:
    """A camera's current reading as ingest would leave it (seen just now, so not OFFLINE)."""
    now = timezone.now()
    StockState.objects.filter(camera=camera).update(raw_count=raw, smoothed_count=smoothed, count_status=status,
                                                    last_frame_at=now)
    Camera.objects.filter(pk=camera.pk).update(last_seen_at=now)


@pytest.fixture
def depot(camera_with_key):
    """Three cameras: Aisle 7 CRITICAL (2), Bay 1 WARNING (9), Cold room FULL (20)."""
    aisle, _ = camera_with_key("aisle-7")
    bay, _ = camera_with_key("bay-1")
    cold, _ = camera_with_key("cold-room")
    Camera.objects.filter(pk=aisle.pk).update(name="Aisle 7", location="North dock")
    Camera.objects.filter(pk=bay.pk).update(name="Bay 1", location="South dock")
    Camera.objects.filter(pk=cold.pk).update(name="Cold room", location="Freezer hall")
    set_reading(aisle, raw=2, smoothed=2, status="CRITICAL")
    set_reading(bay, raw=9, smoothed=9, status="WARNING")
    set_reading(cold, raw=20, smoothed=20, status="FULL")
    return {"aisle-7": aisle, "bay-1": bay, "cold-room": cold}


def card_slugs(html: str) -> list[str]:
    return re.findall(r'<article id="camera-([\w-]+)"', html)


def grid(html: str) -> str:
    return html.split('id="inventory"', 1)[1].split('id="activity-log"', 1)[0]


def key(slug: str, status: str, count: int | None = 5, name: str = "", location: str = "") -> CardKey:
    return CardKey(slug=slug, name=name or slug, location=location, status=status, count=count)


class TestDashboardView:
    def test_it_reads_a_bookmark_leniently(self):
        view = DashboardView.from_query({"status": "critical", "q": "  north   dock ", "sort": "COUNT"})
        assert (view.status, view.q, view.sort) == ("CRITICAL", "north dock", "count")
        # An old or mistyped bookmark shows the plain dashboard rather than an error.
        assert DashboardView.from_query({"status": "broken", "sort": "random"}) == DashboardView()

    def test_its_query_leaves_defaults_out_so_the_plain_dashboard_stays_slash(self):
        assert DashboardView().query() == ""
        view = DashboardView(status="CRITICAL", q="dock", camera="bay-1")
        assert view.query() == "status=critical&q=dock&camera=bay-1"
        assert view.query(status="", camera="") == "q=dock"

    def test_search_matches_every_word_in_name_slug_or_location(self):
        view = DashboardView(q="north AISLE")
        assert view.matches(key("aisle-7", "FULL", location="North dock"))
        assert not view.matches(key("bay-1", "FULL", location="North dock"))

    def test_status_sort_puts_the_most_urgent_first_then_names(self):
        keys = [key("a", "FULL"), key("b", "WARNING"), key("c", "OFFLINE"), key("d", "CRITICAL"),
                key("e", "FAULT"), key("f", "CRITICAL")]
        assert [k.slug for k in DashboardView().order(keys)] == ["d", "f", "e", "c", "b", "a"]

    def test_count_sort_puts_the_lowest_stock_first_and_uncounted_last(self):
        keys = [key("a", "FULL", 20), key("w", "WAITING", None), key("b", "CRITICAL", 0), key("c", "WARNING", 7)]
        assert [k.slug for k in DashboardView(sort="count").order(keys)] == ["b", "c", "a", "w"]


class TestLiveGrid:
    def test_a_card_that_keeps_its_place_is_swapped_alone(self):
        grid = LiveGrid(DashboardView())
        grid.keys = {"a": key("a", "CRITICAL", 1), "b": key("b", "WARNING", 8)}
        grid.shown = ("a", "b")

        class Card:
            slug = "b"
            camera = Camera(slug="b", name="b")
            status = "WARNING"
            smoothed_count = 9

        assert grid.after_change(Card()) == ("card", False)
        Card.status = "CRITICAL"  # now sorts before "a"? no: same severity, and "a" < "b" by name
        assert grid.after_change(Card()) == ("card", True)

    def test_a_count_moves_a_card_only_where_the_view_sorts_by_count(self):
        # The shortcut for a card whose filter match and sort key did not change must still see a
        # count that changes places on a count-sorted screen.
        keys = {"a": key("a", "WARNING", 5), "b": key("b", "WARNING", 8)}

        class Card:
            slug = "b"
            camera = Camera(slug="b", name="b")
            status = "WARNING"
            smoothed_count = 4

        by_status, by_count = LiveGrid(DashboardView()), LiveGrid(DashboardView(sort="count"))
        for grid in (by_status, by_count):
            grid.keys, grid.shown = dict(keys), ("a", "b")
        assert by_status.after_change(Card()) == ("card", False) and by_status.keys["b"].count == 4
        assert by_count.after_change(Card()) == ("grid", False)

    def test_a_camera_entering_or_leaving_the_filter_re_renders_the_grid(self):
        grid = LiveGrid(DashboardView(status="CRITICAL"))
        grid.keys = {"a": key("a", "CRITICAL", 1), "b": key("b", "WARNING", 8)}
        grid.shown = ("a",)

        class Card:
            slug = "b"
            camera = Camera(slug="b", name="b")
            status = "WARNING"
            smoothed_count = 7

        assert grid.after_change(Card()) == ("none", False)  # filtered out, and stays out
        Card.status = "CRITICAL"
        assert grid.after_change(Card())[0] == "grid"


class TestFilteredPage:
    def test_a_status_bookmark_shows_only_that_status_with_counts_for_each(self, client, viewer, depot):
        client.force_login(viewer)
        html = client.get("/?status=critical").content.decode()
        assert card_slugs(grid(html)) == ["aisle-7"]
        assert re.search(r'data-status-filter="critical" class="chip chip-active"\s+aria-current="true">CRITICAL '
                         r'<span class="chip-count" data-field="status-count">1<', html)
        assert re.search(r'data-status-filter="all"[^>]*>All <span[^>]*>3<', html)
        # The live socket is opened for the same view, so pushes obey it from the first message.
        assert 'ws-connect="/ws/dashboard/?status=critical"' in html
        # Every other part of the page still covers every camera.
        assert 'id="thresholds-bay-1"' in html

    def test_search_finds_name_slug_and_location_and_says_when_nothing_matches(self, client, viewer, depot):
        client.force_login(viewer)
        assert card_slugs(grid(client.get("/?q=dock").content.decode())) == ["aisle-7", "bay-1"]
        assert card_slugs(grid(client.get("/?q=cold-room").content.decode())) == ["cold-room"]
        html = client.get("/?status=critical&q=freezer").content.decode()
        assert card_slugs(grid(html)) == []
        assert "No camera is CRITICAL and matches “freezer” right now." in html
        assert re.search(r'<a [^>]*href="/"[^>]*>Show all 3 cameras</a>', html)

    def test_cards_are_sorted_by_severity_by_default_and_by_name_or_count_on_request(self, client, viewer,
                                                                                   depot, camera_with_key):
        camera_with_key("a-waiting")
        client.force_login(viewer)
        assert card_slugs(grid(client.get("/").content.decode())) == ["aisle-7", "bay-1", "a-waiting", "cold-room"]
        assert card_slugs(grid(client.get("/?sort=name").content.decode())) == [
            "a-waiting", "aisle-7", "bay-1", "cold-room"]
        assert card_slugs(grid(client.get("/?sort=count").content.decode())) == [
            "aisle-7", "bay-1", "cold-room", "a-waiting"]

    def test_links_keep_the_whole_view_so_nothing_is_lost_between_filters(self, client, viewer, depot):
        client.force_login(viewer)
        html = client.get("/?status=critical&q=dock&sort=name&camera=bay-1").content.decode()
        # The activity filter keeps the card filter and vice versa.
        assert 'href="/?status=critical&amp;q=dock&amp;sort=name&amp;camera=aisle-7#activity"' in html
        assert 'href="/?q=dock&amp;sort=name&amp;camera=bay-1"' in html  # the "All" status chip
        # Search and sort submit with the status and the activity camera (inputs tied to the form).
        assert '<input type="hidden" form="triage-form" name="status" value="critical">' in html
        assert '<input type="hidden" form="triage-form" name="camera" value="bay-1">' in html
        assert 'name="q" value="dock"' in html and '<option value="name" selected>' in html

    def test_an_htmx_filter_change_returns_grid_and_log_and_puts_the_view_in_the_address_bar(self, client,
                                                                                           viewer, depot):
        client.force_login(viewer)
        response = client.get("/partials/inventory/?status=critical", HTTP_HX_REQUEST="true",
                              HTTP_HX_CURRENT_URL="http://testserver/")
        html = response.content.decode()
        assert response["HX-Push-Url"] == "/?status=critical"
        assert html.lstrip().startswith("<div id=\"inventory\" ") and card_slugs(html) == ["aisle-7"]
        assert '<div id="activity-log" hx-swap-oob="true"' in html
        # The 30 s poll (triggered by #inventory itself) neither pushes history nor re-sends the log.
        poll = client.get("/partials/inventory/?status=critical", HTTP_HX_REQUEST="true",
                          HTTP_HX_TRIGGER="inventory", HTTP_HX_CURRENT_URL="http://testserver/?status=critical")
        assert "HX-Push-Url" not in poll and "activity-log" not in poll.content.decode()
        assert card_slugs(poll.content.decode()) == ["aisle-7"]

    def test_choosing_an_activity_camera_keeps_the_status_filter(self, client, viewer, depot):
        client.force_login(viewer)
        response = client.get("/partials/activity/?status=critical&camera=bay-1", HTTP_HX_REQUEST="true",
                              HTTP_HX_CURRENT_URL="http://testserver/?status=critical")
        assert response["HX-Push-Url"] == "/?status=critical&camera=bay-1"
        html = response.content.decode()
        assert html.lstrip().startswith("<div id=\"activity-log\" ") and 'data-camera-filter="bay-1"' in html
        assert card_slugs(grid_oob(html)) == ["aisle-7"]


def grid_oob(html: str) -> str:
    return html.split('<div id="inventory" hx-swap-oob="true"', 1)[1]


class TestBigNumber:
    def test_the_card_shows_the_smoothed_count_the_status_follows_and_the_last_frame_beside_it(
            self, client, viewer, camera_with_key):
        camera, _ = camera_with_key("dock-1", critical=3, target=20, window=5)
        # One empty frame after several at 9: the median (9) still says WARNING; showing the raw 0 as the
        # big number read as "0 / 20 WARNING".
        set_reading(camera, raw=0, smoothed=9, status="WARNING")
        client.force_login(viewer)
        card = client.get("/").content.decode().split('id="camera-dock-1"', 1)[1].split("</article>", 1)[0]
        assert 'data-field="count" class="text-5xl font-bold tabular-nums">9<' in card
        assert re.search(r'data-field="raw-count">last frame: <span[^>]*>0<', card)
        assert 'aria-valuenow="9"' in card and "width: 45%" in card  # the bar follows it too
        assert ">WARNING<" in card

    def test_the_camera_page_shows_the_same_numbers(self, client, viewer, camera_with_key):
        camera, _ = camera_with_key("dock-1", critical=3, target=20, window=5)
        set_reading(camera, raw=0, smoothed=9, status="WARNING")
        client.force_login(viewer)
        html = client.get("/cameras/dock-1/").content.decode()
        summary = html.split('id="camera-summary"', 1)[1].split("</section>", 1)[0]
        assert 'data-field="count" class="text-4xl font-bold tabular-nums">9<' in summary
        assert re.search(r'data-field="raw-count">last frame: <span[^>]*>0<', summary)

    def test_no_last_frame_note_when_both_agree(self, client, viewer, camera_with_key):
        camera, _ = camera_with_key("dock-1")
        set_reading(camera, raw=7, smoothed=7, status="WARNING")
        client.force_login(viewer)
        html = client.get("/").content.decode()
        assert 'data-field="count" class="text-5xl font-bold tabular-nums">7<' in html
        assert "last frame:" not in html


@pytest.mark.django_db(transaction=True)
class TestLivePushes:
    async def test_a_frame_of_a_filtered_out_camera_pushes_no_card(self, viewer, depot):
        communicator, _ = await connect(viewer, "/ws/dashboard/?status=critical")
        snapshot = await communicator.receive_from(timeout=5)
        assert card_slugs(snapshot) == ["aisle-7"]
        await database_sync_to_async(set_reading)(depot["bay-1"], raw=8, smoothed=8, status="WARNING")
        await self.broadcast(depot["bay-1"])
        html = await communicator.receive_from(timeout=5)
        assert "camera-bay-1" not in html and 'id="inventory"' not in html
        await communicator.disconnect()

    async def test_a_camera_turning_critical_appears_on_a_critical_only_screen(self, viewer, depot):
        communicator, _ = await connect(viewer, "/ws/dashboard/?status=critical")
        await communicator.receive_from(timeout=5)
        await database_sync_to_async(set_reading)(depot["bay-1"], raw=1, smoothed=1, status="CRITICAL")
        await self.broadcast(depot["bay-1"])
        html = await communicator.receive_from(timeout=5)
        assert '<div id="inventory" hx-swap-oob="true"' in html
        assert card_slugs(html) == ["aisle-7", "bay-1"]
        assert re.search(r'data-status-filter="critical"[^>]*>CRITICAL <span[^>]*>2<', html)
        await communicator.disconnect()

    async def test_a_camera_leaving_the_filter_disappears(self, viewer, depot):
        communicator, _ = await connect(viewer, "/ws/dashboard/?status=critical")
        await communicator.receive_from(timeout=5)
        await database_sync_to_async(set_reading)(depot["aisle-7"], raw=9, smoothed=9, status="WARNING")
        await self.broadcast(depot["aisle-7"])
        html = await communicator.receive_from(timeout=5)
        assert card_slugs(html) == [] and 'data-field="no-match"' in html
        await communicator.disconnect()

    async def test_the_page_can_change_its_view_on_the_socket(self, viewer, depot):
        communicator, _ = await connect(viewer)
        assert card_slugs(await communicator.receive_from(timeout=5)) == ["aisle-7", "bay-1", "cold-room"]
        await communicator.send_json_to({"status": "", "q": "south", "sort": "", "camera": ""})
        # The HTTP answer that changed the view already drew it: the socket only remembers it. An echoed
        # grid could land after a newer view's grid and put the screen back on the old one.
        assert await communicator.receive_nothing(timeout=0.5)
        await database_sync_to_async(set_reading)(depot["cold-room"], raw=18, smoothed=18, status="FULL")
        await self.broadcast(depot["cold-room"])
        assert "camera-cold-room" not in await communicator.receive_from(timeout=5)
        await communicator.disconnect()

    @staticmethod
    async def broadcast(camera: Camera) -> None:
        from channels.layers import get_channel_layer

        from dashboard.broadcasts import DASHBOARD_GROUP
        await get_channel_layer().group_send(DASHBOARD_GROUP, {"type": "stock.updated", "camera_id": camera.pk,
                                                               "event_id": None})
