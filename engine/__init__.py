"""Partita's engine: a local multi-broker Kafka that speaks the Kafka wire protocol."""
