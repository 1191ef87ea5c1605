from django.contrib import admin, messages
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.utils.html import format_html

from devices.models import Camera, DeviceKey
from devices.services import device_key_create, device_key_revoke


class DeviceKeyInline(admin.TabularInline):
    model = DeviceKey
    extra = 0
    fields = ("prefix", "label", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        # Keys are made by the "Create a new device key" action, which shows the secret once.
        return False


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    # What it shows of stock (thresholds inline, status column) is added by detection/stock/admin.py.
    list_display = ("name", "slug", "location", "is_active", "last_seen_at", "key_count")
    list_filter = ("is_active",)
    search_fields = ("name", "slug", "location")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("last_seen_at", "created_at")
    inlines = [DeviceKeyInline]
    actions = ["create_key"]

    def get_queryset(self, request):
        usable = Count("keys", filter=Q(keys__revoked_at__isnull=True))
        return super().get_queryset(request).annotate(usable_keys=usable)

    @admin.display(description="usable keys", ordering="usable_keys")
    def key_count(self, camera: Camera) -> int:
        return camera.usable_keys

    def has_create_key_permission(self, request) -> bool:
        # A key lets whoever holds it post frames as this camera (counts, statuses, alerts): only
        # people allowed to add device keys may mint one, not everyone who can see the camera list.
        return request.user.has_perm("devices.add_devicekey")

    @admin.action(description="Create a new device key (shown once)", permissions=["create_key"])
    def create_key(self, request, queryset) -> None:
        for camera in queryset:
            key, raw_key = device_key_create(camera=camera, label=f"created in admin by {request.user}")
            self.message_user(
                request,
                format_html(
                    "New key for <b>{}</b> (copy it now, it is not stored and will not be shown again): "
                    "<code class='device-key'>{}</code>",
                    camera.slug,
                    raw_key,
                ),
                messages.WARNING,
            )


@admin.register(DeviceKey)
class DeviceKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "camera", "label", "created_at", "last_used_at", "revoked_at")
    list_filter = ("camera", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("prefix", "label", "camera__slug", "camera__name")
    readonly_fields = ("camera", "prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("camera", "label", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def add_view(self, request, form_url="", extra_context=None):
        # A key is made for a camera and shown once, so it is created from the camera ("Create a new
        # device key"), not from a blank form. Someone allowed to create keys who lands here (an old
        # bookmark, a typed URL) is sent there with the reason instead of a role 403 page.
        if request.user.has_perm("devices.add_devicekey"):
            messages.info(request, "Device keys are created from their camera: select it and run "
                                   "\"Create a new device key (shown once)\".")
            return redirect("admin:devices_camera_changelist")
        return super().add_view(request, form_url, extra_context)

    def has_revoke_permission(self, request) -> bool:
        # Revoking cuts a camera off: a change to the key, so it needs the change permission.
        return request.user.has_perm("devices.change_devicekey")

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke(self, request, queryset) -> None:
        for key in queryset:
            device_key_revoke(key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)
