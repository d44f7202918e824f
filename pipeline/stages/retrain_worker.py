"""Retrain worker: runs the retrain loop when a drift monitor asks for one (``DRIFT_RETRAIN=notify``).

Consumes the RETRAIN requests the drift monitor publishes on ``drift-alerts`` as a member of one consumer
group (``RETRAIN_GROUP_ID``), so with several replicas exactly one runs each request. A request runs
``python -m pipeline.stages.retrain`` (extract -> train -> gate -> export -> register -> promote) with the
drift window in its environment (the promotion's approval records it), and its outcomes go back to
``drift-alerts`` as RETRAIN events (``started``, ``succeeded``, ``failed``, ``gave_up``), as the drift
monitor's in-process loop records them. The request's offset is committed once it is settled: a worker
that dies mid-run leaves the request to the next owner. A run that exits 75 (a dependency unavailable)
is tried again, up to ``RETRAIN_MAX_ATTEMPTS``. ``GET /health`` and ``GET /ready`` on ``HTTP_PORT``.

Usage::

    python -m pipeline.stages.retrain_worker
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.errors import PipelineError
from pipeline.kafka.group import GroupMember
from pipeline.kafka.produce import produce_all
from pipeline.kafka.registry import Decoded, SchemaRegistry
from pipeline.kafka.retrain_events import DRIFT_ALERT, RetrainRequest, outcome_alert, retrain_request
from pipeline.kafka.settings import CONNECTION_ENV, KafkaSettings, kafka_settings, topic_name
from pipeline.population.validation import parse_duration_ms
from pipeline.stages import ops_http
from pipeline.stages.common import EXIT_ERROR, EXIT_OK, EXIT_RETRY
from pipeline.store.client import STORE_ENV, store_url

WORKER_ENV = {
    "RETRAIN_GROUP_ID": "pipeline-retrain-worker",
    "RETRAIN_DEPLOYMENT": "",
    "RETRAIN_SOURCE": "kafka",
    "RETRAIN_SINCE": "",
    "RETRAIN_PARAMS": "",
    "RETRAIN_MAX_ATTEMPTS": "3",
    "RETRAIN_TIMEOUT": "1h",
    "MODELS_DIR": "",
    "MLFLOW_TRACKING_URI": "",
    STORE_ENV: "",
    "HTTP_HOST": "0.0.0.0",
    "HTTP_PORT": "8080",
    "SHUTDOWN_TIMEOUT": "30s",
}
"""The worker's own variables and their defaults (an empty value means the default)."""

VARIABLES = tuple(WORKER_ENV) + CONNECTION_ENV
"""Every variable the worker reads (the Helm chart's test checks each is wired); the topic names
(``TOPIC_*``) and input bounds (``MAX_*``, ``SUBMITTED_AT_*``) come on top, from their files."""


@dataclass(frozen=True)
class WorkerConfig:
    """The worker's settings, validated once."""

    group_id: str
    deployment: str | None
    source: str
    since: str | None
    params: str | None
    max_attempts: int
    timeout_s: float
    models_dir: str | None
    store_url: str | None
    http_host: str
    http_port: int
    shutdown_timeout_s: float


def _duration_s(env: Mapping[str, str], name: str) -> float:
    ms = parse_duration_ms(env.get(name) or WORKER_ENV[name])
    if ms is None or ms <= 0:
        raise PipelineError("CONFIG_INVALID", f"{name}: must be a duration like 30s, 5m, 1h (got {env.get(name)!r})")
    return ms / 1000


