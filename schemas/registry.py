"""The park's registry: sites, the surplus streams they give, the needs they have, exchanges.

A park file (YAML) is a :class:`Park`. The same models travel on the registry topics, one
record per id, except a site: on the wire it is split into a :class:`SiteHeader` (the site
without its streams) and one :class:`StreamRecord` per stream, so no record grows with the
number of streams or meters of a site (see :mod:`domain.site_records`). Cross-references (a
need's site, an exchange's stream) are checked by :class:`Park`; a single record only checks
itself.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal, Self

from pydantic import Field, HttpUrl, model_validator

from schemas.common import SCHEMA_VERSION, ResourceKind, Slug, StrictModel, UtcDatetime
from schemas.units import UnitStr

EwcCode = Annotated[
    str,
    Field(pattern=r"^\d{6}$", description="Six-digit European List of Waste code, e.g. '100105'."),
]
EwcPrefix = Annotated[
    str,
    Field(
        pattern=r"^(\d{2}|\d{4}|\d{6})$",
        description="An EWC chapter (2 digits), sub-chapter (4) or code (6).",
    ),
]
HistorianTag = Annotated[str, Field(min_length=1, max_length=256)]
"""A historian's name for a meter (PI point, OMF container id, tag path)."""
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
DistanceKm = Annotated[float, Field(gt=0, le=20_000)]
RevisionHex = Annotated[str, Field(pattern=r"^[0-9a-f]{16,64}$")]

MAX_METERS_PER_STREAM: Final = 10_000
"""Meters of one stream: a stream travels as one registry record, and 10,000 meter ids of at
most 64 characters are at most ~660 KiB of JSON, under the 768 KiB registry record limit
(:data:`domain.site_records.MAX_RECORD_BYTES`) and Kafka's default 1 MiB."""
MAX_STREAMS_PER_SITE: Final = 10_000
"""Streams of one site: its header record lists their ids (at most ~660 KiB likewise)."""


class WaterQuality(StrEnum):
    """Coarse water quality classes, from cleanest to dirtiest."""

    DEMINERALISED = "demineralised"
    POTABLE = "potable"
    PROCESS = "process"
    COOLING = "cooling"
    GREY = "grey"
    WASTEWATER = "wastewater"


class ProfileStep(StrictModel):
    """From ``at_s`` seconds into a simulation, the stream runs at ``factor`` x nominal."""

    at_s: float = Field(ge=0)
    factor: float = Field(ge=0, le=10)


class Stream(StrictModel):
    """A surplus a site can give, metered or declared, with its quality attributes."""

    id: Slug
    kind: ResourceKind
    unit: UnitStr = Field(description="Unit of `nominal` and of the meters' readings.")
    nominal: float = Field(ge=0, description="Typical surplus rate in `unit`.")
    allows_negative: bool = Field(
        default=False,
        description="Readings may be negative (e.g. a net balance); otherwise a negative "
        "reading is refused at intake.",
    )
    name: str | None = None
    meters: list[Slug] = Field(
        default_factory=list,
        max_length=MAX_METERS_PER_STREAM,
        description="Meters measuring this stream; empty means one meter with the stream's id.",
    )
    temperature_c: float | None = Field(
        default=None, ge=-50, le=1500, description="Supply temperature (heat, steam)."
    )
    max_distance_km: DistanceKm | None = Field(
        default=None, description="How far this surplus can travel."
    )
    ewc: EwcCode | None = Field(default=None, description="Material: its EWC code.")
    description: str | None = Field(default=None, description="Free text, e.g. from an ERP.")
    water_quality: WaterQuality | None = None
    gas_species: str | None = Field(default=None, description="Gas: e.g. 'co2', 'h2', 'ch4'.")
    purity_pct: float | None = Field(default=None, ge=0, le=100, description="Gas purity.")
    density_kg_per_m3: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="Gas: density in kg per normal m^3 (0 degC, 101.325 kPa); bridges mass and "
        "volume flows, and wins over the species' normal density.",
    )
    heating_value_mj_per_m3: float | None = Field(
        default=None,
        gt=0,
        le=500,
        description="Gas: lower heating value as delivered, MJ per normal m^3; the benefit of a "
        "fuel gas is counted with it (purity does not scale it).",
    )
    variability: float = Field(
        default=0.05, ge=0, le=1, description="Simulator: relative noise around nominal."
    )
    profile: list[ProfileStep] = Field(
        default_factory=list,
        description="Simulator: piecewise-constant factor of nominal over time (default 1).",
    )

    @model_validator(mode="after")
    def _quality_fits_kind(self) -> Self:
        if self.kind in (ResourceKind.HEAT, ResourceKind.STEAM) and self.temperature_c is None:
            raise ValueError(f"a {self.kind} stream needs temperature_c")
        if self.kind is ResourceKind.MATERIAL and self.ewc is None and self.description is None:
            raise ValueError("a material stream needs an ewc code or a description to classify")
        return self

    def factor_at(self, elapsed_s: float) -> float:
        """The profile's factor ``elapsed_s`` seconds into a simulation (1 without a profile)."""
        factor = 1.0
        for step in sorted(self.profile, key=lambda p: p.at_s):
            if step.at_s <= elapsed_s:
                factor = step.factor
        return factor

    @property
    def meter_ids(self) -> list[str]:
        """The meters feeding this stream (the stream's own id when none are listed)."""
        return self.meters or [self.id]


