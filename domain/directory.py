"""Who owns what: the registry indexed for ingest and access control.

A :class:`Directory` holds the latest site (with its streams, meters and tag map), need and
exchange records by id, and answers the questions the API and the MQTT bridge ask on every
request: which stream and site a meter belongs to, which company owns a site, stream or need,
which meter a historian tag names. Pure and synchronous; callers serialise access. Sites arrive
in parts (a header and one record per stream); :attr:`Directory.parts` holds them until they
make a whole site, and only whole sites are put here (see :mod:`domain.site_records`).

Guarantees:
    - A meter, stream or tag belongs to exactly one site: a site record that would take
      another site's meter or stream id is refused with :class:`ConfigurationError`, and the
      directory is left unchanged.
    - A site never changes company: re-publishing a site under another company is refused
      (a tenant cannot take over another tenant's site by re-registering it).
    - Ids are retired per company: a stream, meter or need id that one company dropped can
      be registered again by that company only, never by another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.errors import ConfigurationError, UnknownReferenceError
from domain.site_records import SiteAssembler
from schemas.omf import OmfContainer, OmfRecord, OmfType, split_omf_key
from schemas.registry import Exchange, Need, Site, Stream, SubscriptionDisabled, WebhookState


@dataclass(frozen=True, slots=True)
class MeterRef:
    """Where a meter belongs."""

    meter: str
    stream: Stream
    site: Site

    @property
    def company(self) -> str:
        """The company owning the meter."""
        return self.site.company


@dataclass
class Directory:
    """The registry by id; see the module docstring for the guarantees."""

    sites: dict[str, Site] = field(default_factory=dict)
    needs: dict[str, Need] = field(default_factory=dict)
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    _meters: dict[str, MeterRef] = field(default_factory=dict)
    _streams: dict[str, tuple[Site, Stream]] = field(default_factory=dict)
    withdrawn: dict[str, Need] = field(default_factory=dict)
    """Needs withdrawn since this directory started, by id (their last record)."""
    webhook_states: dict[str, WebhookState] = field(default_factory=dict)
    """Subscriptions the delivery process stopped sending to (410 Gone), by need id."""
    omf_types: dict[str, dict[str, OmfType]] = field(default_factory=dict)
    """OMF types by company, then id (see :mod:`schemas.omf`)."""
    omf_containers: dict[str, dict[str, OmfContainer]] = field(default_factory=dict)
    """OMF containers by company, then id."""
    parts: SiteAssembler = field(default_factory=SiteAssembler)
    """Site headers and stream records as they arrived, until they make whole sites."""
    _tagged: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per site, the meters its ``tag_map`` names (such a meter is named by its tag only)."""
    _retired: dict[str, str] = field(default_factory=dict)
    """Stream, meter and need ids dropped -> the company that used them (stored data, alerts
    and webhook events under those ids stay that company's, so no other company may take
    them)."""

    def put_site(self, site: Site) -> None:
        """Add or replace a site with its streams, meters and tag map.

        Raises:
            ConfigurationError: see :meth:`check_site`; nothing changed.
        """
        self.check_site(site)
        old = self.sites.get(site.id)
        if old is not None:
            for stream in old.streams:
                self._streams.pop(stream.id, None)
                self._retired[f"stream:{stream.id}"] = old.company
                for meter in stream.meter_ids:
                    self._meters.pop(meter, None)
                    self._retired[f"meter:{meter}"] = old.company
        self.sites[site.id] = site
        self._tagged[site.id] = frozenset(site.tag_map.values())
        for stream in site.streams:
            self._streams[stream.id] = (site, stream)
            for meter in stream.meter_ids:
                self._meters[meter] = MeterRef(meter, stream, site)

    def check_site(self, site: Site) -> None:
        """Whether :meth:`put_site` would take ``site``; changes nothing.

        Raises:
            ConfigurationError: the site belongs to another company, or one of its stream or
                meter ids belongs to another site, or was used by another company before
                (its stored readings and ledger stay that company's). The other site or
                company is not named: it may be another tenant's.
        """
        old = self.sites.get(site.id)
        if old is not None and old.company != site.company:
            raise ConfigurationError(f"company: site {site.id!r} belongs to another company")
        for stream in site.streams:
            taken = self._streams.get(stream.id)
            if (taken is not None and taken[0].id != site.id) or self._retired.get(
                f"stream:{stream.id}", site.company
            ) != site.company:
                raise ConfigurationError(
                    f"streams: stream id {stream.id!r} is already used by another site"
                )
            for meter in stream.meter_ids:
                ref = self._meters.get(meter)
                if (ref is not None and ref.site.id != site.id) or self._retired.get(
                    f"meter:{meter}", site.company
                ) != site.company:
                    raise ConfigurationError(
                        f"streams: meter id {meter!r} is already used by another site"
                    )

    def retire(self, kind: str, item_id: str, company: str) -> None:
        """Record that ``item_id`` (a ``stream``, ``meter`` or ``need`` id) is ``company``'s.

        For retirements remembered elsewhere (the API's database) and read back at start-up.
        """
        self._retired.setdefault(f"{kind}:{item_id}", company)

    def retirements_of(self, site: Site) -> list[tuple[str, str, str]]:
        """The ``(kind, id, company)`` that :meth:`put_site` of ``site`` would retire.

        The stream and meter ids its registered version has and it drops.
        """
        old = self.sites.get(site.id)
        if old is None:
            return []
        kept = {("stream", st.id) for st in site.streams} | {
            ("meter", m) for st in site.streams for m in st.meter_ids
        }
        dropped = [("stream", st.id) for st in old.streams] + [
            ("meter", m) for st in old.streams for m in st.meter_ids
        ]
        return [(kind, i, old.company) for kind, i in dropped if (kind, i) not in kept]

    def put_need(self, need: Need) -> None:
        """Add or replace a need.

        Raises:
            UnknownReferenceError: its site is unknown.
            ConfigurationError: the id is (or was) another company's need.
        """
        self.check_need(need)
        self.needs[need.id] = need
        self.withdrawn.pop(need.id, None)

    def check_need(self, need: Need) -> None:
        """Whether :meth:`put_need` would take ``need``; changes nothing.

        Raises:
            UnknownReferenceError: its site is unknown.
            ConfigurationError: the id belongs to another company's need, or did before it was
                withdrawn (its alerts and webhook events stay that company's). The other
                company is not named.
        """
        site = self.sites.get(need.site)
        if site is None:
            raise UnknownReferenceError(f"site: need {need.id!r} names unknown site {need.site!r}")
        owner = self.owner_of_need(need.id)
        if owner is not None and owner != site.company:
            raise ConfigurationError(f"id: need id {need.id!r} is already used")

    def remove_need(self, need_id: str) -> None:
        """Withdraw a need (unknown ids are ignored).

        Its id stays its company's (:meth:`owner_of_need`), and its last record is kept in
        :attr:`withdrawn`, so the alerts that resolve after it still reach only that company.
        """
        need = self.needs.pop(need_id, None)
        if need is None:
            return
        company = self.company_of_need_record(need)
        if company is not None:
            self._retired[f"need:{need_id}"] = company
        self.withdrawn[need_id] = need

    def company_of_need_record(self, need: Need) -> str | None:
        """The company of a need's site, or ``None`` when the site is unknown."""
        site = self.sites.get(need.site)
        return site.company if site is not None else None

    def owner_of_need(self, need_id: str) -> str | None:
        """The company a need id belongs to: its registered or withdrawn need's company."""
        need = self.needs.get(need_id) or self.withdrawn.get(need_id)
        owner = self.company_of_need_record(need) if need is not None else None
        return owner or self._retired.get(f"need:{need_id}")

    def put_exchange(self, exchange: Exchange) -> None:
        """Add or replace an exchange.

        Raises:
            UnknownReferenceError: its stream or need is unknown.
        """
        self.check_exchange(exchange)
        self.exchanges[exchange.id] = exchange

    def check_exchange(self, exchange: Exchange) -> None:
        """Whether :meth:`put_exchange` would take ``exchange``; changes nothing.

        Raises:
            UnknownReferenceError: its stream or need is unknown.
        """
        if exchange.stream not in self._streams:
            raise UnknownReferenceError(
                f"stream: exchange {exchange.id!r} names unknown stream {exchange.stream!r}"
            )
        if exchange.need not in self.needs:
            raise UnknownReferenceError(
                f"need: exchange {exchange.id!r} names unknown need {exchange.need!r}"
            )

    def remove_exchange(self, exchange_id: str) -> None:
        """Forget an exchange (unknown ids are ignored)."""
        self.exchanges.pop(exchange_id, None)

    def put_webhook_state(self, state: WebhookState) -> None:
        """Record that a need's subscription was disabled (it answered 410 Gone)."""
        self.webhook_states[state.need] = state

    def remove_webhook_state(self, need_id: str) -> None:
        """Forget a need's webhook state: its subscription sends again."""
        self.webhook_states.pop(need_id, None)

    def webhook_disabled(self, need: Need) -> SubscriptionDisabled | None:
        """Why ``need``'s subscription is disabled, or ``None`` when events are sent to it.

        A state applies only to the subscription it names (key id, secret version, URL): a
        rotated or re-pointed subscription sends again, even before the state is withdrawn.
        """
        sub = need.subscription
        if sub is None or sub.webhook is None:
            return None
        if sub.disabled is not None:
            return sub.disabled
        state = self.webhook_states.get(need.id)
        if state is None:
            return None
        same = (state.key_id, state.secret_version, str(state.webhook)) == (
            sub.key_id, sub.secret_version, str(sub.webhook),
        )  # fmt: skip
        return state.disabled if same else None

    def with_webhook_state(self, need: Need) -> Need:
        """``need`` as the API shows it: its subscription marked disabled when it is."""
        disabled = self.webhook_disabled(need)
        if disabled is None or need.subscription is None:
            return need
        sub = need.subscription.model_copy(update={"disabled": disabled})
        return need.model_copy(update={"subscription": sub})

    def put_omf(self, key: str, record: OmfRecord) -> None:
        """Add or replace a company's OMF type or container (the API checked it).

        Raises:
            ConfigurationError: the key is not the record's own (a record cannot land in
                another company's book).
        """
        if key != record.key:
            raise ConfigurationError(f"key: {key!r} is not the OMF record's key {record.key!r}")
        if record.type is not None:
            self.omf_types.setdefault(record.type.company, {})[record.type.id] = record.type
        elif record.container is not None:
            book = self.omf_containers.setdefault(record.container.company, {})
            book[record.container.id] = record.container

    def remove_omf(self, key: str) -> None:
        """Forget a company's OMF type or container (tombstone; unknown keys are ignored)."""
        parts = split_omf_key(key)
        if parts is None:
            return
        company, kind, item_id = parts
        books = self.omf_types if kind == "type" else self.omf_containers
        book: dict[str, OmfType] | dict[str, OmfContainer] = books.get(company, {})
        book.pop(item_id, None)

    def meter(self, meter_id: str) -> MeterRef | None:
        """The meter's stream and site, or ``None`` for an unregistered meter."""
        return self._meters.get(meter_id)

    def stream(self, stream_id: str) -> tuple[Site, Stream] | None:
        """The stream with its site, or ``None``."""
        return self._streams.get(stream_id)

    def gas_species(self, stream_id: str) -> str | None:
        """The gas a stream carries (``None`` for other kinds or an unknown stream)."""
        found = self._streams.get(stream_id)
        return found[1].gas_species if found is not None else None

    def tag(self, site_id: str, tag: str) -> str | None:
        """The meter a site's historian tag names, or ``None``."""
        site = self.sites.get(site_id)
        return site.tag_map.get(tag) if site is not None else None

    def tagged_meter(self, site_id: str, key: str) -> tuple[str, MeterRef] | str:
        """The meter a tag path names at a site, or why none (the MQTT doors' mapping).

        The site's ``tag_map`` entry for ``key`` first, else the key's last ``/`` element when it
        is a registered meter (``utilities/_historian/refinery-fuel-gas``) that the site's
        ``tag_map`` does not name: a meter mapped from a tag is fed by that tag alone (another
        path ending in its id would mix a second series into it).
        """
        last = key.rsplit("/", 1)[-1]
        meter = self.tag(site_id, key)
        if meter is None and last in self._meters:
            if last in self._tagged.get(site_id, frozenset()):
                return (
                    f"{key!r} is not in the tag_map of site {site_id!r}, and meter {last!r} is "
                    "fed by the tag the tag_map names for it"
                )
            meter = last
        ref = self._meters.get(meter) if meter is not None else None
        if meter is None or ref is None:
            return (
                f"{key!r} names no meter: it is not in the tag_map of site {site_id!r}, "
                f"and {last!r} is not one of the caller's registered meters"
            )
        return meter, ref

    def company_of_stream(self, stream_id: str) -> str | None:
        """The company giving this stream, or ``None`` when unknown."""
        found = self._streams.get(stream_id)
        return found[0].company if found is not None else None

    def site_of_need(self, need_id: str) -> Site | None:
        """The site of a registered or withdrawn need, or ``None``."""
        need = self.needs.get(need_id) or self.withdrawn.get(need_id)
        return self.sites.get(need.site) if need is not None else None

    def company_of_need(self, need_id: str) -> str | None:
        """The company having this need, or ``None`` when the need or its site is unknown."""
        need = self.needs.get(need_id)
        if need is None:
            return None
        site = self.sites.get(need.site)
        return site.company if site is not None else None

    def streams_of(self, company: str | None) -> set[str]:
        """Ids of the streams a company gives (every stream for ``None``: the operator)."""
        return {sid for sid, (site, _) in self._streams.items() if company in (None, site.company)}

    def needs_of(self, company: str | None) -> set[str]:
        """Ids of the needs a company has (every need for ``None``: the operator)."""
        return {nid for nid in self.needs if company in (None, self.company_of_need(nid))}
