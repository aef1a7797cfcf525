"""OTLP/JSON, read by hand: the files that hold it, and its values as plain Python.

Not through protobuf's JSON parser: OTLP/JSON writes trace and span ids as hex, and
``google.protobuf.json_format`` silently decodes them as base64 (a 16-byte trace id becomes
24 bytes). orjson reads the document; this module walks it as the OTLP JSON encoding says:
64-bit integers are decimal strings (numbers are accepted too), enums are integers, field
names are lowerCamelCase and unknown fields are ignored.

A file is either the collector's file-exporter output — JSON Lines, one ``LogsData`` or
``TracesData`` per line, streamed, so memory stays flat whatever the file size — or one
``ExportLogsServiceRequest`` / ``ExportTraceServiceRequest`` document, pretty-printed
(its first line is a lone ``{``), read whole. Either may be gzip-compressed.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from .settings import SEVERITIES

__all__ = [
    "NotOtlpJson",
    "integer_of",
    "json_values",
    "plain_attributes",
    "plain_value",
    "service_of",
    "severity_of",
    "text_of",
]

_GZIP_MAGIC = b"\x1f\x8b"
_SEVERITY_WORDS = {**SEVERITIES, "WARNING": 13, "INFORMATION": 9, "CRITICAL": 21, "EMERGENCY": 21}


class NotOtlpJson(Exception):
    """The file is not OTLP JSON at all (binary, length-prefixed, or another format)."""


def text_of(value: Any) -> str:
    """An OTLP ``AnyValue`` as text: strings as they are, the rest as compact text."""
    plain = plain_value(value)
    if isinstance(plain, str):
        return plain
    if isinstance(plain, dict):
        return " ".join(f"{key}={item}" for key, item in plain.items())
    return "" if plain is None else orjson.dumps(plain).decode()


def plain_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` (``{"stringValue": …}``, ``{"intValue": "10"}``, …) as a plain
    value; ``None`` for an empty or unknown one."""
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return integer_of(value["intValue"])
    for key in ("boolValue", "doubleValue", "bytesValue"):
        if key in value:
            return value[key]
    if "arrayValue" in value:
        return [plain_value(item) for item in _values(value["arrayValue"])]
    if "kvlistValue" in value:
        return plain_attributes(_values(value["kvlistValue"]))
    return None


def _values(container: Any) -> list[Any]:
    # {"values": [...]} as the encoding says; a bare list as some examples write it.
    values = container.get("values") if isinstance(container, dict) else container
    return values if isinstance(values, list) else []


def plain_attributes(attributes: Any) -> dict[str, Any]:
    """A ``KeyValue`` list as a dict of plain values (malformed entries are left out)."""
    plain: dict[str, Any] = {}
    if isinstance(attributes, list):
        for attribute in attributes:
            if isinstance(attribute, dict) and isinstance(attribute.get("key"), str):
                plain[attribute["key"]] = plain_value(attribute.get("value"))
    return plain


def integer_of(value: Any) -> int:
    """A 64-bit integer: a decimal string or a JSON number."""
    if type(value) is int:
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"{value!r} is not an integer")


def service_of(resource: Any) -> str | None:
    """The ``service.name`` resource attribute."""
    if resource:
        for attribute in resource.get("attributes") or ():
            if attribute.get("key") == "service.name":
                name = (attribute.get("value") or {}).get("stringValue")
                return name if isinstance(name, str) and name else None
    return None


def severity_of(record: dict[str, Any]) -> int:
    """The record's severity number; from ``severityText`` when the number is unset."""
    number = record.get("severityNumber")
    if number:
        return integer_of(number)
    text = record.get("severityText")
    if isinstance(text, str):
        word = text.strip().upper()
        return _SEVERITY_WORDS.get(word) or _SEVERITY_WORDS.get(word.rstrip("1234"), 0)
    return 0


def json_values(path: Path) -> Iterator[tuple[int, bytes]]:
    """The JSON values of an OTLP file (gunzipped if it is gzip) with their line numbers:
    each line, or the whole file as one value numbered 0 when its first line is a lone
    ``{`` (a pretty-printed export request).

    :raises NotOtlpJson: the file does not start like JSON.
    :raises OSError: the file cannot be read; with ``EOFError`` and ``zlib.error``, its
        gzip stream is truncated or corrupt.
    """
    with path.open("rb") as raw:
        compressed = raw.read(len(_GZIP_MAGIC)) == _GZIP_MAGIC
        raw.seek(0)
        with gzip.GzipFile(fileobj=raw) if compressed else contextlib.nullcontext(raw) as handle:
            if handle.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
                handle.seek(0)
            first = handle.readline()
            if first.strip() == b"{":
                yield 0, first + handle.read()
                return
            if first.strip() and not first.lstrip().startswith(b"{"):
                raise NotOtlpJson(
                    "not OTLP JSON (a binary or length-prefixed file? the collector writes those "
                    "with format: proto or with compression; use format: json)"
                )
            yield 1, first
            yield from enumerate(handle, start=2)