class _SiteFields(StrictModel):
    """What a site is, apart from its streams: shared by :class:`Site` and :class:`SiteHeader`."""

    id: Slug
    name: str
    company: Slug = Field(description="Tenant owning the site; a company never trades with itself.")
    lat: Latitude
    lon: Longitude
    disclose_identity: bool = Field(
        default=False, description="Partners' alerts may name this site's company."
    )


class Site(_SiteFields):
    """A plant or facility of one company, at one place."""

    streams: list[Stream] = Field(default_factory=list, max_length=MAX_STREAMS_PER_SITE)
    tag_map: dict[HistorianTag, Slug] = Field(
        default_factory=dict,
        description="Historian tag (PI point, OMF container id) -> meter of this site, for "
        "pushes that name tags instead of meters.",
    )

    @model_validator(mode="after")
    def _tags_name_own_meters(self) -> Self:
        meters = {m for st in self.streams for m in st.meter_ids}
        for tag, meter in self.tag_map.items():
            if meter not in meters:
                raise ValueError(f"tag_map[{tag!r}]: {meter!r} is not a meter of this site")
        return self

    @model_validator(mode="after")
    def _stream_ids_unique(self) -> Self:
        _unique("stream", [st.id for st in self.streams])
        return self


class SiteHeader(_SiteFields):
    """A site on the sites topic, keyed by site id, without its streams (the current format).

    Its streams travel as :class:`StreamRecord` s keyed by stream id; ``stream_ids`` lists
    them in order. Every record of one registration carries the same ``revision`` (a digest
    of the whole site), so a follower knows which stream records belong to which version
    (see :class:`domain.site_records.SiteAssembler`). A :class:`Site` with its streams
    embedded (the format before this one) is still read from the sites topic.
    """

    stream_ids: list[Slug] = Field(
        max_length=MAX_STREAMS_PER_SITE, description="The site's streams, in order."
    )
    revision: RevisionHex = Field(
        description="Digest of the whole site; its stream records carry the same."
    )

    @model_validator(mode="after")
    def _stream_ids_unique(self) -> Self:
        _unique("stream", self.stream_ids)
        return self


class StreamRecord(StrictModel):
    """One stream of a site on the streams topic, keyed by the stream's id.

    Carries the site's ``tag_map`` entries that name this stream's meters, so a site's
    tags grow with its streams instead of in one record. A tombstone (no value) says the
    stream was removed from its site.
    """

    site: Slug = Field(description="The site giving the stream.")
    revision: RevisionHex = Field(description="The site version (its header's) it belongs to.")
    stream: Stream
    tags: dict[HistorianTag, Slug] = Field(
        default_factory=dict, description="The site's tag_map entries naming this stream's meters."
    )

    @model_validator(mode="after")
    def _tags_name_own_meters(self) -> Self:
        meters = set(self.stream.meter_ids)
        for tag, meter in self.tags.items():
            if meter not in meters:
                raise ValueError(f"tags[{tag!r}]: {meter!r} is not a meter of this stream")
        return self


