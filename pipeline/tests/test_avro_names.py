"""Avro names match unqualified (the specification): a writer record in another namespace resolves.

An upstream team whose generated classes put the pipeline's records in its own namespace (nested named types
included) registers a copy the registry accepts as a BACKWARD-compatible version; the pipeline's reader
(fastavro with the reader schemas of ``schemas/``) reads it, as the subject's latest version, with no alias.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from pipeline.kafka.records import RECORD_NAMES
from pipeline.kafka.registry import Decoded, DecodeFailure, SchemaRegistry, plain_schema, reader_for, schema_text

NAMESPACE = "com.upstream.generated.credit"

UPDATE = {
    "model_name": "credit-default-classifier",
    "version": "7",
    "artifact_uri": "file:///models/credit-default-classifier/7",
    "sha256": "0" * 64,
    "action": "ROLLBACK",
    "previous_version": "6",
    "metrics": {"roc_auc": 0.81},
    "reason": "quarterly review",
    "announced_at": 1_760_000_000_000,
    "announced_by": "jane",
    "approval": {"approved_by": "jane", "reason": "quarterly review", "approved_at": 1_760_000_000_000, "mode": "AUTOMATIC", "evidence": {"gate": "passed"}},
}
OUTCOME = {"application_id": "app-1", "defaulted": True, "observed_at": 1_760_000_000_000}


def _copy(schema_name: str) -> dict:
    """The schema moved to another namespace; nested named types without a namespace move with it."""
    return {**json.loads(schema_text(schema_name)), "namespace": NAMESPACE}


def _register_both(registry: SchemaRegistry, subject: str, schema_name: str) -> int:
    registry.register(subject, schema_text(schema_name))
    copy_id = registry.register(subject, json.dumps(_copy(schema_name)))
    latest = requests.get(f"{registry.url}/subjects/{subject}/versions/latest", timeout=10).json()
    assert latest["id"] == copy_id, latest
    assert json.loads(latest["schema"])["namespace"] == NAMESPACE
    return copy_id


@pytest.mark.parametrize(
    ("name", "record"),
    [("model-update", UPDATE), ("loan-outcome", OUTCOME)],
    ids=["nested-named-types", "flat-record"],
)
def test_a_namespace_copy_is_read_by_unqualified_name(kafka_stack, name, record):
    registry = SchemaRegistry(kafka_stack.registry_url)
    subject = f"pytest-names-{uuid.uuid4().hex[:10]}-value"
    copy_id = _register_both(registry, subject, name)
    decoded = registry.decode(registry.encode(copy_id, record), RECORD_NAMES[name])
    assert isinstance(decoded, Decoded), decoded
    assert decoded.value == record


def test_a_record_of_another_unqualified_name_is_still_refused(kafka_stack):
    registry = SchemaRegistry(kafka_stack.registry_url)
    subject = f"pytest-names-{uuid.uuid4().hex[:10]}-value"
    other = {**json.loads(schema_text("loan-outcome")), "name": "CreditOutcome", "namespace": NAMESPACE}
    other_id = registry.register(subject, json.dumps(other))
    decoded = registry.decode(registry.encode(other_id, OUTCOME), RECORD_NAMES["loan-outcome"])
    assert isinstance(decoded, DecodeFailure)
    assert decoded.code == "DECODE_WRONG_SCHEMA"


def test_reader_for_keeps_the_reader_schema_for_a_namespace_copy():
    # No alias is needed for fastavro: it matches named types by their unqualified name.
    assert reader_for(plain_schema(_copy("model-update")), RECORD_NAMES["model-update"]) == plain_schema(json.loads(schema_text("model-update")))
