"""Confluent-compatible schema registry client and the Confluent wire format (Avro via fastavro).

Wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body. Schemas are registered
under ``<topic>-value`` (topic-name strategy) with BACKWARD compatibility, as the TypeScript
services do. Logical types are ignored on both sides, so ``timestamp-millis`` fields are plain
``int`` epoch milliseconds in Python. With an expected record name, the writer's schema is resolved
to that record's schema in ``schemas/`` by the Avro resolution rules (fastavro's reader schema),
so every version of a subject that resolves is read in the reader's shape; an ``int`` beyond 32
bits or a ``long`` beyond 64 bits is malformed, naming the field. A message that cannot be decoded is a value
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
from fastavro.read import SchemaResolutionError

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


def full_name(schema: dict[str, Any]) -> str | None:
    """Return a named schema's full name.

    Examples
    --------
    >>> full_name({"type": "record", "name": "A", "namespace": "x.y", "fields": []})
    'x.y.A'
    """
    name = schema.get("name")
    if not isinstance(name, str):
        return None
    namespace = schema.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


_READERS: dict[str, dict[str, Any]] = {}


def reader_schemas() -> dict[str, dict[str, Any]]:
    """Return the records of ``schemas/*.avsc`` by full name (plain JSON, logical types dropped)."""
    if not _READERS:
        for path in sorted(SCHEMAS_DIR.glob("*.avsc")):
            schema = plain_schema(json.loads(path.read_text(encoding="utf-8")))
            name = full_name(schema)
            if name:
                _READERS[name] = schema
    return _READERS


_LIMITS = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def out_of_range(schema: Any, value: Any, path: str = "") -> str | None:
    """Return the path of the first ``int``/``long`` in ``value`` outside its Avro range, else None.

    fastavro reads any varint into a Python int, so a 40-bit "int" would pass unnoticed.

    Examples
    --------
    >>> s = {"type": "record", "name": "R", "fields": [{"name": "n", "type": "int"}]}
    >>> out_of_range(s, {"n": 2**31}), out_of_range(s, {"n": 7})
    ('n', None)
    """
    if isinstance(schema, str) and schema in _LIMITS:
        lo, hi = _LIMITS[schema]
        return (path or "(value)") if isinstance(value, int) and not lo <= value <= hi else None
    if isinstance(schema, list):
        numeric = [b for b in schema if b in ("int", "long", "float", "double")]
        for branch in schema:
            if isinstance(branch, str) and branch in _LIMITS and len(numeric) == 1:
                bad = out_of_range(branch, value, path)
                if bad:
                    return bad
            elif isinstance(branch, dict) and isinstance(value, dict):
                bad = out_of_range(branch, value, path)
                if bad:
                    return bad
        return None
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "error") and isinstance(value, dict):
            for f in schema.get("fields", []):
                bad = out_of_range(f["type"], value.get(f["name"]), f"{path}.{f['name']}" if path else f["name"])
                if bad:
                    return bad
        elif kind == "array" and isinstance(value, list):
            for v in value:
                bad = out_of_range(schema["items"], v, f"{path}[]")
                if bad:
                    return bad
        elif kind == "map" and isinstance(value, dict):
            for v in value.values():
                bad = out_of_range(schema["values"], v, f"{path}{{}}")
                if bad:
                    return bad
        elif kind in _LIMITS:
            return out_of_range(kind, value, path)
    return None


def reader_for(writer: dict[str, Any], reader_name: str) -> dict[str, Any] | None:
    """Return the reader schema (JSON) for data written with ``writer`` read as ``reader_name``.

    The record of ``schemas/`` named ``reader_name``; when the writer is a renamed record that lists
    ``reader_name`` among its aliases, the reader gets the writer's name as an alias too (the Avro
    name rule applied both ways round). A writer in another namespace needs nothing: fastavro matches
    named types (nested ones too) by their unqualified name, as the Avro specification says
    (``test_avro_names.py``). None when ``schemas/`` has no such record.
    """
    reader = reader_schemas().get(reader_name)
    if reader is None:
        return None
    writer_name = full_name(writer)
    aliases = writer.get("aliases") or []
    qualified = {a if "." in a or not writer.get("namespace") else f"{writer['namespace']}.{a}" for a in aliases}
    if writer_name and writer_name != reader_name and reader_name in qualified:
        return {**reader, "aliases": [*(reader.get("aliases") or []), writer_name]}
    return reader


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

    def __init__(self, url: str, timeout_s: float = 10.0, ca_file: str | None = None, auth: tuple[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = requests.Session()
        # HTTPS with a private CA (SCHEMA_REGISTRY_CA_FILE); else the system's CAs. Passed with every request:
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment override a session's verify.
        self._verify: str | bool = ca_file or True
        if auth:
            self._http.auth = auth
        self._schemas: dict[int, Any] = {}
        self._raw: dict[int, dict[str, Any]] = {}
        self._unknown: set[int] = set()
        # (writer id, reader name) -> (parsed writer, parsed reader or None, reader JSON) or a failure.
        self._plans: dict[tuple[int, str], tuple[Any, Any, Any] | DecodeFailure] = {}

    @classmethod
    def from_settings(cls, settings: Any, timeout_s: float = 10.0) -> SchemaRegistry:
        """Return the registry client of a :class:`~pipeline.kafka.settings.KafkaSettings` (URL, CA, basic auth)."""
        auth = (settings.registry_username, settings.registry_password or "") if settings.registry_username else None
        return cls(settings.registry_url, timeout_s, ca_file=settings.registry_ca_file, auth=auth)

    def _call(self, method: str, path: str, body: Any = None) -> requests.Response:
        try:
            return self._http.request(method, f"{self.url}{path}", json=body, headers={"content-type": CONTENT_TYPE}, timeout=self.timeout_s, verify=self._verify)
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
        self._raw[schema_id] = plain_schema(json.loads(schema))
        self._schemas[schema_id] = fastavro.parse_schema(self._raw[schema_id])
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
        raw = plain_schema(json.loads(res.json()["schema"]))
        parsed = fastavro.parse_schema(raw)
        self._raw[schema_id] = raw
        self._schemas[schema_id] = parsed
        return parsed

    def _plan(self, schema_id: int, parsed: Any, expect_record: str) -> tuple[Any, Any, Any] | DecodeFailure:
        """How to read ``schema_id`` as ``expect_record`` (cached per pair)."""
        key = (schema_id, expect_record)
        if key in self._plans:
            return self._plans[key]
        raw = self._raw.get(schema_id, {})
        reader = reader_for(raw, expect_record)
        plan: tuple[Any, Any, Any] | DecodeFailure
        if reader is None:
            if parsed.get("name") != expect_record:
                plan = DecodeFailure("DECODE_WRONG_SCHEMA", f"schema id {schema_id} is {parsed.get('name')}, expected {expect_record}")
            else:
                plan = (parsed, None, raw)
        elif reader == raw:
            plan = (parsed, None, raw)
        else:
            plan = (parsed, fastavro.parse_schema(reader), reader)
        self._plans[key] = plan
        return plan

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
            Full record name to read, e.g. ``com.creditrisk.v1.LoanOutcome``: the writer schema is
            resolved to that record's schema in ``schemas/`` (a writer that does not resolve is
            ``DECODE_WRONG_SCHEMA`` with the resolution's reason).

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
        writer, reader, shape = parsed, None, self._raw.get(schema_id)
        if expect_record is not None:
            plan = self._plan(schema_id, parsed, expect_record)
            if isinstance(plan, DecodeFailure):
                return plan
            writer, reader, shape = plan
        try:
            value = fastavro.schemaless_reader(io.BytesIO(body), writer, reader)
        except SchemaResolutionError as e:
            failure = DecodeFailure("DECODE_WRONG_SCHEMA", f"schema id {schema_id}: {full_name(self._raw.get(schema_id, {}))} cannot be read as {expect_record} by Avro schema resolution: {e}")
            if expect_record is not None:
                self._plans[(schema_id, expect_record)] = failure
            return failure
        except Exception as e:  # fastavro raises several types on bad bytes
            return DecodeFailure("DECODE_MALFORMED", f"not valid Avro for schema id {schema_id}: {e}")
        bad = out_of_range(shape, value) if shape is not None else None
        if bad is not None:
            return DecodeFailure("DECODE_MALFORMED", f"not valid Avro for schema id {schema_id}, field {bad}: {value_at(value, bad)} is outside the range of its type")
        return Decoded(schema_id, value)


def value_at(value: Any, path: str) -> Any:
    """Return the value at a dotted field path (for messages)."""
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
