"""Kafka and schema-registry settings, and topic names from ``infra/topics.json``.

Order of precedence: the environment (``KAFKA_BROKERS``, ``SCHEMA_REGISTRY_URL``, ``TOPIC_*``),
then ``.local/stack.env`` (written by ``make stack``), then the local stack's defaults.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.paths import REPO_ROOT
from pipeline.population.validation import parse_duration_ms

STACK_ENV = REPO_ROOT / ".local" / "stack.env"
TOPICS_FILE = REPO_ROOT / "infra" / "topics.json"
DEFAULT_BROKERS = "127.0.0.1:19092"
DEFAULT_REGISTRY_URL = "http://127.0.0.1:18081/apis/ccompat/v7"
DEFAULT_CLIENT_ID = "credit-risk"
DEFAULT_CONNECTION_TIMEOUT = "10s"
SASL_MECHANISMS = ("plain", "scram-sha-256", "scram-sha-512")
CONNECTION_ENV = (
    "KAFKA_BROKERS",
    "KAFKA_SSL",
    "KAFKA_SSL_CA_FILE",
    "KAFKA_SSL_CERT_FILE",
    "KAFKA_SSL_KEY_FILE",
    "KAFKA_SSL_KEY_PASSWORD",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "SCHEMA_REGISTRY_URL",
    "SCHEMA_REGISTRY_CA_FILE",
    "SCHEMA_REGISTRY_USERNAME",
    "SCHEMA_REGISTRY_PASSWORD",
)
"""The variables :func:`kafka_settings` reads (the TypeScript services' ``connectionEnv`` names)."""


@dataclass(frozen=True)
class KafkaSettings:
    """Where the cluster and the registry are.

    Attributes
    ----------
    brokers : str
        Comma-separated ``host:port`` list (librdkafka ``bootstrap.servers``).
    registry_url : str
        Base URL of the Confluent-compatible schema registry API.
    client_id : str
        ``KAFKA_CLIENT_ID``, the prefix of the clients' ids (``<prefix>-pipeline``), as the services'.
    connection_timeout_ms : int
        ``KAFKA_CONNECTION_TIMEOUT``: how long one TCP (and TLS) connection set-up may take.
    """

    brokers: str
    registry_url: str
    client_id: str = DEFAULT_CLIENT_ID
    connection_timeout_ms: int = 10_000
    ssl: bool = False
    ssl_ca_file: str | None = None
    ssl_cert_file: str | None = None
    ssl_key_file: str | None = None
    ssl_key_password: str | None = field(default=None, repr=False)
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    registry_ca_file: str | None = None
    registry_username: str | None = None
    registry_password: str | None = field(default=None, repr=False)

    @property
    def principal(self) -> str:
        """The principal the broker sees: the SASL user, else the certificate's owner, else ANONYMOUS."""
        if self.sasl_username:
            return self.sasl_username
        return "(client certificate)" if self.ssl_cert_file else "ANONYMOUS"

    def client_config(self) -> dict[str, Any]:
        """Return the librdkafka (confluent-kafka) settings of this cluster: brokers, TLS and SASL.

        The same variables as the TypeScript services (README "Configuration", "Security"):
        ``KAFKA_CLIENT_ID`` (``client.id`` ``<prefix>-pipeline``), ``KAFKA_CONNECTION_TIMEOUT``
        (``socket.connection.setup.timeout.ms``), ``KAFKA_SSL``, ``KAFKA_SSL_CA_FILE``,
        ``KAFKA_SSL_CERT_FILE``/``KAFKA_SSL_KEY_FILE`` (mTLS), ``KAFKA_SASL_MECHANISM``/``USERNAME``/``PASSWORD``.

        Examples
        --------
        >>> s = KafkaSettings("k:9093", "http://r", ssl=True, sasl_mechanism="scram-sha-512", sasl_username="u", sasl_password="s3cret")
        >>> c = s.client_config()
        >>> c["security.protocol"], c["sasl.mechanism"], c["sasl.username"]
        ('SASL_SSL', 'SCRAM-SHA-512', 'u')
        >>> "s3cret" in repr(s)
        False
        >>> c["client.id"], c["socket.connection.setup.timeout.ms"]
        ('credit-risk-pipeline', 10000)
        """
        config: dict[str, Any] = {
            "bootstrap.servers": self.brokers,
            "client.id": f"{self.client_id}-pipeline",
            "socket.connection.setup.timeout.ms": self.connection_timeout_ms,
        }
        tls = self.ssl or bool(self.ssl_ca_file) or bool(self.ssl_cert_file)
        if self.sasl_mechanism:
            config["security.protocol"] = "SASL_SSL" if tls else "SASL_PLAINTEXT"
            config["sasl.mechanism"] = self.sasl_mechanism.upper()
            config["sasl.username"] = self.sasl_username
            config["sasl.password"] = self.sasl_password
        elif tls:
            config["security.protocol"] = "SSL"
        if self.ssl_ca_file:
            config["ssl.ca.location"] = self.ssl_ca_file
        if self.ssl_cert_file:
            config["ssl.certificate.location"] = self.ssl_cert_file
            config["ssl.key.location"] = self.ssl_key_file
            if self.ssl_key_password:
                config["ssl.key.password"] = self.ssl_key_password
        return config


def read_env_file(path: Path) -> dict[str, str]:
    """Parse ``export KEY=VALUE`` / ``KEY=VALUE`` lines (comments and blanks ignored).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "env"
    >>> _ = p.write_text("# x\\nexport A=1\\nB='two'\\n")
    >>> read_env_file(p)
    {'A': '1', 'B': 'two'}
    """
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if match and not line.lstrip().startswith("#"):
            values[match.group(1)] = match.group(2).strip().strip("'\"")
    return values


def kafka_settings(env: Mapping[str, str] | None = None, stack_env: Path = STACK_ENV) -> KafkaSettings:
    """Return the cluster settings (environment, else ``.local/stack.env``, else local defaults).

    Parameters
    ----------
    env : mapping, optional
        Environment variables; defaults to ``os.environ``.
    stack_env : pathlib.Path, optional
        The env file ``make stack`` writes.

    Returns
    -------
    KafkaSettings

    Examples
    --------
    >>> kafka_settings({"KAFKA_BROKERS": "k:9092", "SCHEMA_REGISTRY_URL": "http://r/"}).registry_url
    'http://r'
    >>> s = kafka_settings({"KAFKA_BROKERS": "k:9092", "KAFKA_CLIENT_ID": "team-a", "KAFKA_CONNECTION_TIMEOUT": "3s"})
    >>> s.client_config()["client.id"], s.client_config()["socket.connection.setup.timeout.ms"]
    ('team-a-pipeline', 3000)
    """
    env = os.environ if env is None else env
    file_values = {} if env.get("KAFKA_BROKERS") else read_env_file(stack_env)
    brokers = env.get("KAFKA_BROKERS") or file_values.get("KAFKA_BROKERS") or DEFAULT_BROKERS
    registry = env.get("SCHEMA_REGISTRY_URL") or file_values.get("SCHEMA_REGISTRY_URL") or DEFAULT_REGISTRY_URL
    source = env if env.get("KAFKA_BROKERS") else {**file_values, **{k: v for k, v in env.items() if v}}

    def get(name: str) -> str | None:
        return source.get(name) or None

    mechanism = get("KAFKA_SASL_MECHANISM")
    if mechanism is not None and mechanism.lower() not in SASL_MECHANISMS:
        raise PipelineError("CONFIG_INVALID", f"KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}, got {mechanism!r}")
    if mechanism and not (get("KAFKA_SASL_USERNAME") and get("KAFKA_SASL_PASSWORD")):
        raise PipelineError("CONFIG_INVALID", "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required when KAFKA_SASL_MECHANISM is set")
    if bool(get("KAFKA_SSL_CERT_FILE")) != bool(get("KAFKA_SSL_KEY_FILE")):
        raise PipelineError("CONFIG_INVALID", "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (a client certificate needs its private key)")
    for variable in ("KAFKA_SSL_CA_FILE", "KAFKA_SSL_CERT_FILE", "KAFKA_SSL_KEY_FILE", "SCHEMA_REGISTRY_CA_FILE"):
        path = get(variable)
        if path is not None and not Path(path).is_file():
            raise PipelineError("CONFIG_INVALID", f"{variable}: cannot read {path}: no such file")
    timeout_raw = get("KAFKA_CONNECTION_TIMEOUT") or DEFAULT_CONNECTION_TIMEOUT
    timeout_ms = parse_duration_ms(timeout_raw)
    if timeout_ms is None or timeout_ms < 1:
        raise PipelineError("CONFIG_INVALID", f"KAFKA_CONNECTION_TIMEOUT must be a duration like 500ms, 30s, 5m (got {timeout_raw!r})")
    ssl_flag = (get("KAFKA_SSL") or "false").lower()
    if ssl_flag not in ("true", "false", "1", "0", "yes", "no"):
        raise PipelineError("CONFIG_INVALID", f"KAFKA_SSL must be true or false, got {ssl_flag!r}")
    return KafkaSettings(
        brokers=brokers,
        registry_url=registry.rstrip("/"),
        client_id=get("KAFKA_CLIENT_ID") or DEFAULT_CLIENT_ID,
        connection_timeout_ms=timeout_ms,
        ssl=ssl_flag in ("true", "1", "yes"),
        ssl_ca_file=get("KAFKA_SSL_CA_FILE"),
        ssl_cert_file=get("KAFKA_SSL_CERT_FILE"),
        ssl_key_file=get("KAFKA_SSL_KEY_FILE"),
        ssl_key_password=get("KAFKA_SSL_KEY_PASSWORD"),
        sasl_mechanism=mechanism.lower() if mechanism else None,
        sasl_username=get("KAFKA_SASL_USERNAME") if mechanism else None,
        sasl_password=get("KAFKA_SASL_PASSWORD") if mechanism else None,
        registry_ca_file=get("SCHEMA_REGISTRY_CA_FILE"),
        registry_username=get("SCHEMA_REGISTRY_USERNAME"),
        registry_password=get("SCHEMA_REGISTRY_PASSWORD"),
    )


def topics_file(path: Path = TOPICS_FILE) -> dict[str, Any]:
    """Return the parsed ``infra/topics.json``."""
    return json.loads(path.read_text(encoding="utf-8"))


def topic_definition(role: str, path: Path = TOPICS_FILE) -> dict[str, Any]:
    """Return one topic role's definition, with ``partitions`` resolved.

    Examples
    --------
    >>> d = topic_definition("modelUpdates")
    >>> d["partitions"], d["config"]["cleanup.policy"]
    (1, 'compact')
    """
    spec = topics_file(path)
    if role not in spec["topics"]:
        raise PipelineError("CONFIG_INVALID", f"no topic role {role!r} in {path}")
    definition = dict(spec["topics"][role])
    definition.setdefault("partitions", spec["defaults"]["partitions"])
    return definition


def replication_of(definition: Mapping[str, Any]) -> tuple[int, dict[str, str]]:
    """Return ``(replication factor, config)`` for creating a topic role.

    The role's own ``replicationFactor`` / ``minInsyncReplicas`` when ``infra/topics.json`` pins them;
    else replication factor -1 (the cluster's ``default.replication.factor``, KIP-464) and the broker's
    ``min.insync.replicas`` - what the cluster's operator set for its size. The same rule as
    ``replicationOf`` in ``services/shared/kafka/topic-catalog.ts``.

    Examples
    --------
    >>> replication_of(topic_definition("applications"))
    (-1, {})
    >>> replication_of({"replicationFactor": 3, "minInsyncReplicas": 2})
    (3, {'min.insync.replicas': '2'})
    """
    factor = int(definition.get("replicationFactor", -1))
    config = {"min.insync.replicas": str(int(definition["minInsyncReplicas"]))} if "minInsyncReplicas" in definition else {}
    return factor, config


def topic_name(role: str, env: Mapping[str, str] | None = None) -> str:
    """Return the topic name of a role: its env variable (e.g. ``TOPIC_OUTCOMES``) or the default.

    Examples
    --------
    >>> topic_name("outcomes", {}), topic_name("outcomes", {"TOPIC_OUTCOMES": "t-1"})
    ('loan-outcomes', 't-1')
    """
    env = os.environ if env is None else env
    definition = topic_definition(role)
    return env.get(definition["env"]) or definition["name"]
