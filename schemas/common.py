"""Building blocks shared by every payload: strict base model, slugs, UTC timestamps, kinds.

Every model that crosses a boundary (HTTP, Kafka topic, park file, database row) derives from
:class:`StrictModel`: unknown fields are rejected, values are validated on assignment, and
instances are immutable so a payload cannot change after it was checked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION: Final = 1
"""Version of every payload defined in :mod:`schemas`; bumped on any incompatible change."""

SLUG_PATTERN: Final = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"

Slug = Annotated[
    str,
    StringConstraints(pattern=SLUG_PATTERN, min_length=1, max_length=64),
    Field(description="Identifier: lowercase letters, digits, single '-' or '_' between them."),
]
"""An identifier of a site, stream, need, exchange, company or meter."""


_ZERO = timedelta(0)


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.utcoffset() == _ZERO:  # already UTC under another tzinfo object: cheap path
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as e:  # e.g. 0001-01-01T00:00:00+23:59 is in year 0 in UTC
        raise ValueError("the instant is outside the years 1 to 9999 in UTC") from e


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware timestamp, normalised to UTC. Naive timestamps are rejected."""


class ResourceKind(StrEnum):
    """What a stream carries or a need takes."""

    HEAT = "heat"
    STEAM = "steam"
    WATER = "water"
    MATERIAL = "material"
    GAS = "gas"


class StrictModel(BaseModel):
    """Base of every boundary model: no unknown fields, immutable, validated on construction.

    Numbers must be finite (``allow_inf_nan=False``): ``Infinity`` or ``NaN`` in any payload is
    refused where it enters, so no stage ever sums or stores one.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        validate_default=True,
        allow_inf_nan=False,
    )


def max_length(model: type[BaseModel], field: str) -> int:
    """The ``max_length`` a model's field declares (one source for the limits checked early).

    Raises:
        ValueError: the field declares none.
    """
    for constraint in model.model_fields[field].metadata:
        limit = getattr(constraint, "max_length", None)
        if isinstance(limit, int):
            return limit
    raise ValueError(f"{model.__name__}.{field} declares no max_length")
