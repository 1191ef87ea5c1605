"""Dashboard triage: which camera cards a screen shows, in which order, kept in the URL query.

`/?status=critical&q=dock&sort=count&camera=dock-1` is a bookmark: a wall screen opened on it shows
only CRITICAL cameras. The page, its HTMX endpoints and its WebSocket (which knows each screen's view)
all read it through `DashboardView`, so a card pushed live obeys the same filter as the first render.

`LiveGrid` is the consumer's memory of what one screen's grid shows: after a frame it says whether
the camera's card alone can be swapped in place, or the grid must be re-rendered (the camera moved in
or out of the filter, or its place in the order changed, or a status count on the filter changed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

# The filters a person on shift reaches for (the ones that need someone to act), plus "all".
STATUS_FILTERS = ("CRITICAL", "FAULT", "OFFLINE")
# Most urgent first: out of stock, then cameras that cannot tell us (broken, then silent).
SEVERITY = {"CRITICAL": 0, "FAULT": 1, "OFFLINE": 2, "WARNING": 3, "WAITING": 4, "FULL": 5}
SORTS = {"status": "Status (most urgent first)", "name": "Name", "count": "Count (lowest first)"}
DEFAULT_SORT = "status"
MAX_QUERY = 80


@dataclass(frozen=True)
class CardKey:
    """What filtering and sorting need of one card (small enough for the consumer to keep per camera)."""

    slug: str
    name: str
    location: str
    status: str
    count: int | None  # the smoothed count: the number the status is judged on

    @classmethod
    def of(cls, card) -> CardKey:
        camera = card.camera
        return cls(slug=card.slug, name=str(camera.name or ""), location=str(camera.location or ""),
                   status=str(card.status), count=card.smoothed_count)


@dataclass(frozen=True)
class DashboardView:
    """One screen's view of the dashboard: status filter, search, sort, and the activity log's camera."""

    status: str = ""  # "" = every status; else one of STATUS_FILTERS
    q: str = ""
    sort: str = DEFAULT_SORT
    camera: str = ""  # the activity log's camera filter (a slug), "" for all

    @classmethod
    def from_query(cls, query: Mapping[str, object]) -> DashboardView:
        """Lenient: an unknown status or sort (an old bookmark, a typo) falls back to the default."""
        def text(name: str) -> str:
            value = query.get(name)
            if isinstance(value, list):  # parse_qs gives lists
                value = value[-1] if value else ""
            return str(value or "").strip()

        status = text("status").upper()
        sort = text("sort").lower()
        return cls(status=status if status in STATUS_FILTERS else "", q=" ".join(text("q").split())[:MAX_QUERY],
                   sort=sort if sort in SORTS else DEFAULT_SORT, camera=text("camera")[:50])

    def query(self, **changes: str) -> str:
        """The URL query for this view (with changes), defaults left out: '' for the plain dashboard."""
        view = replace(self, **changes)
        pairs = [("status", view.status.lower()), ("q", view.q),
                 ("sort", "" if view.sort == DEFAULT_SORT else view.sort), ("camera", view.camera)]
        return urlencode([(name, value) for name, value in pairs if value])

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.q)

    def searched(self, key: CardKey) -> bool:
        """Every word of the search appears in the camera's name, slug or location (any case)."""
        haystack = f"{key.name}\n{key.slug}\n{key.location}".casefold()
        return all(word in haystack for word in self.q.casefold().split())

    def matches(self, key: CardKey) -> bool:
        return (not self.status or key.status == self.status) and self.searched(key)

    def sort_key(self, key: CardKey) -> tuple:
        """A card's place in this view's order; ties by name, then slug, so the order never flickers."""
        by_name = (key.name.casefold(), key.slug)
        if self.sort == "name":
            return by_name
        if self.sort == "count":
            # Lowest stock first; cameras without a count (waiting, never counted) last.
            return (key.count is None, key.count or 0, *by_name)
        return (SEVERITY.get(key.status, 9), *by_name)

    def order(self, keys: Iterable[CardKey]) -> list[CardKey]:
        """Shown cards in display order."""
        return sorted((key for key in keys if self.matches(key)), key=self.sort_key)

    def apply(self, cards: list) -> list:
        """The cards this view shows, in its order."""
        by_slug = {card.slug: card for card in cards}
        return [by_slug[key.slug] for key in self.order(CardKey.of(card) for card in cards)]

    def status_choices(self, cards: Iterable) -> list[dict[str, object]]:
        """The filter's options with how many cameras (among those the search finds) each would show.
        `cards` are camera cards or CardKeys."""
        keys = [card if isinstance(card, CardKey) else CardKey.of(card) for card in cards]
        found = [key for key in keys if self.searched(key)]
        options = [("", "All", len(found))]
        options += [(status, status, sum(key.status == status for key in found)) for status in STATUS_FILTERS]
        return [{"value": value, "label": label, "count": count, "active": value == self.status,
                 "query": self.query(status=value)} for value, label, count in options]

    def sort_choices(self) -> list[tuple[str, str, bool]]:
        return [(value, label, value == self.sort) for value, label in SORTS.items()]


@dataclass
class LiveGrid:
    """What one open dashboard's grid shows, as its WebSocket consumer last rendered it."""

    view: DashboardView
    keys: dict[str, CardKey] = field(default_factory=dict)  # every active camera, by slug
    shown: tuple[str, ...] = ()
    # The activity log's camera filter and camera choices as last sent whole; pushes send only new
    # rows while they hold (dashboard/panels.py). None: the next push sends it whole.
    log: tuple[str, tuple[tuple[str, str], ...]] | None = None
    # Pushes built from frames' fragments (dashboard/fragments.py), which two workers may deliver out
    # of order: the newest event each card shows, and when the system status shown was rendered.
    card_events: dict[str, int] = field(default_factory=dict)
    status_at: float = float("-inf")

    def remember(self, cards: list) -> None:
        """After rendering the whole grid from `cards`."""
        self.keys = {card.slug: CardKey.of(card) for card in cards}
        self.shown = tuple(key.slug for key in self.view.order(self.keys.values()))
        self.card_events = {card.slug: card.last_event_id or 0 for card in cards}

    def after_change(self, card) -> tuple[str, bool]:
        """How to show a changed card (a camera card, or its CardKey): 'grid' (re-render it all),
        'card' (swap it in place) or 'none' (this screen does not show it); and whether its status
        changed (the filter's counts did)."""
        key = card if isinstance(card, CardKey) else CardKey.of(card)
        previous = self.keys.get(key.slug)
        status_changed = previous is not None and previous.status != key.status
        place = lambda k: (self.view.matches(k), self.view.sort_key(k))  # noqa: E731
        # Only a card whose filter match or sort key changed can change the order (the other cards did
        # not): only then sort them all again, which every open screen would do for each camera of a push.
        if previous is None or place(previous) != place(key):
            shown = tuple(k.slug for k in self.view.order({**self.keys, key.slug: key}.values()))
            if previous is None or shown != self.shown:
                return "grid", status_changed  # new, moved into or out of the filter, or to another place
        self.keys[key.slug] = key
        return ("card" if key.slug in self.shown else "none"), status_changed