WebhookFormat = Literal["standard", "cloudevents", "legacy"]
"""How a subscription's events are sent (see :mod:`domain.subscriptions`)."""


class SubscriptionDisabled(StrictModel):
    """Why events are no longer sent to a subscription's webhook."""

    reason: Literal["gone"] = Field(
        description="gone: the endpoint answered 410 Gone (it wants no more events)."
    )
    status: int = Field(ge=100, le=599, description="The HTTP status that disabled it.")
    at: UtcDatetime = Field(description="When it was disabled.")


class Subscription(StrictModel):
    """Where a need's alerts are delivered, besides the alerts topic.

    Events are signed with a secret of this subscription alone (see
    :mod:`domain.subscriptions`); ``key_id``, ``secret_version`` and ``rotated_at`` say which
    one. The API sets them (a new subscription, ``POST /v1/needs/{id}/webhook-secret``),
    whatever a body says; ``disabled`` is shown by the API and never taken from a body.
    """

    webhook: HttpUrl | None = Field(default=None, description="https URL receiving alerts.")
    key_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{16,64}$",
        description="Random, set by the API for each new subscription: a re-created "
        "subscription never signs with an earlier key.",
    )
    secret_version: int = Field(default=1, ge=1, le=1_000_000)
    rotated_at: UtcDatetime | None = None
    format: WebhookFormat | None = Field(
        default=None,
        description="standard: Standard Webhooks (body {type, timestamp, data}, headers "
        "webhook-id, webhook-timestamp, webhook-signature); cloudevents: the same headers, the "
        "body a CloudEvent in structured JSON mode; legacy (deprecated): the bare alert body "
        "with the Symbiosis-Signature header besides the Standard Webhooks ones. Unset: the API "
        "sets standard for a new subscription and keeps an existing one's; a record without it "
        "(registered before Standard Webhooks) is delivered as legacy.",
    )
    disabled: SubscriptionDisabled | None = Field(
        default=None,
        description="Read-only: set when the webhook answered 410 Gone; no events are sent "
        "until the need is registered again (PUT) or its secret rotated.",
    )


class Need(StrictModel):
    """What a site can take, and on which terms."""

    id: Slug
    site: Slug
    kind: ResourceKind
    unit: UnitStr
    min_quantity: float = Field(ge=0, description="Smallest useful rate, in `unit`.")
    max_quantity: float | None = Field(default=None, gt=0, description="Largest usable rate.")
    max_distance_km: DistanceKm | None = None
    min_temperature_c: float | None = Field(default=None, ge=-50, le=1500)
    approach_margin_k: float = Field(
        default=5.0, ge=0, le=200, description="Supply must exceed min_temperature_c by this."
    )
    accepts_ewc: list[EwcPrefix] = Field(default_factory=list)
    accepts_hazardous: bool = False
    accepts_water_quality: list[WaterQuality] = Field(default_factory=list)
    gas_species: str | None = None
    min_purity_pct: float | None = Field(default=None, ge=0, le=100)
    density_kg_per_m3: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="Gas: density in kg per normal m^3, bridging mass and volume flows when "
        "the stream gives neither a density nor a species of known density.",
    )
    min_duration_s: float = Field(
        default=0, ge=0, description="Surplus must be sustained this long before it counts."
    )
    active_from: UtcDatetime | None = None
    active_until: UtcDatetime | None = None
    subscription: Subscription | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.max_quantity is not None and self.max_quantity < self.min_quantity:
            raise ValueError("max_quantity is below min_quantity")
        if (
            self.active_from is not None
            and self.active_until is not None
            and self.active_until <= self.active_from
        ):
            raise ValueError("active_until is not after active_from")
        if self.kind is ResourceKind.MATERIAL and not self.accepts_ewc:
            raise ValueError("a material need must list accepts_ewc (codes or chapters)")
        return self


