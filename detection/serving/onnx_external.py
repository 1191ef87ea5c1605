"""Which external data files an ONNX model names (tensors stored beside the .onnx, `location` keys).

ONNX Runtime reads them relative to the model's folder, so installing a model must copy them with
it. Read straight from the protobuf wire format: the server installs models without the `onnx`
package (requirements/base.txt has ONNX Runtime only), and this needs four message types.
No Django here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

# Field numbers from onnx.proto3.
MODEL_GRAPH = 7
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_SPARSE_INITIALIZER = 1, 5, 15
NODE_ATTRIBUTE = 5
ATTR_T, ATTR_G, ATTR_TENSORS, ATTR_GRAPHS, ATTR_SPARSE, ATTR_SPARSES = 5, 6, 10, 11, 22, 23
SPARSE_VALUES, SPARSE_INDICES = 1, 2
TENSOR_EXTERNAL_DATA = 13
ENTRY_KEY, ENTRY_VALUE = 1, 2


class NotOnnx(ValueError):
    """The bytes are not a protobuf message (ONNX Runtime says more when it loads them)."""


def _varint(data: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise NotOnnx("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(data: memoryview) -> Iterator[tuple[int, memoryview | None]]:
    """(field number, bytes of a length-delimited field or None) for each field of one message."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, at = _varint(data, at)
            yield number, None
        elif wire == 1:
            at += 8
            yield number, None
        elif wire == 5:
            at += 4
            yield number, None
        elif wire == 2:
            length, at = _varint(data, at)
            if at + length > len(data):
                raise NotOnnx("truncated field")
            yield number, data[at : at + length]
            at += length
        else:
            raise NotOnnx(f"unsupported wire type {wire}")


def _tensor(data: memoryview) -> Iterator[str]:
    for number, value in _fields(data):
        if number == TENSOR_EXTERNAL_DATA and value is not None:
            entry = {n: bytes(v).decode("utf-8", "replace") for n, v in _fields(value) if v is not None}
            if entry.get(ENTRY_KEY) == "location":
                yield entry.get(ENTRY_VALUE, "")


def _sparse(data: memoryview) -> Iterator[str]:
    for number, value in _fields(data):
        if number in (SPARSE_VALUES, SPARSE_INDICES) and value is not None:
            yield from _tensor(value)


def _graph(data: memoryview, depth: int) -> Iterator[str]:
    if depth > 16:
        raise NotOnnx("subgraphs nested too deeply")
    for number, value in _fields(data):
        if value is None:
            continue
        if number == GRAPH_INITIALIZER:
            yield from _tensor(value)
        elif number == GRAPH_SPARSE_INITIALIZER:
            yield from _sparse(value)
        elif number == GRAPH_NODE:
            for attr_number, attr in _fields(value):
                if attr_number == NODE_ATTRIBUTE and attr is not None:
                    yield from _attribute(attr, depth)


def _attribute(data: memoryview, depth: int) -> Iterator[str]:
    for number, value in _fields(data):
        if value is None:
            continue
        if number in (ATTR_T, ATTR_TENSORS):
            yield from _tensor(value)
        elif number in (ATTR_SPARSE, ATTR_SPARSES):
            yield from _sparse(value)
        elif number in (ATTR_G, ATTR_GRAPHS):
            yield from _graph(value, depth + 1)


def external_locations(data: bytes) -> list[str]:
    """The distinct `location`s of a model's external tensors, in first-use order; raises NotOnnx."""
    view = memoryview(data)
    found: dict[str, None] = {}
    for number, value in _fields(view):
        if number == MODEL_GRAPH and value is not None:
            found.update(dict.fromkeys(_graph(value, 0)))
    return list(found)


def external_files(model: Path) -> list[tuple[str, Path]]:
    """(location, file) of each external data file of ``model``; ValueError with a reason for a
    location that is absolute, leaves the model's folder, or is missing."""
    folder = model.resolve().parent
    files = []
    for location in external_locations(model.read_bytes()):
        relative = PurePosixPath(location.replace("\\", "/"))
        if not location or relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"external data location {location[:80]!r} must be a file name beside the model")
        path = folder / Path(*relative.parts)
        if not path.resolve().is_relative_to(folder):
            raise ValueError(f"external data {location[:80]!r} links outside the model's folder")
        if not path.is_file():
            raise ValueError(f"external data file {location[:80]!r} is missing beside the model")
        files.append((relative.as_posix(), path))
    return files
