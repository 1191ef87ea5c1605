"""Model versions: install validates (and refuses bad files without touching what is served),
activate/rollback change which model counts the next frame, /healthz and events say which one did,
and only superusers switch models in the admin.

The in-process tests call sync_active_model() where a worker's background poll would; the live test
with two Daphne workers under load is tests/detection/test_model_switch_live.py.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np
import onnx
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from onnx import TensorProto, helper

from detection.detector import load_detector
from detection.models import DetectionEvent, ModelVersion
from detection.serving import runtime
from detection.serving import versions as mv
from tests.conftest import REPO, SAMPLES

WEIGHTS = REPO / "detection" / "weights"
BUNDLED = WEIGHTS / "package_detector.int8.onnx"
OTHER = WEIGHTS / "package_detector_base.int8.onnx"  # a second valid model, other weights (the previous default)
URL = "/api/v1/frames/"
META = {"names": "{0: 'package'}", "imgsz": "[416, 416]", "stride": "32", "version": "test-1"}


@pytest.fixture(autouse=True)
def _fresh_runtime():
    """Each test starts serving the bundled file and leaves no version behind for the next one."""
    runtime.reset_serving()
    yield
    runtime.reset_serving()


def tiny_onnx(path: Path, *, out_shape=(1, 5, 3549), in_shape=(1, 3, 416, 416), inputs: int = 1,
              metadata: dict | None = None, value: float = 0.0) -> Path:
    """A small, valid ONNX graph: a constant output of out_shape (plus a no-op use of each input)."""
    graph_inputs = [helper.make_tensor_value_info(f"images{i or ''}", TensorProto.FLOAT, list(in_shape))
                    for i in range(inputs)]
    const = helper.make_tensor("c", TensorProto.FLOAT, list(out_shape), np.full(out_shape, value, np.float32).ravel())
    nodes = [helper.make_node("Constant", [], ["out_c"], value=const)]
    # Output = constant + 0 * mean(input): the input is used, so ONNX Runtime keeps it.
    nodes += [helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
              helper.make_node("Mul", ["m", "zero"], ["z"]),
              helper.make_node("Add", ["out_c", "z"], ["output0"])]
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    graph = helper.make_graph(nodes, "tiny", graph_inputs,
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(out_shape))],
                              initializer=[zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, val in (META if metadata is None else metadata).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, val
    onnx.save(model, str(path))
    return path


def installed(path: Path = OTHER, **kwargs) -> ModelVersion:
    return mv.model_install(path=path, **kwargs)


def post_frame(camera_client, key: str) -> DetectionEvent:
    image = SimpleUploadedFile("f.jpg", (SAMPLES / "warehouse_05.jpg").read_bytes(), content_type="image/jpeg")
    response = camera_client(key).post(URL, {"image": image}, format="multipart")
    assert response.status_code == 201, response.content
    return DetectionEvent.objects.get(pk=response.json()["event_id"])


@pytest.mark.django_db
class TestInstall:
    def test_it_installs_a_valid_model_without_activating_it(self, django_user_model):
        admin = django_user_model.objects.create_user("eng")
        version = installed(name="previous default", user=admin, evaluation={"mAP50": 0.89})
        assert version.sha256 == mv.file_sha256(OTHER)
        assert (version.input_size, version.classes) == (416, {"0": "package"})
        assert version.size_bytes == OTHER.stat().st_size
        assert version.metadata["version"] == "2026-11-27-bff06466"
        assert version.installed_by == admin and version.installed_at is not None
        assert version.evaluation["mAP50"] == 0.89 and len(version.evaluation["sample_frames"]) == 3
        assert not version.is_active and mv.active_version() is None
        with default_storage.open(version.file.name, "rb") as stored:
            assert stored.read() == OTHER.read_bytes()

    @pytest.mark.parametrize("make, message", [
        (lambda tmp: (tmp / "garbage.onnx").write_bytes(b"not a model at all") and tmp / "garbage.onnx",
         "not a loadable ONNX model"),
        (lambda tmp: (tmp / "cut.onnx").write_bytes(BUNDLED.read_bytes()[:200_000]) and tmp / "cut.onnx",
         "not a loadable ONNX model"),
        (lambda tmp: (tmp / "empty.onnx").write_bytes(b"") or tmp / "empty.onnx", "empty"),
        (lambda tmp: tiny_onnx(tmp / "shape.onnx", out_shape=(1, 7, 3549)), "output shape (1, 7, 3549)"),
        (lambda tmp: tiny_onnx(tmp / "anchors.onnx", out_shape=(1, 5, 100)), "output shape (1, 5, 100)"),
        (lambda tmp: tiny_onnx(tmp / "gray.onnx", in_shape=(1, 1, 416, 416)), "expected a float image tensor"),
        (lambda tmp: tiny_onnx(tmp / "two.onnx", inputs=2), "expected one input"),
        (lambda tmp: tiny_onnx(tmp / "nonames.onnx", metadata={"imgsz": "[416, 416]"}), "no class names"),
        (lambda tmp: tiny_onnx(tmp / "size.onnx", metadata={**META, "imgsz": "[640, 640]"}), "disagrees"),
        (lambda tmp: tiny_onnx(tmp / "blind.onnx"), "found no package on the sample frames"),
    ], ids=["garbage", "truncated", "empty", "classes-vs-output", "anchors", "one-channel", "two-inputs",
            "no-names", "imgsz-mismatch", "blind"])
    def test_it_refuses_a_bad_file_and_stores_nothing(self, tmp_path, make, message):
        before = sorted(default_storage.listdir("models")[1]) if default_storage.exists("models") else []
        path = make(tmp_path)
        with pytest.raises(mv.ModelRejected) as refused:
            installed(path)
        assert message in str(refused.value) and "\n" not in str(refused.value)
        assert ModelVersion.objects.count() == 0
        after = sorted(default_storage.listdir("models")[1]) if default_storage.exists("models") else []
        assert after == before

    def test_a_duplicate_is_refused_with_the_version_it_duplicates(self):
        first = installed()
        with pytest.raises(mv.ModelRejected, match=f"already installed as #{first.pk}"):
            installed()
        assert ModelVersion.objects.count() == 1

    def test_the_command_exits_non_zero_with_one_line_and_leaves_the_active_model(self, tmp_path, capsys):
        good = installed()
        mv.model_activate(version=good)
        garbage = tmp_path / "x.onnx"
        garbage.write_text("hello")
        with pytest.raises(CommandError, match="x.onnx: not a loadable ONNX model"):
            call_command("model", "install", str(garbage))
        assert mv.active_version() == good

    def test_the_command_installs_activates_lists_and_rolls_back(self, capsys):
        call_command("model", "install", str(OTHER), "--name", "base", "--activate")
        version = ModelVersion.objects.get()
        assert version.is_active and version.name == "base"
        call_command("model", "list")
        assert f"* #{version.pk} base" in capsys.readouterr().out
        call_command("model", "rollback")
        assert mv.active_version() is None  # nothing else was ever active: back to the bundled file
        call_command("model", "activate", version.sha256[:10])
        assert mv.active_version() == version
        call_command("model", "activate", "bundled")
        assert mv.active_version() is None
        with pytest.raises(CommandError, match="no model version"):
            call_command("model", "activate", "999")


@pytest.mark.django_db
class TestSwitch:
    def test_rollback_goes_to_the_version_active_before(self, tmp_path):
        # A second valid file: the previous default model with one more metadata entry (another sha256).
        model = onnx.load(str(OTHER))
        model.metadata_props.add(key="note", value="copy")
        other = tmp_path / "other.onnx"
        onnx.save(model, str(other))
        a, b = installed(), installed(other)
        mv.model_activate(version=a)
        mv.model_activate(version=b)
        assert mv.model_rollback() == a
        assert mv.model_rollback() == b  # rollback of a rollback: back again
        mv.model_activate(version=None)
        assert mv.model_rollback() == b  # from the bundled file: the last version that was active
        assert ModelVersion.objects.filter(is_active=True).count() == 1

    def test_the_next_frame_records_the_model_that_counted_it(self, camera_with_key, camera_client):
        _, key = camera_with_key()
        first = post_frame(camera_client, key)
        assert first.model_version is None and first.model_label.startswith("bundled package_detector.int8.onnx")

        version = installed(name="base")
        mv.model_activate(version=version)
        # Until this worker's poll runs, it keeps serving (and recording) what it had.
        assert post_frame(camera_client, key).model_version is None
        assert runtime.sync_active_model() is True
        switched = post_frame(camera_client, key)
        assert switched.model_version == version
        assert switched.model_label == f"#{version.pk} base (2026-11-27-bff06466)"
        assert runtime.sync_active_model() is False  # nothing new: no reload

        mv.model_rollback()
        runtime.sync_active_model()
        back = post_frame(camera_client, key)
        assert back.model_version is None and back.model_label.startswith("bundled")

    def test_a_version_that_fails_to_load_here_keeps_the_old_one_serving(self, camera_with_key, camera_client,
                                                                          client):
        _, key = camera_with_key()
        version = installed()
        with default_storage.open(version.file.name, "wb") as stored:  # the stored file damaged afterwards
            stored.write(b"damaged")
        mv.model_activate(version=version)
        assert runtime.sync_active_model() is False
        event = post_frame(camera_client, key)
        assert event.model_version is None  # still the bundled file, no failed frame
        body = client.get("/healthz").json()
        assert body["status"] == "ok" and body["model_in_sync"] is False
        assert "failed to load on this worker" in body["model_error"]  # the reason itself: staff only

    def test_the_old_session_is_freed_after_a_switch(self):
        bundled = runtime.get_detector()
        old = weakref.ref(bundled)
        del bundled
        mv.model_activate(version=installed())
        runtime.sync_active_model()
        gc.collect()
        assert old() is None  # one session in memory, not one per version ever served
        assert load_detector.cache_info().currsize == 0

    def test_a_frame_in_flight_finishes_on_the_session_it_started_with(self):
        serving = runtime.serving()
        mv.model_activate(version=installed())
        runtime.sync_active_model()
        assert runtime.serving() is not serving
        image = np.full((416, 416, 3), 114, np.uint8)
        assert serving.detector.detect(image).count == 0  # the old session still runs after the swap


@pytest.mark.django_db
class TestHealthz:
    def test_it_reports_the_served_and_the_active_version(self, client):
        body = client.get("/healthz").json()
        assert body["model_serving_id"] is None and body["model_active"] == "bundled"
        assert body["model_in_sync"] is True and body["model_serving"].startswith("bundled")
        version = mv.model_activate(version=installed(name="base"))
        body = client.get("/healthz").json()
        assert (body["model_serving_id"], body["model_active_id"], body["model_in_sync"]) == (None, version.pk, False)
        runtime.sync_active_model()
        body = client.get("/healthz").json()
        assert (body["model_serving_id"], body["model_in_sync"]) == (version.pk, True)
        assert body["model_serving"] == body["model_active"] == f"#{version.pk} base (2026-11-27-bff06466)"


@pytest.mark.django_db
class TestAdmin:
    @pytest.fixture
    def superuser(self, django_user_model):
        return django_user_model.objects.create_user("root", is_staff=True, is_superuser=True)

    def test_the_add_form_validates_and_refuses_a_bad_file(self, client, superuser, tmp_path):
        client.force_login(superuser)
        bad = SimpleUploadedFile("bad.onnx", b"garbage")
        response = client.post("/admin/detection/modelversion/add/", {"name": "x", "upload": bad, "evaluation": "{}"})
        assert response.status_code == 200
        assert "bad.onnx: not a loadable ONNX model" in response.content.decode()
        assert ModelVersion.objects.count() == 0

        good = SimpleUploadedFile("base.onnx", OTHER.read_bytes())
        response = client.post("/admin/detection/modelversion/add/",
                               {"name": "", "upload": good, "evaluation": '{"mAP50": 0.9}'})
        assert response.status_code == 302, response.content.decode()[-2000:]
        version = ModelVersion.objects.get()
        assert (version.name, version.installed_by, version.is_active) == ("base", superuser, False)
        assert version.evaluation["mAP50"] == 0.9 and version.file.name.endswith("-base.onnx")

    def test_a_superuser_activates_and_rolls_back(self, client, superuser):
        version = installed()
        client.force_login(superuser)
        changelist = "/admin/detection/modelversion/"
        client.post(changelist, {"action": "activate", "_selected_action": [version.pk]})
        version.refresh_from_db()
        assert version.is_active and version.activated_by == superuser
        client.post(changelist, {"action": "rollback", "_selected_action": [version.pk]})
        assert mv.active_version() is None

    def test_a_manager_who_may_see_versions_cannot_switch_or_install(self, client, django_user_model):
        from django.contrib.auth.models import Permission

        version = installed()
        manager = django_user_model.objects.create_user("mgr", is_staff=True)
        manager.user_permissions.add(*Permission.objects.filter(codename__in=["view_modelversion",
                                                                              "change_modelversion"]))
        client.force_login(manager)
        assert client.get("/admin/detection/modelversion/").status_code == 200
        client.post("/admin/detection/modelversion/", {"action": "activate", "_selected_action": [version.pk]})
        assert mv.active_version() is None
        assert client.get("/admin/detection/modelversion/add/").status_code == 403

    def test_the_active_version_cannot_be_deleted(self, superuser):
        version = mv.model_activate(version=installed())
        with pytest.raises(mv.ModelRejected, match="is active"):
            mv.model_delete(version=version)
        assert ModelVersion.objects.filter(pk=version.pk).exists()


@pytest.mark.django_db
class TestDashboard:
    def test_it_shows_the_served_version_and_which_model_counted_each_row(self, client, django_user_model,
                                                                         camera_with_key, camera_client):
        from tests.roles import role_group

        viewer = django_user_model.objects.create_user("olga")
        viewer.groups.add(role_group("Operators"))
        client.force_login(viewer)
        _, key = camera_with_key()
        old = post_frame(camera_client, key)
        version = mv.model_activate(version=installed(name="base"))
        runtime.sync_active_model()
        new = post_frame(camera_client, key)

        html = client.get("/").content.decode()
        assert f'<span data-field="model-version">#{version.pk} base</span>' in html
        assert f'data-model="{new.model_label}"' in html and f"Counted by #{version.pk} base" in html
        assert f'data-model="{old.model_label}"' in html and "Counted by bundled" in html


@pytest.mark.django_db
class TestRemoteStorage:
    """With S3 (no local path) each worker keeps a copy by sha256, checked before it is served."""

    @pytest.fixture
    def remote(self, monkeypatch, tmp_path, settings):
        from django.core.files.storage import InMemoryStorage

        class Remote:
            """Files in memory and, like S3Storage, no local path."""

            def __init__(self) -> None:
                self.inner = InMemoryStorage()

            def path(self, name: str) -> str:
                raise NotImplementedError("no local path")

            def __getattr__(self, attr: str):
                return getattr(self.inner, attr)

        storage = Remote()
        monkeypatch.setattr(mv, "default_storage", storage)
        settings.MODEL_CACHE_DIR = tmp_path / "cache"
        return storage

    def test_a_worker_serves_a_verified_local_copy(self, remote, settings):
        version = mv.model_activate(version=installed())
        assert remote.exists(version.file.name)
        assert runtime.sync_active_model() is True
        copy = settings.MODEL_CACHE_DIR / f"{version.sha256}.onnx"
        assert runtime.get_detector().path == copy and copy.read_bytes() == OTHER.read_bytes()

    def test_a_download_that_does_not_match_its_sha256_is_not_served(self, remote, settings):
        version = mv.model_activate(version=installed())
        with remote.open(version.file.name, "wb") as stored:
            stored.write(b"tampered")
        assert runtime.sync_active_model() is False
        assert runtime.serving().version_id is None
        assert list(settings.MODEL_CACHE_DIR.iterdir()) == []  # no partial file left behind


@pytest.mark.django_db
def test_a_worker_still_serving_a_deleted_version_records_no_link_to_it(camera_with_key, camera_client, tmp_path):
    # A was served; B was activated but fails to load here; A was then deleted. Frames must still be 201.
    _, key = camera_with_key()
    a = mv.model_activate(version=installed())
    runtime.sync_active_model()
    model = onnx.load(str(OTHER))
    model.metadata_props.add(key="note", value="b")
    onnx.save(model, str(tmp_path / "b.onnx"))
    b = installed(tmp_path / "b.onnx")
    with default_storage.open(b.file.name, "wb") as stored:
        stored.write(b"damaged")
    mv.model_activate(version=b)
    runtime.sync_active_model()
    mv.model_delete(version=a)
    runtime.sync_active_model()
    event = post_frame(camera_client, key)
    assert event.model_version is None and event.model_label.endswith("(deleted)")
    mv.model_activate(version=None)  # and the bundled file, once asked for, replaces it
    assert runtime.sync_active_model() is True and runtime.serving().label.startswith("bundled")
