"""Sparkplug B (Eclipse Sparkplug 3.0) host application sessions -> reading rows. No I/O.

The MQTT bridge is a Sparkplug host application beside its Unified-Namespace trees: it reads
``spBv1.0/<group>/<type>/<edge node>[/<device>]`` and hands every message to
:meth:`SparkplugHost.handle`, which keeps each edge node's session and turns its metrics into
reading rows for :class:`~ingest.gateway.ReadingGateway`. How it maps onto the park
(docs/user-guide.md, "MQTT bridge"):

- the **group id is the company id** (the pushing tenant: the broker's ACL confines each
  company's login to ``spBv1.0/<company>/#``), the **edge node id is the site id**: a message
  of an edge node that is not a registered site of that company is refused, and the host keeps
  no session for it (so sessions stay as many as sites; a site registered later gets a
  rebirth request at its node's next message). A node has at most
  :data:`MAX_DEVICES_PER_NODE` devices born at once;
- a metric names a meter like a UMH tag does: its key (the metric name, prefixed by
  ``<device id>/`` for a device's metrics) is looked up in the site's ``tag_map``; a key not in
  it names the meter by its last ``/`` element. A template (UDT) instance's members are
  metrics named ``<instance>/<member>`` (nested instances likewise, at most
  :data:`MAX_TEMPLATE_DEPTH` deep); a template definition is no reading. The unit is the
  metric's ``engUnit`` property (sent in its birth or with the value; intake converts it to the
  stream's unit or refuses the reading), else the meter's stream unit. The quality is the
  metric's ``Quality`` property (0 BAD, 192 GOOD, 500 STALE; OPC DA codes 64-191 uncertain,
  193-255 good; anything else bad), else the instance's, else ``good``. The timestamp is the
  metric's (else its instance's, else the payload's) Unix milliseconds;
- NBIRTH/DBIRTH define the metrics (names, aliases, datatypes, units) and carry their current
  values (readings too); NDATA/DDATA name metrics by alias or name. Sparkplug's own metrics
  (``bdSeq``, ``Node Control/*``, ``Device Control/*``, ``Properties/*``) are not readings,
  nor are transient metrics (``is_transient``: not to be stored). A historical metric
  (``is_historical``, store and forward) is a reading at its own time but not the meter's
  current value. Everything else is a reading or a rejection with its reason: non-numeric
  (DateTime, String, DataSet...) and null metrics, unknown aliases, metrics that map to no meter;
- ``seq`` (0..255, wrapping) is checked per edge node. A seq among the node's last 128 is a
  duplicate; a message ahead of the expected ``seq`` is still forwarded (its aliases are the
  birth's, readings are idempotent), and the seqs it skipped are awaited for
  ``reorder_timeout_s``; one still missing then sends the node a rebirth request (NCMD
  ``Node Control/Rebirth``), at once when 128 or more were skipped. DATA from a node whose
  birth this host has not seen (after a host restart, say) is ignored and answered with a
  rebirth request too, and when the host's MQTT connection comes back every node is asked for
  a rebirth (:meth:`SparkplugHost.resync`: data sent meanwhile was lost);
- NDEATH (whose ``bdSeq`` matches the node's NBIRTH; a stale one is ignored) and DDEATH make
  a reading of quality ``bad`` for every meter of the node (or device): an NDEATH at the time
  the host learnt of it (a Will's own timestamp is when the node connected), a DDEATH at its
  payload's timestamp (the edge node saw the device go), with the meter's last current value
  (0 when intake refused that value: the death must still reach the ledger). The stream
  worker's ledger drops a meter's window at a ``bad`` reading newer than its newest good one,
  so those streams stop counting as available surplus until the node is born again and sends
  good values.
"""

from __future__ import annotations

import math
import struct
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, NamedTuple

import orjson
from google.protobuf.message import DecodeError

from domain.directory import Directory
from domain.errors import UnitError
from domain.intake import UNMAPPED, RowError
from domain.units import factor
from ingest.sparkplug_b_pb2 import Payload
from ingest.umh_historian import timestamp
from schemas.readings import MAX_ABS_VALUE

