"""Kafka and schema-registry settings, and topic names from ``infra/topics.json``.

Order of precedence: the environment (``KAFKA_BROKERS``, ``SCHEMA_REGISTRY_URL``, ``TOPIC_*``),
then ``.local/stack.env`` (written by ``make stack``), then the local stack's defaults.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.paths import REPO_ROOT

STACK_ENV = REPO_ROOT / ".local" / "stack.env"
TOPICS_FILE = REPO_ROOT / "infra" / "topics.json"
DEFAULT_BROKERS = "127.0.0.1:19092"
DEFAULT_REGISTRY_URL = "http://127.0.0.1:18081/apis/ccompat/v7"


@dataclass(frozen=True)
class KafkaSettings:
    """Where the cluster and the registry are.

    Attributes
    ----------
    brokers : str
        Comma-separated ``host:port`` list (librdkafka ``bootstrap.servers``).
    registry_url : str
        Base URL of the Confluent-compatible schema registry API.
    """

    brokers: str
    registry_url: str


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
    """
    env = os.environ if env is None else env
    file_values = {} if env.get("KAFKA_BROKERS") else read_env_file(stack_env)
    brokers = env.get("KAFKA_BROKERS") or file_values.get("KAFKA_BROKERS") or DEFAULT_BROKERS
    registry = env.get("SCHEMA_REGISTRY_URL") or file_values.get("SCHEMA_REGISTRY_URL") or DEFAULT_REGISTRY_URL
    return KafkaSettings(brokers=brokers, registry_url=registry.rstrip("/"))


def topics_file(path: Path = TOPICS_FILE) -> dict[str, Any]:
    """Return the parsed ``infra/topics.json``."""
    return json.loads(path.read_text(encoding="utf-8"))


def topic_definition(role: str, path: Path = TOPICS_FILE) -> dict[str, Any]:
    """Return one topic role's definition, with ``partitions`` and ``replicationFactor`` resolved.

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
    definition.setdefault("replicationFactor", spec["defaults"]["replicationFactor"])
    return definition


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
