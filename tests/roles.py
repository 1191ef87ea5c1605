"""The default roles' permissions, as the data migrations grant them (0003, then 0012).

transaction=True tests flush the groups those migrations made; fixtures rebuild them from here."""

from __future__ import annotations

import importlib


def role_permissions(name: str) -> list[tuple[str, str]]:
    """(app_label, codename) pairs the role ``name`` has on a freshly migrated database."""
    base = importlib.import_module("detection.migrations.0003_default_groups").ROLES
    review = importlib.import_module("detection.migrations.0012_review_roles").GRANTS
    return [*base.get(name, []), *(("detection", codename) for codename in review.get(name, []))]


def role_group(name: str):
    """The group ``name``, created with its default permissions if a flush removed it."""
    from django.contrib.auth.models import Group, Permission

    group, created = Group.objects.get_or_create(name=name)
    if created:
        for app_label, codename in role_permissions(name):
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return group
