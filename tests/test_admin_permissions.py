"""Every admin action and every custom admin view checks a permission, for every role.

The tables below are the policy. Actions and custom views are discovered from the admin site
itself (ours and those of installed libraries), so one added without an entry here fails
test_every_action_and_custom_view_is_in_the_policy: decide who may use it before shipping it.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, reverse
from django.views.generic import RedirectView

from devices.models import DeviceKey
from tests.roles import role_group

# Staff users (they can open /admin/) in each default group, one in none, and a superuser.
ROLES: dict[str, tuple[str, ...]] = {
    "operator": ("Operators",),
    "manager": ("Managers",),
    "auditor": ("Auditors",),
    "staff": (),
    "superuser": (),
}
ONLY_SUPERUSER = frozenset({"superuser"})

# (model label, action name) -> roles that may run it. A device key lets its holder post frames as
# the camera, so only engineers (superusers) mint or revoke them; no default group deletes anything.
ACTIONS: dict[tuple[str, str], frozenset[str]] = {
    ("devices.camera", "create_key"): ONLY_SUPERUSER,
    ("devices.devicekey", "revoke"): ONLY_SUPERUSER,
    ("axes.accessattempt", "cleanup_expired_attempts"): ONLY_SUPERUSER,  # django-axes: login lockouts
    # The model decides every count on every camera: only engineers switch it.
    ("detection.modelversion", "activate"): ONLY_SUPERUSER,
    ("detection.modelversion", "rollback"): ONLY_SUPERUSER,
    ("detection.modelversion", "serve_bundled"): ONLY_SUPERUSER,
}
DELETE_SELECTED = ONLY_SUPERUSER  # Django's bulk delete, on every model

# Admin views beyond Django's standard changelist/add/change/delete/history pages, by URL name,
# -> (roles that may open it, a function giving its URL).
CUSTOM_VIEWS = {
    "auth_user_password_change": (ONLY_SUPERUSER, lambda people: reverse(
        "admin:auth_user_password_change", args=[people["operator"].pk])),
}


@pytest.fixture
def people(db) -> dict:
    """One staff user per role. Groups come from a data migration; rebuilt here if a
    transaction=True test flushed them, from the migration's own ROLES."""
    users = {}
    for role, groups in ROLES.items():
        user = get_user_model().objects.create_user(f"{role}-user", password=None, is_staff=True,
                                                    is_superuser=role == "superuser")
        for name in groups:
            group = role_group(name)
            user.groups.add(group)
        users[role] = user
    return users


