"""MQTT -> Kafka: a plant's Unified-Namespace topic tree, with the same rules as the HTTP API.

Topics are ``<root>/<company>/<site>/[<area>/...]<meter>``; a message is one reading or a
JSON array of readings ``{"ts" (or "timestamp"), "value", "unit", "quality"?}`` of that meter.
The bridge also reads United Manufacturing Hub's ``_historian`` messages on
``umh/v1/<company>/<site>/.../_historian/...`` (``timestamp_ms`` and one or more tags, mapped
to meters by the site's tag map or by name: :mod:`ingest.umh_historian`); other UMH schemas are
ignored. And it is a Sparkplug B host application: ``spBv1.0/<company>/<type>/<site>[/<device>]``
(births, data, deaths; :mod:`ingest.sparkplug_host`), publishing its retained
``spBv1.0/STATE/<host id>`` (with an offline Will) and rebirth requests. The company in the
topic is the pushing tenant: the meter must be registered at that site of that company (give
each company broker credentials limited to ``<root>/<company>/#``, ``umh/v1/<company>/#`` and
``spBv1.0/<company>/#`` with Mosquitto ACL patterns, so the topic cannot lie).

Credentials and TLS come from the settings (``SYMBIOSIS_MQTT_USERNAME``, ``_PASSWORD``,
``_TLS``, ``_CA_FILE``, ``_CLIENT_CERT``, ``_CLIENT_KEY``): see :func:`mqtt_client` and the
broker side in deploy/mosquitto/.

Delivery: the bridge subscribes with QoS 1 and a persistent session and acknowledges a
message to the broker only after Kafka acknowledged its readings (or its rejection), so a
crash or a Kafka outage loses nothing: unacknowledged messages are delivered again. Messages
are batched (``flush_s``/``max_batch``) and checked by :class:`~ingest.gateway.ReadingGateway`;
bad readings go to the rejected topic with the topic they came from. Sparkplug B publishes
births and data with QoS 0 (its specification): a message lost on the way shows as a ``seq`` gap,
answered by a rebirth request.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion

from domain.errors import ConfigurationError, TransientError, UnavailableError
from domain.intake import UNMAPPED, RowError
from ingest.gateway import Pending, ReadingGateway
from ingest.meter_claims import MeterClaims
from ingest.sparkplug_host import NAMESPACE as SPARKPLUG_NAMESPACE
from ingest.sparkplug_host import (
    SparkplugHost,
    is_offline_state,
    is_sparkplug_topic,
    state_payload,
    state_topic,
)
from ingest.umh_historian import PREFIX as UMH_PREFIX
from ingest.umh_historian import is_umh_topic, parse_historian
from runtime import metrics
from runtime.probe_server import Heartbeat
from runtime.settings import Settings
from schemas.readings import MAX_READINGS_PER_RECORD

log = structlog.get_logger(__name__)


class _Message(NamedTuple):
    topic: str
    payload: bytes
    mid: int
    qos: int
    session: int  # which connection delivered it: message ids are per connection


class _Parsed(NamedTuple):
    company: str
    rows: list[object]
    errors: list[RowError]
    sources: list[str]  # per row, where its rejection says it came from
    places: list[str]  # per row, how its fields are named: "<topic>[2]", "<topic>.<tag>"


@dataclass
class _Group:
    """One company's rows of a batch, from its messages in order."""

    rows: list[object] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    messages: list[_Message] = field(default_factory=list)

    def locate(self, row: int, name: str) -> str:
        """A row's field as its message names it (not as the row's place in the batch)."""
        place = self.places[row]
        return f"{place}.{name}" if name else place


@dataclass
class BridgeStats:
    """Totals since start.

    Messages received from the broker; readings accepted and rejected; UMH messages of
    another schema than ``_historian`` (acknowledged, not readings); Sparkplug messages that
    carry no readings (host state, commands, data awaiting a rebirth); how often Kafka was away
    (those messages were not acknowledged to the broker, which redelivers them).
    """

    messages: int = 0
    accepted: int = 0
    rejected: int = 0
    ignored: int = 0
    sparkplug_control: int = 0
    kafka_failures: int = 0


