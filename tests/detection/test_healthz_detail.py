"""/healthz answers anyone: a model version's load error (file names, filesystem paths) only to staff."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from detection.serving import versions as mv
from detection.serving import runtime
from tests.detection.test_model_versions import OTHER


@pytest.fixture(autouse=True)
def _fresh_runtime():
    runtime.reset_serving()
    yield
    runtime.reset_serving()


@pytest.mark.django_db
def test_anonymous_callers_never_see_a_path_but_staff_see_the_reason(client, django_user_model, settings):
    version = mv.model_install(path=OTHER)
    default_storage.delete(version.file.name)  # the stored file gone: the error names its local path
    mv.model_activate(version=version)
    assert runtime.sync_active_model() is False

    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["model_error"] == f"model version #{version.pk} failed to load on this worker; " \
                                  "the reason is in the server log"
    assert str(settings.MEDIA_ROOT) not in str(body) and "models/" not in str(body)

    staff = django_user_model.objects.create_user("eng", password="x", is_staff=True)
    client.force_login(staff)
    detailed = client.get("/healthz").json()["model_error"]
    assert "missing from storage" in detailed and version.file.name in detailed
