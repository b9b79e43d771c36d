"""MQTT bridge: subscribes to `v1.1/Datastreams(id)/Observations` and stores observations in batches.

Nothing the broker has acknowledged to a device is lost, even when the bridge's process is killed:
- the bridge keeps a persistent session (a fixed client id, MQTT 5 `clean_start=False` with a session
  expiry), so the broker queues what arrives while it is down and hands it over on reconnection;
- it subscribes at QoS 1 and acknowledges a message (paho's manual ack) only after the transaction
  holding it has committed; a message received but not yet committed when the process dies is
  redelivered by the broker;
- a redelivered message is stored once: (datastream, phenomenon time) is unique and a repeat is ignored.

paho's network thread only appends each message to a deque; a writer thread takes a batch at a time
(≤ batch_size messages or flush_seconds), parses it, groups it by datastream and stores it in one
transaction through `ingest.store_blocks`, the path CreateObservations uses. The session's Receive
Maximum lets the broker keep a whole batch in flight unacknowledged.
"""

import logging
import re
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit

from yiwang.core.jsonbody import MalformedJson, parse_json
from yiwang.core.runtime import Runtime
from yiwang.core.timeutil import utcnow
from yiwang.sensing import ingest
from yiwang.sensing import models as m
from yiwang.sensing.odata import QueryError, parse_datetime

log = logging.getLogger(__name__)
TOPIC = "v1.1/Datastreams(+)/Observations"
SUBSCRIPTION = "v1.1/+/Observations"
_TOPIC_RE = re.compile(r"^v1\.1/Datastreams\((\d+)\)/Observations$")
_TOPIC_CACHE_LIMIT = 100_000  # distinct topics remembered (one per datastream in normal use)
WHOLE_BATCH_ATTEMPTS = 3  # then message by message
RECEIVE_MAXIMUM = 65535  # MQTT 5's largest
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600  # how long the broker keeps the session while the bridge is down


def parse_message(topic: str, payload: bytes, prefix: str = "") -> tuple[ingest.Incoming | None, str]:
    """An observation from a message, or None with the reason it is unusable."""
    match = _TOPIC_RE.match(topic.removeprefix(prefix))
    if not match:
        return None, "主题不是 v1.1/Datastreams(id)/Observations"
    body = _loads(payload)
    if body is None:
        return None, "消息不是有效的 JSON"
    if not isinstance(body, dict) or "result" not in body:
        return None, "消息缺少 result"
    try:
        when = (
            parse_datetime(body["phenomenonTime"].split("/")[0])
            if isinstance(body.get("phenomenonTime"), str)
            else utcnow()
        )
    except QueryError as exc:
        return None, str(exc)
    return ingest.Incoming(int(match.group(1)), when, body["result"]), ""


def _loads(payload: bytes) -> Any:
    """JSON of a payload, None when it is not JSON (the platform's one parser, as for HTTP bodies)."""
    try:
        return parse_json(payload)
    except MalformedJson:
        return None


