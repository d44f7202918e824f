"""Topics: create every topic of ``infra/topics.json`` that is missing (idempotent), with the admin principal.

The Helm chart's topics Job runs this before install and upgrade; the services then run with
``*_CREATE_TOPICS=false``. Names follow the roles' ``TOPIC_*`` variables.

Usage::

    python -m pipeline.stages.topics
"""

from __future__ import annotations

import sys

from pipeline.kafka.settings import kafka_settings, topic_name, topics_file
from pipeline.kafka.topics import ensure_topic
from pipeline.stages.common import EXIT_OK, parser, run


def ensure_all() -> dict[str, bool]:
    """Create each role's topic if missing.

    Returns
    -------
    dict of str to bool
        Topic name -> True when this call created it.
    """
    settings = kafka_settings()
    return {topic_name(role): ensure_topic(settings, role, topic_name(role)) for role in topics_file()["topics"]}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns 0, or 75 when the cluster is unavailable."""
    parser("topics", __doc__).parse_args(argv)

    def body() -> int:
        for topic, created in ensure_all().items():
            print(f"{topic}: {'created' if created else 'exists'}")
        return EXIT_OK

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
