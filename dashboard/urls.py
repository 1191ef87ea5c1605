from django.urls import path

from dashboard import alerts, camera, phones, review, sources, trends, views

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("partials/status/", views.status_partial, name="status"),
    path("partials/inventory/", views.inventory_partial, name="inventory"),
    path("partials/activity/", views.activity_partial, name="activity"),
    path("cameras/<slug:slug>/thresholds/", views.thresholds, name="thresholds"),
    path("cameras/<slug:slug>/", camera.camera_page, name="camera"),
    path("cameras/<slug:slug>/events/<int:event_id>/", camera.camera_event, name="camera-event"),
    path("cameras/<slug:slug>/events/<int:event_id>/image", camera.event_image, name="event-image"),
    path("cameras/<slug:slug>/zones/", camera.camera_zones, name="camera-zones"),
    path("cameras/<slug:slug>/source/", sources.camera_source, name="camera-source"),
    path("cameras/<slug:slug>/phone/", phones.phone_pair, name="phone-pair"),
    path("phones/", phones.phone_add, name="phone-add"),
    path("pair/<str:token>/", phones.pair, name="pair"),
    path("capture/", phones.capture, name="capture"),
    path("cameras/<slug:slug>/events/<int:event_id>/flag/", review.event_flag, name="event-flag"),
    path("review/<int:frame_id>/image", review.review_image, name="review-image"),
    path("inspector/", views.inspector, name="inspector"),
    path("alerts/", alerts.alert_log, name="alerts"),
    path("alerts/<int:alert_id>/ack/", alerts.alert_ack, name="alert-ack"),
    path("alerts/test/", alerts.alert_test, name="alert-test"),
    path("cameras/<slug:slug>/trends/", trends.camera_trends, name="trends"),
    path("cameras/<slug:slug>/trends/data/", trends.camera_trends_data, name="trends-data"),
    path("cameras/<slug:slug>/readings.csv", trends.camera_readings_csv, name="readings-csv"),
    path("reports/stockouts/", trends.stockout_report, name="stockouts"),
    path("reports/stockouts/today/", trends.stockouts_today, name="stockouts-today"),
]
