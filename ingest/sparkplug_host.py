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
  it names the meter by its last ``/`` element. The unit is the meter's stream unit, the
  quality ``good``; the timestamp is the metric's (else the payload's) Unix milliseconds;
- NBIRTH/DBIRTH define the metrics (names, aliases, datatypes) and carry their current values
  (readings too); NDATA/DDATA name metrics by alias or name. Sparkplug's own metrics
  (``bdSeq``, ``Node Control/*``, ``Device Control/*``, ``Properties/*``) are not readings.
  Everything else is a reading or a rejection with its reason: non-numeric and null metrics,
  unknown aliases, metrics that map to no meter;
- ``seq`` (0..255, wrapping) is checked per edge node. A message ahead of the expected ``seq``
  is still forwarded (its aliases are the birth's, readings are idempotent), and the seqs it
  skipped are awaited for ``reorder_timeout_s``; one still missing then sends the node a
  rebirth request (NCMD ``Node Control/Rebirth``). DATA from a node whose birth this host has
  not seen (after a host restart, say) is ignored and answered with a rebirth request too;
- NDEATH (whose ``bdSeq`` matches the node's NBIRTH; a stale one is ignored) and DDEATH make
  a reading of quality ``bad`` for every meter of the node (or device), at the time the host
  learnt of the death (a Will's own timestamp is when the node connected), with the meter's
  last value (0 when intake refused that value: the death must still reach the ledger). The stream
  worker's ledger drops a meter's window at a ``bad`` reading newer than its newest good one, so
  those streams stop counting as available surplus until the node is born again and sends good
  values.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import orjson
from google.protobuf.message import DecodeError

from domain.directory import Directory
from domain.intake import UNMAPPED, RowError
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

_BOOLEAN: Final = 11
_SIGNED_BITS: Final = {1: 8, 2: 16, 3: 32, 4: 64}  # Int8..Int64, sent as two's complement
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
    # device (None: the node itself) -> meter -> its last value
    meters: dict[str | None, dict[str, float]] = field(default_factory=dict)
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
            del self._nodes[key]
            self._stale(out, directory, topic, node_id, node.meters)
            return out
        else:
            self._check_seq(node, message, now)
        if kind == "DDATA" and device not in node.meters:  # a device this host never saw born
            out.ignored = True
            if _devices(node) < MAX_DEVICES_PER_NODE:  # else its birth would be refused again
                out.commands.extend(self._rebirth(key, now))
            return out
        if kind == "DDEATH":
            gone = {device: node.meters.pop(device, {})}
            self._stale(out, directory, topic, node_id, gone)
            return out
        if kind.endswith("BIRTH"):
            for metric in message.metrics:
                if metric.name:
                    dtype = metric.datatype if metric.HasField("datatype") else 0
                    node.datatypes[(device, metric.name)] = dtype
                    if metric.HasField("alias"):
                        node.aliases[metric.alias] = (device, metric.name)
            node.meters[device] = {}
        self._readings(out, directory, topic, node, device, message)
        return out

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
        """Track ``seq``: a skipped one is awaited for the reorder timeout (:meth:`due`)."""
        if not message.HasField("seq"):
            return
        seq = message.seq % 256
        if seq in node.missing:  # late, within the timeout: reordered, not lost
            del node.missing[seq]
            return
        ahead = (seq - node.next_seq) % 256
        if ahead >= 128:  # behind: a duplicate (a redelivered QoS 1 message)
            return
        deadline = now + self.reorder_timeout_s
        for skipped in range(node.next_seq, node.next_seq + ahead):
            node.missing[skipped % 256] = deadline
        node.next_seq = (seq + 1) % 256
        if len(node.missing) > 128:  # hopeless: ask at once
            node.missing = dict.fromkeys(node.missing, now)

    def _readings(
        self, out: SparkplugMessage, directory: Directory, topic: str, node: _Node,
        device: str | None, message: Payload,
    ) -> None:  # fmt: skip
        site = topic.split("/")[3]
        meters = node.meters.setdefault(device, {})
        for metric in message.metrics:
            name = metric.name or node.aliases.get(metric.alias, (None, ""))[1]
            if name == BD_SEQ or name.startswith(SPARKPLUG_METRICS):
                continue
            label = name or f"alias {metric.alias}"
            row: dict[str, object] | None = None
            if not name:
                reason = f"alias {metric.alias} was not defined by the birth of this node"
            else:
                dtype = node.datatypes.get((device, name), 0)
                if metric.HasField("datatype"):
                    dtype = metric.datatype
                reason, row = _row(directory, site, device, name, dtype, metric, message)
            i = len(out.rows)
            out.labels.append(label)
            if row is None:
                raw = {"metric": label, "value": _shown(metric)}
                out.errors.append(RowError(i, f"{topic}.{label}", reason, payload=raw))
                out.rows.append(UNMAPPED)
                continue
            meters[str(row["meter"])] = float(row["value"])  # type: ignore[arg-type]
            out.rows.append(row)

    def _stale(
        self, out: SparkplugMessage, directory: Directory, topic: str, site: str,
        meters: dict[str | None, dict[str, float]],
    ) -> None:  # fmt: skip
        ts = datetime.now(UTC).isoformat()
        for by_meter in meters.values():
            for meter, value in by_meter.items():
                ref = directory.meter(meter)
                if ref is None:
                    continue
                out.labels.append(f"{meter} stale")
                unit = ref.stream.unit
                if not _acceptable(value, allows_negative=ref.stream.allows_negative):
                    value = 0.0  # the last value was refused: the death must not be
                out.rows.append({"meter": meter, "ts": ts, "value": value, "unit": unit,
                                 "quality": "bad", "_site": site})  # fmt: skip
        if not out.rows:
            out.ignored = True


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


def _number(metric: Payload.Metric, dtype: int) -> tuple[float | None, str]:
    """A metric's numeric value, or ``None`` and why it is not one."""
    if metric.is_null:
        return None, "is null"
    kind = metric.WhichOneof("value")
    if kind in ("int_value", "long_value"):
        raw: int = getattr(metric, kind)
        bits = _SIGNED_BITS.get(dtype)
        if bits is not None:  # two's complement of the metric's width
            raw &= (1 << bits) - 1
            raw -= (1 << bits) if raw >= 1 << (bits - 1) else 0
        return float(raw), ""
    if kind in ("float_value", "double_value"):
        return float(getattr(metric, kind)), ""
    what = {"boolean_value": "a boolean", "string_value": "a string", "bytes_value": "bytes"}
    return None, f"must be a number, not {what.get(kind or '', 'absent')}"


def _shown(metric: Payload.Metric) -> object:
    kind = metric.WhichOneof("value")
    value = getattr(metric, kind) if kind else None
    return value.hex() if isinstance(value, bytes) else value


def _row(
    directory: Directory, site: str, device: str | None, name: str, dtype: int,
    metric: Payload.Metric, message: Payload,
) -> tuple[str, dict[str, object] | None]:  # fmt: skip
    """One metric's reading row (``_site`` included), or why it is refused."""
    value, why = _number(metric, dtype)
    if value is None:
        return why, None
    if metric.HasField("timestamp"):
        ms = metric.timestamp
    elif message.HasField("timestamp"):
        ms = message.timestamp
    else:
        return "has no timestamp (neither the metric nor the payload)", None
    ts, why = timestamp(ms)
    if ts is None:
        return f"timestamp {why}", None
    key = f"{device}/{name}" if device else name
    found = directory.tagged_meter(site, key)
    if isinstance(found, str):
        return f"metric {found}", None
    meter, ref = found
    return "", {"meter": meter, "ts": ts, "value": value, "unit": ref.stream.unit, "_site": site}
