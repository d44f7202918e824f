"""ACL bindings of a cluster (describe, create, delete), as JSON in and out.

The TypeScript side's one ACL door (``services/shared/kafka/acl-admin.ts``) runs this module: the Node
binding of librdkafka has no ACL admin API, confluent-kafka's ``AdminClient`` (the same librdkafka) has.
It connects with the ``KAFKA_*`` variables every service and the pipeline read
(:func:`pipeline.kafka.settings.kafka_settings`: brokers, TLS, SASL). The planning (what to create and
delete) stays in ``infra/acls.ts``; this module only does the I/O.

Usage::

    echo '{"op": "describe", "principals": ["User:scorer"]}' | python -m pipeline.kafka.acl_admin

Requests (stdin, one JSON object):

- ``{"op": "describe", "principals": [...]}`` -> ``{"bindings": [...]}`` (every binding of those principals)
- ``{"op": "create", "bindings": [...]}`` -> ``{"created": n}``
- ``{"op": "delete", "bindings": [...]}`` -> ``{"deleted": n}`` (each binding matched exactly)

A binding is ``{"principal", "resourceType", "resourceName", "patternType", "host", "operation",
"permission"}`` in words: resource types ``topic``, ``group``, ``transactional-id``, ``cluster``;
operations ``read``, ``write``, ``idempotent-write``, ``describe``, ... (Kafka's names, lower case with
dashes); patterns ``literal``, ``prefixed``; permissions ``allow``, ``deny``.

A failure prints ``{"error": {"code", "message", "retriable", "kafkaCode", "kafkaName"}}`` and exits 1
(``kafkaCode``: librdkafka's numeric error code, when the broker or the client gave one).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AclBinding, AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

from pipeline.errors import PipelineError
from pipeline.kafka.failures import explain
from pipeline.kafka.settings import kafka_settings
from pipeline.kafka.topics import admin_client

TIMEOUT_S = 30.0
FIELDS = ("principal", "resourceType", "resourceName", "patternType", "host", "operation", "permission")


def word(member: Enum) -> str:
    """Return the JSON word of an admin-API enum member (``cluster`` for librdkafka's BROKER resource).

    Examples
    --------
    >>> word(AclOperation.IDEMPOTENT_WRITE), word(ResourceType.TRANSACTIONAL_ID), word(ResourceType.BROKER)
    ('idempotent-write', 'transactional-id', 'cluster')
    """
    if member is ResourceType.BROKER:
        return "cluster"
    return member.name.lower().replace("_", "-")


def member(enum: type[Enum], value: Any, field: str) -> Any:
    """Return the enum member a JSON word names; an unknown word is a ``CONFIG_INVALID`` naming the field.

    Examples
    --------
    >>> member(ResourceType, "cluster", "resourceType") is ResourceType.BROKER
    True
    >>> member(AclOperation, "fly", "operation")
    Traceback (most recent call last):
    ...
    pipeline.errors.PipelineError: CONFIG_INVALID: binding operation: unknown value 'fly'
    """
    name = "BROKER" if enum is ResourceType and value == "cluster" else str(value).upper().replace("-", "_")
    if not isinstance(value, str) or name not in enum.__members__ or name in ("ANY", "UNKNOWN", "MATCH"):
        raise PipelineError("CONFIG_INVALID", f"binding {field}: unknown value {value!r}")
    return enum[name]


def to_binding(raw: Mapping[str, Any]) -> AclBinding:
    """Return the admin-API binding of a JSON binding.

    Examples
    --------
    >>> b = to_binding({"principal": "User:a", "resourceType": "topic", "resourceName": "t", "patternType": "literal", "host": "*", "operation": "read", "permission": "allow"})
    >>> b.restype.name, b.operation.name, b.permission_type.name
    ('TOPIC', 'READ', 'ALLOW')
    """
    missing = [f for f in FIELDS if not isinstance(raw.get(f), str) or not raw.get(f)]
    if missing:
        raise PipelineError("CONFIG_INVALID", f"binding {dict(raw)!r}: missing {', '.join(missing)}")
    return AclBinding(
        member(ResourceType, raw["resourceType"], "resourceType"),
        raw["resourceName"],
        member(ResourcePatternType, raw["patternType"], "patternType"),
        raw["principal"],
        raw["host"],
        member(AclOperation, raw["operation"], "operation"),
        member(AclPermissionType, raw["permission"], "permission"),
    )


def to_json(b: AclBinding) -> dict[str, str]:
    """Return the JSON binding of an admin-API binding (the inverse of :func:`to_binding`).

    Examples
    --------
    >>> raw = {"principal": "User:a", "resourceType": "cluster", "resourceName": "kafka-cluster", "patternType": "literal", "host": "*", "operation": "idempotent-write", "permission": "allow"}
    >>> to_json(to_binding(raw)) == raw
    True
    """
    return {
        "principal": b.principal,
        "resourceType": word(b.restype),
        "resourceName": b.name,
        "patternType": word(b.resource_pattern_type),
        "host": b.host,
        "operation": word(b.operation),
        "permission": word(b.permission_type),
    }


def exact_filter(b: AclBinding) -> AclBindingFilter:
    """Return the filter that matches exactly binding ``b`` (for deleting it and nothing else)."""
    return AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type)


def describe(admin: Any, principals: Iterable[str]) -> list[dict[str, str]]:
    """Return every binding of ``principals`` (any resource, pattern, host, operation and permission)."""
    out: list[dict[str, str]] = []
    for principal in principals:
        flt = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, principal, None, AclOperation.ANY, AclPermissionType.ANY)
        out.extend(to_json(b) for b in admin.describe_acls(flt, request_timeout=TIMEOUT_S).result(timeout=TIMEOUT_S))
    return out


def create(admin: Any, bindings: list[AclBinding]) -> int:
    """Create ``bindings`` (existing ones are left as they are); return how many were asked for."""
    if not bindings:
        return 0
    for future in admin.create_acls(bindings, request_timeout=TIMEOUT_S).values():
        future.result(timeout=TIMEOUT_S)
    return len(bindings)


def delete(admin: Any, bindings: list[AclBinding]) -> int:
    """Delete exactly ``bindings``; return how many bindings the cluster removed."""
    if not bindings:
        return 0
    futures = admin.delete_acls([exact_filter(b) for b in bindings], request_timeout=TIMEOUT_S)
    return sum(len(future.result(timeout=TIMEOUT_S)) for future in futures.values())


def run(request: Mapping[str, Any], env: Mapping[str, str] | None = None, connect: Callable[..., Any] = admin_client) -> dict[str, Any]:
    """Carry out one request on the cluster of ``env``'s ``KAFKA_*`` variables and return its answer.

    Raises
    ------
    PipelineError
        ``CONFIG_INVALID`` for a bad request or variable; ``KAFKA_AUTH_FAILED`` / ``KAFKA_TLS_FAILED`` when
        the connection is refused; ``KAFKA_ACL_FAILED`` when the cluster refuses the operation.
    """
    op = request.get("op")
    if op == "describe":
        principals = request.get("principals")
        if not isinstance(principals, list) or not all(isinstance(p, str) and p for p in principals):
            raise PipelineError("CONFIG_INVALID", "describe: 'principals' must be a list of principal names (User:<name>)")
    elif op in ("create", "delete"):
        raw = request.get("bindings")
        if not isinstance(raw, list):
            raise PipelineError("CONFIG_INVALID", f"{op}: 'bindings' must be a list")
        bindings = [to_binding(b) for b in raw]
    else:
        raise PipelineError("CONFIG_INVALID", f"unknown op {op!r} (describe, create or delete)")
    settings = kafka_settings(env)
    admin = connect(settings)
    try:
        if op == "describe":
            return {"bindings": describe(admin, principals)}
        if op == "create":
            return {"created": create(admin, bindings)}
        return {"deleted": delete(admin, bindings)}
    except (KafkaException, TimeoutError) as e:
        admin.poll(0)  # serves error_cb: what the client saw while the request failed (TLS, SASL)
        errors = getattr(admin, "error_log", None)
        explained = explain(errors.errors, settings.principal) if errors else None
        if explained is not None:
            raise explained from e
        if isinstance(e, TimeoutError):
            raise PipelineError("KAFKA_UNAVAILABLE", f"{op} ACLs: the cluster at {settings.brokers} did not answer within {TIMEOUT_S:.0f} s (KAFKA_BROKERS)", retriable=True) from e
        raise


def failure(e: BaseException) -> dict[str, Any]:
    """Return the JSON error of a failed request.

    Examples
    --------
    >>> failure(PipelineError("CONFIG_INVALID", "bad"))["error"]["code"]
    'CONFIG_INVALID'
    >>> f = failure(KafkaException(KafkaError(KafkaError.CLUSTER_AUTHORIZATION_FAILED, "no")))["error"]
    >>> f["code"], f["kafkaName"], f["retriable"]
    ('KAFKA_ACL_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', False)
    """
    if isinstance(e, PipelineError):
        return {"error": {"code": e.code, "message": e.message, "retriable": e.retriable}}
    kafka = e.args[0] if isinstance(e, KafkaException) and e.args and isinstance(e.args[0], KafkaError) else None
    if kafka is None:
        return {"error": {"code": "KAFKA_ACL_FAILED", "message": f"{type(e).__name__}: {e}", "retriable": False}}
    retriable = bool(kafka.retriable()) or kafka.code() in (KafkaError._TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN)
    return {"error": {"code": "KAFKA_ACL_FAILED", "message": kafka.str(), "retriable": retriable, "kafkaCode": kafka.code(), "kafkaName": kafka.name()}}


def main() -> int:
    """Read one request from stdin, print its answer (or its error) as JSON on stdout."""
    try:
        request = json.loads(sys.stdin.read() or "{}")
        if not isinstance(request, dict):
            raise PipelineError("CONFIG_INVALID", "the request must be a JSON object")
        print(json.dumps(run(request)))
        return 0
    except json.JSONDecodeError as e:
        print(json.dumps(failure(PipelineError("CONFIG_INVALID", f"the request is not JSON: {e}"))))
    except Exception as e:  # noqa: BLE001 -- every failure is reported as JSON to the caller
        print(json.dumps(failure(e)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