class ExchangeStatus(StrEnum):
    """Where an exchange stands: only an ``active`` one takes surplus off the ledger."""

    PROPOSED = "proposed"
    """Put by one party; waits for the other party to accept. Counts nowhere."""
    ACTIVE = "active"
    """Accepted by the other party (or committed by the operator, or in a park file)."""


class ExchangeTerms(StrictModel):
    """What a party proposes: a flow from a stream to a need, for a period.

    The body of ``PUT /v1/exchanges/{id}``. The status is not the proposer's to set: a tenant's
    proposal waits for the other party's acceptance.
    """

    id: Slug
    stream: Slug
    need: Slug
    quantity: float = Field(gt=0)
    unit: UnitStr
    start: UtcDatetime | None = None
    end: UtcDatetime | None = None

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end is not after start")
        return self


class Exchange(ExchangeTerms):
    """A flow from a stream to a need, for a period, as the registry holds it.

    Both parties consent: a tenant's write is ``proposed`` (by ``proposed_by``) and becomes
    ``active`` when the other party accepts (``accepted_by``). Park files and the operator
    write active exchanges directly.
    """

    status: ExchangeStatus = ExchangeStatus.ACTIVE
    proposed_by: Slug | None = Field(default=None, description="Company that proposed it.")
    accepted_by: Slug | None = Field(default=None, description="Company that accepted it.")

    @property
    def committed(self) -> bool:
        """Whether both parties agreed: only then does it count against surplus and need."""
        return self.status is ExchangeStatus.ACTIVE

    def terms(self) -> ExchangeTerms:
        """The proposed terms alone (no status)."""
        return ExchangeTerms.model_validate(
            self.model_dump(include=set(ExchangeTerms.model_fields))
        )


class Park(StrictModel):
    """A park file: its sites (with streams), needs and committed exchanges."""

    schema_version: Literal[1] = SCHEMA_VERSION
    park: str = Field(min_length=1, description="The park's name.")
    sites: list[Site] = Field(min_length=1)
    needs: list[Need] = Field(default_factory=list)
    exchanges: list[Exchange] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        _unique("site", [s.id for s in self.sites])
        stream_ids = [st.id for s in self.sites for st in s.streams]
        _unique("stream", stream_ids)
        _unique("meter", [m for s in self.sites for st in s.streams for m in st.meter_ids])
        _unique("need", [n.id for n in self.needs])
        _unique("exchange", [x.id for x in self.exchanges])
        site_ids = {s.id for s in self.sites}
        for need in self.needs:
            if need.site not in site_ids:
                raise ValueError(f"need {need.id!r} names unknown site {need.site!r}")
        streams, needs = set(stream_ids), {n.id for n in self.needs}
        for x in self.exchanges:
            if x.stream not in streams:
                raise ValueError(f"exchange {x.id!r} names unknown stream {x.stream!r}")
            if x.need not in needs:
                raise ValueError(f"exchange {x.id!r} names unknown need {x.need!r}")
        return self

    def site(self, site_id: str) -> Site:
        """The site with this id.

        Raises:
            KeyError: no such site.
        """
        for s in self.sites:
            if s.id == site_id:
                return s
        raise KeyError(site_id)

    def streams(self) -> list[tuple[Site, Stream]]:
        """Every stream with the site that gives it, in file order."""
        return [(s, st) for s in self.sites for st in s.streams]


def _unique(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{what} id {i!r} is used more than once")
        seen.add(i)


class WebhookState(StrictModel):
    """A subscription the delivery process stopped sending to: a registry record.

    Published by the delivery process, keyed by need id, when a webhook answers 410 Gone; it
    applies only to the subscription it names (its key id, secret version and URL), so a
    rotated or re-pointed subscription is sending again. The API tombstones it when the need
    is registered again or its secret rotated.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    need: Slug
    key_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{16,64}$")
    secret_version: int = Field(ge=1, le=1_000_000)
    webhook: HttpUrl
    disabled: SubscriptionDisabled
