"""A site on the wire: a header record plus one record per stream, and their reassembly.

A site used to travel as one record with every stream and meter embedded; a refinery's
thousands of tags made it larger than Kafka's default ``message.max.bytes`` (1 MiB), so the
park could not be registered. Now :func:`split_site` turns a :class:`~schemas.registry.Site`
into:

- one :class:`~schemas.registry.StreamRecord` per stream, keyed by stream id, on the streams
  topic: the stream, its site's id and the site's tags that name its meters;
- one :class:`~schemas.registry.SiteHeader`, keyed by site id, on the sites topic: the site
  without streams or tags, with the ids of its streams in order;
- a tombstone for each stream the previous version listed and this one does not.

Every record of one registration carries the same ``revision``, a digest of the whole site.

Bound: no record exceeds :data:`MAX_RECORD_BYTES` (768 KiB, three quarters of Kafka's default
limit); :func:`split_site` refuses a site that would need a larger one, naming the stream.
The schema's caps keep sites below it: a stream has at most 10,000 meters and a header lists
at most 10,000 stream ids, under 660 KiB each even with ids of the longest (64 characters).
A site of 2,000 streams of 5 meters with a tag on every meter (1.3 MB as one record) makes
2,000 stream records of ~0.7 KB and a 26 KB header; one stream of 10,000 meters is ~160 KB,
~680 KB with a 28-character tag on every meter. Only a stream whose meters *and* tags are
both that many and long can pass the limit (10,000 meters each tagged fit while twice the
meter id plus the tag stays under ~69 characters); split such a stream in two.

:class:`SiteAssembler` is the other end, used by every follower (the API's, the MQTT
bridge's and delivery's directory through :func:`domain.registry_records.apply_record`, and
the stream worker's registry view). Records arrive in any order across topics and
partitions; it holds them and hands out a :class:`~schemas.registry.Site` equal to the one
that was split, once per version:

- a site is handed out when every stream its header lists is held at the header's
  revision, so a follower switches from one whole version to the next, once (not once per
  stream record: a site of 2,000 streams is applied once, not 2,000 times);
- a stream record that comes before its header is held until the header arrives;
- a header listing fewer streams drops the others (they are held, but no longer part of the
  site: a follower replaces the whole site, as it did before);
- re-publishing an unchanged site changes nothing (same revision: nothing is handed out);
- a registration that failed half-way (some records written, the publisher told to retry)
  leaves a follower that had the previous version on it; a follower that never had the site
  takes the streams it holds under the newest header as soon as it holds one for every listed
  id (a mixture of versions, each stream whole), rather than no site at all; a retried
  registration makes both whole again;
- a site record in the old format (streams embedded) is taken as it is, as before.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final, Literal

from pydantic import BaseModel, ValidationError

from domain.errors import ConfigurationError, InvalidRecordError
from schemas.registry import Site, SiteHeader, Stream, StreamRecord

MAX_RECORD_BYTES: Final = 768 * 1024
"""Largest registry record :func:`split_site` makes (JSON bytes): Kafka's default
``message.max.bytes`` is 1 MiB per record batch, so this leaves a quarter of it to spare."""

_MIXED: Final = "mixed"
"""Revision shown when a follower handed out a mixture of versions (see the module doc)."""
_LEGACY: Final = "legacy"
"""Revision shown when the follower took a site record of the old format."""


@dataclass(frozen=True, slots=True)
class WireRecord:
    """One registry record to publish: its kind (hence topic), key and value.

    A ``None`` value is a tombstone.
    """

    kind: Literal["site", "stream"]
    key: str
    value: bytes | None


@dataclass(frozen=True, slots=True)
class SiteRecords:
    """What registering a site publishes, in two steps.

    Attributes:
        records: The stream records, then the header. Publish them first, in any order.
        removals: Tombstones of the streams the previous version had and this one does not.
            Publish them only once ``records`` are acknowledged: a tombstone without the new
            header would leave the previous header naming a stream that is gone, and a
            follower starting afresh would not have the site until the header arrived.
        revision: The revision every record carries.
    """

    records: tuple[WireRecord, ...]
    removals: tuple[WireRecord, ...]
    revision: str

    @property
    def all(self) -> tuple[WireRecord, ...]:
        """``records`` then ``removals``: the order in which to apply them locally."""
        return self.records + self.removals


def _tags_by_stream(site: Site) -> dict[str, dict[str, str]]:
    """The site's tags grouped by the stream owning their meter (the first that lists it).

    Sorted by tag within each stream: the order a follower's reassembled ``tag_map`` has.
    """
    owner: dict[str, str] = {}
    for st in site.streams:
        for meter in st.meter_ids:
            owner.setdefault(meter, st.id)
    tags: dict[str, dict[str, str]] = {st.id: {} for st in site.streams}
    for tag, meter in sorted(site.tag_map.items()):
        tags[owner[meter]][tag] = meter  # the site's validator: every tag names one of them
    return tags


def _revision(site: Site, tags: dict[str, dict[str, str]]) -> str:
    """The digest every record of ``site`` carries (32 hex characters of SHA-256).

    Equal sites have equal revisions, whatever the order of their tag maps: it is taken over
    the site as it is reassembled (tags in the order of their streams, then sorted).
    """
    canonical = {tag: meter for st in site.streams for tag, meter in tags[st.id].items()}
    text = site.model_copy(update={"tag_map": canonical}).model_dump_json()
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _encode(model: BaseModel, what: str, advice: str) -> bytes:
    """The record's JSON, checked to decode again and to stay under the bound.

    Raises:
        ConfigurationError: larger than :data:`MAX_RECORD_BYTES` (says ``what`` and
            ``advice``), or not valid as stored.
    """
    value = model.model_dump_json().encode()
    if len(value) > MAX_RECORD_BYTES:
        raise ConfigurationError(
            f"{what} would be a registry record of {len(value):,} bytes, over the limit of "
            f"{MAX_RECORD_BYTES:,}: {advice}"
        )
    try:
        type(model).model_validate_json(value)
    except ValidationError as e:
        raise ConfigurationError(f"{what} is not valid as stored: {e}") from e
    return value


def split_site(site: Site, previous: Site | None = None) -> SiteRecords:
    """The records that register ``site`` (replacing ``previous``, its registered version).

    ``previous`` only adds the tombstones of the streams it has and ``site`` does not. Without
    it (a park file published again), streams that were dropped keep their record on the
    streams topic; no header lists them, so every follower ignores them.

    Raises:
        ConfigurationError: a record would exceed :data:`MAX_RECORD_BYTES` (the message names
            the stream), or would not decode again; nothing is to be published then.
    """
    tags = _tags_by_stream(site)
    revision = _revision(site, tags)
    records = [
        WireRecord(
            "stream",
            st.id,
            _encode(
                StreamRecord(site=site.id, revision=revision, stream=st, tags=tags[st.id]),
                f"stream {st.id!r}",
                "split it into several streams (fewer meters or tags each)",
            ),
        )
        for st in site.streams
    ]
    header = SiteHeader.model_validate(
        {
            **site.model_dump(exclude={"streams", "tag_map"}),
            "stream_ids": [st.id for st in site.streams],
            "revision": revision,
        }
    )
    what = f"the header of site {site.id!r}"
    advice = "give the site fewer streams, or shorter stream ids"
    records.append(WireRecord("site", site.id, _encode(header, what, advice)))
    kept = {st.id for st in site.streams}
    removed = [st.id for st in previous.streams if st.id not in kept] if previous else []
    return SiteRecords(
        tuple(records), tuple(WireRecord("stream", sid, None) for sid in removed), revision
    )


@dataclass
class _Version:
    """The newest header of a site and which of its streams are not held as it wants them."""

    header: SiteHeader
    stale: set[str] = field(default_factory=set)
    """Listed stream ids not held for this site at the header's revision."""
    absent: set[str] = field(default_factory=set)
    """Listed stream ids not held for this site at all (any revision)."""


