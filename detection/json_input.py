"""JSON from people and browsers, parsed so that no body answers 500.

`json.loads` raises RecursionError (not ValueError) on a deeply nested body such as
`"[" * 50000 + "]" * 50000`, which DRF's parser and a bare `except ValueError` let through as a 500;
and a body just shallow enough to parse can still overflow the code that walks it later. So: parse,
turn RecursionError into ValueError, and refuse anything nested deeper than MAX_DEPTH (no input of
ours needs more than a handful of levels).
"""

from __future__ import annotations

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


class TooDeep(ValueError):
    pass


def json_loads(text: str | bytes) -> object:
    """json.loads, raising ValueError (TooDeep) for bodies nested deeper than MAX_DEPTH."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(f"nested more than {MAX_DEPTH} levels deep") from None
    _check_depth(value)
    return value


def _check_depth(value: object) -> None:
    stack = [(value, 1)]
    while stack:  # iterative: the check itself must not recurse
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise TooDeep(f"nested more than {MAX_DEPTH} levels deep")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the depth rule above: too deep is a 400 like any other malformed JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", "utf-8")
        try:
            return json_loads(stream.read().decode(encoding))
        except ValueError as exc:  # includes UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}") from None
