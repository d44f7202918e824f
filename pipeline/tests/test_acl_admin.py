"""The ACL helper's pure half: JSON bindings <-> confluent-kafka's, and request checking (no cluster)."""

import doctest

import pytest

from pipeline.errors import PipelineError
from pipeline.kafka import acl_admin

BINDING = {
    "principal": "User:scorer",
    "resourceType": "transactional-id",
    "resourceName": "credit-scorer-",
    "patternType": "prefixed",
    "host": "*",
    "operation": "write",
    "permission": "allow",
}


def test_docstring_examples():
    result = doctest.testmod(acl_admin)
    assert result.attempted > 0 and result.failed == 0


def test_round_trip_and_exact_filter():
    b = acl_admin.to_binding(BINDING)
    assert acl_admin.to_json(b) == BINDING
    f = acl_admin.exact_filter(b)
    assert (f.restype, f.name, f.resource_pattern_type, f.principal, f.host, f.operation, f.permission_type) == (
        b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type,
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"operation": "any"}, "binding operation: unknown value 'any'"),
        ({"resourceType": "cluster-ish"}, "binding resourceType: unknown value 'cluster-ish'"),
        ({"principal": ""}, "missing principal"),
    ],
)
def test_bad_bindings_name_the_field(change, message):
    with pytest.raises(PipelineError, match=message) as e:
        acl_admin.to_binding({**BINDING, **change})
    assert e.value.code == "CONFIG_INVALID"


def test_bad_requests_fail_before_connecting():
    def connect(_settings):
        raise AssertionError("must not connect")

    for request, message in [
        ({"op": "drop"}, "unknown op 'drop'"),
        ({"op": "describe", "principals": "User:a"}, "'principals' must be a list"),
        ({"op": "create", "bindings": {}}, "'bindings' must be a list"),
    ]:
        with pytest.raises(PipelineError, match=message):
            acl_admin.run(request, {"KAFKA_BROKERS": "127.0.0.1:1"}, connect=connect)
