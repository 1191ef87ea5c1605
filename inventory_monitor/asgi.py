"""ASGI entry point: HTTP (Django) and WebSocket (Channels) on one server, Daphne by default."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_monitor.settings")

from django.conf import settings  # noqa: E402

from inventory_monitor.memory import (  # noqa: E402
    before_trim,
    deferred_imports,
    foreign_drivers_skip,
    malloc_arenas_limit,
    optional_imports_skip,
    trim_loop,
)

# A SQLite worker never loads PostgreSQL's driver (9 MB), and no worker loads requests for DRF's test
# client (4.3 MB); both before anything imports DRF.
foreign_drivers_skip(settings.DATABASES["default"]["ENGINE"])
optional_imports_skip()

from inventory_monitor.asgi_handler import get_asgi_application  # noqa: E402

# Django must be set up before anything imports models (the consumers do). Our views are all sync:
# the handler runs the middleware chain and the view in one hop to the request thread (asgi_handler.py).
django_asgi_app = get_asgi_application()
# Before the URLs load: django.test (3.4 MB) only once the API schema is first generated.
deferred_imports()

# Before any thread of ours starts: a worker's memory should not grow with its thread count.
malloc_arenas_limit(settings.MALLOC_ARENAS)
# What a burst of frames freed goes back to the system, not kept by glibc for the next burst; the
# request threads it opened end once idle for REQUEST_THREAD_IDLE_S, with their database connections.
def _retire_idle_request_threads() -> int:
    idle_s = settings.REQUEST_THREAD_IDLE_S
    return django_asgi_app.lanes.retire_idle(idle_s) if idle_s > 0 else 0


before_trim(_retire_idle_request_threads)
trim_loop.start(settings.MALLOC_TRIM_INTERVAL_S)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from dashboard.routing import websocket_urlpatterns  # noqa: E402
from inventory_monitor import graceful, request_gate  # noqa: E402
from inventory_monitor.daphne_tweaks import disable_twisted_form_parsing, keep_bodies_in_memory  # noqa: E402
from inventory_monitor.ws_origin import SameOriginValidator  # noqa: E402

# Daphne hooks (no-ops under other servers): no Twisted form parsing; oversize and keyless uploads
# answered from their headers, before the body is read; a bounded drain on SIGTERM/SIGINT.
disable_twisted_form_parsing()
keep_bodies_in_memory()
request_gate.install(max_bytes=settings.REQUEST_MAX_BYTES, draining=graceful.draining)
graceful.install(drain_s=settings.SHUTDOWN_DRAIN_S)

if settings.DETECTOR_PRELOAD:
    # Load and warm the ONNX session once per worker at start-up, not on the first camera's frame.
    from django.db import connection

    from detection.serving.runtime import detector_ready

    detector_ready()  # also asks the database which model version is active
    connection.close()  # that lookup's connection: requests and background threads open their own

from detection.serving.runtime import start_model_watch  # noqa: E402

# Model versions: follow `manage.py model activate/rollback` within MODEL_SWITCH_POLL_S, no restart.
start_model_watch(settings.MODEL_SWITCH_POLL_S)

from detection.stock.offline import start_offline_watch  # noqa: E402

start_offline_watch(settings.OFFLINE_CHECK_INTERVAL_S)

from detection.stock.frames import start_frame_sweep  # noqa: E402

# Stored frames a crash left without their row (see detection/stock/frames.py): at start-up, then periodically.
start_frame_sweep(settings.FRAME_SWEEP_INTERVAL_S)

from detection.alerts import start_alert_sender  # noqa: E402

# Sends the outbox's alerts, starting with whatever was pending when the last worker stopped or died.
start_alert_sender(settings.ALERT_SENDER_INTERVAL_S)

from inventory_monitor.dyndns import start_dyndns  # noqa: E402

# Dynamic DNS, when configured: in the background, so a provider that is down never delays start-up.
start_dyndns()

application = ProtocolTypeRouter(
    {
        # Static files (a few CSS/JS files) served by Django's ASGI static handler in every mode:
        # WhiteNoise is WSGI-only, and Daphne alone serves none. Put a CDN/ALB cache in front at scale.
        "http": ASGIStaticFilesHandler(django_asgi_app),
        # The Origin must be this site, port included (inventory_monitor/ws_origin.py).
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

import gc  # noqa: E402

from django.urls import get_resolver  # noqa: E402

# Start-up's objects (modules, the URL conf and its views, loaded now rather than at the first
# request; settings; the model's metadata) live as long as the worker. gc.freeze() moves them out of
# the collector's view, so its full collections no longer walk a few hundred thousand objects that
# can never be garbage (measured: README "Performance").
get_resolver().url_patterns
gc.collect()  # what start-up left as garbage goes now, not frozen with the rest
gc.freeze()
