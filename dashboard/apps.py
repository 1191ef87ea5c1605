from django.apps import AppConfig


class DashboardConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'dashboard'

    def ready(self) -> None:
        from dashboard import socket_auth

        socket_auth.connect_signals()  # logging out closes that session's open sockets