def request_as(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def every_action(superuser) -> list[tuple[str, admin.ModelAdmin, str, object]]:
    """(model label, its admin, action name, action function) for every registered model admin."""
    found = []
    for model, model_admin in admin.site._registry.items():
        for name, (func, _, _) in model_admin.get_actions(request_as(superuser)).items():
            found.append((model._meta.label_lower, model_admin, name, func))
    return found


def allowed_roles(label: str, name: str) -> frozenset[str]:
    return DELETE_SELECTED if name == "delete_selected" else ACTIONS[(label, name)]


def _flatten(patterns) -> list[URLPattern]:
    out = []
    for pattern in patterns:
        out += _flatten(pattern.url_patterns) if isinstance(pattern, URLResolver) else [pattern]
    return out


def custom_admin_views() -> list[str]:
    """URL names of admin views that are not Django's standard site and model pages."""
    standard = {"index", "login", "logout", "password_change", "password_change_done", "autocomplete",
                "jsi18n", "view_on_site", "app_list"}
    for model in admin.site._registry:
        meta = model._meta
        standard |= {f"{meta.app_label}_{meta.model_name}_{page}"
                     for page in ("changelist", "add", "history", "delete", "change")}
    custom = []
    for pattern in _flatten(admin.site.get_urls()):
        callback = pattern.callback
        if pattern.name in standard or getattr(callback, "view_class", None) is RedirectView:
            continue
        if callback.__name__ == "catch_all_view":  # the 404 for unknown admin paths
            continue
        custom.append(pattern.name or str(pattern.pattern))
    return custom


@pytest.mark.django_db
class TestPolicy:
    def test_every_action_and_custom_view_is_in_the_policy(self, people):
        discovered = {(label, name) for label, _, name, _ in every_action(people["superuser"])
                      if name != "delete_selected"}
        assert discovered == set(ACTIONS)
        assert set(custom_admin_views()) == set(CUSTOM_VIEWS)

    def test_every_action_declares_the_permission_it_needs(self, people):
        # Without allowed_permissions Django offers an action to anyone who can open the list.
        unguarded = [f"{label}.{name}" for label, _, name, func in every_action(people["superuser"])
                     if not getattr(func, "allowed_permissions", None)]
        assert unguarded == []

    @pytest.mark.parametrize("role", list(ROLES))
    def test_each_role_is_offered_exactly_the_actions_it_may_run(self, people, role):
        request = request_as(people[role])
        wrong = []
        for label, model_admin, name, _ in every_action(people["superuser"]):
            offered = name in model_admin.get_actions(request)
            if offered != (role in allowed_roles(label, name)):
                wrong.append(f"{label}.{name}: {'offered' if offered else 'refused'}")
        assert wrong == []

    @pytest.mark.parametrize("role", list(ROLES))
    def test_each_role_opens_exactly_the_custom_views_it_may(self, client, people, role):
        client.force_login(people[role])
        for name, (roles, url) in CUSTOM_VIEWS.items():
            status = client.get(url(people)).status_code
            assert status == (200 if role in roles else 403), (name, role, status)

    @pytest.mark.parametrize("role", list(ROLES))
    def test_each_role_opens_exactly_the_admin_lists_its_permissions_allow(self, client, people, role):
        client.force_login(people[role])
        user = people[role]
        for model in admin.site._registry:
            meta = model._meta
            may = user.has_perm(f"{meta.app_label}.view_{meta.model_name}") or user.has_perm(
                f"{meta.app_label}.change_{meta.model_name}")
            status = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")).status_code
            assert status == (200 if may else 403), (meta.label, role, status)


@pytest.mark.django_db
class TestDeviceKeys:
    def test_a_manager_cannot_mint_a_device_key(self, client, people, camera_with_key):
        # The reported hole: Managers may view cameras, and the action ran for them.
        camera, _ = camera_with_key()
        client.force_login(people["manager"])
        response = client.post("/admin/devices/camera/", {"action": "create_key", "_selected_action": [camera.pk]},
                               follow=True)
        assert "device-key" not in response.content.decode()
        assert camera.keys.count() == 1

    def test_a_manager_who_may_see_keys_still_cannot_revoke_them(self, client, people, camera_with_key):
        # With view permission the key list opens, so only the action's own check can stop the revoke
        # (without view permission the list is a 403 whatever the action declares).
        from django.contrib.auth.models import Permission

        camera_with_key()
        key = DeviceKey.objects.get()
        manager = people["manager"]
        manager.user_permissions.add(Permission.objects.get(codename="view_devicekey"))
        client.force_login(manager)
        assert client.get("/admin/devices/devicekey/").status_code == 200
        client.post("/admin/devices/devicekey/", {"action": "revoke", "_selected_action": [key.pk]})
        key.refresh_from_db()
        assert key.revoked_at is None

    def test_a_superuser_still_mints_and_revokes(self, client, people, camera_with_key):
        camera, _ = camera_with_key()
        client.force_login(people["superuser"])
        client.post("/admin/devices/camera/", {"action": "create_key", "_selected_action": [camera.pk]})
        assert camera.keys.count() == 2
        client.post("/admin/devices/devicekey/", {"action": "revoke",
                                                  "_selected_action": list(camera.keys.values_list("pk", flat=True))})
        assert camera.keys.filter(revoked_at__isnull=True).count() == 0
