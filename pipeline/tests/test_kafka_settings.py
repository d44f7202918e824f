"""The pipeline reads the services' connection variables: KAFKA_CLIENT_ID and KAFKA_CONNECTION_TIMEOUT too."""

from __future__ import annotations

import pytest

from pipeline.errors import PipelineError
from pipeline.kafka.settings import kafka_settings


def test_client_id_and_connection_timeout_reach_the_librdkafka_settings():
    config = kafka_settings({"KAFKA_BROKERS": "k:9092", "KAFKA_CLIENT_ID": "team-a", "KAFKA_CONNECTION_TIMEOUT": "2.5s"}).client_config()
    assert config["client.id"] == "team-a-pipeline"
    assert config["socket.connection.setup.timeout.ms"] == 2500


def test_defaults_are_the_services_defaults():
    config = kafka_settings({"KAFKA_BROKERS": "k:9092"}).client_config()
    assert config["client.id"] == "credit-risk-pipeline"
    assert config["socket.connection.setup.timeout.ms"] == 10_000


@pytest.mark.parametrize("raw", ["soon", "0", "-5s"])
def test_a_bad_connection_timeout_names_the_variable(raw):
    with pytest.raises(PipelineError, match="KAFKA_CONNECTION_TIMEOUT"):
        kafka_settings({"KAFKA_BROKERS": "k:9092", "KAFKA_CONNECTION_TIMEOUT": raw})
