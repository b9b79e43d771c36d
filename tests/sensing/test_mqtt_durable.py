"""The MQTT bridge through a private Mosquitto with passwords and an ACL, and across a `kill -9`.

Each test starts its own broker (`/usr/sbin/mosquitto -c <tmp conf>` on a free port, anonymous access
off, a password file made with `mosquitto_passwd`, the ACL from `yiwang sensing mqtt-acl`) and runs the
platform's worker as a real process against the test database (SQLite, or PostgreSQL when
YIWANG_TEST_DATABASE_URL is set).
"""

import getpass
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from tests.conftest import bearer, free_port
from tests.sensing.conftest import new_thing
from yiwang.sensing import models as m
from yiwang.sensing import service

MOSQUITTO = "/usr/sbin/mosquitto"
BRIDGE_USER, BRIDGE_PASSWORD = "yiwang-bridge", "bridge-secret-1"
DEVICE_PASSWORD = "device-secret-1"
T0 = datetime(2026, 4, 1, tzinfo=UTC)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(MOSQUITTO).exists() and shutil.which("mosquitto_passwd")), reason="Mosquitto is not installed"
    ),
]


class Broker:
    """A private Mosquitto: passwords, an ACL, and a queue without a limit for the bridge's session."""

    def __init__(self, directory: Path, acl: str, accounts: dict[str, str]) -> None:
        self.port = free_port()
        passwords = directory / "passwd"
        for i, (user, password) in enumerate(accounts.items()):
            flags = ["-b", "-c"] if i == 0 else ["-b"]
            subprocess.run(["mosquitto_passwd", *flags, str(passwords), user, password], check=True)
        (directory / "acl").write_text(acl)
        conf = directory / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous false\n"
            f"password_file {passwords}\n"
            f"acl_file {directory / 'acl'}\n"
            "max_queued_messages 0\n"  # what the bridge's session holds while it is down is never dropped
            "persistence false\n"
            "log_type all\n"
            f"user {getpass.getuser()}\n"
        )
        self.log = (directory / "mosquitto.log").open("w")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not _port_open(self.port):
            assert self.process.poll() is None and time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


def _port_open(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _device(broker: Broker, username: str, *, protocol: int = mqtt.MQTTv5) -> tuple[mqtt.Client, list]:
    """A connected device publisher and the reason codes of the broker's PUBACKs, by mid (always 0 for
    MQTT 3.1.1, whose PUBACK has none)."""
    acks: list[tuple[int, int]] = []
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"{username}-{uuid.uuid4().hex[:6]}", protocol=protocol
    )
    client.username_pw_set(username, DEVICE_PASSWORD)
    client.on_publish = lambda _c, _u, mid, reason, _p: acks.append((mid, reason.value))
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert _wait(client.is_connected, 10), "the device could not connect"
    return client, acks


def _count(runtime, ds: int, since: datetime = T0) -> int:
    with runtime.db.unit_of_work() as db:
        return db.execute(
            select(func.count()).where(m.Observation.datastream_id == ds, m.Observation.phenomenon_time >= since)
        ).scalar_one()


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _topic(ds: int) -> str:
    return f"v1.1/Datastreams({ds})/Observations"


