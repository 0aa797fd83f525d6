"""The one catalogue of topics: what each carries, keyed by what, kept how.

Names come from the settings (:class:`runtime.settings.Topics`, overridable per deployment);
this catalogue says, for each, its payload model (a :mod:`schemas` model), its key, whether it
is compacted, and for the registry topics which kind of record it holds. Stages build
:func:`index` once and decode with :func:`decode` instead of their own ``if topic == ...``
chains.

A new topic is a field of :class:`~runtime.settings.Topics` and an entry here (a test checks
that both agree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from pydantic import BaseModel

from domain.registry_records import RegistryKind
from runtime.settings import Topics
from schemas.alerts import Alert
from schemas.dead_letters import DeadLetter
from schemas.ledger import LedgerEntry
from schemas.offers import Offer
from schemas.omf import OmfRecord
from schemas.readings import ReadingsRecord
from schemas.registry import Exchange, Need, SiteHeader, StreamRecord, WebhookState
from schemas.rejections import Rejection


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic of the pipeline.

    Attributes:
        field: Its field in :class:`~runtime.settings.Topics` (where its name is set).
        payload: The model of its values.
        key: What its records are keyed by.
        compacted: Kept as the latest record per key (the registry) rather than as history.
        registry: The kind of registry record it holds, for registry topics.
        parse: How a value is validated, where not ``payload.model_validate_json`` (same
            result and errors, faster).
    """

    field: str
    payload: type[BaseModel]
    key: str
    compacted: bool = False
    registry: RegistryKind | None = None
    parse: Callable[[bytes], BaseModel] | None = None


CATALOGUE: Final[tuple[TopicSpec, ...]] = (
    TopicSpec("readings", ReadingsRecord, "site id", parse=ReadingsRecord.from_json),
    TopicSpec("ledger", LedgerEntry, "stream id"),
    TopicSpec("alerts", Alert, "stream id"),
    TopicSpec("rejected", Rejection, "company or stage (may be empty)"),
    # a site header (or, written before, a Site with its streams embedded) and its streams
    TopicSpec("sites", SiteHeader, "site id", compacted=True, registry="site"),
    TopicSpec("streams", StreamRecord, "stream id", compacted=True, registry="stream"),
    TopicSpec("needs", Need, "need id", compacted=True, registry="need"),
    TopicSpec("exchanges", Exchange, "exchange id", compacted=True, registry="exchange"),
    TopicSpec("webhook_states", WebhookState, "need id", compacted=True, registry="webhook_state"),
    TopicSpec("omf", OmfRecord, "company/type|container/id", compacted=True, registry="omf"),
    TopicSpec("dead_letters", DeadLetter, "alert id"),
    TopicSpec("offers", Offer, "offer id"),
)


TopicIndex = Mapping[str, TopicSpec]
"""Topic name (as this deployment names it) -> its spec; see :func:`index`."""


def index(topics: Topics) -> TopicIndex:
    """This deployment's topics by name. Build it once: lookups are then per record."""
    return MappingProxyType({getattr(topics, spec.field): spec for spec in CATALOGUE})


def decode(topics: TopicIndex, name: str, value: bytes | None) -> BaseModel:
    """A record's value as its topic's payload model.

    Raises:
        KeyError: not a topic of the pipeline.
        pydantic.ValidationError: the value is not a valid payload of that topic.
    """
    spec = topics[name]
    if spec.parse is not None:
        return spec.parse(value or b"")
    return spec.payload.model_validate_json(value or b"")


def topic_of(topics: Topics, kind: RegistryKind) -> str:
    """The name of the topic holding registry records of ``kind`` in this deployment."""
    name: str = next(getattr(topics, s.field) for s in CATALOGUE if s.registry == kind)
    return name


def registry_kind(topics: TopicIndex, name: str) -> RegistryKind | None:
    """The kind of registry record topic ``name`` holds; ``None`` for other topics."""
    spec = topics.get(name)
    return spec.registry if spec is not None else None
