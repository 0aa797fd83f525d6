"""The local Kafka's cluster ids: what kafka-storage format accepts."""

from __future__ import annotations

import base64

from symbiosis.local_kafka import new_cluster_id


def test_cluster_ids_are_16_random_bytes_and_never_look_like_an_option() -> None:
    ids = [new_cluster_id() for _ in range(5_000)]  # one in 64 draws starts with "-"
    assert not any(i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
