"""Login lockouts (django-axes) in the admin: its bulk action checks a permission like ours do
(tests/test_admin_permissions.py walks every admin action)."""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin


class GuardedAccessAttemptAdmin(AccessAttemptAdmin):
    def has_cleanup_expired_attempts_permission(self, request) -> bool:
        # It deletes attempt rows, so it needs the delete permission (superusers by default).
        return request.user.has_perm("axes.delete_accessattempt")

    @admin.action(description="Clean up expired attempts", permissions=["cleanup_expired_attempts"])
    def cleanup_expired_attempts(self, request, queryset) -> None:
        super().cleanup_expired_attempts(request, queryset)


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, GuardedAccessAttemptAdmin)
