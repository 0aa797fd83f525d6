"""The registry's records, and the one applier that turns them into a :class:`Directory`.

The registry travels on compacted topics, one per kind of record (sites with their streams,
needs, exchanges, webhook states, companies' OMF types and containers), keyed by id; a
tombstone (no value) withdraws a need, an exchange, a webhook state or an OMF definition
(sites are never deleted). Webhook states are written by the
delivery process (a subscription whose endpoint answered 410 Gone) and withdrawn by the API.
Every process that keeps a directory (the API, the MQTT bridge, webhook delivery) applies
records through :func:`apply_record`; the stream worker decodes them with
:func:`decode_record` and feeds its matcher and ledger (it ignores webhook states and OMF
definitions, which only the API reads data with).

A new kind of registry record is a model in :mod:`schemas.registry`, a member of
:data:`RegistryKind` with its model in :data:`MODELS`, a case in :func:`apply_record` (and the
:class:`Directory` method it calls), and a topic in the catalogue (:mod:`topics.catalogue`).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel

from domain.directory import Directory
from domain.errors import InvalidRecordError
from schemas.omf import OmfRecord
from schemas.registry import Exchange, Need, Site, WebhookState

RegistryKind = Literal["site", "need", "exchange", "webhook_state", "omf"]
"""The kinds of registry record, in the order a follower applies them (what a need or an
exchange references comes first)."""

KINDS: Final[tuple[RegistryKind, ...]] = ("site", "need", "exchange", "webhook_state", "omf")
MODELS: Final[dict[RegistryKind, type[BaseModel]]] = {
    "site": Site,
    "need": Need,
    "exchange": Exchange,
    "webhook_state": WebhookState,
    "omf": OmfRecord,
}

Record = Site | Need | Exchange | WebhookState | OmfRecord
"""A decoded registry record."""


def decode_record(kind: RegistryKind, value: bytes | None) -> Record | None:
    """The record's model, or ``None`` for a tombstone.

    Raises:
        pydantic.ValidationError: the value is not a valid record of that kind.
        InvalidRecordError: a tombstone for a kind that cannot be deleted (sites).
    """
    if value is None:
        if kind == "site":
            raise InvalidRecordError("sites cannot be deleted (tombstone ignored)")
        return None
    model = MODELS[kind].model_validate_json(value)
    assert isinstance(model, Site | Need | Exchange | WebhookState | OmfRecord)
    return model


def apply_record(directory: Directory, kind: RegistryKind, key: str, record: Record | None) -> None:
    """Apply one decoded record (``None``: the tombstone of ``key``) to ``directory``.

    Raises:
        ConfigurationError: the record conflicts with the directory (see :class:`Directory`);
            :class:`~domain.errors.UnknownReferenceError` when it names a site, stream or need
            not applied yet (apply it again later).
    """
    if kind == "site":
        assert isinstance(record, Site)
        directory.put_site(record)
    elif kind == "need":
        if record is None:
            directory.remove_need(key)
        else:
            assert isinstance(record, Need)
            directory.put_need(record)
    elif kind == "omf":
        if record is None:
            directory.remove_omf(key)
        else:
            assert isinstance(record, OmfRecord)
            directory.put_omf(key, record)
    elif kind == "webhook_state":
        if record is None:
            directory.remove_webhook_state(key)
        else:
            assert isinstance(record, WebhookState)
            directory.put_webhook_state(record)
    elif record is None:
        directory.remove_exchange(key)
    else:
        assert isinstance(record, Exchange)
        directory.put_exchange(record)
