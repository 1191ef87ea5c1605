# Smart Inventory Monitor: the serving image (Daphne, HTTP + WebSocket on port 8000).
# Serving needs requirements/base.txt only: onnxruntime runs the shipped INT8 model; torch and
# Ultralytics (requirements/ml.txt) are for training and never enter this image.
#
#   docker build -t inventory-monitor .
#   docker run -p 8000:8000 -e SECRET_KEY=... -e ALLOWED_HOSTS=localhost inventory-monitor
#   docker run --env-file .env inventory-monitor python manage.py pull_cameras   # the camera puller
FROM python:3.11-slim

# SQLITE_PATH: the SQLite fallback (no DATABASE_URL) needs a folder the non-root user can write;
# so do the stored frames with local storage (MEDIA_ROOT; several tasks use MEDIA_STORAGE=s3).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=inventory_monitor.settings \
    STATIC_ROOT=/app/staticfiles \
    SQLITE_PATH=/app/data/db.sqlite3 \
    MEDIA_ROOT=/app/data/media

WORKDIR /app

# A fixed, unprivileged uid/gid, so volume permissions and ECS policies can rely on it.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

# Dependencies first: this layer is reused until requirements/base.txt changes.
COPY requirements/base.txt requirements/base.txt
RUN pip install -r requirements/base.txt

# The app (model in detection/weights/ included; see .dockerignore for what stays out). Files stay
# owned by root, so the app user can read but not rewrite its own code or model.
COPY . .

# Fail the build, not the health check, when the model did not make it into the context.
RUN test -s detection/weights/package_detector.int8.onnx \
 || { echo "detection/weights/package_detector.int8.onnx is missing from the build context" >&2; exit 1; }

# Static files are collected once, at build time. The key only satisfies settings (DEBUG=0 needs
# one); it is not used for anything and the real SECRET_KEY comes from Secrets Manager at run time.
RUN SECRET_KEY=collectstatic-only-not-a-secret DEBUG=0 DETECTOR_PRELOAD=0 \
    python manage.py collectstatic --no-input -v 0 \
 && mkdir -p /app/data \
 && chown app:app /app/data \
 && chmod 0755 docker/entrypoint.sh

USER app:app

EXPOSE 8000

# Docker/Compose health check (ECS uses the task definition's own copy). The Host header is the
# first ALLOWED_HOSTS entry, since Django answers 400 to a host it does not serve.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os,sys,urllib.request as u; h=(os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.*') or 'localhost'; sys.exit(0 if u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4).status == 200 else 1)"

# No arguments: (migrate if RUN_MIGRATIONS=1, then) Daphne on :8000. Arguments: run them instead,
# e.g. `python manage.py migrate --no-input` as a one-off ECS task.
ENTRYPOINT ["/app/docker/entrypoint.sh"]