NAMESPACE: Final = "spBv1.0"
REBIRTH: Final = "Node Control/Rebirth"
BD_SEQ: Final = "bdSeq"
SPARKPLUG_METRICS: Final = ("Node Control/", "Device Control/", "Properties/")
REBIRTH_RETRY_S: Final = 10.0
"""A node that was asked to rebirth is not asked again for this long (no command floods)."""
MAX_DEVICES_PER_NODE: Final = 1_000
"""Devices one edge node may have born at once: a node's session state stays bounded."""

MAX_TEMPLATE_DEPTH: Final = 8
"""Templates nested deeper than this inside one metric are refused (a bounded walk)."""
MAX_NAME_CHARS: Final = 256
"""A metric's name (a template member's: with its instance's) is at most this long."""
MAX_VALUES_PER_MESSAGE: Final = 10_000
"""Values (metrics, template members) read from one message; the rest are refused."""
MAX_DEFINITIONS_PER_NODE: Final = 100_000
"""Metric definitions (datatypes, units) an edge node's births may leave with the host."""
QUALITY: Final = "Quality"
ENG_UNIT: Final = "engUnit"

_BOOLEAN: Final = 11
_FLOAT: Final = 9
_SIGNED_BITS: Final = {1: 8, 2: 16, 3: 32, 4: 64}  # Int8..Int64, sent as two's complement
_NUMERIC_TYPES: Final = range(0, 11)  # Unknown, Int8..UInt64, Float, Double
_TYPE_NAMES: Final = {
    11: "a Boolean", 12: "a String", 13: "a DateTime", 14: "a Text", 15: "a UUID",
    16: "a DataSet", 17: "Bytes", 18: "a File", 19: "a Template", 20: "a PropertySet",
    21: "a PropertySetList",
}  # fmt: skip
_SEEN_SEQS: Final = 128  # the last seqs of a node kept to tell a duplicate from a gap
_DATA_TYPES: Final = ("NBIRTH", "DBIRTH", "NDATA", "DDATA", "NDEATH", "DDEATH")
_TOPIC_SHAPE: Final = f"topic must be {NAMESPACE}/<company>/<type>/<site>[/<device>]"

Command = tuple[str, bytes]
"""An MQTT message the host sends: ``(topic, payload)`` (QoS 0, not retained)."""


def is_sparkplug_topic(topic: str) -> bool:
    """Whether ``topic`` is in Sparkplug B's namespace (``spBv1.0/...``)."""
    return topic.startswith(NAMESPACE + "/")


def state_topic(host_id: str) -> str:
    """The host application's retained STATE topic (Sparkplug 3.0)."""
    return f"{NAMESPACE}/STATE/{host_id}"


def state_payload(online: bool, timestamp_ms: int) -> bytes:
    """The STATE message: ``{"online": ..., "timestamp": ...}`` (the Will's has ``false``)."""
    return orjson.dumps({"online": online, "timestamp": timestamp_ms})


def is_offline_state(payload: bytes) -> bool:
    """Whether a STATE message says ``online: false`` (not JSON or no such member: no)."""
    try:
        state = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    return isinstance(state, dict) and state.get("online") is False


def rebirth_command(group: str, node: str, now_ms: int | None = None) -> Command:
    """The NCMD asking edge node ``group/node`` to publish its births again."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    payload = Payload(timestamp=ms)
    payload.metrics.add(name=REBIRTH, timestamp=ms, datatype=_BOOLEAN, boolean_value=True)
    return f"{NAMESPACE}/{group}/NCMD/{node}", payload.SerializeToString()


@dataclass
class SparkplugMessage:
    """One Sparkplug message as reading rows, like :class:`~ingest.umh_historian.HistorianMessage`.

    Attributes:
        company: The group id (the pushing tenant); empty when the topic has none.
        rows: Reading rows with ``_site`` (the edge node id), or ``UNMAPPED`` with an error.
        errors: Why rows were refused (row numbers are positions in ``rows``).
        labels: Per row, the metric it came from.
        ignored: Not readings (commands, STATE, a stale death, DATA awaiting a rebirth).
        commands: Rebirth requests to publish.
    """

    company: str
    rows: list[object] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    ignored: bool = False
    commands: list[Command] = field(default_factory=list)

    def refuse(self, where: str, reason: str, payload: object) -> SparkplugMessage:
        """This message refused whole: one unmapped row with ``reason``."""
        self.rows, self.labels = [UNMAPPED], [""]
        self.errors = [RowError(0, where, reason, payload=payload)]
        return self


@dataclass
class _Node:
    """One edge node's session, from its NBIRTH to its NDEATH."""

    bd_seq: int | None
    next_seq: int
    aliases: dict[int, tuple[str | None, str]] = field(default_factory=dict)
    datatypes: dict[tuple[str | None, str], int] = field(default_factory=dict)
    units: dict[tuple[str | None, str], str] = field(default_factory=dict)  # births' engUnit
    seen: deque[int] = field(default_factory=lambda: deque(maxlen=_SEEN_SEQS))
    # meter -> the metric key that names it by its last element (not through the tag_map)
    claims: dict[str, str] = field(default_factory=dict)
    # device (None: the node itself) -> meter -> its last value
    meters: dict[str | None, dict[str, tuple[float, str]]] = field(default_factory=dict)
    missing: dict[int, float] = field(default_factory=dict)  # seq -> deadline


