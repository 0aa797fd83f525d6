"""The registry's records, and the one applier that turns them into a :class:`Directory`.

The registry travels on compacted topics, one per kind of record (sites with their streams,
needs, exchanges), keyed by id; a tombstone (no value) withdraws a need or an exchange (sites
are never deleted). Every process that keeps a directory (the API, the MQTT bridge, webhook
delivery) applies records through :func:`apply_record`; the stream worker decodes them with
:func:`decode_record` and feeds its matcher and ledger.

A new kind of registry record is a model in :mod:`schemas.registry`, a member of
:data:`RegistryKind` with its model in :data:`MODELS`, a case in :func:`apply_record` (and the
:class:`Directory` method it calls), and a topic in the catalogue (:mod:`topics.catalogue`).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel

from domain.directory import Directory
from domain.errors import InvalidRecordError
from schemas.registry import Exchange, Need, Site

RegistryKind = Literal["site", "need", "exchange"]
"""The kinds of registry record, in the order a follower applies them (what a need or an
exchange references comes first)."""

KINDS: Final[tuple[RegistryKind, ...]] = ("site", "need", "exchange")
MODELS: Final[dict[RegistryKind, type[BaseModel]]] = {
    "site": Site,
    "need": Need,
    "exchange": Exchange,
}


def decode_record(kind: RegistryKind, value: bytes | None) -> Site | Need | Exchange | None:
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
    assert isinstance(model, Site | Need | Exchange)
    return model


def apply_record(
    directory: Directory, kind: RegistryKind, key: str, record: Site | Need | Exchange | None
) -> None:
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
    elif record is None:
        directory.remove_exchange(key)
    else:
        assert isinstance(record, Exchange)
        directory.put_exchange(record)
