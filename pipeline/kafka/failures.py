"""Turning librdkafka's connection errors into one clear, non-retriable message.

librdkafka retries a refused authentication or an untrusted certificate forever and reports it
only through the ``error_cb`` callback; a metadata call then just times out. :class:`ErrorLog` records
what the callback saw and :func:`explain` names the cause and the variable to fix. Messages never
contain a password or a key (librdkafka's own texts do not either).
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError

from pipeline.errors import PipelineError


class ErrorLog:
    """An ``error_cb`` that keeps the client-level errors librdkafka reports."""

    def __init__(self) -> None:
        self.errors: list[KafkaError] = []

    def __call__(self, error: KafkaError) -> None:
        self.errors.append(error)

    def config(self) -> dict[str, Any]:
        """The librdkafka settings that route errors here."""
        return {"error_cb": self}


def explain(errors: list[KafkaError], principal: str) -> PipelineError | None:
    """Return the non-retriable error a recorded client error stands for, if any.

    Examples
    --------
    >>> class E:
    ...     def code(self): return KafkaError._AUTHENTICATION
    ...     def str(self): return "SASL authentication error: Authentication failed"
    >>> explain([E()], "pipeline").code
    'KAFKA_AUTH_FAILED'
    """
    for error in errors:
        code, text = error.code(), error.str()
        if code == KafkaError._AUTHENTICATION or "SASL authentication error" in text:
            return PipelineError(
                "KAFKA_AUTH_FAILED",
                f"SASL authentication as {principal!r} failed: the broker rejected the credentials; check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (and KAFKA_SASL_MECHANISM)",
            )
        if code == KafkaError._SSL or "SSL handshake failed" in text:
            if "certificate verify failed" in text:
                return PipelineError("KAFKA_TLS_FAILED", "TLS to the brokers: the broker's certificate is not trusted; set KAFKA_SSL_CA_FILE to the PEM of the CA that signed it")
            if "certificate required" in text or "alert" in text:
                return PipelineError("KAFKA_TLS_FAILED", "TLS to the brokers: the broker refused the client certificate or requires one (KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE)")
            return PipelineError("KAFKA_TLS_FAILED", f"TLS to the brokers failed ({text.split(':')[-1].strip()}); check KAFKA_SSL, KAFKA_SSL_CA_FILE and KAFKA_BROKERS")
    return None


def not_authorized(principal: str, topic: str, operation: str) -> PipelineError:
    """The error of a topic the principal may not use."""
    return PipelineError("KAFKA_NOT_AUTHORIZED", f"User:{principal} is not authorized to {operation} topic {topic}; grant it in infra/acls.json (make acls)")
