from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from detection.history import api as history_api
from detection.ingest import api, inspect_api
from detection.review import api as review_api
from detection.stock import zones_api
from inventory_monitor.health import healthz
from inventory_monitor.metrics import metrics_view

admin.site.site_header = "Smart Inventory Monitor"
admin.site.site_title = "Inventory Monitor admin"

urlpatterns = [
    path("api/v1/frames/", api.FrameIngestView.as_view(), name="api-frames"),
    path("api/v1/heartbeat/", api.HeartbeatView.as_view(), name="api-heartbeat"),
    path("api/v1/inspect/", inspect_api.InspectView.as_view(), name="api-inspect"),
    path("api/v1/history/readings/", history_api.ReadingsView.as_view(), name="api-history-readings"),
    path("api/v1/history/status-changes/", history_api.StatusChangesView.as_view(), name="api-history-changes"),
    path("api/v1/history/stockouts/", history_api.StockoutReportView.as_view(), name="api-history-stockouts"),
    path("api/v1/events/<int:event_id>/flag/", review_api.EventFlagView.as_view(), name="api-event-flag"),
    path("api/v1/cameras/<slug:slug>/zones/", zones_api.CameraZonesView.as_view(), name="api-camera-zones"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("dashboard.urls")),
]
