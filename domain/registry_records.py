"""The registry's records, and the one applier that turns them into a :class:`Directory`.

The registry travels on compacted topics, one per kind of record (site headers, the streams
of sites, needs, exchanges, webhook states, companies' OMF types and containers), keyed by
id; a tombstone (no value) withdraws a stream, a need, an exchange, a webhook state or an OMF
definition (sites are never deleted). A site travels as a header plus one record per stream
(:mod:`domain.site_records`: so no record grows with a site's streams and meters); a
:class:`~domain.site_records.SiteAssembler` makes whole sites of them again, and only a whole
site reaches a directory or a matcher. A site record of the old format (streams embedded) is
still applied as it is. Webhook states are written by the delivery process (a subscription
whose endpoint answered 410 Gone) and withdrawn by the API.
Every process that keeps a directory (the API, the MQTT bridge, webhook delivery) applies
records through :func:`apply_record`; the stream worker decodes them with
:func:`decode_record`, reassembles sites with its own assembler and feeds its matcher and
ledger (it ignores webhook states and OMF definitions, which only the API reads data with).

A new kind of registry record is a model in :mod:`schemas.registry`, a member of
:data:`RegistryKind` with its model in :data:`MODELS`, a case in :func:`apply_record` (and the
:class:`Directory` method it calls), and a topic in the catalogue (:mod:`topics.catalogue`).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Discriminator, Tag, TypeAdapter

from domain.directory import Directory
from domain.errors import InvalidRecordError
from schemas.omf import OmfRecord
from schemas.registry import Exchange, Need, Site, SiteHeader, StreamRecord, WebhookState

RegistryKind = Literal["site", "stream", "need", "exchange", "webhook_state", "omf"]
"""The kinds of registry record, in the order a follower applies them (what a need or an
exchange references comes first)."""

KINDS: Final[tuple[RegistryKind, ...]] = (
    "site", "stream", "need", "exchange", "webhook_state", "omf",
)  # fmt: skip
MODELS: Final[dict[RegistryKind, type[BaseModel]]] = {
    "site": SiteHeader,
    "stream": StreamRecord,
    "need": Need,
    "exchange": Exchange,
    "webhook_state": WebhookState,
    "omf": OmfRecord,
}
"""The model each kind is written as (a site record may also be a :class:`Site` of the old
format: :func:`decode_record` reads both)."""

Record = Site | SiteHeader | StreamRecord | Need | Exchange | WebhookState | OmfRecord
"""A decoded registry record."""


def _site_format(value: Any) -> str:
    """``header`` for a :class:`SiteHeader` (it lists ``stream_ids``), else ``site``."""
    if isinstance(value, dict):
        return "header" if "stream_ids" in value else "site"
    return "header" if isinstance(value, SiteHeader) else "site"


SITE_RECORD_SHAPES: Final = {"header": SiteHeader, "site": Site}
"""A site record's union tags and the model of each shape (validation errors are located
under the tag)."""

_SITE_RECORD: Final = TypeAdapter[SiteHeader | Site](
    Annotated[
        Annotated[SiteHeader, Tag("header")] | Annotated[Site, Tag("site")],
        Discriminator(_site_format),
    ]
)


def decode_record(kind: RegistryKind, value: bytes | None) -> Record | None:
    """The record's model, or ``None`` for a tombstone.

    A site record is a :class:`SiteHeader`, or a :class:`Site` with its streams embedded
    (the old format, still on compacted topics written before).

    Raises:
        pydantic.ValidationError: the value is not a valid record of that kind.
        InvalidRecordError: a tombstone for a kind that cannot be deleted (sites).
    """
    if value is None:
        if kind == "site":
            raise InvalidRecordError("sites cannot be deleted (tombstone ignored)")
        return None
    if kind == "site":
        return _SITE_RECORD.validate_json(value)
    model = MODELS[kind].model_validate_json(value)
    assert isinstance(model, StreamRecord | Need | Exchange | WebhookState | OmfRecord)
    return model


def apply_record(directory: Directory, kind: RegistryKind, key: str, record: Record | None) -> None:
    """Apply one decoded record (``None``: the tombstone of ``key``) to ``directory``.

    A site header or stream record changes the directory only when it completes a version of
    its site (see :class:`~domain.site_records.SiteAssembler`); until then it is held in
    ``directory.parts``, so a stream record may come before its header.

    Raises:
        ConfigurationError: the record conflicts with the directory (see :class:`Directory`);
            :class:`~domain.errors.UnknownReferenceError` when it names a site, stream or need
            not applied yet (apply it again later).
        InvalidRecordError: a stream record under another stream's key.
    """
    if kind == "site":
        if isinstance(record, SiteHeader):
            site = directory.parts.put_header(record)
        else:
            assert isinstance(record, Site)
            site = directory.parts.put_site(record)
        if site is not None:
            directory.put_site(site)
    elif kind == "stream":
        assert record is None or isinstance(record, StreamRecord)
        site = directory.parts.put_stream(key, record)
        if site is not None:
            directory.put_site(site)
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
