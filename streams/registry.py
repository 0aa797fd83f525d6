"""The worker's view of the registry: sites, needs and exchanges from compacted topics.

Records arrive keyed by id, in any order across topics; a ``None`` value (tombstone) removes
the id. A site arrives in parts, a header and one record per stream: its
:class:`~domain.site_records.SiteAssembler` holds them and the matcher and ledger get the
whole site once per version (a stream record before its header waits for it; a header
listing fewer streams drops the others from both). A need whose site has not arrived yet, or
an exchange whose need has not, waits in a pending set and is applied as soon as what it
references is known, so start-up order does not matter. Invalid records are reported to the
caller (for the rejected topic), never applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from pydantic import ValidationError

from domain.errors import SymbiosisError
from domain.matching import Matcher
from domain.registry_records import decode_record
from domain.site_records import SiteAssembler
from runtime.settings import Topics
from schemas.registry import Exchange, Need, Site, SiteHeader, StreamRecord
from streams.ledger_state import LedgerBook
from topics.catalogue import TopicIndex, index, registry_kind


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
        """
        record_id = key.decode("utf-8", errors="replace") if key else ""
        kind = registry_kind(self._index, topic)
        if kind is None:
            return [Refused(f"{topic} is not a registry topic", value or b"", record_id)]
        settle = True
        try:
            record = decode_record(kind, value)
            if kind in ("webhook_state", "omf"):
                pass  # whom delivery sends to, how the API reads OMF data: not the matcher's
            elif kind == "stream":
                assert record is None or isinstance(record, StreamRecord)
                settle = self._update_site(self.sites.put_stream(record_id, record))
            elif isinstance(record, SiteHeader):
                settle = self._update_site(self.sites.put_header(record))
            elif isinstance(record, Site):  # the old format, streams embedded
                settle = self._update_site(self.sites.put_site(record))
            elif kind == "need":
                if record is None:
                    self.pending_needs.pop(record_id, None)
                    self.matcher.remove_need(record_id)
                else:
                    assert isinstance(record, Need)
                    self.pending_needs[record.id] = record
            elif record is None:
                self.pending_exchanges.pop(record_id, None)
                self.matcher.remove_exchange(record_id)
                self.book.remove_exchange(record_id)
            else:
                assert isinstance(record, Exchange)
                self.pending_exchanges[record.id] = record
        except (ValidationError, SymbiosisError) as e:
            return [Refused(str(e), value or b"", record_id)]
        self.applied += 1
        return self._settle() if settle else []

    def _update_site(self, site: Site | None) -> bool:
        """Give a whole site (if any) to the matcher and the ledger book; whether there was one.

        Raises:
            SymbiosisError: the matcher refuses one of its streams (see
                :meth:`~domain.matching.Matcher.update_site`).
        """
        if site is None:
            return False
        self.matcher.update_site(site)
        self.book.update_site(site)
        return True

    def _settle(self) -> list[Refused]:
        refused: list[Refused] = []
        for need_id, need in list(self.pending_needs.items()):
            try:
                self.matcher.site(need.site)
            except KeyError:
                continue
            del self.pending_needs[need_id]
            try:
                self.matcher.add_need(need)
            except SymbiosisError as e:
                refused.append(Refused(str(e), need.model_dump_json().encode(), need_id))
        for exchange_id, x in list(self.pending_exchanges.items()):
            try:
                self.matcher.need(x.need)
            except KeyError:
                continue
            if not self.book.knows(x.stream):
                continue
            del self.pending_exchanges[exchange_id]
            try:
                self.matcher.add_exchange(x)
                self.book.set_exchange(x)
            except SymbiosisError as e:
                self.matcher.remove_exchange(exchange_id)
                self.book.remove_exchange(exchange_id)
                refused.append(Refused(str(e), x.model_dump_json().encode(), exchange_id))
        return refused