def _body(i: int) -> bytes:
    return json.dumps(
        {"phenomenonTime": (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"), "result": i % 500}
    ).encode()


@pytest.fixture
def devices(client):
    """Two devices of the environment bureau, each with two datastreams."""
    headers = bearer(client, "hbj_steward")
    return [new_thing(client, headers, streams=("pm25", "pm10")) for _ in range(2)]


@pytest.fixture
def broker(runtime, devices, tmp_path):
    with runtime.db.unit_of_work() as db:
        acl = service.broker_acl(db, bridge_username=BRIDGE_USER)
    accounts = {BRIDGE_USER: BRIDGE_PASSWORD}
    accounts |= {service.device_mqtt_username(d["thing_id"]): DEVICE_PASSWORD for d in devices}
    running = Broker(tmp_path, acl, accounts)
    yield running
    running.stop()


class Worker:
    """`python -m yiwang worker` as a real process, with the bridge configured through the environment."""

    def __init__(self, runtime, broker: Broker, log: Path) -> None:
        settings = runtime.settings
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            "YIWANG_DATA_DIR": str(settings.data_dir),
            "YIWANG_DATABASE_URL": settings.resolved_database_url,
            "YIWANG_DEMO": "1" if settings.demo else "0",
            "YIWANG_DEMO_ON_FIRST_START": "false",
            "YIWANG_MQTT_URL": broker.url,
            "YIWANG_MQTT_USERNAME": BRIDGE_USER,
            "YIWANG_MQTT_PASSWORD": BRIDGE_PASSWORD,
            "YIWANG_MQTT_CLIENT_ID": f"yiwang-bridge-test-{uuid.uuid4().hex[:8]}",
        }
        self.log = log.open("a")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "yiwang", "worker"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def _published(device: mqtt.Client, topic: str, payload: bytes) -> mqtt.MQTTMessageInfo:
    """Publish at QoS 1 and wait for the broker's PUBACK (paho resends it after a reconnection)."""
    assert _wait(device.is_connected, 10), "the device lost its connection"
    info = device.publish(topic, payload, qos=1)
    assert _wait(info.is_published, 10), "no PUBACK"
    return info


def _wait_until_subscribed(runtime, device: mqtt.Client, probe_ds: int, seconds: float = 40) -> None:
    """Publish probes until one is stored: from then on the broker holds the bridge's session."""
    deadline = time.monotonic() + seconds
    i = 0
    while _count(runtime, probe_ds) == 0:
        assert time.monotonic() < deadline, "the worker's bridge never stored a message"
        device.publish(_topic(probe_ds), _body(i), qos=1)
        i += 1
        time.sleep(0.3)


def test_broker_refuses_strangers_and_devices_write_only_their_own_datastreams(runtime, devices, broker, tmp_path):
    mine, other = devices
    worker = Worker(runtime, broker, tmp_path / "worker.log")
    worker.start()
    try:
        device, acks = _device(broker, service.device_mqtt_username(mine["thing_id"]))
        _wait_until_subscribed(runtime, device, mine["datastreams"][1])
        # a device publishing to another device's datastream: the broker refuses it (v5 PUBACK 0x87)
        foreign = _published(device, _topic(other["datastreams"][0]), _body(1))
        own = _published(device, _topic(mine["datastreams"][0]), _body(2))
        assert _wait(lambda: _count(runtime, mine["datastreams"][0]) == 1, 15)
        assert dict(acks)[foreign.mid] == 0x87 and dict(acks)[own.mid] == 0
        assert _count(runtime, other["datastreams"][0]) == 0
        device.loop_stop()
        device.disconnect()
        # no account, or a wrong password: the broker refuses the connection
        for username, password in ((None, None), (service.device_mqtt_username(mine["thing_id"]), "wrong")):
            stranger = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
            if username:
                stranger.username_pw_set(username, password)
            refused: list[bool] = []
            stranger.on_connect = lambda _c, _u, _f, reason, _p: refused.append(reason.is_failure)  # noqa: B023
            stranger.connect("127.0.0.1", broker.port)
            stranger.loop_start()
            assert _wait(lambda: bool(refused), 5) and refused == [True]  # noqa: B023
            stranger.loop_stop()
    finally:
        worker.stop()


def test_nothing_the_broker_acknowledged_is_lost_across_a_kill_9(runtime, devices, broker, tmp_path):
    thing = devices[0]
    ds, probe = thing["datastreams"]
    worker = Worker(runtime, broker, tmp_path / "worker.log")
    worker.start()
    started = time.monotonic()
    try:
        # most devices speak MQTT 3.1.1: the broker acknowledges each QoS 1 message whether or not the
        # bridge is connected
        device, acks = _device(broker, service.device_mqtt_username(thing["thing_id"]), protocol=mqtt.MQTTv311)
        _wait_until_subscribed(runtime, device, probe)
        total, kill_at, restart_at = 3000, 1500, 2500
        infos = []
        for i in range(total):
            if i == kill_at:
                # the last burst has reached the bridge but waits in its batch: killed with it in memory
                for info in infos[-200:]:
                    info.wait_for_publish(10)
                worker.kill()  # and all that follows is published while it is down
            if i == restart_at:
                worker.start()
            infos.append(device.publish(_topic(ds), _body(i), qos=1))
            if i % 100 == 99 and not kill_at - 200 <= i < kill_at:
                time.sleep(0.05)  # about 1,500 messages a second
        for info in infos:
            info.wait_for_publish(10)
        acknowledged = {mid for mid, reason in acks if reason == 0}
        published = sum(1 for info in infos if info.mid in acknowledged)
        assert _wait(lambda: _count(runtime, ds) >= published, 30)
        time.sleep(1)  # redeliveries that arrive late must not add rows
        stored = _count(runtime, ds)
        print(
            f"\nMQTT kill -9: published {total}, acknowledged by the broker {published}, stored {stored}, "
            f"{time.monotonic() - started:.1f} s"
        )
        assert published == total
        assert stored == published  # nothing acknowledged lost, nothing stored twice
        device.loop_stop()
        device.disconnect()
    finally:
        worker.stop()
