"""deploy/mosquitto/'s templates on a real Mosquitto, with the bridge's own client (TLS, login).

The broker runs the production mosquitto.conf and acl, with only the paths, the port and the
user to run as replaced: anonymous clients and wrong passwords are refused, a company may
publish only under its own tree, companies read nothing, and the bridge reads everything.
"""

from __future__ import annotations

import queue
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from ingest.mqtt_bridge import mqtt_client
from runtime.settings import Settings
from runtime.waiting import wait_until
from symbiosis.procs import apt_install, port_open
from symbiosis.stack_settings import StackSettings
from tests.tls_files import TlsFiles, make_tls_files

pytestmark = pytest.mark.integration

TEMPLATES = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
BRIDGE = "symbiosis-bridge"
PASSWORDS = {BRIDGE: "bridge-pw", "kalundborg-refinery": "refinery-pw", "novo-nordisk": "novo-pw"}


@dataclass
class Broker:
    port: int
    tls: TlsFiles

    def settings(self, user: str | None, password: str | None = None, **more: Any) -> Settings:
        values: dict[str, Any] = {
            "mqtt_host": "localhost",  # the name in the server certificate, verified
            "mqtt_port": self.port,
            "mqtt_username": user,
            "mqtt_password": PASSWORDS.get(user or "", "") if password is None else password,
            "mqtt_tls": True,
            "mqtt_ca_file": self.tls.ca,
        }
        return Settings(**(values | more))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _render(template: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert template.count(old) == 1, f"the template no longer has {old!r}"
        template = template.replace(old, new)
    return template


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    binary = StackSettings().mosquitto_bin
    apt_install("mosquitto", binary=binary, setting="SYMBIOSIS_MOSQUITTO_BIN")
    home = tmp_path_factory.mktemp("mosquitto")
    tls = make_tls_files(home / "tls")
    passwd = home / "passwd"
    passwd.touch(mode=0o600)
    for user, password in PASSWORDS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password],
                       check=True, capture_output=True, timeout=30)  # fmt: skip
    (home / "acl").write_text((TEMPLATES / "acl").read_text())
    (home / "acl").chmod(0o600)
    (home / "data").mkdir()
    port = _free_port()
    config = _render(
        (TEMPLATES / "mosquitto.conf").read_text(),
        {
            "password_file /mosquitto/config/passwd": f"password_file {passwd}",
            "acl_file /mosquitto/config/acl": f"acl_file {home / 'acl'}",
            "listener 8883\n": f"listener {port} 127.0.0.1\n",
            "cafile /mosquitto/certs/ca.crt": f"cafile {tls.ca}",
            "certfile /mosquitto/certs/server.crt": f"certfile {tls.server_cert}",
            "keyfile /mosquitto/certs/server.key": f"keyfile {tls.server_key}",
            "persistence_location /mosquitto/data/": f"persistence_location {home}/data/",
        },
    )
    (home / "mosquitto.conf").write_text(config + "\n# the test runs it as itself\nuser root\n")
    log = home / "mosquitto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(binary), "-c", str(home / "mosquitto.conf")], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    try:

        def up() -> bool:
            assert proc.poll() is None, f"Mosquitto exited:\n{log.read_text()[-2000:]}"
            return port_open("127.0.0.1", port)

        wait_until(up, timeout_s=20, what="Mosquitto", log=log)
        yield Broker(port, tls)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Session:
    """A connected client that records its CONNACK and the messages it receives."""

    def __init__(self, client: mqtt.Client, settings: Settings) -> None:
        self.client = client
        self.connack: queue.Queue[Any] = queue.Queue()
        self.messages: queue.Queue[str] = queue.Queue()
        self.subscribed = threading.Event()
        client.on_connect = lambda _c, _u, _f, reason, _p: self.connack.put(reason)
        client.on_message = lambda _c, _u, msg: self.messages.put(msg.topic)
        client.on_subscribe = lambda *_: self.subscribed.set()
        client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=30)
        client.loop_start()
        self.reason = self.connack.get(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def received(self, until: str, timeout_s: float = 10) -> list[str]:
        """Topics received up to and including ``until``."""
        topics: list[str] = []
        while not topics or topics[-1] != until:
            topics.append(self.messages.get(timeout=timeout_s))
        return topics


def _session(broker: Broker, user: str | None, password: str | None = None) -> Session:
    settings = broker.settings(user, password)
    # a client id never used before: the bridge's sessions are persistent, and an id used by an
    # earlier test (a free port can come back) got that test's subscriptions and queued messages
    return Session(mqtt_client(settings, f"test-{user}-{uuid.uuid4().hex}"), settings)


def test_anonymous_and_wrong_passwords_are_refused(broker: Broker) -> None:
    for user, password in ((None, None), (BRIDGE, "wrong"), ("nobody", "x")):
        session = _session(broker, user, password)
        try:
            assert session.reason.is_failure, user
            assert "authori" in str(session.reason).lower(), session.reason
        finally:
            session.close()


def test_companies_publish_only_under_their_own_tree(broker: Broker) -> None:
    bridge = _session(broker, BRIDGE)
    novo = _session(broker, "novo-nordisk")
    refinery = _session(broker, "kalundborg-refinery")
    try:
        assert not bridge.reason.is_failure, bridge.reason
        for session in (bridge, novo):
            session.client.subscribe("park/#", qos=1)
            assert session.subscribed.wait(10)
        own, foreign = "park/kalundborg-refinery/refinery/fuel-gas", "park/novo-nordisk/x/y"
        marker = "park/kalundborg-refinery/refinery/marker"
        for topic in (own, foreign, "elsewhere/kalundborg-refinery/a/b", marker):
            refinery.client.publish(topic, b'{"value": 1}', qos=1).wait_for_publish(10)
        # in order from one publisher: the foreign topic would have arrived before the marker
        assert bridge.received(until=marker) == [own, marker]
        assert novo.messages.empty(), "a company read another company's readings"
    finally:
        for session in (bridge, novo, refinery):
            session.close()


def test_companies_publish_umh_messages_only_under_their_own_enterprise(broker: Broker) -> None:
    bridge = _session(broker, BRIDGE)
    novo = _session(broker, "novo-nordisk")
    refinery = _session(broker, "kalundborg-refinery")
    try:
        assert not bridge.reason.is_failure, bridge.reason
        for session in (bridge, novo):
            session.client.subscribe([("park/#", 1), ("umh/v1/#", 1)])
            assert session.subscribed.wait(10)
        own = "umh/v1/kalundborg-refinery/refinery/utilities/_historian/fuel-gas"
        foreign = "umh/v1/novo-nordisk/novo-nordisk/_historian"
        marker = "umh/v1/kalundborg-refinery/refinery/_historian/marker"
        for topic in (own, foreign, "umh/v2/kalundborg-refinery/refinery/_historian", marker):
            payload = b'{"timestamp_ms": 1795341600000, "value": 1}'
            refinery.client.publish(topic, payload, qos=1).wait_for_publish(10)
        assert bridge.received(until=marker) == [own, marker]
        assert novo.messages.empty(), "a company read another company's UMH messages"
    finally:
        for session in (bridge, novo, refinery):
            session.close()


def test_the_broker_certificate_is_verified(broker: Broker, tmp_path: Path) -> None:
    other = make_tls_files(tmp_path / "other")  # a CA that did not sign the broker's cert
    settings = broker.settings(BRIDGE, mqtt_ca_file=other.ca)
    client = mqtt_client(settings, "test-other-ca")
    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        client.connect(settings.mqtt_host, settings.mqtt_port)


def test_sparkplug_nodes_publish_only_under_their_own_company_group(broker: Broker) -> None:
    bridge = _session(broker, BRIDGE)
    novo = _session(broker, "novo-nordisk")
    refinery = _session(broker, "kalundborg-refinery")
    try:
        assert not bridge.reason.is_failure, bridge.reason
        for session in (bridge, novo, refinery):
            session.client.subscribe("spBv1.0/#", qos=1)
            assert session.subscribed.wait(10)
        own, foreign = "spBv1.0/kalundborg-refinery/NDATA/refinery", "spBv1.0/novo-nordisk/NDATA/x"
        marker = "spBv1.0/kalundborg-refinery/NDATA/marker"
        for topic in (own, foreign, marker):
            refinery.client.publish(topic, b"\x08\x01", qos=1).wait_for_publish(10)
        assert bridge.received(until=marker) == [own, marker]
        # the bridge sends rebirth requests; each company reads only its own nodes' commands
        ncmd_own, ncmd_novo = (
            "spBv1.0/kalundborg-refinery/NCMD/refinery",
            "spBv1.0/novo-nordisk/NCMD/x",
        )
        for topic in (ncmd_novo, ncmd_own):
            bridge.client.publish(topic, b"\x08\x01", qos=1).wait_for_publish(10)
        assert refinery.received(until=ncmd_own) == [ncmd_own]
        assert novo.received(until=ncmd_novo) == [ncmd_novo], "nothing of the refinery's"
    finally:
        for session in (bridge, novo, refinery):
            session.close()
