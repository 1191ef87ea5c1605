"""Template context every page gets: the site's time zone (TIME_ZONE), named once so that every
time on a page can say which clock it is."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone


def site_time(request: HttpRequest) -> dict[str, str]:
    now = timezone.localtime()
    return {"SITE_TIME_ZONE": str(timezone.get_current_timezone()), "SITE_TIME_ZONE_ABBR": now.strftime("%Z")}
