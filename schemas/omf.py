"""OMF types and containers as a company defined them, kept on a compacted registry topic.

An AVEVA PI adapter speaking OMF (Open Message Format 1.1/1.2) first sends type messages
(the shape of its data), then container messages (one stream of data each), then data. The
API keeps each company's types and containers as :class:`OmfRecord` s on the registry topic
``symbiosis.registry.omf``, keyed by :meth:`OmfRecord.key` (``<company>/type/<id>``,
``<company>/container/<id>``), so they survive restarts and every API replica reads data the
same way. Only what reading later data needs is kept: a dynamic type's index, its number
properties with their units and its quality property; a fingerprint of the definition as sent
tells an identical re-send (harmless) from a conflicting redefinition.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from schemas.common import SCHEMA_VERSION, Slug, StrictModel

OMF_ID_MAX_CHARS: Final = 255
"""Longest type, container or property id kept (PI point names are shorter)."""

OmfId = Annotated[str, StringConstraints(min_length=1, max_length=OMF_ID_MAX_CHARS)]
"""An OMF type, container or property id, as the client wrote it (case kept)."""

Uom = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""An OMF ``uom`` as written; checked as a unit when a container maps it to a meter."""

Fingerprint = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""SHA-256 (hex) of a definition as sent, keywords lower-cased."""

OmfClassification = Literal["dynamic", "static", "none"]
"""``none``: a type without classification (an enum, or a type only referenced by others)."""


class OmfValueProperty(StrictModel):
    """A number (or integer) property of a dynamic type: each value of it is a reading."""

    id: OmfId
    uom: Uom | None = Field(default=None, description="Its unit; default: the meter's unit.")
    nullable: bool = Field(default=False, description='Declared `["number", "null"]`.')


class OmfType(StrictModel):
    """One OMF type of one company (static and reference types: id and fingerprint only)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    company: Slug
    id: OmfId
    classification: OmfClassification
    version: str = Field(default="1.0.0.0", max_length=64)
    fingerprint: Fingerprint
    index: OmfId | None = Field(
        default=None, description="Dynamic types: the date-time property indexing the data."
    )
    values: list[OmfValueProperty] = Field(default_factory=list, max_length=1000)
    quality: OmfId | None = Field(default=None, description="The `isquality` property.")

    @model_validator(mode="after")
    def _dynamic_has_an_index(self) -> Self:
        if self.classification == "dynamic" and self.index is None:
            raise ValueError("a dynamic type needs its date-time index property")
        return self


class OmfContainer(StrictModel):
    """One OMF container of one company: a stream of data of a dynamic type."""

    schema_version: Literal[1] = SCHEMA_VERSION
    company: Slug
    id: OmfId
    typeid: OmfId
    fingerprint: Fingerprint
    uom: dict[OmfId, Uom] = Field(
        default_factory=dict, max_length=1000, description="`propertyoverrides` of `uom`."
    )


OmfKind = Literal["type", "container"]


class OmfRecord(StrictModel):
    """A record of the OMF registry topic: exactly one of ``type``, ``container``."""

    type: OmfType | None = None
    container: OmfContainer | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.type is None) == (self.container is None):
            raise ValueError("an OMF record holds exactly one of type, container")
        return self

    @property
    def key(self) -> str:
        """Its Kafka key, ``<company>/<kind>/<id>`` (see :func:`omf_key`)."""
        if self.type is not None:
            return omf_key(self.type.company, "type", self.type.id)
        assert self.container is not None
        return omf_key(self.container.company, "container", self.container.id)


def omf_key(company: str, kind: OmfKind, item_id: str) -> str:
    """The registry key of a company's type or container (company slugs hold no ``/``)."""
    return f"{company}/{kind}/{item_id}"


def split_omf_key(key: str) -> tuple[str, str, str] | None:
    """``(company, kind, id)`` of a key made by :func:`omf_key`; ``None`` for another key."""
    parts = key.split("/", 2)
    if len(parts) != 3 or parts[1] not in ("type", "container") or not parts[0] or not parts[2]:
        return None
    return parts[0], parts[1], parts[2]
