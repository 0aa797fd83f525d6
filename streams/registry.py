"""The worker's view of the registry: sites, needs and exchanges from compacted topics.

Records arrive keyed by id, in any order across topics; a ``None`` value (tombstone) removes
the id. A site arrives in parts, a header and one record per stream: its
:class:`~domain.site_records.SiteAssembler` holds them and the matcher and ledger get the
whole site once per version (a stream record before its header waits for it; a header
listing fewer streams drops the others from both). A need whose site has not arrived yet, or
an exchange whose need or stream has not, waits in a pending set and is applied as soon as what
it references is known, so start-up order does not matter. The pending sets are indexed by what
they wait for (site, need, stream), so a record only looks at the items it can unblock: reading
a TEDA-size registry (5,000 needs before 1,000 sites of 5,000 streams) took 13 s when every
record re-checked every pending item, and is linear now. Invalid records are reported to the
caller (for the rejected topic), never applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import structlog
from pydantic import ValidationError

from domain.errors import SymbiosisError
from domain.matching import Matcher
from domain.registry_records import SITE_RECORD_SHAPES, decode_record
from domain.site_records import SiteAssembler
from domain.wording import summary
from runtime.settings import Topics
from schemas.registry import Exchange, Need, Site, SiteHeader, StreamRecord
from streams.ledger_state import LedgerBook
from topics.catalogue import TopicIndex, index, registry_kind

log = structlog.get_logger(__name__)


class Refused(NamedTuple):
    """A registry item that was not applied, and why."""

    reason: str
    payload: bytes
    item_id: str


@dataclass
class RegistryView:
    """Applies registry records to the matcher and the ledger book."""

    topics: Topics
    matcher: Matcher
    book: LedgerBook
    pending_needs: dict[str, Need] = field(default_factory=dict)
    pending_exchanges: dict[str, Exchange] = field(default_factory=dict)
    _needs_on_site: dict[str, dict[str, None]] = field(default_factory=dict, repr=False)
    """site id -> pending needs of that site (ordered sets)."""
    _exchanges_on: dict[tuple[str, str], dict[str, None]] = field(default_factory=dict, repr=False)
    """("need" | "stream", id) -> pending exchanges naming it."""
    sites: SiteAssembler = field(default_factory=SiteAssembler)
    """Site headers and stream records, until they make whole sites."""
    applied: int = 0
    _index: TopicIndex = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = index(self.topics)

    def apply(self, topic: str, key: bytes | None, value: bytes | None) -> list[Refused]:
        """Apply one record (and whatever was waiting for it); returns what was refused.

        Each refused item names itself: the record, or a pending need or exchange that could
        not be applied when what it references arrived. One bad item never blocks the others.
        A site's header or stream record that does not complete a site leaves the pending needs
        and exchanges alone (cheap: a site of 2,000 streams settles them once, not 2,000 times).
        Never raises for a record: an unforeseen error refuses it (``internal error``), since a
        record of a compacted topic that stops the worker stops every restart too.

        Long because: one branch per record kind, and each way a record can be refused.
        """
        record_id = key.decode("utf-8", errors="replace") if key else ""
        kind = registry_kind(self._index, topic)
        if kind is None:
            return [Refused(f"{topic} is not a registry topic", value or b"", record_id)]
        needs: dict[str, None] = {}
        exchanges: dict[str, None] = {}
        try:
            record = decode_record(kind, value)
            site: Site | None = None
            if kind in ("webhook_state", "omf"):
                pass  # whom delivery sends to, how the API reads OMF data: not the matcher's
            elif kind == "stream":
                assert record is None or isinstance(record, StreamRecord)
                site = self._update_site(self.sites.put_stream(record_id, record))
            elif isinstance(record, SiteHeader):
                site = self._update_site(self.sites.put_header(record))
            elif isinstance(record, Site):  # the old format, streams embedded
                site = self._update_site(self.sites.put_site(record))
            elif kind == "need":
                self._unwait_need(record_id)
                if record is None:
                    self.matcher.remove_need(record_id)
                else:
                    assert isinstance(record, Need)
                    self._wait_need(record)
                    needs[record.id] = None
            elif record is None:
                self._unwait_exchange(record_id)
                self.matcher.remove_exchange(record_id)
                self.book.remove_exchange(record_id)
            else:
                assert isinstance(record, Exchange)
                self._unwait_exchange(record.id)
                self._wait_exchange(record)
                exchanges[record.id] = None
            if site is not None:
                needs.update(self._needs_on_site.get(site.id, {}))
                for stream in site.streams:
                    exchanges.update(self._exchanges_on.get(("stream", stream.id), {}))
        except ValidationError as e:
            spec = self._index[topic]
            tags = SITE_RECORD_SHAPES if kind == "site" else None
            return [Refused(summary(e, model=spec.payload, tags=tags), value or b"", record_id)]
        except SymbiosisError as e:
            return [Refused(str(e), value or b"", record_id)]
        except Exception as e:  # one bad record never stops the worker (nor its restarts)
            log.exception("streams.registry_record_failed", topic=topic, record=record_id)
            return [Refused(f"internal error: {e!r}", value or b"", record_id)]
        self.applied += 1
        try:
            return self._settle(needs, exchanges)
        except Exception as e:  # as above: what was waiting stays pending
            log.exception("streams.registry_settle_failed", topic=topic, record=record_id)
            return [Refused(f"internal error: {e!r}", value or b"", record_id)]

    def _wait_need(self, need: Need) -> None:
        self.pending_needs[need.id] = need
        self._needs_on_site.setdefault(need.site, {})[need.id] = None

    def _unwait_need(self, need_id: str) -> None:
        need = self.pending_needs.pop(need_id, None)
        if need is not None:
            waiting = self._needs_on_site[need.site]
            del waiting[need_id]
            if not waiting:
                del self._needs_on_site[need.site]

    def _wait_exchange(self, exchange: Exchange) -> None:
        self.pending_exchanges[exchange.id] = exchange
        for on in (("need", exchange.need), ("stream", exchange.stream)):
            self._exchanges_on.setdefault(on, {})[exchange.id] = None

    def _unwait_exchange(self, exchange_id: str) -> None:
        exchange = self.pending_exchanges.pop(exchange_id, None)
        if exchange is not None:
            for on in (("need", exchange.need), ("stream", exchange.stream)):
                waiting = self._exchanges_on[on]
                del waiting[exchange_id]
                if not waiting:
                    del self._exchanges_on[on]

    def _update_site(self, site: Site | None) -> Site | None:
        """Give a whole site (if any) to the matcher and the ledger book; returns it.

        Raises:
            SymbiosisError: the matcher refuses one of its streams (see
                :meth:`~domain.matching.Matcher.update_site`).
        """
        if site is None:
            return None
        self.matcher.update_site(site)
        self.book.update_site(site)
        return site

    def _settle(self, needs: dict[str, None], exchanges: dict[str, None]) -> list[Refused]:
        """Apply the pending ``needs``, then ``exchanges`` (ids), whose references are known.

        A need applied adds the exchanges waiting for it. Ids no longer pending are skipped.
        """
        refused: list[Refused] = []
        for need_id in needs:
            need = self.pending_needs.get(need_id)
            if need is None:
                continue
            try:
                self.matcher.site(need.site)
            except KeyError:
                continue
            self._unwait_need(need_id)
            try:
                self.matcher.add_need(need)
            except Exception as e:  # noqa: BLE001 - refused under its own id, the others go on
                refused.append(Refused(_why(e, need_id), need.model_dump_json().encode(), need_id))
                continue
            exchanges.update(self._exchanges_on.get(("need", need_id), {}))
        for exchange_id in exchanges:
            x = self.pending_exchanges.get(exchange_id)
            if x is None:
                continue
            try:
                self.matcher.need(x.need)
            except KeyError:
                continue
            if not self.book.knows(x.stream):
                continue
            self._unwait_exchange(exchange_id)
            try:
                self.matcher.add_exchange(x)
                self.book.set_exchange(x)
            except Exception as e:  # noqa: BLE001 - refused under its own id, the others go on
                self.matcher.remove_exchange(exchange_id)
                self.book.remove_exchange(exchange_id)
                reason = _why(e, exchange_id)
                refused.append(Refused(reason, x.model_dump_json().encode(), exchange_id))
        return refused


def _why(e: Exception, item_id: str) -> str:
    """A refusal's reason: the rule broken, or an internal error (logged with its traceback)."""
    if isinstance(e, SymbiosisError):
        return str(e)
    log.error("streams.registry_item_failed", item=item_id, exc_info=e)
    return f"internal error: {e!r}"
