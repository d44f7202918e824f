"""Confluent-compatible schema registry client and the Confluent wire format (Avro via fastavro).

Wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body. Schemas are registered
under ``<topic>-value`` (topic-name strategy) with BACKWARD compatibility, as the TypeScript
services do. Logical types are ignored on both sides, so ``timestamp-millis`` fields are plain
``int`` epoch milliseconds in Python. A message that cannot be decoded is a value
(:class:`DecodeFailure`), not an exception; an unreachable registry raises a retriable
:class:`~pipeline.errors.PipelineError`.
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any, NamedTuple

import fastavro
import requests

from pipeline.errors import PipelineError
from pipeline.paths import SCHEMAS_DIR

MAGIC = 0
HEADER = struct.Struct(">bI")
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class Decoded(NamedTuple):
    """A decoded message value."""

    schema_id: int
    value: dict[str, Any]


class DecodeFailure(NamedTuple):
    """Why a message could not be decoded (``code`` as in the TypeScript registry adapter)."""

    code: str
    reason: str


def frame(schema_id: int, body: bytes) -> bytes:
    """Prefix an Avro body with the wire-format header.

    Examples
    --------
    >>> frame(7, b"x")
    b'\\x00\\x00\\x00\\x00\\x07x'
    """
    return HEADER.pack(MAGIC, schema_id) + body


def parse_frame(buf: bytes | None) -> tuple[int, bytes] | DecodeFailure:
    """Split a wire-format message into ``(schema_id, body)``, or a failure value.

    Examples
    --------
    >>> parse_frame(b"\\x00\\x00\\x00\\x00\\x07x")
    (7, b'x')
    >>> parse_frame(b"{}").code
    'DECODE_MAGIC_BYTE'
    """
    if buf is None or len(buf) < HEADER.size or buf[0] != MAGIC:
        return DecodeFailure("DECODE_MAGIC_BYTE", "not Confluent wire format (magic byte 0 + schema id)")
    _, schema_id = HEADER.unpack_from(buf)
    return schema_id, bytes(buf[HEADER.size :])


def plain_schema(schema: Any) -> Any:
    """Return the schema JSON without ``logicalType`` annotations (same bytes on the wire).

    Examples
    --------
    >>> plain_schema({"type": "long", "logicalType": "timestamp-millis"})
    {'type': 'long'}
    """
    if isinstance(schema, dict):
        return {k: plain_schema(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [plain_schema(v) for v in schema]
    return schema


def schema_text(name: str) -> str:
    """Return the text of ``schemas/<name>.avsc`` (the single source of truth)."""
    return (SCHEMAS_DIR / f"{name}.avsc").read_text(encoding="utf-8")


def encode_value(parsed_schema: Any, value: dict[str, Any]) -> bytes:
    """Return the Avro binary body of ``value`` (no header); raises if it does not fit the schema."""
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parsed_schema, value)
    return out.getvalue()


class SchemaRegistry:
    """A small client of the Confluent schema-registry REST API.

    Parameters
    ----------
    url : str
        Base URL, e.g. ``http://127.0.0.1:18081/apis/ccompat/v7``.
    timeout_s : float, optional
        Timeout of each HTTP call.
    """

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = requests.Session()
        self._schemas: dict[int, Any] = {}
        self._unknown: set[int] = set()

    def _call(self, method: str, path: str, body: Any = None) -> requests.Response:
        try:
            return self._http.request(method, f"{self.url}{path}", json=body, headers={"content-type": CONTENT_TYPE}, timeout=self.timeout_s)
        except requests.RequestException as e:
            raise PipelineError("REGISTRY_UNAVAILABLE", f"schema registry at {self.url} unreachable: {e}", retriable=True) from e

    def register(self, subject: str, schema: str, compatibility: str = "BACKWARD") -> int:
        """Register ``schema`` under ``subject`` (setting its compatibility first); return its id.

        Re-registering the same schema returns the same id; an incompatible one raises a
        non-retriable ``SCHEMA_REGISTRATION_FAILED``.
        """
        res = self._call("PUT", f"/config/{subject}", {"compatibility": compatibility})
        if not res.ok:
            raise PipelineError("SCHEMA_REGISTRATION_FAILED", f"setting {compatibility} on {subject}: {res.status_code} {res.text}", res.status_code >= 500)
        res = self._call("POST", f"/subjects/{subject}/versions", {"schema": schema, "schemaType": "AVRO"})
        if not res.ok:
            raise PipelineError("SCHEMA_REGISTRATION_FAILED", f"registering {subject}: {res.status_code} {res.text}", res.status_code >= 500)
        schema_id = int(res.json()["id"])
        self._schemas[schema_id] = fastavro.parse_schema(plain_schema(json.loads(schema)))
        return schema_id

    def register_value_schema(self, topic: str, schema_name: str) -> int:
        """Register ``schemas/<schema_name>.avsc`` under ``<topic>-value``; return its id."""
        return self.register(f"{topic}-value", schema_text(schema_name))

    def parsed_schema(self, schema_id: int) -> Any | None:
        """Return the parsed schema of an id (cached), or ``None`` if the registry does not know it."""
        if schema_id in self._schemas:
            return self._schemas[schema_id]
        if schema_id in self._unknown:
            return None
        res = self._call("GET", f"/schemas/ids/{schema_id}")
        if res.status_code == 404:
            self._unknown.add(schema_id)
            return None
        if not res.ok:
            raise PipelineError("REGISTRY_UNAVAILABLE", f"schema id {schema_id}: {res.status_code} {res.text}", retriable=True)
        parsed = fastavro.parse_schema(plain_schema(json.loads(res.json()["schema"])))
        self._schemas[schema_id] = parsed
        return parsed

    def encode(self, schema_id: int, value: dict[str, Any]) -> bytes:
        """Return the wire-format message of ``value`` under a registered schema id."""
        parsed = self.parsed_schema(schema_id)
        if parsed is None:
            raise PipelineError("SCHEMA_UNKNOWN", f"schema id {schema_id} is not registered")
        return frame(schema_id, encode_value(parsed, value))

    def decode(self, buf: bytes | None, expect_record: str | None = None) -> Decoded | DecodeFailure:
        """Decode a wire-format message.

        Parameters
        ----------
        buf : bytes or None
            The message value.
        expect_record : str, optional
            Full record name the schema must have, e.g. ``com.creditrisk.v1.LoanOutcome``.

        Returns
        -------
        Decoded or DecodeFailure
        """
        framed = parse_frame(buf)
        if isinstance(framed, DecodeFailure):
            return framed
        schema_id, body = framed
        parsed = self.parsed_schema(schema_id)
        if parsed is None:
            return DecodeFailure("DECODE_UNKNOWN_SCHEMA", f"schema id {schema_id} is not known to the registry")
        if expect_record is not None and parsed.get("name") != expect_record:
            return DecodeFailure("DECODE_WRONG_SCHEMA", f"schema id {schema_id} is {parsed.get('name')}, expected {expect_record}")
        try:
            return Decoded(schema_id, fastavro.schemaless_reader(io.BytesIO(body), parsed, None))
        except Exception as e:  # fastavro raises several types on bad bytes
            return DecodeFailure("DECODE_MALFORMED", f"not valid Avro for schema id {schema_id}: {e}")
