"""The topic catalogue agrees with the settings, and registry records apply in one place."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from domain.directory import Directory
from domain.errors import InvalidRecordError, UnknownReferenceError
from domain.registry_records import KINDS, apply_record, decode_record
from runtime.settings import Topics
from schemas.readings import ReadingsRecord
from schemas.registry import Need, Site, SubscriptionDisabled, WebhookState
from topics.catalogue import CATALOGUE, decode, index, registry_kind, topic_of


def test_every_topic_has_one_entry_and_compaction_agrees() -> None:
    topics = Topics()
    assert sorted(s.field for s in CATALOGUE) == sorted(Topics.model_fields)
    configs = topics.configs()
    for spec in CATALOGUE:
        name = getattr(topics, spec.field)
        assert (configs[name].get("cleanup.policy") == "compact") == spec.compacted, name
    assert [registry_kind(index(topics), n) for n in topics.registry()] == list(KINDS)


def test_each_registry_kind_is_published_to_its_one_topic() -> None:
    topics = Topics(streams="park-a.registry.streams")
    assert [topic_of(topics, kind) for kind in KINDS] == topics.registry()
    assert topic_of(topics, "stream") == "park-a.registry.streams"


def test_decode_by_topic_name_follows_the_deployments_names() -> None:
    topics = index(Topics(readings="park-a.readings"))
    assert topics["park-a.readings"].payload is ReadingsRecord
    assert "symbiosis.readings" not in topics
    with pytest.raises(KeyError):
        decode(topics, "symbiosis.readings", b"{}")
    with pytest.raises(ValidationError):
        decode(topics, "park-a.readings", b'{"nope": 1}')
    assert registry_kind(topics, "park-a.readings") is None


def test_records_apply_to_a_directory_in_one_place() -> None:
    d = Directory()
    site = Site(id="s", name="S", company="c", lat=1, lon=1)
    need = Need(id="n", site="s", kind="heat", unit="MW", min_quantity=1)
    with pytest.raises(UnknownReferenceError):  # its site is not there yet: apply it later
        apply_record(d, "need", "n", need)
    apply_record(d, "site", "s", decode_record("site", site.model_dump_json().encode()))
    apply_record(d, "need", "n", decode_record("need", need.model_dump_json().encode()))
    assert d.owner_of_need("n") == "c"
    apply_record(d, "need", "n", decode_record("need", None))  # a tombstone withdraws it
    assert "n" not in d.needs
    assert "n" in d.withdrawn
    with pytest.raises(InvalidRecordError, match="sites cannot be deleted"):
        decode_record("site", None)


def test_a_webhook_state_applies_and_its_tombstone_withdraws_it() -> None:
    d = Directory()
    state = WebhookState(
        need="n", secret_version=1, webhook="https://c.example/hook",  # type: ignore[arg-type]
        disabled=SubscriptionDisabled(reason="gone", status=410, at=datetime.now(UTC)),
    )  # fmt: skip
    value = state.model_dump_json().encode()
    apply_record(d, "webhook_state", "n", decode_record("webhook_state", value))
    assert d.webhook_states["n"] == state
    apply_record(d, "webhook_state", "n", decode_record("webhook_state", None))
    assert "n" not in d.webhook_states
