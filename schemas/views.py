"""What the HTTP API answers: push results, errors, and alerts as a given tenant may see them."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from schemas.alerts import AlertEvent, Benefit
from schemas.common import ResourceKind, Slug, StrictModel, UtcDatetime
from schemas.units import UnitStr


class FieldError(StrictModel):
    """One bad field: which row (0-based, when the input is a list), which field, and why."""

    row: int | None = None
    field: str
    reason: str


class PushResult(StrictModel):
    """Outcome of a push: readings acknowledged by Kafka, rows refused and why.

    Accepted readings are on the readings topic even when other rows were refused (the answer
    is then 422); re-sending them is harmless.
    """

    accepted: int = Field(ge=0)
    rejected: int = Field(ge=0)
    errors: list[FieldError] = Field(default_factory=list)


class OmfResult(StrictModel):
    """Outcome of an OMF message (``POST /omf``): 200 when anything was kept or accepted.

    The refused items or values are in ``errors`` (each also on the rejected topic).

    Accepted readings are on the readings topic even when other values were refused;
    re-sending them is harmless (each ``(meter, ts)`` is stored once).
    """

    messagetype: Literal["type", "container", "data"]
    action: Literal["create", "update", "delete"]
    applied: int = Field(
        default=0, ge=0, description="Types or containers created, replaced or deleted."
    )
    unchanged: int = Field(
        default=0,
        ge=0,
        description="Definitions identical to the kept ones, deletes of absent ones.",
    )
    accepted: int = Field(default=0, ge=0, description="Readings acknowledged by Kafka.")
    rejected: int = Field(
        default=0, ge=0, description="Values refused (each on the rejected topic, named in errors)."
    )
    ignored: int = Field(
        default=0,
        ge=0,
        description="Values not read: static and link data, nulls, properties mapped to no meter.",
    )
    errors: list[FieldError] = Field(default_factory=list)


PROBLEM_TYPES: Final = "https://symbiosis.invalid/problems/"
"""Base of every problem ``type``: the stable ``error`` code follows it
(``https://symbiosis.invalid/problems/invalid_input``). ``.invalid`` never resolves (RFC 6761):
the URI names the problem, it is not a page to fetch."""


class ErrorBody(StrictModel):
    """Every 4xx/5xx answer: an RFC 9457 problem document (``application/problem+json``).

    ``type`` is ``https://symbiosis.invalid/problems/`` + ``error``; ``title`` depends on
    ``type`` alone; ``status`` repeats the HTTP status; ``detail`` says what went wrong this
    time. Extension members: ``error`` (the stable code) and ``message`` (equal to ``detail``),
    as before problem details, and ``errors``: one entry per bad field (rows 0-based), never
    empty on a 422.
    """

    type: str = Field(
        description="A URI naming the problem: https://symbiosis.invalid/problems/<error>.",
        json_schema_extra={"format": "uri"},
    )
    title: str = Field(description="Short summary of the problem type, e.g. 'Invalid input'.")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str = Field(description="What went wrong this time, in plain words.")
    error: str = Field(description="e.g. invalid_input, forbidden, unauthorized, too_large.")
    message: str = Field(description="Same as detail (kept for clients of the first version).")
    errors: list[FieldError] = Field(default_factory=list)


class PushProblem(ErrorBody):
    """A push with refused rows (422): the problem, plus how many readings were accepted.

    Accepted readings are on the readings topic; re-sending them is harmless.
    """

    accepted: int = Field(ge=0)
    rejected: int = Field(ge=0)


class OmfProblem(ErrorBody):
    """An OMF data message with refused values (400): the problem, and the counts.

    The counts are :class:`OmfResult`'s: the other values were accepted.
    """

    messagetype: Literal["type", "container", "data"]
    action: Literal["create", "update", "delete"]
    applied: int = Field(default=0, ge=0)
    unchanged: int = Field(default=0, ge=0)
    accepted: int = Field(default=0, ge=0)
    rejected: int = Field(default=0, ge=0)
    ignored: int = Field(default=0, ge=0)


class WebhookSecret(StrictModel):
    """The key a need's webhook events are signed with (shown to the need's company only)."""

    need: Slug
    version: int = Field(ge=1)
    secret: str = Field(description="whsec_<base64 key>: verify with its decoded bytes.")
    previous: str | None = Field(
        default=None, description="The rotated-out secret, still signing during its grace."
    )


class Caller(StrictModel):
    """Who a token belongs to."""

    role: str
    company: Slug | None = None
    token_prefix: str


class AlertView(StrictModel):
    """An alert as one tenant may see it.

    The supplier and the operator see everything. A partner (the need's company) sees the kind,
    a quality summary, a quantity band, a distance band and the benefit (``redacted``), and the
    stream and supplier company only when the supplier allows its identity to be disclosed.
    """

    alert_id: str
    event: AlertEvent
    need: Slug
    kind: ResourceKind
    quality: str = Field(description="e.g. 'steam, 200-250 degC' or 'EWC 100105'.")
    available_band: str = Field(description="e.g. '20-50 MW'.")
    quantity_band: str = Field(
        default="",
        description="What the need could take, banded, in the need's unit (e.g. '10-20 MW').",
    )
    need_unit: UnitStr | None = Field(default=None, description="The need's unit.")
    distance_band: str = Field(description="e.g. '2-5 km'.")
    benefit: Benefit
    ts: UtcDatetime
    redacted: bool
    stream: Slug | None = None
    supplier_company: Slug | None = None
    available: float | None = None
    unit: UnitStr | None = None
    quantity: float | None = Field(
        default=None,
        description="What the need could take of the surplus, in `need_unit` (what "
        "`symbiosis match` reports; the benefit is for this quantity). Shown to the supplier "
        "and the operator; partners see `quantity_band`.",
    )
    distance_km: float | None = None


AlertWebhookType = Literal["alert.opened", "alert.updated", "alert.resolved"]


class AlertWebhook(StrictModel):
    """The body of an alert webhook (Standard Webhooks payload structure).

    ``data`` is the alert as the need's company may see it, exactly as ``GET /v1/alerts``
    shows it; ``type`` and ``timestamp`` are its event and time.
    """

    type: AlertWebhookType
    timestamp: UtcDatetime = Field(description="When the event happened (ISO 8601, UTC).")
    data: AlertView


class AlertCloudEvent(StrictModel):
    """The body of an alert webhook in CloudEvents 1.0 structured JSON mode (per subscription).

    ``id`` equals the ``webhook-id`` header; ``data`` is the same view as in
    :class:`AlertWebhook`.
    """

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(description="Same on every retry of the event (the webhook-id).")
    source: str = Field(description="/symbiosis/needs/<need id>")
    type: str = Field(description="e.g. symbiosis.alert.opened")
    subject: str = Field(description="The alert id as the need's company sees it.")
    time: UtcDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: AlertView


class MapSite(StrictModel):
    """A site on the dashboard's map (the company only where the viewer may know it)."""

    id: Slug
    name: str | None = None
    company: Slug | None = None
    lat: float
    lon: float
    own: bool = Field(description="One of the viewer's sites.")


class SiteAvailability(StrictModel):
    """Available surplus of one kind at one site, in the kind's canonical unit."""

    site: Slug
    kind: ResourceKind
    available: float
    unit: UnitStr
    streams: int = Field(ge=0, description="Streams summed.")
    stale: int = Field(
        default=0,
        ge=0,
        description="Of those streams, the stale ones: no good reading for the worker's "
        "`stale_after_s`, so they count zero until they report again.",
    )


class Flow(StrictModel):
    """A line on the map: an open alert (possible exchange) or an active exchange."""

    id: str
    status: str = Field(description="'alert' (exchangeable now) or 'exchange' (committed).")
    kind: ResourceKind
    from_site: Slug | None = Field(description="Unset when the supplier is not disclosed.")
    to_site: Slug
    label: str = Field(description="Quantity (or its band) and unit.")
    co2e_t_per_yr: float


class Kpis(StrictModel):
    """Park KPIs over the viewer's scope: committed exchanges, and what open alerts could add."""

    co2e_avoided_t_per_yr: float
    tonnes_diverted_per_yr: float
    water_reused_m3_per_yr: float
    potential_co2e_t_per_yr: float = Field(
        description="Open alerts' yearly CO2e with each surplus and each demand counted once "
        "(allocated greedily by benefit per unit, domain.kpis.allocate)."
    )
    open_alerts: int
    active_exchanges: int


class ExchangeView(StrictModel):
    """A committed exchange with its yearly benefit."""

    id: Slug
    stream: Slug
    need: Slug
    from_site: Slug
    to_site: Slug
    kind: ResourceKind
    quantity: float
    unit: UnitStr
    co2e_t_per_yr: float


class Dashboard(StrictModel):
    """Everything the control-room page shows, as the viewer may see it."""

    generated_at: UtcDatetime
    viewer: Caller
    kpis: Kpis
    sites: list[MapSite]
    availability: list[SiteAvailability]
    flows: list[Flow]
    alerts: list[AlertView]
    exchanges: list[ExchangeView]