def _text(payload: bytes) -> str:
    return payload[:4096].decode("utf-8", "replace")


def parse_message(
    root: str, topic: str, payload: bytes
) -> tuple[str, list[object], list[RowError]]:
    """The tenant named by a topic, the message's reading rows, and what is wrong with them.

    Args:
        root: The tree's root, e.g. ``park``.
        topic: ``<root>/<company>/<site>/.../<meter>``.
        payload: One JSON reading object or an array of them.

    Returns:
        ``(company, rows, errors)``: rows in our reading shape (``meter`` from the topic);
        a row that cannot be read is :data:`~domain.intake.UNMAPPED` with its error
        (row numbers are positions in the message, fields are prefixed by the topic).
    """
    parts = topic.removeprefix(root.rstrip("/") + "/").split("/")
    if not topic.startswith(root.rstrip("/") + "/") or len(parts) < 3 or not all(parts):
        reason = f"topic must be {root}/<company>/<site>/.../<meter>"
        return "", [UNMAPPED], [RowError(0, topic, reason, payload=_text(payload))]
    company, site, meter = parts[0], parts[1], parts[-1]
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        reason = f"payload is not JSON: {e}"
        return company, [UNMAPPED], [RowError(0, topic, reason, payload=_text(payload))]
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_READINGS_PER_RECORD:
        reason = f"a message holds at most {MAX_READINGS_PER_RECORD} readings, not {len(items)}"
        return company, [UNMAPPED], [RowError(0, topic, reason, payload=_text(payload))]
    rows: list[object] = []
    errors: list[RowError] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            rows.append(UNMAPPED)
            errors.append(RowError(i, f"{topic}[{i}]", "must be an object", payload=item))
            continue
        row: dict[str, Any] = dict(item)
        if "timestamp" in row and "ts" not in row:
            row["ts"] = row.pop("timestamp")
        named = row.setdefault("meter", meter)
        if named != meter:
            rows.append(UNMAPPED)
            reason = f"{named!r} differs from the topic's meter"
            errors.append(RowError(i, f"{topic}[{i}].meter", reason, payload=item))
            continue
        row["_site"] = site
        rows.append(row)
    return company, rows, errors


def _existing_file(path: Path | None, setting: str) -> str | None:
    if path is None:
        return None
    if not path.is_file():
        raise ConfigurationError(f"{setting}: {path} does not exist or is not a file")
    return str(path)