def _int(env: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = env.get(name) or WORKER_ENV[name]
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise PipelineError("CONFIG_INVALID", f"{name}: must be a whole number in {low}..{high} (got {raw!r})")
    return int(raw)


def load_config(env: Mapping[str, str] | None = None) -> WorkerConfig:
    """Return the worker's settings from the environment; errors name the variable.

    Examples
    --------
    >>> c = load_config({"RETRAIN_DEPLOYMENT": "eu", "HTTP_PORT": "9000"})
    >>> c.group_id, c.deployment, c.http_port, c.timeout_s, c.shutdown_timeout_s
    ('pipeline-retrain-worker', 'eu', 9000, 3600.0, 30.0)
    >>> load_config({"RETRAIN_SOURCE": "ftp"})
    Traceback (most recent call last):
    ...
    pipeline.errors.PipelineError: CONFIG_INVALID: RETRAIN_SOURCE: must be kafka, generate or file (got 'ftp')
    """
    env = os.environ if env is None else env
    source = env.get("RETRAIN_SOURCE") or WORKER_ENV["RETRAIN_SOURCE"]
    if source not in ("kafka", "generate", "file"):
        raise PipelineError("CONFIG_INVALID", f"RETRAIN_SOURCE: must be kafka, generate or file (got {source!r})")
    group = env.get("RETRAIN_GROUP_ID") or WORKER_ENV["RETRAIN_GROUP_ID"]
    return WorkerConfig(
        group_id=group,
        deployment=env.get("RETRAIN_DEPLOYMENT") or None,
        source=source,
        since=env.get("RETRAIN_SINCE") or None,
        params=env.get("RETRAIN_PARAMS") or None,
        max_attempts=_int(env, "RETRAIN_MAX_ATTEMPTS", 1, 100),
        timeout_s=_duration_s(env, "RETRAIN_TIMEOUT"),
        models_dir=env.get("MODELS_DIR") or None,
        store_url=store_url(env),
        http_host=env.get("HTTP_HOST") or WORKER_ENV["HTTP_HOST"],
        http_port=_int(env, "HTTP_PORT", 0, 65535),
        shutdown_timeout_s=_duration_s(env, "SHUTDOWN_TIMEOUT"),
    )


def retrain_command(config: WorkerConfig, request: RetrainRequest) -> list[str]:
    """Return the retrain command for a request.

    Examples
    --------
    >>> r = RetrainRequest("d", 5, ("score",), 0, 1, "1", {})
    >>> retrain_command(load_config({"RETRAIN_SINCE": "30d"}), r)[1:]
    ['-m', 'pipeline.stages.retrain', '--source', 'kafka', '--champion', 'kafka', '--reason', 'retrain worker: drift on score (d/1:5)', '--since', '30d']
    """
    cmd = [sys.executable, "-m", "pipeline.stages.retrain", "--source", config.source, "--champion", "kafka"]
    cmd += ["--reason", f"retrain worker: drift on {', '.join(request.targets) or 'the scoring log'} ({request.key})"]
    for flag, value in (("--since", config.since), ("--params", config.params), ("--models-dir", config.models_dir)):
        if value:
            cmd += [flag, value]
    return cmd


class Worker:
    """The loop: one request at a time, membership kept alive while a run goes on."""

    def __init__(self, config: WorkerConfig, settings: KafkaSettings) -> None:
        self.config = config
        self.settings = settings
        self.topic = topic_name("driftAlerts")
        self.registry = SchemaRegistry.from_settings(settings)
        self.stop = threading.Event()
        self.state = "starting"
        self.failure: str | None = None
        self.member: GroupMember | None = None
        self._schema_id: int | None = None
        self.last_output = ""

    def not_alive(self) -> list[str]:
        """Liveness: failing only when the consumer failed for good."""
        return [self.failure] if self.failure else []

    def not_ready(self) -> list[str]:
        """Readiness: ready once the group has taken this member in."""
        if self.failure:
            return [self.failure]
        return [] if self.member is not None and self.member.joined else ["joining the consumer group"]

    def record(self, request: RetrainRequest, outcome: str, detail: str, attempt: int) -> None:
        """Publish one outcome of a request on drift-alerts."""
        if self._schema_id is None:
            self._schema_id = self.registry.register_value_schema(self.topic, "drift-alert")
        value = outcome_alert(request, outcome, detail, attempt)
        produce_all(self.settings, self.topic, [(value["dedup_key"].encode(), self.registry.encode(self._schema_id, value))])
        print(f"retrain worker: {request.key} {outcome} (attempt {attempt}){': ' + detail[-300:] if detail else ''}", flush=True)

    def run_once(self, request: RetrainRequest, attempt: int) -> int | None:
        """Run the retrain command; return its exit code, or None when it was stopped (shutdown, timeout)."""
        env = {**os.environ, **request.drift_env()}
        child = subprocess.Popen(retrain_command(self.config, request), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        tail: list[str] = []
        reader = threading.Thread(target=lambda: [tail.append(line) for line in child.stdout], daemon=True)  # type: ignore[union-attr]
        reader.start()
        deadline = time.monotonic() + self.config.timeout_s
        stop_deadline: float | None = None
        while child.poll() is None:
            assert self.member is not None
            self.member.poll(0.5)  # paused: returns nothing, keeps the membership
            if self.stop.is_set() and stop_deadline is None:
                stop_deadline = time.monotonic() + max(1.0, self.config.shutdown_timeout_s - 5)
            if time.monotonic() > deadline or (stop_deadline is not None and time.monotonic() > stop_deadline):
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                reader.join(5)
                self.last_output = "".join(tail[-40:]) + ("\n[stopped: the worker is shutting down]" if self.stop.is_set() else f"\n[killed after RETRAIN_TIMEOUT {self.config.timeout_s:.0f}s]")
                return None if self.stop.is_set() else EXIT_RETRY
        reader.join(5)
        self.last_output = "".join(tail[-40:])
        return child.returncode

    def handle(self, request: RetrainRequest) -> bool:
        """Settle one request; return False when shutdown interrupted it (its offset stays uncommitted)."""
        self.state = "running"
        for attempt in range(1, self.config.max_attempts + 1):
            self.record(request, "started", " ".join(retrain_command(self.config, request)[1:]), attempt)
            code = self.run_once(request, attempt)
            if code is None:
                return False
            print(self.last_output, flush=True)
            if code == EXIT_OK:
                self.record(request, "succeeded", self.last_output, attempt)
                return True
            if code != EXIT_RETRY:
                self.record(request, "failed", f"exit {code}: {self.last_output}", attempt)
                return True
            if attempt == self.config.max_attempts:
                self.record(request, "gave_up", f"exit {code} after {attempt} attempts (RETRAIN_MAX_ATTEMPTS): {self.last_output}", attempt)
                return True
            self.stop.wait(min(60.0, 2.0**attempt))
            if self.stop.is_set():
                return False
        return True

    def loop(self) -> int:
        """Consume requests until stopped; return the exit code."""
        self.member = GroupMember(self.settings, self.topic, self.config.group_id)
        self.state = "waiting"
        try:
            while not self.stop.is_set():
                message = self.member.poll(0.5)
                if message is None:
                    continue
                decoded = self.registry.decode(message.value(), DRIFT_ALERT)
                request = retrain_request(decoded.value, self.config.deployment) if isinstance(decoded, Decoded) else None
                if request is not None:
                    self.member.pause()
                    settled = self.handle(request)
                    self.member.resume()
                    self.state = "waiting"
                    if not settled:
                        break
                self.member.commit(message)
        except PipelineError as e:
            self.failure = e.message
            print(f"retrain worker: {e}", file=sys.stderr, flush=True)
            return EXIT_RETRY if e.retriable else EXIT_ERROR
        finally:
            self.state = "stopping"
            self.member.close()
        return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: run until SIGTERM/SIGINT; 0 on a clean stop, 2 bad configuration, 75 unavailable."""
    if argv:
        print(__doc__, file=sys.stderr)
        return EXIT_ERROR
    try:
        config = load_config()
        settings = kafka_settings()
    except PipelineError as e:
        print(f"error {e.code}: {e.message}", file=sys.stderr)
        return EXIT_ERROR
    worker = Worker(config, settings)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stop.set())
    server = ops_http.start(config.http_host, config.http_port, lambda: worker.state, worker.not_alive, worker.not_ready)
    print(f"retrain worker: group {config.group_id} on {worker.topic}, ops http://{config.http_host}:{server.server_address[1]}", flush=True)
    try:
        return worker.loop()
    finally:
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
