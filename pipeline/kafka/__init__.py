"""Kafka and schema-registry edges of the pipeline (confluent-kafka + fastavro, Confluent wire format)."""