class Bridge:
    """Receives on paho's network thread, writes batches on its own thread (one transaction per batch),
    and acknowledges each message to the broker once its batch has committed."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        url: str | None = None,
        client_id: str | None = None,
        prefix: str = "",
        batch_size: int = 5000,
        flush_seconds: float = 0.2,
        session_expiry_seconds: int = SESSION_EXPIRY_SECONDS,
    ) -> None:
        import paho.mqtt.client as mqtt

        settings = runtime.settings
        self.runtime = runtime
        parts = urlsplit(url or settings.mqtt_url or "mqtt://127.0.0.1:1883")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 1883
        self.prefix = prefix  # tests and benchmarks use a private prefix on a shared broker
        self.subscription = prefix + SUBSCRIPTION
        self.batch_size, self.flush_seconds = batch_size, flush_seconds
        self.session_expiry_seconds = session_expiry_seconds
        # (topic, payload, mid, qos); append and popleft are atomic: no lock per message
        self.inbox: deque[tuple[str, bytes, int, int]] = deque()
        self.stored = 0
        self.received = 0
        self.unusable = 0
        self.rejected = 0
        self.failed_batches = 0
        self._streams: dict[str, int | None] = {}  # topic → datastream id (None: not an observation topic)
        self._stop = threading.Event()
        # The same client id on every start: the broker keeps this session (and its queue) across restarts.
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or settings.mqtt_client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        username = unquote(parts.username) if parts.username else settings.mqtt_username
        password = unquote(parts.password) if parts.password else settings.mqtt_password
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.connected = threading.Event()
        self.refused: str | None = None  # the broker's reason when it refused the connection
        self._writer = threading.Thread(target=self._write_loop, name="yiwang-mqtt-writer", daemon=True)

    def _connect_properties(self) -> Any:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.session_expiry_seconds
        # Unacknowledged messages the broker may have in flight to us: the protocol's maximum, so batches
        # keep arriving while one is stored; what exceeds it waits in the broker's queue for the session
        # (Mosquitto drops beyond `max_queued_messages`, see docs/operations.md).
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        return properties

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            log.error("MQTT broker refused the bridge: %s", reason)
            return
        client.subscribe(self.subscription, qos=1)
        self.connected.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.received += 1
        self.inbox.append((message.topic, message.payload, message.mid, message.qos))

    def start(self) -> "Bridge":
        self.client.connect(
            self.host, self.port, keepalive=30, clean_start=False, properties=self._connect_properties()
        )
        self.client.loop_start()
        self._writer.start()
        return self

    def stop(self) -> None:
        """Store and acknowledge what has arrived, then disconnect (the session stays on the broker)."""
        self._stop.set()
        self._writer.join(timeout=30)
        self.client.disconnect()
        self.client.loop_stop()

    def _take(self) -> list[tuple[str, bytes, int, int]]:
        """Wait for a full batch or flush_seconds, whichever comes first; then take up to a batch."""
        deadline = time.monotonic() + self.flush_seconds
        while len(self.inbox) < self.batch_size and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.01)
        take = self.inbox.popleft
        return [take() for _ in range(min(len(self.inbox), self.batch_size))]

    def _write_loop(self) -> None:
        while True:
            stopping = self._stop.is_set()
            items = self._take()
            if items:
                self._store_then_ack(items)
            elif stopping:
                return

    def _store_then_ack(self, items: list[tuple[str, bytes, int, int]]) -> None:
        """Commit the batch, retrying while the database is unavailable, then acknowledge its messages.

        A batch that cannot be stored is not acknowledged: the broker keeps it in the session and
        redelivers it when the bridge reconnects (or restarts)."""
        pending = [(topic, payload) for topic, payload, _mid, _qos in items]
        delay = 0.5
        attempt = 0
        while True:
            try:
                if attempt < WHOLE_BATCH_ATTEMPTS:
                    self.write(pending)
                else:
                    self._write_one_by_one(pending)
                break
            except Exception:  # the database is away or locked: keep the batch and try again
                attempt += 1
                self.failed_batches += 1
                log.exception("MQTT batch of %d failed; retrying in %.1f s", len(items), delay)
                if self._stop.wait(delay):
                    return  # stopping: left unacknowledged, the broker redelivers it
                delay = min(delay * 2, 10.0)
        for _topic, _payload, mid, qos in items:
            if qos:
                self.client.ack(mid, qos)

    def _write_one_by_one(self, pending: list[tuple[str, bytes]]) -> None:
        """After repeated failures, store message by message: one message that breaks its batch is kept
        as a reject instead of holding up the others (a database that is away still raises)."""
        for topic, payload in pending:
            try:
                self.write([(topic, payload)])
            except Exception:
                log.exception("MQTT message on %s could not be stored; kept as a reject", topic)
                with self.runtime.db.unit_of_work() as db:
                    _store_unusable(db, [(topic, "消息无法处理")])
                self.unusable += 1

    def _stream_of(self, topic: str) -> int | None:
        if topic in self._streams:
            return self._streams[topic]
        match = _TOPIC_RE.match(topic[len(self.prefix) :]) if topic.startswith(self.prefix) else None
        if len(self._streams) >= _TOPIC_CACHE_LIMIT:
            self._streams.clear()
        ds = self._streams[topic] = int(match.group(1)) if match else None
        return ds

    def write(self, items: list[tuple[str, bytes]]) -> None:
        """Store a batch: grouped by datastream on the fast path; anything unusual goes the general way."""
        groups: dict[int, tuple[list[Any], list[Any], list[tuple[str, bytes]]]] = {}
        odd: list[tuple[str, bytes]] = []
        for topic, payload in items:
            ds = self._stream_of(topic)
            body = _loads(payload) if ds is not None else None
            if type(body) is dict and "result" in body and type(body.get("phenomenonTime")) is str:
                stamps, results, raw = groups.setdefault(ds, ([], [], []))  # type: ignore[arg-type]
                stamps.append(body["phenomenonTime"])
                results.append(body["result"])
                raw.append((topic, payload))
            else:
                odd.append((topic, payload))
        blocks = []
        for ds, (stamps, results, raw) in groups.items():
            keys = ingest.fast_keys(stamps)
            if keys is not None:
                blocks.append(ingest.Block(ds, keys, results))
            else:  # some instant in another form (an offset, fractions, an interval): those go one by one
                odd += raw
        slow, raws, bad = self._parse_odd(odd)
        stored = rejected = 0
        with self.runtime.db.unit_of_work() as db:
            if blocks:
                outcome, _ids = ingest.store_blocks(db, blocks, channel="mqtt", want_ids=False)
                stored += outcome.accepted + outcome.duplicates
                rejected += outcome.rejected
            if slow:
                outcome = ingest.store(db, rows=slow, channel="mqtt", raw=raws)
                stored += outcome.accepted + outcome.duplicates
                rejected += outcome.rejected
            if bad:
                _store_unusable(db, bad)
        self.unusable += len(bad)
        self.stored += stored
        self.rejected += rejected

    def _parse_odd(
        self, odd: list[tuple[str, bytes]]
    ) -> tuple[list[ingest.Incoming], list[str], list[tuple[str, str]]]:
        slow: list[ingest.Incoming] = []
        raws: list[str] = []
        bad: list[tuple[str, str]] = []
        for topic, payload in odd:
            row, problem = parse_message(topic, payload, self.prefix)
            if row is None:
                bad.append((topic, problem))
                continue
            slow.append(row)
            raws.append(payload[:2000].decode("utf-8", "replace"))
        return slow, raws, bad


def _store_unusable(db: Any, bad: list[tuple[str, str]]) -> None:
    """Malformed messages (topic, JSON, missing result, bad instant) are kept as rejects too."""
    db.execute(
        m.Reject.__table__.insert(),
        [
            {
                "thing_id": None,
                "datastream_id": None,
                "received_at": utcnow(),
                "channel": "mqtt",
                "reason": "malformed",
                "detail": problem[:500],
                "payload": topic[:2000],
            }
            for topic, problem in bad
        ],
    )


_bridge: Bridge | None = None


def start_if_configured(runtime: Runtime) -> Bridge | None:
    """Start the process-wide bridge when YIWANG_MQTT_URL is set (worker or in-process jobs)."""
    global _bridge
    if _bridge is None and runtime.settings.mqtt_url:
        try:
            _bridge = Bridge(runtime).start()
            log.info("MQTT bridge subscribed to %s on %s:%s", SUBSCRIPTION, _bridge.host, _bridge.port)
        except OSError:
            log.exception("MQTT broker unreachable; will retry on the next turn")
            _bridge = None
    return _bridge