@dataclass
class SiteAssembler:
    """Headers and stream records as they arrive -> whole sites; see the module docstring.

    Pure and synchronous; callers serialise access. Each ``put_*`` costs O(1) per record,
    except a header (O(its streams)) and a site handed out (O(its streams and meters)).
    Memory: the newest header of each site and the newest record of each stream id.
    """

    _versions: dict[str, _Version] = field(default_factory=dict)
    _streams: dict[str, StreamRecord] = field(default_factory=dict)
    _listed: dict[str, set[str]] = field(default_factory=dict)
    """Stream id -> the sites whose newest header lists it (one, but for a moving stream)."""
    _shown: dict[str, str] = field(default_factory=dict)
    """Site id -> the revision last handed out (or :data:`_MIXED`, :data:`_LEGACY`)."""

    def put_header(self, header: SiteHeader) -> Site | None:
        """Take a site's header; the site when this completes a version not handed out yet.

        Raises:
            ConfigurationError: the held records do not make a valid site (not expected:
                each was checked on its own).
        """
        self._unlist(header.id)
        version = _Version(header)
        for sid in header.stream_ids:
            self._listed.setdefault(sid, set()).add(header.id)
            self._classify(version, sid)
        self._versions[header.id] = version
        return self._ready(version)

    def put_stream(self, key: str, record: StreamRecord | None) -> Site | None:
        """Take a stream record; its site when this completes a version not handed out yet.

        ``record`` ``None`` is the tombstone of stream ``key``: it never completes a site.

        Raises:
            InvalidRecordError: the record's stream is not the one its key names.
            ConfigurationError: as :meth:`put_header`.
        """
        if record is not None and record.stream.id != key:
            raise InvalidRecordError(f"key: {key!r} is not its stream {record.stream.id!r}")
        if record is None:
            self._streams.pop(key, None)
        else:
            self._streams[key] = record
        for site_id in self._listed.get(key, ()):
            self._classify(self._versions[site_id], key)
        if record is None or record.site not in self._listed.get(key, ()):
            return None  # a tombstone never completes a site; nor does an unlisted stream
        return self._ready(self._versions[record.site])

    def put_site(self, site: Site) -> Site:
        """Take a site record of the old format (streams embedded); returns it, to apply.

        It replaces any header of that site taken before.
        """
        self._unlist(site.id)
        self._versions.pop(site.id, None)
        self._shown[site.id] = _LEGACY
        return site

    def waiting(self) -> dict[str, int]:
        """Sites whose newest header is incomplete -> how many of its streams are missing.

        Missing at the header's revision; for logs (e.g. a registration that failed half-way).
        """
        return {sid: len(v.stale) for sid, v in self._versions.items() if v.stale}

    def _unlist(self, site_id: str) -> None:
        old = self._versions.get(site_id)
        if old is None:
            return
        for sid in old.header.stream_ids:
            sites = self._listed.get(sid)
            if sites is not None:
                sites.discard(site_id)
                if not sites:
                    del self._listed[sid]

    def _classify(self, version: _Version, stream_id: str) -> None:
        record = self._streams.get(stream_id)
        if record is None or record.site != version.header.id:
            version.absent.add(stream_id)
            version.stale.add(stream_id)
            return
        version.absent.discard(stream_id)
        if record.revision == version.header.revision:
            version.stale.discard(stream_id)
        else:
            version.stale.add(stream_id)

    def _ready(self, version: _Version) -> Site | None:
        site_id, revision = version.header.id, version.header.revision
        shown = self._shown.get(site_id)
        if not version.stale:
            if shown == revision:
                return None  # this version was handed out already (a repeat changes nothing)
            self._shown[site_id] = revision
            return self._assemble(version.header)
        if shown is None and not version.absent:
            self._shown[site_id] = _MIXED  # no version of it yet: a mixture beats no site
            return self._assemble(version.header)
        return None

    def _assemble(self, header: SiteHeader) -> Site:
        records = [self._streams[sid] for sid in header.stream_ids]
        streams: list[Stream] = [r.stream for r in records]
        tag_map = {tag: meter for r in records for tag, meter in r.tags.items()}
        fields = header.model_dump(exclude={"stream_ids", "revision"})
        try:
            return Site.model_validate({**fields, "streams": streams, "tag_map": tag_map})
        except ValidationError as e:
            raise ConfigurationError(f"site {header.id!r} does not reassemble: {e}") from e
