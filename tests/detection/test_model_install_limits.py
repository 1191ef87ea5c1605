"""`model install`, round two: a model with external data is installed with its data (and activates);
a huge metadata value and a huge file are refused in one line, the file before anything reads it."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from detection.serving import versions as mv
from detection.serving import runtime
from detection.detector import OnnxDetector
from detection.serving.onnx_external import external_locations
from tests.detection.test_model_versions import META, OTHER, tiny_onnx


@pytest.fixture(autouse=True)
def _fresh_runtime():
    runtime.reset_serving()
    yield
    runtime.reset_serving()


def with_external_data(folder: Path, location: str = "weights.bin") -> Path:
    """The second shipped model, saved as a .onnx plus its larger tensors in a file beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    model = onnx.load(str(OTHER))
    target = folder / "external.onnx"
    onnx.save(model, str(target), save_as_external_data=True, all_tensors_to_one_file=True, location=location,
              size_threshold=1024)
    return target


def test_the_scanner_finds_the_external_file_and_none_in_a_plain_model(tmp_path):
    path = with_external_data(tmp_path / "m")
    assert external_locations(path.read_bytes()) == ["weights.bin"]
    assert external_locations(OTHER.read_bytes()) == []


@pytest.mark.django_db
def test_a_model_with_external_data_is_installed_with_it_and_serves(tmp_path):
    path = with_external_data(tmp_path / "m")
    version = mv.model_install(path=path, name="external")
    folder = Path(version.file.name).parent.as_posix()
    assert default_storage.exists(version.file.name) and default_storage.exists(f"{folder}/weights.bin")
    # The source folder may go away: the installed copy is complete on its own.
    for file in (tmp_path / "m").iterdir():
        file.unlink()
    local = mv.local_model_path(file_name=version.file.name, sha256=version.sha256)
    detector = OnnxDetector(local, threads=1)
    assert detector.input_size > 0
    mv.model_activate(version=version)
    runtime.sync_active_model()
    assert runtime.serving().version_id == version.pk
    mv.model_activate(version=None)
    runtime.sync_active_model()
    mv.model_delete(version=version)


@pytest.mark.django_db
def test_missing_or_escaping_external_data_is_refused_with_a_reason(tmp_path):
    path = with_external_data(tmp_path / "m")
    (tmp_path / "m" / "weights.bin").unlink()
    with pytest.raises(mv.ModelRejected, match="external data file 'weights.bin' is missing"):
        mv.model_check(path)
    escaping = with_external_data(tmp_path / "n", location="weights.bin")
    # onnx itself refuses to write '..'; a hand-made file need not: same length, so the protobuf stays valid.
    escaping.write_bytes(escaping.read_bytes().replace(b"weights.bin", b"../outs.bin"))
    with pytest.raises(mv.ModelRejected, match="must be a file name beside the model"):
        mv.model_check(escaping)


@pytest.mark.django_db
def test_a_huge_names_value_is_refused_in_one_line(tmp_path, capsys):
    names = "{" + ", ".join(f"{i}: 'package{i}'" for i in range(12_000)) + "}"  # ~200 kB
    assert len(names) > 200_000
    path = tiny_onnx(tmp_path / "names.onnx", metadata={**META, "names": names})
    with pytest.raises(CommandError) as caught:
        call_command("model", "install", str(path))
    message = str(caught.value)
    assert "longer than 65,536 characters" in message and "\n" not in message


def test_a_deeply_nested_names_value_never_crashes_the_parser():
    from detection.detector.onnx import _parse_literal

    assert _parse_literal("[" * 200_000 + "]" * 200_000, "fallback") == "fallback"


@pytest.mark.django_db
def test_the_size_is_checked_before_the_file_is_hashed(tmp_path, monkeypatch, settings):
    settings.MODEL_MAX_BYTES = 1024 * 1024
    big = tmp_path / "big.onnx"
    with big.open("wb") as fh:  # sparse: takes no disk, but hashing would read it all
        fh.truncate(4 * 1024 ** 3)

    def no_hash(path):
        raise AssertionError("hashed before the size check")

    monkeypatch.setattr(mv, "file_sha256", no_hash)
    with pytest.raises(mv.ModelRejected, match="the limit is 1,048,576"):
        mv.model_check(big)
