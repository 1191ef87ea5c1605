from django.urls import path

from dashboard.camera_consumer import CameraConsumer
from dashboard.consumers import DashboardConsumer
from dashboard.trends_consumer import TrendsConsumer

websocket_urlpatterns = [
    path("ws/dashboard/", DashboardConsumer.as_asgi()),
    path("ws/cameras/<slug:slug>/trends/", TrendsConsumer.as_asgi()),
    path("ws/cameras/<slug:slug>/", CameraConsumer.as_asgi()),
]