def mqtt_client(settings: Settings, client_id: str) -> mqtt.Client:
    """The bridge's paho client, configured but not connected.

    A persistent session with manual acknowledgements, and the settings' credentials and TLS:
    ``mqtt_username``/``mqtt_password`` (none: anonymous, as the local stack's broker allows),
    and with ``mqtt_tls`` the CA file (none: the system's CAs), an optional client certificate
    and key, and hostname verification unless ``mqtt_tls_insecure``.

    Raises:
        ConfigurationError: a file is missing or unreadable, or the settings contradict each
            other (TLS files without ``mqtt_tls``, a password without a user name); the
            message names the setting.
    """
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=False,  # the broker keeps QoS 1 messages while we are away
        manual_ack=True,
    )
    password = settings.mqtt_password.get_secret_value()
    if settings.mqtt_username:
        client.username_pw_set(settings.mqtt_username, password or None)
        if not settings.mqtt_tls:
            log.warning("mqtt.credentials_without_tls", host=settings.mqtt_host)
    elif password:
        raise ConfigurationError(
            "SYMBIOSIS_MQTT_PASSWORD is set but SYMBIOSIS_MQTT_USERNAME is not"
        )
    tls_only = {
        "SYMBIOSIS_MQTT_CA_FILE": settings.mqtt_ca_file,
        "SYMBIOSIS_MQTT_CLIENT_CERT": settings.mqtt_client_cert,
        "SYMBIOSIS_MQTT_CLIENT_KEY": settings.mqtt_client_key,
        "SYMBIOSIS_MQTT_TLS_INSECURE": settings.mqtt_tls_insecure or None,
    }
    if not settings.mqtt_tls:
        named = [name for name, value in tls_only.items() if value is not None]
        if named:
            raise ConfigurationError(
                f"{', '.join(named)} set but SYMBIOSIS_MQTT_TLS is false: set it to true"
            )
        return client
    ca_file = _existing_file(settings.mqtt_ca_file, "SYMBIOSIS_MQTT_CA_FILE")
    cert = _existing_file(settings.mqtt_client_cert, "SYMBIOSIS_MQTT_CLIENT_CERT")
    key = _existing_file(settings.mqtt_client_key, "SYMBIOSIS_MQTT_CLIENT_KEY")
    if key is not None and cert is None:
        raise ConfigurationError(
            "SYMBIOSIS_MQTT_CLIENT_KEY is set but SYMBIOSIS_MQTT_CLIENT_CERT is not"
        )
    try:
        client.tls_set(ca_certs=ca_file, certfile=cert, keyfile=key)
    except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
        files = ", ".join(f"{n}={v}" for n, v in tls_only.items() if isinstance(v, Path))
        raise ConfigurationError(f"cannot load the MQTT TLS files ({files or 'none'}): {e}") from e
    if settings.mqtt_tls_insecure:
        log.warning("mqtt.tls_insecure", note="the broker's host name is not verified")
        client.tls_insecure_set(True)
    return client


