from django.apps import AppConfig


class DashboardConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'dashboard'

    def ready(self) -> None:
        from dashboard import broadcasts, socket_auth
        from detection.hooks import stock_changed_subscribe

        # detection announces "stock changed" after each commit and never imports the dashboard: the
        # dashboard listens from its side and tells every open page.
        stock_changed_subscribe(broadcasts.on_stock_changed)
        socket_auth.connect_signals()  # logging out closes that session's open sockets
