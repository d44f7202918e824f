"""Peer A: the Python streaming scorer a team would write instead of ours, written to be fast.

Same job as services/scorer in at-least-once mode: consume Avro loan applications, decode them with
the Confluent Avro deserializer (fastavro underneath), validate them with the same rules
(pipeline/population/validation.py, vectorized over the batch), score the valid ones in one onnxruntime call per
batch with the same model, produce a decision and a scoring-log record per application (Confluent Avro
serializer) and a dead letter per bad message, wait for the broker's acks, then commit the offsets.

Fast where it matters: librdkafka prefetches and batches; messages are taken in batches of up to
PEER_MAX_BATCH without waiting when some are queued; validation, the model and the decision policy run
on numpy arrays; the deserializer is called without a context (skipping the rule machinery, unused
here); delivery reports are for errors only; the commit is asynchronous (after the flush, so still
at-least-once).

Configuration from the environment (the scorer's names where there is one): KAFKA_BROKERS,
SCHEMA_REGISTRY_URL, TOPIC_APPLICATIONS, TOPIC_DECISIONS, TOPIC_SCORING_LOG, TOPIC_DEAD_LETTERS,
PEER_GROUP_ID, MODEL_DIR, PEER_MAX_BATCH (2000), ORT_INTRA_OP_THREADS (1). Prints
"peer-a: joined <partitions>" when it has partitions; SIGTERM stops it after the batch in hand.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import socket
import sys
import time
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path

import numpy as np
import onnxruntime as ort
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from pipeline.schemas import record_name  # noqa: E402
from pipeline.population.validation import RULE_FIELDS as VALIDATION_RULE_FIELDS, TIME_RULE_FIELDS, input_bounds, rule_violations, submitted_at_violations  # noqa: E402  (the scorer's rules, vectorized)

# Decision policy: the scorer's defaults (services/scorer/policy.ts).
CLASSIFICATION_THRESHOLD, RISK_MEDIUM_AT, RISK_HIGH_AT, REVIEW_AT, DECLINE_AT = 0.5, 0.3, 0.6, 0.3, 0.6
APPLICATION_RECORD = record_name("loan-application")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Which field each rule of pipeline/population/validation.py is about (for the dead letter's field_errors).
RULE_FIELDS = {"all finite": "(record)", **VALIDATION_RULE_FIELDS, **TIME_RULE_FIELDS}
BOUNDS = input_bounds()  # schemas/input-bounds.json with the same env overrides as the scorer


def schema_text(name: str) -> str:
    return (REPO / "schemas" / f"{name}.avsc").read_text()


def epoch_ms(ts) -> int:
    """fastavro decodes timestamp-millis to an aware datetime; the records carry epoch milliseconds."""
    return ts if isinstance(ts, int) else (ts - EPOCH) // _MS


_MS = datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=timezone.utc) - EPOCH


class PeerA:
    def __init__(self, env: dict[str, str]) -> None:
        self.topic_in = env["TOPIC_APPLICATIONS"]
        self.topic_dec = env["TOPIC_DECISIONS"]
        self.topic_log = env["TOPIC_SCORING_LOG"]
        self.topic_dlq = env["TOPIC_DEAD_LETTERS"]
        self.max_batch = int(env.get("PEER_MAX_BATCH", "2000"))
        self.service = f"peer-a@{socket.gethostname()}"
        model_dir = REPO / env.get("MODEL_DIR", "models/credit-default-classifier/1")
        meta = json.loads((model_dir / "metadata.json").read_text())
        self.features: list[str] = meta["feature_names"]
        self.model_name, self.model_version = meta["name"], meta["version"]
        self.prob_col = meta["probability_column"]
        so = ort.SessionOptions()
        so.intra_op_num_threads = int(env.get("ORT_INTRA_OP_THREADS", "1"))
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(model_dir / "model.onnx"), so, providers=["CPUExecutionProvider"])
        # PEER_REASONS=1: every REVIEW/DECLINE explained with XGBoost's pred_contribs (bench/peers/peer_reasons.py).
        self.reasons = None
        if env.get("PEER_REASONS") == "1":
            from peer_reasons import PeerReasons

            self.reasons = PeerReasons(model_dir, REPO / "schemas" / "reason-codes.json", list(meta["feature_names"]), int(env.get("REASONS_MAX", "4")))
        self.input_name, self.output_name = meta["input_name"], meta["output_probability_name"]

        self.registry = SchemaRegistryClient({"url": env["SCHEMA_REGISTRY_URL"], "timeout": 10})
        self.deserialize = AvroDeserializer(self.registry, schema_text("loan-application"))
        self.ser_dec = AvroSerializer(self.registry, schema_text("loan-decision"))
        self.ser_log = AvroSerializer(self.registry, schema_text("scoring-log"))
        self.ser_dlq = AvroSerializer(self.registry, schema_text("dead-letter"))
        self.ctx_dec = SerializationContext(self.topic_dec, MessageField.VALUE)
        self.ctx_log = SerializationContext(self.topic_log, MessageField.VALUE)
        self.ctx_dlq = SerializationContext(self.topic_dlq, MessageField.VALUE)
        self.schema_ok: dict[int, bool] = {}  # schema id -> is a LoanApplication (unknown ids: False too)
        self.schema_err: dict[int, tuple[str, str]] = {}
        self.get_features = itemgetter(*self.features)

        brokers = env["KAFKA_BROKERS"]
        debug = {"debug": env["PEER_DEBUG"]} if env.get("PEER_DEBUG") else {}
        self.consumer = Consumer({
            **debug,
            "bootstrap.servers": brokers,
            "group.id": env["PEER_GROUP_ID"],
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
        })
        self.delivery_errors: list[str] = []
        self.producer = Producer({
            "bootstrap.servers": brokers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 1_000_000,
            "delivery.report.only.error": True,
            "on_delivery": self._on_delivery,
        })
        self.running = True

    def warm_up(self) -> None:
        """Registers the output schemas and resolves the input schema before consuming, as the scorer does at
        start-up: the first batch then makes no registry calls (lazy registration would put them on the
        first batch's latency)."""
        sample = {
            "application_id": "warm-up", "probability_of_default": 0.5, "predicted_class": 1, "risk_category": "LOW",
            "decision": "APPROVE", "model_name": self.model_name, "model_version": self.model_version, "submitted_at": 0,
            "scored_at": 0, "source_topic": self.topic_in, "source_partition": 0, "source_offset": 0,
        }
        self.ser_dec(sample, self.ctx_dec)
        self.ser_log({**sample, "features": dict.fromkeys(self.features, 1.0), "inference_latency_ms": 0.0, "batch_size": 1,
                      "shadow_model_version": None, "shadow_probability": None}, self.ctx_log)
        self.ser_dlq({"error_code": "VALIDATION_FAILED", "reason": "warm-up", "field_errors": [], "original_key": None,
                      "original_value": None, "source_topic": self.topic_in, "source_partition": 0, "source_offset": 0,
                      "source_timestamp": 0, "failed_at": 0, "service": self.service}, self.ctx_dlq)
        try:
            self._check_schema(self.registry.get_latest_version(f"{self.topic_in}-value").schema_id)
        except SchemaRegistryError as e:
            if e.http_status_code != 404:  # no producer has registered the input schema yet: resolved lazily
                raise

    def _on_delivery(self, err, msg) -> None:
        if err is not None:
            self.delivery_errors.append(f"{msg.topic()}: {err}")

    def _on_assign(self, consumer, partitions) -> None:
        print(f"peer-a: joined {[p.partition for p in partitions]}", flush=True)

    # ------------------------------------------------------------------------------------- decode
    def _check_schema(self, schema_id: int) -> bool:
        """Whether schema_id is a LoanApplication; remembers unknown and foreign ids (no registry flood)."""
        try:
            schema = self.registry.get_schema(schema_id)
            parsed = json.loads(schema.schema_str)
            name = f"{parsed.get('namespace', '')}.{parsed.get('name', '')}" if isinstance(parsed, dict) else ""
            ok = name == APPLICATION_RECORD
            if not ok:
                self.schema_err[schema_id] = ("DECODE_WRONG_SCHEMA", f"schema id {schema_id} is {name or 'not a record'}, expected {APPLICATION_RECORD}")
        except SchemaRegistryError as e:
            if e.http_status_code != 404:
                raise
            ok = False
            self.schema_err[schema_id] = ("DECODE_UNKNOWN_SCHEMA", f"schema id {schema_id} is not known to the schema registry")
        self.schema_ok[schema_id] = ok
        return ok

    def _decode(self, value: bytes | None):
        """Returns (record, None) or (None, (code, reason))."""
        if not value:
            return None, ("DECODE_MALFORMED", "empty message value")
        if value[0] != 0:
            return None, ("DECODE_MAGIC_BYTE", f"first byte is 0x{value[0]:02x}, expected magic byte 0x00")
        if len(value) < 5:
            return None, ("DECODE_MALFORMED", "shorter than the wire-format header")
        sid = int.from_bytes(value[1:5], "big")
        ok = self.schema_ok.get(sid)
        if ok is None:
            ok = self._check_schema(sid)
        if not ok:
            return None, self.schema_err[sid]
        try:
            # No SerializationContext: without one the deserializer skips its per-message data-contract
            # rule machinery (inline tags, rule phases; we configure no rules), about a third of its time.
            return self.deserialize(value, None), None
        except Exception as e:  # fastavro raises EOFError, ValueError, ... for bytes that are not Avro
            return None, ("DECODE_MALFORMED", f"not valid Avro for schema id {sid}: {e}")

    # ------------------------------------------------------------------------------------- batch
    def _dead_letter(self, msg, code: str, reason: str, field_errors: list[dict], now: int) -> None:
        record = {
            "error_code": code,
            "reason": reason,
            "field_errors": field_errors,
            "original_key": msg.key(),
            "original_value": msg.value(),
            "source_topic": msg.topic(),
            "source_partition": msg.partition(),
            "source_offset": msg.offset(),
            "source_timestamp": msg.timestamp()[1],
            "failed_at": now,
            "service": self.service,
        }
        self.producer.produce(self.topic_dlq, self.ser_dlq(record, self.ctx_dlq), msg.key())

    def process(self, msgs: list) -> None:
        now = int(time.time() * 1000)
        produce = self.producer.produce
        decoded, apps = [], []
        for m in msgs:
            err = m.error()
            if err is not None:
                raise KafkaException(err)
            rec, bad = self._decode(m.value())
            if bad is not None:
                self._dead_letter(m, bad[0], bad[1], [], now)
            else:
                decoded.append(m)
                apps.append(rec)
        if apps:
            X = np.array([self.get_features(a) for a in apps], dtype=np.float64)
            violations = rule_violations(X, self.features, BOUNDS)
            violations.update(submitted_at_violations(np.array([epoch_ms(a["submitted_at"]) for a in apps], dtype=np.int64), now, BOUNDS))
            invalid = np.logical_or.reduce(list(violations.values()))
            ids = [a["application_id"] for a in apps]
            for i, aid in enumerate(ids):
                if not 0 < len(aid) <= 128:
                    invalid[i] = True
            if invalid.any():
                for i in np.flatnonzero(invalid).tolist():
                    errors = [{"field": RULE_FIELDS.get(rule, "(record)"), "rule": rule, "message": "rule broken"} for rule, mask in violations.items() if mask[i]]
                    if not 0 < len(ids[i]) <= 128:
                        errors.append({"field": "application_id", "rule": "length 1-128", "message": "must be 1 to 128 characters"})
                    self._dead_letter(decoded[i], "VALIDATION_FAILED", "; ".join(f"{e['field']} {e['rule']}" for e in errors), errors, now)
                keep = np.flatnonzero(~invalid).tolist()
                decoded, apps, ids, X = [decoded[i] for i in keep], [apps[i] for i in keep], [ids[i] for i in keep], X[~invalid]
        if apps:
            t0 = time.perf_counter()
            out = self.session.run([self.output_name], {self.input_name: X.astype(np.float32)})[0]
            inference_ms = (time.perf_counter() - t0) * 1000
            p = out[:, self.prob_col].astype(np.float64)
            pred = (p >= CLASSIFICATION_THRESHOLD).astype(np.int64).tolist()
            risk = np.where(p >= RISK_HIGH_AT, "HIGH", np.where(p >= RISK_MEDIUM_AT, "MEDIUM", "LOW")).tolist()
            decision = np.where(p >= DECLINE_AT, "DECLINE", np.where(p >= REVIEW_AT, "REVIEW", "APPROVE")).tolist()
            reasons: list[list[dict]] = [[] for _ in range(len(apps))]
            if self.reasons is not None:
                adverse = [i for i, d in enumerate(decision) if d != "APPROVE"]
                for i, r in zip(adverse, self.reasons.explain(X[adverse])):
                    reasons[i] = r
            rows = X.tolist()
            p = p.tolist()
            scored_at = int(time.time() * 1000)
            n, features = len(apps), self.features
            ser_dec, ser_log, ctx_dec, ctx_log = self.ser_dec, self.ser_log, self.ctx_dec, self.ctx_log
            for i in range(n):
                m, aid = decoded[i], ids[i]
                submitted = epoch_ms(apps[i]["submitted_at"])
                topic, part, off = m.topic(), m.partition(), m.offset()
                d = {
                    "application_id": aid,
                    "probability_of_default": p[i],
                    "predicted_class": pred[i],
                    "risk_category": risk[i],
                    "decision": decision[i],
                    "model_name": self.model_name,
                    "model_version": self.model_version,
                    "submitted_at": submitted,
                    "scored_at": scored_at,
                    "source_topic": topic,
                    "source_partition": part,
                    "source_offset": off,
                    "reasons": reasons[i],
                }
                log = {
                    "application_id": aid,
                    "submitted_at": submitted,
                    "scored_at": scored_at,
                    "features": dict(zip(features, rows[i])),
                    "probability_of_default": p[i],
                    "predicted_class": pred[i],
                    "risk_category": risk[i],
                    "decision": decision[i],
                    "model_name": self.model_name,
                    "model_version": self.model_version,
                    "inference_latency_ms": inference_ms,
                    "batch_size": n,
                    "source_topic": topic,
                    "source_partition": part,
                    "source_offset": off,
                    "shadow_model_version": None,
                    "shadow_probability": None,
                    "reason_codes": [r["code"] for r in reasons[i]],
                }
                key = m.key()
                produce(self.topic_dec, ser_dec(d, ctx_dec), key)
                produce(self.topic_log, ser_log(log, ctx_log), key)
        # At-least-once: every output acknowledged by the broker before the offsets are committed.
        self.producer.flush()
        if self.delivery_errors:
            raise KafkaException(f"delivery failed: {self.delivery_errors[:3]}")
        last: dict[tuple[str, int], int] = {}
        for m in msgs:
            last[(m.topic(), m.partition())] = m.offset()
        self.consumer.commit(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()], asynchronous=True)

    # ------------------------------------------------------------------------------------- loop
    def run(self) -> None:
        self.warm_up()
        self.consumer.subscribe([self.topic_in], on_assign=self._on_assign)
        consume, max_batch = self.consumer.consume, self.max_batch
        try:
            while self.running:
                # Take what is already fetched without waiting; block only when nothing is queued.
                msgs = consume(max_batch, 0)
                if not msgs:
                    msgs = consume(1, 0.2)
                    if msgs:
                        msgs += consume(max_batch - 1, 0)
                if msgs:
                    self.process(msgs)
        finally:
            self.producer.flush(10)
            self.consumer.close()  # commits nothing more (auto-commit is off); leaves the group


def main() -> int:
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where every thread is
    peer = PeerA(dict(os.environ))

    def stop(*_):
        peer.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    peer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
