"""Dashboard fixtures: people with and without permissions, a live Daphne for browser tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import labelled_val_images
from tests.dashboard import live
from tests.roles import role_group

# Cameras the live server starts with; each browser test owns one, so tests don't see each other's frames.
LIVE_CAMERAS = ["e2e-live", "e2e-threshold", "e2e-filter", "e2e-fault", "e2e-trends", "e2e-camera", "e2e-zones",
                "e2e-review", "e2e-log"]


@pytest.fixture
def make_user(db, django_user_model):
    """A user in the default role groups. The groups come from a data migration, which
    transaction=True tests flush away, so they are rebuilt here from the migration's own ROLES."""
    def make(username: str, *groups: str):
        user = django_user_model.objects.create_user(username, password=live.PASSWORD)
        for name in groups:
            group = role_group(name)
            user.groups.add(group)
        return user

    return make


@pytest.fixture
def viewer(make_user):
    return make_user("olga", "Operators")


@pytest.fixture
def manager(make_user):
    return make_user("mia", "Managers")


@pytest.fixture
def auditor(make_user):
    return make_user("ada", "Auditors")


@pytest.fixture
def nobody(make_user):
    """Logged in, but in no group: e.g. an account made for something else, or left over."""
    return make_user("nora")


@pytest.fixture(scope="session")
def real_images() -> list[Path]:
    """Real dataset frames with enough packages that the count is not zero."""
    return [path for path, _ in labelled_val_images(min_boxes=5, max_boxes=25, limit=6)]


@pytest.fixture(scope="session")
def live_server_proc(tmp_path_factory):
    """One Daphne process (in-memory channel layer) on a free port with its own SQLite file."""
    root = tmp_path_factory.mktemp("live")
    sqlite_path = root / "db.sqlite3"
    keys = live.prepare_database(sqlite_path, LIVE_CAMERAS)
    server = live.Daphne(sqlite_path=sqlite_path, log_path=root / "daphne.log").start()
    server.keys = keys
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = live.launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(viewport: dict | None = None):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def redis_server():
    """A throwaway redis-server on loopback (Debian's redis-server binary)."""
    from tests.dashboard import live

    server = live.RedisServer().start()
    yield server
    server.stop()