class SparkplugHost:
    """Every edge node's session; see the module docstring. Not thread-safe: one caller."""

    def __init__(
        self, reorder_timeout_s: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.reorder_timeout_s = reorder_timeout_s
        self._clock = clock
        self._nodes: dict[tuple[str, str], _Node] = {}
        self._rebirth_sent: dict[tuple[str, str], float] = {}

    def handle(self, topic: str, payload: bytes, directory: Directory) -> SparkplugMessage:
        """One message on a ``spBv1.0/...`` topic (the caller holds the directory's lock).

        Long because: it is the Sparkplug message-type dispatch (births, data, deaths), each
        a few lines of session bookkeeping.
        """
        parts = topic.split("/")
        out = SparkplugMessage(parts[1] if len(parts) > 3 and parts[1] != "STATE" else "")
        if len(parts) >= 3 and (parts[1] == "STATE" or parts[2] in ("NCMD", "DCMD")):
            out.ignored = True  # host state, and commands (ours, or another host's)
            return out
        if len(parts) not in (4, 5) or not all(parts) or parts[2] not in _DATA_TYPES:
            return out.refuse(topic, _TOPIC_SHAPE, _text(payload))
        group, kind, node_id = parts[1], parts[2], parts[3]
        device = parts[4] if len(parts) == 5 else None
        if (device is None) != kind.startswith("N"):
            return out.refuse(topic, f"{kind} {_TOPIC_SHAPE}", _text(payload))
        site = directory.sites.get(node_id)
        if site is None or site.company != group:  # no session kept, no rebirth asked
            reason = f"edge node {node_id!r} is not a registered site of company {group!r}"
            return out.refuse(topic, reason, _text(payload))
        try:
            message = Payload.FromString(payload)
        except DecodeError as e:
            return out.refuse(topic, f"not a Sparkplug B payload: {e}", _text(payload))
        key, now = (group, node_id), self._clock()
        node = self._nodes.get(key)
        if (
            kind == "DBIRTH" and node is not None and device not in node.meters
            and _devices(node) >= MAX_DEVICES_PER_NODE
        ):  # fmt: skip
            reason = f"an edge node has at most {MAX_DEVICES_PER_NODE} devices born at once"
            return out.refuse(topic, reason, _text(payload))
        if kind == "NBIRTH":
            bd_seq = next((_integer(m) for m in message.metrics if m.name == BD_SEQ), None)
            node = self._nodes[key] = _Node(bd_seq, (message.seq + 1) % 256)
            node.seen.append(message.seq % 256)
            self._rebirth_sent.pop(key, None)
        elif node is None:
            if kind.endswith("DEATH"):
                out.ignored = True  # a death of a session this host never saw born
                return out
            out.ignored = True
            out.commands.extend(self._rebirth(key, now))
            return out
        elif kind == "NDEATH":
            bd_seq = next((_integer(m) for m in message.metrics if m.name == BD_SEQ), None)
            if node.bd_seq is not None and bd_seq != node.bd_seq:
                out.ignored = True  # the Will of an earlier session: this one lives on
                return out
            del self._nodes[key]  # the host's time: a Will carries when the node connected
            self._stale(out, directory, node_id, node.meters, datetime.now(UTC).isoformat())
            return out
        else:
            self._check_seq(node, message, now)
        if kind == "DDATA" and device not in node.meters:  # a device this host never saw born
            out.ignored = True
            if _devices(node) < MAX_DEVICES_PER_NODE:  # else its birth would be refused again
                out.commands.extend(self._rebirth(key, now))
            return out
        if kind in ("DBIRTH", "DDEATH"):  # the device's names are its own again
            node.claims = {m: k for m, k in node.claims.items() if not k.startswith(f"{device}/")}
        if kind == "DDEATH":  # the death's own time (the edge node saw it happen)
            gone = {device: node.meters.pop(device, {})}
            self._stale(out, directory, node_id, gone, _death_time(message))
            return out
        if kind.endswith("BIRTH"):
            self._define(node, device, message)
        self._readings(out, directory, topic, node, device, message)
        return out

    def resync(self) -> None:
        """Ask every edge node for a rebirth at the next :meth:`due` (the host reconnected).

        Data sent while the host was away is gone (Sparkplug data is QoS 0), so each node's
        state is asked for again. Sessions are kept: a death queued for the host while it was
        away (a Will, QoS 1) still ends its node's session.
        """
        now = self._clock()
        for node in self._nodes.values():
            node.missing[node.next_seq] = now
        self._rebirth_sent.clear()

    def due(self) -> list[Command]:
        """Rebirth requests for nodes whose skipped ``seq`` did not arrive in time."""
        now = self._clock()
        commands: list[Command] = []
        for key, node in self._nodes.items():
            if node.missing and min(node.missing.values()) <= now:
                node.missing.clear()
                commands.extend(self._rebirth(key, now))
        return commands

    def _rebirth(self, key: tuple[str, str], now: float) -> list[Command]:
        sent = self._rebirth_sent.get(key)
        if sent is not None and now - sent < REBIRTH_RETRY_S:
            return []
        self._rebirth_sent[key] = now
        return [rebirth_command(*key)]

    def _check_seq(self, node: _Node, message: Payload, now: float) -> None:
        """Track ``seq``: a skipped one is awaited for the reorder timeout (:meth:`due`).

        A seq among the node's last :data:`_SEEN_SEQS` is a duplicate (a message delivered
        again); any other seq that is not the next one is a gap, however far ahead: 128 or
        more messages lost asks for a rebirth at once.
        """
        if not message.HasField("seq"):
            return
        seq = message.seq % 256
        if seq in node.missing:  # late, within the timeout: reordered, not lost
            del node.missing[seq]
            node.seen.append(seq)
            return
        if seq in node.seen:
            return
        ahead = (seq - node.next_seq) % 256
        skipped = {(node.next_seq + i) % 256 for i in range(ahead)}
        if skipped:  # those seqs come again after the wrap: not duplicates then
            node.seen = deque((x for x in node.seen if x not in skipped), maxlen=_SEEN_SEQS)
        node.seen.append(seq)
        node.next_seq = (seq + 1) % 256
        deadline = now if ahead >= 128 else now + self.reorder_timeout_s  # hopeless: ask now
        for lost in skipped:
            node.missing[lost] = deadline

    @staticmethod
    def _define(node: _Node, device: str | None, message: Payload) -> None:
        """A birth's metric definitions: names, aliases, datatypes, units (members too).

        A device's birth replaces its earlier definitions; a node keeps at most
        :data:`MAX_DEFINITIONS_PER_NODE` (beyond, a value is read with the datatype it
        carries, and its unit is the stream's).
        """
        if device is not None:  # a rebirth: its old names go
            for table in (node.datatypes, node.units):
                for key in [k for k in table if k[0] == device]:
                    del table[key]
        budget = [MAX_VALUES_PER_MESSAGE]
        for metric in message.metrics:
            if not metric.name or metric.template_value.is_definition:
                continue
            if len(node.datatypes) >= MAX_DEFINITIONS_PER_NODE:
                break
            if metric.HasField("alias") and len(metric.name) <= MAX_NAME_CHARS:
                node.aliases[metric.alias] = (device, metric.name)
            for leaf in _leaves(metric.name, metric, None, None, budget):
                if leaf.why:
                    continue
                dtype = leaf.metric.datatype if leaf.metric.HasField("datatype") else 0
                node.datatypes[(device, leaf.name)] = dtype
                unit = _eng_unit(leaf.metric)
                if unit:
                    node.units[(device, leaf.name)] = unit
        node.meters[device] = {}

    def _readings(
        self, out: SparkplugMessage, directory: Directory, topic: str, node: _Node,
        device: str | None, message: Payload,
    ) -> None:  # fmt: skip
        site = topic.split("/")[3]
        meters = node.meters.setdefault(device, {})
        sent = message.timestamp if message.HasField("timestamp") else None
        budget = [MAX_VALUES_PER_MESSAGE]
        for metric in message.metrics:
            name = metric.name or node.aliases.get(metric.alias, (None, ""))[1]
            if name == BD_SEQ or name.startswith(SPARKPLUG_METRICS):
                continue
            if metric.template_value.is_definition or metric.is_transient:
                continue  # a template's definition; a value not to be stored (6.4.x)
            if not name:
                reason = f"alias {metric.alias} was not defined by the birth of this node"
                _refuse(out, topic, f"alias {metric.alias}", reason, metric)
                continue
            if budget[0] < 0:
                break  # past the message's values (refused once, naming the limit)
            for leaf in _leaves(name, metric, sent, None, budget):
                if leaf.why:
                    _refuse(out, topic, leaf.name, leaf.why, leaf.metric)
                    continue
                if leaf.metric.is_transient:
                    continue
                dtype = node.datatypes.get((device, leaf.name), 0)
                if leaf.metric.HasField("datatype"):
                    dtype = leaf.metric.datatype
                unit = _eng_unit(leaf.metric) or node.units.get((device, leaf.name))
                reason, row = _row(directory, site, device, leaf, dtype, unit)
                if row is not None:
                    reason, row = _claimed(node, directory, site, device, leaf.name, row)
                if row is None:
                    _refuse(out, topic, leaf.name, reason, leaf.metric)
                    continue
                last = (float(row["value"]), str(row["unit"]))  # type: ignore[arg-type]
                if leaf.metric.is_historical:  # not the current value (store and forward)
                    meters.setdefault(str(row["meter"]), last)
                else:
                    meters[str(row["meter"])] = last
                out.labels.append(leaf.name)
                out.rows.append(row)

    @staticmethod
    def _stale(
        out: SparkplugMessage, directory: Directory, site: str,
        meters: dict[str | None, dict[str, tuple[float, str]]], ts: str,
    ) -> None:  # fmt: skip
        """A ``bad`` reading at ``ts`` for each of ``meters`` (a death).

        In the stream's unit, with the last value converted to it, or 0 when that value or its
        unit was one intake refuses: the death itself must never be refused.
        """
        for by_meter in meters.values():
            for meter, (value, unit) in by_meter.items():
                ref = directory.meter(meter)
                if ref is None:
                    continue
                out.labels.append(f"{meter} stale")
                stream = ref.stream
                try:
                    value *= factor(unit, stream.unit, field=meter, kind=stream.kind,
                                    gas_species=stream.gas_species,
                                    density_kg_per_m3=stream.density_kg_per_m3)  # fmt: skip
                except UnitError:
                    value = 0.0
                if not _acceptable(value, allows_negative=stream.allows_negative):
                    value = 0.0
                out.rows.append({"meter": meter, "ts": ts, "value": value, "unit": stream.unit,
                                 "quality": "bad", "_site": site})  # fmt: skip
        if not out.rows:
            out.ignored = True


def _claimed(
    node: _Node, directory: Directory, site: str, device: str | None, name: str,
    row: dict[str, object],
) -> tuple[str, dict[str, object] | None]:  # fmt: skip
    """``row``, unless another metric of the node already names its meter by its last element.

    ``Line1/flare-gas`` and ``Line2/flare-gas`` are two meters whose values must not mix in
    one: the second is refused, and a ``tag_map`` entry says which metric is the meter.
    """
    key = f"{device}/{name}" if device else name
    if directory.tag(site, key) is not None:
        return "", row
    meter = str(row["meter"])
    first = node.claims.setdefault(meter, key)
    if first == key:
        return "", row
    return (
        f"metric {key!r} and metric {first!r} both end in meter {meter!r}; map the one that "
        f"is the meter in the tag_map of site {site!r}",
        None,
    )


def _death_time(message: Payload) -> str:
    """When a DDEATH happened: its payload's time, never later than now.

    An edge clock ahead would put the death in the future, where intake refuses it and the
    device's meters would stay available.
    """
    now = datetime.now(UTC)
    if message.HasField("timestamp") and message.timestamp < now.timestamp() * 1000:
        when, _ = timestamp(message.timestamp)
        if when is not None:
            return when
    return now.isoformat()


class _Leaf(NamedTuple):
    """A metric that holds a value: a plain metric, or a member of a template instance."""

    name: str  # the instance's name, then ``/`` and the member's, for a member
    metric: Payload.Metric
    ts_ms: int | None  # its own timestamp, else its instance's, else the payload's
    quality: int | None  # its own Quality property, else its instance's
    why: str = ""  # not a value: why (a template nested too deep)


def _leaves(
    name: str, metric: Payload.Metric, ts_ms: int | None, quality: int | None,
    budget: list[int], depth: int = 0,
) -> Iterator[_Leaf]:  # fmt: skip
    """``metric`` itself, or each member of a template instance (nested ones too).

    Bounded: names over :data:`MAX_NAME_CHARS` and templates nested over
    :data:`MAX_TEMPLATE_DEPTH` are refused leaves (``why``), never walked; past the message's
    ``budget`` (values left, one count for the message) the first value is refused naming
    the limit and the rest are not read.
    """
    if budget[0] <= 0:
        if not budget[0]:
            budget[0] = -1
            limit = (
                f"a message holds at most {MAX_VALUES_PER_MESSAGE} values; the rest are not read"
            )
            yield _Leaf(name[:MAX_NAME_CHARS], metric, ts_ms, quality, limit)
        return
    if metric.HasField("timestamp"):
        ts_ms = metric.timestamp
    own = _quality_code(metric)
    quality = own if own is not None else quality
    why = ""
    if len(name) > MAX_NAME_CHARS:
        name, why = name[:MAX_NAME_CHARS] + "...", f"a name over {MAX_NAME_CHARS} characters"
    elif metric.WhichOneof("value") == "template_value" and depth >= MAX_TEMPLATE_DEPTH:
        why = f"templates nested over {MAX_TEMPLATE_DEPTH} deep"
    if why or metric.WhichOneof("value") != "template_value":
        budget[0] -= 1
        yield _Leaf(name, metric, ts_ms, quality, why)
        return
    for member in metric.template_value.metrics:
        if budget[0] < 0:
            return
        if member.name:
            full = f"{name}/{member.name[: MAX_NAME_CHARS + 1]}"
            yield from _leaves(full, member, ts_ms, quality, budget, depth + 1)


def _refuse(
    out: SparkplugMessage, topic: str, label: str, reason: str, metric: Payload.Metric
) -> None:
    raw = {"metric": label, "value": _shown(metric)}
    out.errors.append(RowError(len(out.rows), f"{topic}.{label}", reason, payload=raw))
    out.labels.append(label)
    out.rows.append(UNMAPPED)


def _property(metric: Payload.Metric, key: str) -> Payload.PropertyValue | None:
    """The value of property ``key`` of ``metric`` (``None``: absent or null)."""
    if not metric.HasField("properties"):
        return None
    props = metric.properties
    for k, value in zip(props.keys, props.values, strict=False):
        if k == key:
            return None if value.is_null else value
    return None


def _quality_code(metric: Payload.Metric) -> int | None:
    """The metric's Sparkplug ``Quality`` code (an Int32), or ``None`` when it sends none."""
    value = _property(metric, QUALITY)
    if value is None:
        return None
    kind = value.WhichOneof("value")
    if kind not in ("int_value", "long_value"):
        return 0  # a Quality that is no code: not known to be good
    code: int = getattr(value, kind)
    return code - (1 << 32) if kind == "int_value" and code >= 1 << 31 else code


def _quality(code: int | None) -> str | None:
    """Our quality for a Sparkplug code; ``None`` for good (the default).

    The specification's codes are 0 BAD, 192 GOOD, 500 STALE; clients that pass OPC DA codes
    through send 193-255 (good with a sub-status) and 64-191 (uncertain). Anything else,
    STALE included, is ``bad``: the value is not known to hold now.
    """
    if code is None or 192 <= code <= 255:
        return None
    return "uncertain" if 64 <= code < 192 else "bad"


def _eng_unit(metric: Payload.Metric) -> str | None:
    """The metric's ``engUnit`` property (Tahu's and Ignition's), if it sends a non-empty one."""
    value = _property(metric, ENG_UNIT)
    if value is None or value.WhichOneof("value") != "string_value":
        return None
    return value.string_value.strip() or None


def _devices(node: _Node) -> int:
    """How many devices of a node are born (its own metrics are not a device's)."""
    return len(node.meters) - (None in node.meters)


def _acceptable(value: float, *, allows_negative: bool) -> bool:
    """Whether intake takes ``value`` as a reading of its stream (finite, bounded, sign)."""
    return math.isfinite(value) and abs(value) <= MAX_ABS_VALUE and (value >= 0 or allows_negative)


def _text(payload: bytes) -> str:
    return payload[:4096].decode("utf-8", "replace")


def _integer(metric: Payload.Metric) -> int | None:
    kind = metric.WhichOneof("value")
    if kind == "long_value":
        return metric.long_value
    if kind == "int_value":
        return metric.int_value
    return None


def _float32(value: float) -> float:
    """The shortest decimal that is the same 32-bit float (``2950.7``, not ``2950.699951...``)."""
    if not math.isfinite(value):
        return value
    packed = struct.pack("<f", value)
    for digits in range(6, 10):
        shorter = float(f"{value:.{digits}g}")
        if struct.pack("<f", shorter) == packed:
            return shorter
    return value


def _number(metric: Payload.Metric, dtype: int) -> tuple[float | None, str]:
    """A metric's numeric value, or ``None`` and why it is not one."""
    if metric.is_null:
        return None, "is null"
    if dtype not in _NUMERIC_TYPES:
        what = _TYPE_NAMES.get(dtype, f"an array or datatype {dtype}")
        return None, f"must be a number, not {what}"
    kind = metric.WhichOneof("value")
    if kind in ("int_value", "long_value"):
        raw: int = getattr(metric, kind)
        bits = _SIGNED_BITS.get(dtype)
        if bits is not None:  # two's complement of the metric's width
            raw &= (1 << bits) - 1
            raw -= (1 << bits) if raw >= 1 << (bits - 1) else 0
        return float(raw), ""
    if kind == "float_value":
        return _float32(metric.float_value), ""
    if kind == "double_value":
        return metric.double_value, ""
    sent = {
        "boolean_value": "a boolean", "string_value": "a string", "bytes_value": "bytes",
        "dataset_value": "a data set", "extension_value": "an extension value",
    }  # fmt: skip
    return None, f"must be a number, not {sent.get(kind or '', 'absent (the metric has no value)')}"


def _shown(metric: Payload.Metric) -> object:
    kind = metric.WhichOneof("value")
    if kind in ("dataset_value", "template_value", "extension_value"):
        return f"<{kind.removesuffix('_value')}>"
    value = getattr(metric, kind) if kind else None
    return value.hex() if isinstance(value, bytes) else value


def _row(
    directory: Directory, site: str, device: str | None, leaf: _Leaf, dtype: int,
    unit: str | None,
) -> tuple[str, dict[str, object] | None]:  # fmt: skip
    """One value's reading row (``_site`` included), or why it is refused.

    The unit is the metric's ``engUnit`` when it sends one (intake converts it to the stream's
    unit, or refuses the reading), else the meter's stream's.
    """
    value, why = _number(leaf.metric, dtype)
    if value is None:
        return why, None
    if leaf.ts_ms is None:
        return "has no timestamp (neither the metric nor the payload)", None
    ts, why = timestamp(leaf.ts_ms)
    if ts is None:
        return f"timestamp {why}", None
    key = f"{device}/{leaf.name}" if device else leaf.name
    found = directory.tagged_meter(site, key)
    if isinstance(found, str):
        return f"metric {found}", None
    meter, ref = found
    row: dict[str, object] = {"meter": meter, "ts": ts, "value": value,
                              "unit": unit or ref.stream.unit, "_site": site}  # fmt: skip
    quality = _quality(leaf.quality)
    if quality is not None:
        row["quality"] = quality
    return "", row
