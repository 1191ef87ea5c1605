"""Which puller pulls which camera now: leases in the database.

A puller takes due sources by writing its name and an end time on them. On PostgreSQL the due rows
are selected with FOR UPDATE SKIP LOCKED (pullers never wait on each other) and updated in the same
transaction; on SQLite (one writer at a time) each row is taken by an atomic conditional UPDATE that
succeeds only while the row is still free, so two pullers never both take one. A lease is given
back after its pull (detection/pull/services.py); one left by a puller that died ends by itself after
CAMERA_PULL_LEASE_S, and the camera is pulled by another puller from then on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from detection.pull.models import PullSource


def _due(now: datetime):
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return PullSource.objects.filter(free, enabled=True, camera__is_active=True, next_pull_at__lte=now)


def leases_claim(*, owner: str, limit: int, now: datetime | None = None) -> list[PullSource]:
    """Take up to ``limit`` due, free sources for ``owner``, most overdue first."""
    if limit <= 0:
        return []
    now = now or timezone.now()
    until = now + timedelta(seconds=settings.CAMERA_PULL_LEASE_S)
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            ids = list(_due(now).order_by("next_pull_at").select_for_update(skip_locked=True, of=("self",))
                       .values_list("pk", flat=True)[:limit])
            PullSource.objects.filter(pk__in=ids).update(lease_owner=owner, lease_until=until)
    else:
        ids = []
        for pk in _due(now).order_by("next_pull_at").values_list("pk", flat=True)[: limit * 2]:
            free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
            if PullSource.objects.filter(free, pk=pk).update(lease_owner=owner, lease_until=until):
                ids.append(pk)
            if len(ids) == limit:
                break
    return list(PullSource.objects.select_related("camera").filter(pk__in=ids, lease_owner=owner)
                .order_by("next_pull_at"))


def leases_release(*, owner: str) -> int:
    """Give back every lease of ``owner`` (a puller stopping): the sources are free at once."""
    return PullSource.objects.filter(lease_owner=owner).update(lease_owner="", lease_until=None)
