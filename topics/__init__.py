"""Kafka-side helpers shared by every stage: what the stages read from the registry topics.

Sits above :mod:`schemas` and :mod:`domain` and below the stages (``ingest``, ``streams``,
``sinks``), which never import each other: they meet here and at the topics.
"""