class MqttBridge:
    """Subscribes to the tree and forwards readings; see the module docstring.

    The client's credentials and TLS come from ``settings`` (default: the gateway's).
    """

    def __init__(
        self,
        gateway: ReadingGateway,
        *,
        host: str,
        port: int,
        root: str,
        client_id: str,
        flush_s: float = 0.1,
        max_batch: int = 5000,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or gateway.settings
        self.gateway = gateway
        self.root = root.rstrip("/")
        self.flush_s = flush_s
        self.max_batch = max_batch
        self.stats = BridgeStats()
        self.heartbeat = Heartbeat(max_age_s=60.0)
        """Beats every turn of the forwarding loop (at least every ``flush_s`` when idle)."""
        self._inbox: queue.Queue[_Message] = queue.Queue()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._session = 0
        self._refused: str | None = None
        self._client = mqtt_client(settings, client_id)
        self.sparkplug = SparkplugHost(settings.sparkplug_reorder_timeout_s)
        self._umh_claims = MeterClaims()  # which UMH tag path names each meter
        self._state_topic = state_topic(settings.sparkplug_host_id)
        self._state_ts = 0
        self._arm_will()
        self._sparkplug_session = 0  # the connection the Sparkplug sessions were kept under
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = lambda *_: self._arm_will()
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._host, self._port = host, port
        self._worker = threading.Thread(target=self._forward_loop, name="mqtt-forward", daemon=True)

    def start(self, timeout_s: float = 20.0) -> None:
        """Connect, subscribe and start forwarding; returns once subscribed.

        Raises:
            UnavailableError: the broker could not be reached or did not confirm in time.
            ConfigurationError: the broker refused the connection (e.g. bad credentials).
        """
        try:
            self._client.connect(self._host, self._port, keepalive=30)
        except OSError as e:  # includes TLS handshake failures (ssl.SSLError)
            where = f"{self._host}:{self._port}"
            raise UnavailableError(f"cannot reach the MQTT broker {where}: {e}") from e
        self._client.loop_start()
        self._worker.start()
        if not self._subscribed.wait(timeout_s):
            self.stop()
            if self._refused is not None:
                raise ConfigurationError(f"the MQTT broker refused the connection: {self._refused}")
            raise UnavailableError(
                f"the MQTT broker did not confirm a subscription in {timeout_s} s"
            )

    def stop(self) -> None:
        """Forward what was received, say the Sparkplug host is offline, then disconnect."""
        self._stop.set()
        if self._worker.is_alive():
            self._worker.join(timeout=30)
        if self._client.is_connected():
            offline = state_payload(False, int(time.time() * 1000))
            info = self._client.publish(self._state_topic, offline, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=5)
            except (RuntimeError, ValueError) as e:
                log.warning("mqtt.sparkplug_state_offline_failed", error=str(e)[:200])
        self._client.disconnect()
        self._client.loop_stop()

    def _arm_will(self) -> None:
        """The offline STATE Will of the next connection, stamped now (Sparkplug 3.0).

        Each connection's Will and online STATE carry that connection's time, so an edge node
        can tell a late Will of an earlier connection (older) from this one's.
        """
        self._state_ts = int(time.time() * 1000)
        self._client.will_set(
            self._state_topic, state_payload(False, self._state_ts), qos=1, retain=True
        )

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, reason: Any, _p: object
    ) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            log.error("mqtt.connect_refused", reason=str(reason))
            return
        self._session += 1
        topics = [f"{self.root}/#", f"{UMH_PREFIX}/#", f"{SPARKPLUG_NAMESPACE}/#"]
        client.subscribe([(topic, 1) for topic in topics])
        online = state_payload(True, self._state_ts)
        client.publish(self._state_topic, online, qos=1, retain=True)
        log.info("mqtt.subscribed", topics=topics, sparkplug_state=self._state_topic)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put(_Message(msg.topic, bytes(msg.payload), msg.mid, msg.qos, self._session))

    def _forward_loop(self) -> None:
        while not (self._stop.is_set() and self._inbox.empty()):
            self.heartbeat.beat()
            batch: list[_Message] = []
            deadline = time.monotonic() + self.flush_s
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._inbox.get(timeout=max(deadline - time.monotonic(), 0.001)))
                except queue.Empty:
                    break
            if self._session != self._sparkplug_session:
                if self._sparkplug_session:  # reconnected: data sent meanwhile is lost
                    self.sparkplug.resync()
                self._sparkplug_session = self._session
            for topic, payload in self.sparkplug.due():
                self._command(topic, payload)
            if batch:
                self._forward_batch(batch)

    def _forward_batch(self, batch: list[_Message]) -> None:
        """Forward ``batch``; never raises (the loop must outlive any one batch)."""
        parses: dict[int, _Parsed | None] = {}
        try:
            self._forward(batch, parses)
        except TransientError as e:
            self._redeliver(len(batch), e)
        except Exception as e:
            log.exception("mqtt.batch_failed", messages=len(batch), error=repr(e)[:300])
            for m in batch:  # find the message at fault: the others go on
                self._forward_alone(m, parses)

    def _redeliver(self, messages: int, e: Exception) -> None:
        """Kafka is away: none of the ``messages`` is acknowledged, the broker sends them again."""
        self.stats.kafka_failures += 1
        metrics.MQTT_MESSAGES.labels("kafka_away").inc(messages)
        log.warning("mqtt.kafka_unavailable", error=str(e)[:200])
        self._drop_session()

    def _forward_alone(self, m: _Message, parses: dict[int, _Parsed | None]) -> None:
        """Forward one message of a batch that failed; one that fails alone is refused.

        A message that makes the bridge fail for a reason other than Kafka (a bug, an input
        nobody foresaw) would otherwise come back forever and hold up every tenant's messages
        behind it: it goes to the rejected topic (``internal error``) and is acknowledged.
        Readings of the batch already published are published again: readings are idempotent.
        A message read in the first pass is not read again (``parses``): reading a Sparkplug
        message moves its node's session (a death ends it), so a second reading would differ.
        """
        try:
            self._forward([m], parses)
            return
        except TransientError as e:
            self._redeliver(1, e)
            return
        except Exception as e:
            log.exception("mqtt.message_failed", topic=m.topic)
            reason = f"internal error: {e!r}"[:300]
        try:
            pending = self.gateway.queue(
                [UNMAPPED], company=None, source="mqtt", prefix="mqtt",
                earlier_errors=[RowError(0, m.topic, reason, payload=_text(m.payload))],
                row_sources=[f"mqtt {m.topic}"], all_or_nothing=False,
            )  # fmt: skip
            self.gateway.settle([pending])
        except TransientError as e:
            self._redeliver(1, e)
            return
        self.stats.rejected += 1
        metrics.MQTT_MESSAGES.labels("refused").inc()
        if m.qos > 0:
            self._client.ack(m.mid, m.qos)

    def _forward(
        self, batch: list[_Message], parses: dict[int, _Parsed | None] | None = None
    ) -> None:
        """Check and publish one batch; acknowledge its messages once Kafka has them.

        ``parses`` keeps each message's reading (by the message's identity) for a second
        pass over the same messages; a message found there is not read again.
        """
        memo: dict[int, _Parsed | None] = {} if parses is None else parses
        groups: dict[str, _Group] = defaultdict(_Group)
        session = self._session
        ignored: list[_Message] = []
        for m in batch:
            if m.session != session:  # from a dropped connection: the broker sends it again
                continue
            read_now = id(m) not in memo
            parsed = memo[id(m)] = self._read(m) if read_now else memo[id(m)]
            if parsed is None:
                ignored.append(m)
                if read_now and is_sparkplug_topic(m.topic):  # state, commands, births awaited
                    self.stats.sparkplug_control += 1
                continue
            group = groups[parsed.company]
            offset = len(group.rows)
            group.rows.extend(parsed.rows)
            group.errors.extend(
                RowError(e.row + offset, e.field, e.reason, e.forbidden, e.payload)
                for e in parsed.errors
            )
            group.sources.extend(parsed.sources)
            group.places.extend(parsed.places)
            group.messages.append(m)
        pending = self._publish(groups, len(batch))
        if pending is None:
            return
        for result, group in zip(pending, groups.values(), strict=True):
            self.stats.accepted += result.submission.accepted
            self.stats.rejected += result.submission.rejected_rows
            for m in group.messages:
                if m.qos > 0:
                    self._client.ack(m.mid, m.qos)
            metrics.MQTT_MESSAGES.labels("forwarded").inc(len(group.messages))
        metrics.MQTT_MESSAGES.labels("ignored").inc(len(ignored))
        for m in ignored:
            if m.qos > 0:
                self._client.ack(m.mid, m.qos)
        self.stats.ignored += sum(1 for m in ignored if not is_sparkplug_topic(m.topic))
        self.stats.messages += len(batch)

    def _publish(self, groups: dict[str, _Group], messages: int) -> list[Pending] | None:
        """Queue every company's records, then wait for Kafka once for all of them.

        A park of many small historians puts hundreds of companies in one batch: one Kafka
        round trip per company capped the bridge at ~300 messages/s on TEDA's shape
        (``bench_ingest.py --door mqtt``). ``None`` when Kafka is away: nothing of the batch
        may be acknowledged (the broker delivers it again).
        """
        try:
            pending = [
                self.gateway.queue(
                    group.rows,
                    company=company,
                    source="mqtt",
                    locate=group.locate,
                    earlier_errors=group.errors,
                    row_sources=group.sources,
                    all_or_nothing=False,
                )
                for company, group in groups.items()
            ]
            self.gateway.settle(pending)
        except TransientError as e:
            self._redeliver(messages, e)
            return None
        return pending

    def _read(self, m: _Message) -> _Parsed | None:
        """:meth:`_parse`, with the topic's site checked (rows and errors as they go on)."""
        parsed = self._parse(m)
        if parsed is None:
            return None
        rows = self._with_site_check(parsed.rows, parsed.errors, m.topic)
        return parsed._replace(rows=rows)

    def _parse(self, m: _Message) -> _Parsed | None:
        """A message's tenant, rows, errors and row sources; ``None``: not readings (ignored).

        ``<root>/...`` topics hold our reading shape (:func:`parse_message`), ``umh/v1/...``
        topics United Manufacturing Hub's (:func:`~ingest.umh_historian.parse_historian`).
        """
        if m.topic == self._state_topic:
            if is_offline_state(m.payload) and not self._stop.is_set():
                self._reassert_online()  # a late Will, or someone else's word: we are up
            return None
        if is_sparkplug_topic(m.topic):
            with self.gateway.registry.locked() as directory:
                spb = self.sparkplug.handle(m.topic, m.payload, directory)
            for topic, payload in spb.commands:
                self._command(topic, payload)
            if spb.ignored:
                return None
            sources = [f"mqtt {m.topic} {label}".rstrip() for label in spb.labels]
            places = [f"{m.topic}.{label}" for label in spb.labels]
            return _Parsed(spb.company, spb.rows, spb.errors, sources, places)
        if is_umh_topic(m.topic):
            with self.gateway.registry.locked() as directory:
                umh = parse_historian(m.topic, m.payload, directory, self._umh_claims)
            if umh.ignored:
                log.debug("mqtt.umh_schema_ignored", topic=m.topic)
                return None
            sources = [f"mqtt {m.topic} {label}".rstrip() for label in umh.labels]
            places = [f"{m.topic}.{label}" for label in umh.labels]
            return _Parsed(umh.company, umh.rows, umh.errors, sources, places)
        if not m.payload.strip():
            return None  # an empty payload clears a retained message: nothing to read
        company, rows, errors = parse_message(self.root, m.topic, m.payload)
        places = [f"{m.topic}[{i}]" for i in range(len(rows))]
        return _Parsed(company, rows, errors, [f"mqtt {m.topic}"] * len(rows), places)

    def _reassert_online(self) -> None:
        """Publish the online STATE again.

        Sparkplug 3.0: a host that receives its own STATE saying offline while it runs
        publishes online at once (edge nodes that chose it as primary host wait for that).
        """
        log.info("mqtt.sparkplug_state_reasserted", topic=self._state_topic)
        online = state_payload(True, self._state_ts)
        self._client.publish(self._state_topic, online, qos=1, retain=True)

    def _command(self, topic: str, payload: bytes) -> None:
        """Send a Sparkplug command (a rebirth request: QoS 0, not retained, as specified)."""
        log.info("mqtt.sparkplug_rebirth_requested", topic=topic)
        self._client.publish(topic, payload, qos=0)

    def _drop_session(self) -> None:
        """Reconnect, so the broker sends every unacknowledged message again; back off first."""
        time.sleep(1.0)
        self._arm_will()
        try:
            self._client.reconnect()
        except OSError as e:  # broker away too: paho's loop keeps trying to reconnect
            log.warning("mqtt.reconnect_failed", error=str(e)[:200])

    def _with_site_check(
        self, rows: list[object], errors: list[RowError], topic: str
    ) -> list[object]:
        """Rows with the topic's site checked against the meter's registered site."""
        out: list[object] = []
        with self.gateway.registry.locked() as directory:
            for i, row in enumerate(rows):
                if not isinstance(row, dict):
                    out.append(row)
                    continue
                site = row.pop("_site")
                ref = directory.meter(str(row.get("meter")))
                if ref is not None and ref.site.id != site:
                    reason = f"meter {ref.meter!r} is not at site {site!r}"
                    errors.append(RowError(i, topic, reason, payload=row))
                    out.append(UNMAPPED)
                else:
                    out.append(row)
        return out
