"""Settings for Smart Inventory Monitor.

One module, driven by environment variables with safe defaults: with none set it runs on a laptop
(SQLite in WAL mode, in-memory channel layer, the model shipped in the repo). Every variable is
listed in `.env.example` and in the README's configuration table.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def envint(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name) or default)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {os.environ[name]!r}") from None


def envfloat(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {os.environ[name]!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-DEBUG"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
BEHIND_TLS_PROXY = envbool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", False)

INSTALLED_APPS = [
    # Daphne first: it replaces runserver with the ASGI server (HTTP + WebSocket).
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files as static files: /api/docs/ works on a closed network (no CDN, no @latest).
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "channels",
    # Login throttling: failed sign-ins counted per client address in the database (shared by workers).
    "axes",
    "devices",
    "detection",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "inventory_monitor.urls"
ASGI_APPLICATION = "inventory_monitor.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context.site_time",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite by default, in WAL mode with a busy timeout so concurrent cameras wait for the write lock
# instead of failing with "database is locked". DATABASE_URL=postgres://... switches engines.
# Connections are kept for DB_CONN_MAX_AGE seconds by the thread that opened them: request threads
# are kept between requests (inventory_monitor/asgi_handler.py), at most REQUEST_THREADS_KEPT idle
# ones per worker, so a worker holds at most that many + a few (consumers, background threads).
# Health checks drop a connection the database closed before it is used again.
SQLITE_PATH = Path(os.environ.get("SQLITE_PATH", BASE_DIR / "db.sqlite3"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
REQUEST_THREADS_KEPT = envint("REQUEST_THREADS_KEPT", 8)
# A kept request thread idle this long ends with its connection (checked every MALLOC_TRIM_INTERVAL_S;
# 0 = kept until the worker stops).
REQUEST_THREAD_IDLE_S = envint("REQUEST_THREAD_IDLE_S", 120)
# glibc malloc arenas per worker (inventory_monitor/memory.py); 0 = glibc's default (8 per core).
MALLOC_ARENAS = envint("MALLOC_ARENAS", 2)
# Every this many seconds a worker gives the free pages of its malloc heaps back (0 = never).
MALLOC_TRIM_INTERVAL_S = envint("MALLOC_TRIM_INTERVAL_S", 30)
# FULL: every commit is synced to disk before the camera gets its 201, so a power cut cannot take an
# acknowledged frame back; it costs about one fsync per frame (README "Durability",
# benchmarks/sqlite_sync.py). NORMAL trades that promise for speed. (PostgreSQL is durable anyway.)
SQLITE_SYNCHRONOUS = os.environ.get("SQLITE_SYNCHRONOUS", "FULL").strip().upper() or "FULL"
if SQLITE_SYNCHRONOUS not in {"NORMAL", "FULL"}:
    raise ImproperlyConfigured(f"SQLITE_SYNCHRONOUS must be NORMAL or FULL, got {SQLITE_SYNCHRONOUS!r}")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "timeout": envint("SQLITE_BUSY_TIMEOUT_S", 20),
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy timeout
        # instead of deadlocking when both upgrade a read lock.
        "transaction_mode": "IMMEDIATE",
        "init_command": f"PRAGMA journal_mode=WAL; PRAGMA synchronous={SQLITE_SYNCHRONOUS};",
    }
    # Tests use a file, not shared-cache memory: there SQLite reports "table is locked" at once
    # instead of honouring the busy timeout, so concurrency tests would not test production.
    # One file per test process, so two test runs on one machine never share a database.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SQLITE_TEST_PATH") or str(Path(tempfile.gettempdir()) / f"inventory-test-{os.getpid()}.sqlite3")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels -------------------------------------------------------------------------------
# In-memory layer: one process only. Several ASGI workers need REDIS_URL (channels-redis).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub: a group message is published once and each worker hands it to its own
            # members. channels-redis' core layer queued one copy per open screen in Redis, and each
            # screen popped its own (issue 18: cost grew with screens). Pub/sub keeps no message for
            # a worker that is not listening; nothing here needs that (a page that reconnects takes a
            # fresh snapshot).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # redis-py 8's default 5 s socket timeout cut the core layer's 5 s blocking wait (sockets
            # closed with 1011 after 5 idle seconds); pub/sub reads with its own short timeout, and
            # commands keep a bound: a Redis that stops answering is still noticed.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 5}],
                       "prefix": os.environ.get("REDIS_PREFIX", "inventory")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Each open screen pushes at most once per DASHBOARD_PUSH_INTERVAL_S: an update after a quiet
# period goes out at once, later ones within the interval are merged into one push at its end
# (dashboard/pushes.py). Before a push a socket checks its sign-in again when its last successful
# check is older than SOCKET_AUTH_RECHECK_S (0: before every push); logout closes it at once anyway.
DASHBOARD_PUSH_INTERVAL_S = envfloat("DASHBOARD_PUSH_INTERVAL_S", 0.05)
SOCKET_AUTH_RECHECK_S = envfloat("SOCKET_AUTH_RECHECK_S", 1.0)

# Rate-limit counters (and other short-lived shared state) live here: shared by every worker
# when Redis is configured, per process otherwise.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: a locked-out address is refused before any password is hashed, so guessing costs the
# server nothing (64 guesses in 22 s used to double the cameras' latency).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15))
# Per client address, whatever the username: one address cannot try many accounts either.
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# Behind the load balancer every request comes from its address: count the client it forwards.
AXES_CLIENT_IP_CALLABLE = "inventory_monitor.client_ip.client_ip_behind_proxy" if BEHIND_TLS_PROXY else None
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# The site's one local time (an IANA name such as Europe/Berlin): every page, report, chart axis,
# CSV and alert shows times in it and says so; stock-out days end at its midnight. Browsers in other
# zones see the site's time, not their own: a depot has one clock.
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

# --- Stored frames (detection/stock/frames.py) -----------------------------------------------------
# Each of a camera's ACTIVITY_LOG_SIZE newest events keeps its frame; trimming an event deletes it.
# Local files under MEDIA_ROOT by default (never served as static: dashboard/frames.py serves them to
# logged-in users with a role); MEDIA_STORAGE=s3 keeps them in a bucket, for several hosts or the cloud.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"  # not routed anywhere; frames are only reachable through the permission-checked view
MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "local").strip().lower() or "local"
if MEDIA_STORAGE == "local":
    _media_backend = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                      "OPTIONS": {"location": str(MEDIA_ROOT), "file_permissions_mode": 0o640}}
elif MEDIA_STORAGE == "s3":
    MEDIA_S3_BUCKET = os.environ.get("MEDIA_S3_BUCKET", "").strip()
    if not MEDIA_S3_BUCKET:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs MEDIA_S3_BUCKET")
    _media_backend = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": MEDIA_S3_BUCKET,
        "location": os.environ.get("MEDIA_S3_PREFIX", ""),
        "region_name": os.environ.get("MEDIA_S3_REGION") or os.environ.get("AWS_REGION", "us-east-1"),
        "endpoint_url": os.environ.get("MEDIA_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None,
        # Private objects: the bucket is never read directly by browsers, only through our view.
        "default_acl": None, "querystring_auth": True, "file_overwrite": False,
    }}
else:
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be local or s3, not {MEDIA_STORAGE!r}")
STORAGES = {
    "default": _media_backend,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Frames larger than this on their longest side, or in bytes, are re-encoded as JPEG (quality below,
# stepping down and then halving the size until they fit); smaller ones are kept as received.
# So a camera's frames take at most ACTIVITY_LOG_SIZE x FRAME_STORE_MAX_BYTES (20 MiB by default).
FRAME_STORE_MAX_SIDE = envint("FRAME_STORE_MAX_SIDE", 1920)
FRAME_STORE_MAX_BYTES = envint("FRAME_STORE_MAX_BYTES", 1024 * 1024)
FRAME_STORE_QUALITY = envint("FRAME_STORE_QUALITY", 80)
FRAME_STORE_ENABLED = envbool("FRAME_STORE_ENABLED", True)
# Files a crash left behind (written, never committed; or trimmed, never deleted) are deleted by a
# sweep at start-up and every FRAME_SWEEP_INTERVAL_S (0: off; `manage.py sweep_frames` runs it once).
# Only files older than FRAME_SWEEP_GRACE_S are touched: longer than any request can take.
FRAME_SWEEP_INTERVAL_S = envint("FRAME_SWEEP_INTERVAL_S", 3600)
FRAME_SWEEP_GRACE_S = envint("FRAME_SWEEP_GRACE_S", 900)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser lets a deeply nested body through as a RecursionError (a 500): ours answers 400.
    "DEFAULT_PARSER_CLASSES": ["detection.rest.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "detection.rest.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Smart Inventory Monitor API",
    "DESCRIPTION": (
        "Cameras post frames with their device key (`Authorization: Bearer <key>`); the server counts "
        "the packages, judges the count against the camera's thresholds and answers at once.\n\n"
        "Every answer is JSON, and every error carries a human-readable `detail`. A method an "
        "endpoint does not offer answers 405 with an `Allow` header listing the ones it does."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Detector and ingest limits -------------------------------------------------------------
MODEL_PATH = Path(os.environ.get("MODEL_PATH", BASE_DIR / "detection" / "weights" / "package_detector.int8.onnx"))
# Unset (the default): each model serves with the confidence and NMS IoU picked for it by counting error on
# held-out sources (its `count_conf` / `count_iou` metadata, written by ml.threshold), else 0.30 / 0.45.
# Set, they override every model's own values.
DETECTOR_CONFIDENCE = envfloat("DETECTOR_CONFIDENCE", None) if os.environ.get("DETECTOR_CONFIDENCE") else None
DETECTOR_IOU = envfloat("DETECTOR_IOU", None) if os.environ.get("DETECTOR_IOU") else None
DETECTOR_MAX_DETECTIONS = envint("DETECTOR_MAX_DETECTIONS", 300)
DETECTOR_THREADS = envint("DETECTOR_THREADS", 1)
# Frames decoded + detected at once per process; more only share the cores (default: one per core).
DETECTOR_CONCURRENCY = envint("DETECTOR_CONCURRENCY", os.cpu_count() or 1)
# Frames a worker lets wait for a detector slot; one more is answered 503 + Retry-After at once (0: no limit).
INGEST_QUEUE_MAX = envint("INGEST_QUEUE_MAX", 16)
# Load and warm up the model when the ASGI app starts, so the first camera is not the one that waits.
DETECTOR_PRELOAD = envbool("DETECTOR_PRELOAD", True)
# Tiled inference (detection/detector/tiling.py): off | auto (2x2 tiles + whole frame, only for large
# frames whose boxes are small) | always. Costs up to 5 model runs per frame; see the model card.
DETECTOR_TILING = os.environ.get("DETECTOR_TILING", "off").strip().lower()
if DETECTOR_TILING not in ("off", "auto", "always"):
    raise ImproperlyConfigured(f"DETECTOR_TILING must be off, auto or always, not {DETECTOR_TILING!r}")
# Model versions (detection/serving/, `manage.py model ...`): each worker looks up the active
# version this often and switches to it in the background (0: never; the worker keeps what it loaded).
MODEL_SWITCH_POLL_S = envfloat("MODEL_SWITCH_POLL_S", 2)
# Where workers keep local copies of versions stored remotely (S3), by sha256; unused with local media.
MODEL_CACHE_DIR = Path(os.environ.get("MODEL_CACHE_DIR") or Path(tempfile.gettempdir()) / "inventory-model-cache")
# Larger files are refused by `model install` (the shipped INT8 models are 3.4 MB).
MODEL_MAX_BYTES = envint("MODEL_MAX_BYTES", 200 * 1024 * 1024)
# Uploads: our own byte limit (413) sits below Django's in-memory limit so the JSON 413 is ours.
INGEST_MAX_BYTES = envint("INGEST_MAX_BYTES", 8 * 1024 * 1024)
INGEST_MAX_PIXELS = envint("INGEST_MAX_PIXELS", 40_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BYTES + 1024 * 1024
# Every request body, whatever the path: refused (413) from its Content-Length before it is read,
# and counted while a chunked body streams (inventory_monitor/request_gate.py). The multipart
# framing around an INGEST_MAX_BYTES image fits in the extra 64 KiB.
REQUEST_MAX_BYTES = INGEST_MAX_BYTES + 64 * 1024
# Per-camera flood guard: at most INGEST_RATE_FRAMES frames in INGEST_RATE_WINDOW_S seconds.
INGEST_RATE_FRAMES = envint("INGEST_RATE_FRAMES", 120)
INGEST_RATE_WINDOW_S = envint("INGEST_RATE_WINDOW_S", 60)
# A frame sent again with the same Idempotency-Key within this many seconds gets its first 201 back
# and is not stored again (receipts live in the database, so every worker knows them).
# 1 h: retries after a cut connection or a restart come within minutes; at one keyed frame a second a
# camera keeps ~1.5 MB of receipts (420 bytes each), against ~36 MB with a 24 h window.
INGEST_IDEMPOTENCY_WINDOW_S = envint("INGEST_IDEMPOTENCY_WINDOW_S", 3600)

# --- Stock defaults for new cameras ----------------------------------------------------------
ACTIVITY_LOG_SIZE = 20
# Stock history (per-minute readings, status changes) older than this is deleted by `manage.py prune_history`.
HISTORY_RETENTION_DAYS = envint("HISTORY_RETENTION_DAYS", 90)
CAMERA_DEFAULT_OFFLINE_TIMEOUT_S = envint("CAMERA_DEFAULT_OFFLINE_TIMEOUT_S", 300)
# Each server process checks this often for cameras gone OFFLINE (alert + dashboard update); 0: off.
OFFLINE_CHECK_INTERVAL_S = envint("OFFLINE_CHECK_INTERVAL_S", 30)
# Camera FAULT: frames that cannot be counted are shown as FAULT and never counted as stock.
# Measured on the 210 real frames here: brightness >= 25, contrast >= 18, shorter side >= 480 px.
# 0 switches a check off.
CAMERA_FAULT_MIN_SIDE = envint("CAMERA_FAULT_MIN_SIDE", 64)  # px, shorter side of the image
CAMERA_FAULT_DARK_LEVEL = envfloat("CAMERA_FAULT_DARK_LEVEL", 12)  # mean brightness 0-255 below: too dark
CAMERA_FAULT_MIN_CONTRAST = envfloat("CAMERA_FAULT_MIN_CONTRAST", 6)  # brightness std below: too uniform
CAMERA_FAULT_FROZEN_FRAMES = envint("CAMERA_FAULT_FROZEN_FRAMES", 5)  # identical frames in a row: frozen

# --- Review set (frames whose count was marked wrong; detection/review/) --------------------
# At most this many review frames (rows and their image copies). Over it, the oldest low-confidence
# samples go first, then the oldest flagged frames already exported; unexported flags are never
# dropped: a new flag is refused until the set is exported or the cap raised.
REVIEW_MAX_FRAMES = envint("REVIEW_MAX_FRAMES", 2000)
# Share (0..1) of low-confidence frames copied into the review set during ingest; 0 = off.
REVIEW_SAMPLE_RATE = envfloat("REVIEW_SAMPLE_RATE", 0.0)
# A frame is low-confidence when the mean score of its boxes is below this.
REVIEW_LOW_CONFIDENCE = envfloat("REVIEW_LOW_CONFIDENCE", 0.5)

# --- Shutdown -------------------------------------------------------------------------------
# On SIGTERM/SIGINT a worker stops accepting, lets in-flight requests finish for at most this many
# seconds, then exits (inventory_monitor/graceful.py). Keep ECS stopTimeout above it (terraform).
SHUTDOWN_DRAIN_S = envint("SHUTDOWN_DRAIN_S", 20)

# --- Metrics (Prometheus, /metrics) ---------------------------------------------------------
METRICS_ENABLED = envbool("METRICS_ENABLED", True)
# Scrapers from these networks get /metrics as they are; any other address needs METRICS_TOKEN
# (Authorization: Bearer ...). The connection's own address counts, never X-Forwarded-For.
METRICS_ALLOW_FROM = envlist("METRICS_ALLOW_FROM", "127.0.0.0/8,::1")
try:
    for _cidr in METRICS_ALLOW_FROM:
        ipaddress.ip_network(_cidr, strict=False)
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOW_FROM must be comma-separated addresses or networks: {exc}") from None
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Several workers on one host: a directory they share (emptied before they start) so that any of them
# answers for all. prometheus-client reads it from the environment itself; it is only checked here.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR={PROMETHEUS_MULTIPROC_DIR} is not a directory")

# --- Dynamic DNS (inventory_monitor/dyndns.py): off unless DuckDNS or an update URL is set ----
DUCKDNS_DOMAINS = envlist("DUCKDNS_DOMAINS", "")  # e.g. mywarehouse (for mywarehouse.duckdns.org)
DUCKDNS_TOKEN = os.environ.get("DUCKDNS_TOKEN", "")
DUCKDNS_UPDATE_ENDPOINT = os.environ.get("DUCKDNS_UPDATE_ENDPOINT", "https://www.duckdns.org/update")
DYNDNS_UPDATE_URL = os.environ.get("DYNDNS_UPDATE_URL", "")  # any other provider: fetched with GET as given
DYNDNS_INTERVAL_S = envint("DYNDNS_INTERVAL_S", 300)  # after the update at start-up; 0: only at start-up
DYNDNS_TIMEOUT_S = envfloat("DYNDNS_TIMEOUT_S", 10)

# --- Low-stock alerts (entering/leaving CRITICAL) ------------------------------------------
ALERT_EMAILS = envlist("ALERT_EMAILS", "")
ALERT_SNS_TOPIC_ARN = os.environ.get("ALERT_SNS_TOPIC_ARN", "")
# This site's address as people reach it (https://stock.example.com): alerts link to the camera's page
# with it. Empty: the link is the page's path only.
SITE_URL = os.environ.get("SITE_URL", "")
AWS_REGION = os.environ.get("AWS_REGION", "us-east-1")
AWS_ENDPOINT_URL = os.environ.get("AWS_ENDPOINT_URL", "")  # e.g. a local moto/localstack server
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT_S", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "inventory-monitor@localhost")
# The outbox (detection/alerts/outbox.py): each worker's sender looks for due alerts this often (and
# at once after each commit); 0: no sender in this process (then `manage.py send_alerts` from cron).
ALERT_SENDER_INTERVAL_S = envint("ALERT_SENDER_INTERVAL_S", 10)
ALERT_MAX_ATTEMPTS = envint("ALERT_MAX_ATTEMPTS", 10)  # then FAILED, with the last error
ALERT_RETRY_BASE_S = envint("ALERT_RETRY_BASE_S", 30)  # first retry after this, doubling, at most an hour
# Stock alerts for one camera and channel: at most one per this many seconds (0: off); see outbox.py.
ALERT_COOLDOWN_S = envint("ALERT_COOLDOWN_S", 300)
# Sent, failed and superseded alerts older than this are deleted by `manage.py prune_history`.
ALERT_RETENTION_DAYS = envint("ALERT_RETENTION_DAYS", 90)
# Webhooks (added in the admin): connect and read timeout each; and whether a webhook may point at a
# link-local or cloud metadata address (169.254.0.0/16, fe80::/10, fd00:ec2::254) - almost never.
WEBHOOK_TIMEOUT_S = envfloat("WEBHOOK_TIMEOUT_S", 5)
WEBHOOK_ALLOW_LINK_LOCAL = envbool("WEBHOOK_ALLOW_LINK_LOCAL", False)

# Pulled cameras (detection/pull/, `manage.py pull_cameras`). Passwords are Fernet-encrypted with
# CAMERA_CREDENTIALS_KEY (comma-separated Fernet keys, the first encrypts; empty: derived from SECRET_KEY).
CAMERA_CREDENTIALS_KEY = os.environ.get("CAMERA_CREDENTIALS_KEY", "")
# Private ranges are allowed, link-local/metadata never; loopback only when this is on (tests, the demo).
CAMERA_PULL_ALLOW_LOOPBACK = envbool("CAMERA_PULL_ALLOW_LOOPBACK", False)
CAMERA_PULL_CONCURRENCY = envint("CAMERA_PULL_CONCURRENCY", 4)  # pulls at once per puller process
# A puller's hold on a camera during one pull; a puller that dies hands its cameras over after this.
# Longer than the longest pull (timeout at most 20 s, plus the ingest).
CAMERA_PULL_LEASE_S = envint("CAMERA_PULL_LEASE_S", 30)
CAMERA_PULL_MAX_BACKOFF_S = envint("CAMERA_PULL_MAX_BACKOFF_S", 300)  # failing camera: retry at most this late
# Phone cameras: how long a pairing link (QR code) stays usable; it works once.
PAIRING_LINK_TTL_S = envint("PAIRING_LINK_TTL_S", 600)
