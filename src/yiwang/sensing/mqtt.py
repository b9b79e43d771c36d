"""MQTT bridge: subscribes to `v1.1/Datastreams(id)/Observations` and stores observations in batches."""

import json
import logging
import queue
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from yiwang.core.runtime import Runtime
from yiwang.core.timeutil import utcnow
from yiwang.sensing import ingest
from yiwang.sensing.odata import QueryError, parse_datetime

log = logging.getLogger(__name__)
TOPIC = "v1.1/Datastreams(+)/Observations"
SUBSCRIPTION = "v1.1/+/Observations"
_TOPIC_RE = re.compile(r"^v1\.1/Datastreams\((\d+)\)/Observations$")


def parse_message(topic: str, payload: bytes, prefix: str = "") -> tuple[ingest.Incoming | None, str]:
    """An observation from a message, or None with the reason it is unusable."""
    match = _TOPIC_RE.match(topic.removeprefix(prefix))
    if not match:
        return None, "主题不是 v1.1/Datastreams(id)/Observations"
    try:
        body = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
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


class Bridge:
    """Receives on paho's network thread, writes batches on its own thread (one transaction per batch)."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        url: str | None = None,
        client_id: str | None = None,
        prefix: str = "",
        batch_size: int = 5000,
        flush_seconds: float = 0.2,
        qos: int = 0,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.runtime = runtime
        parts = urlsplit(url or runtime.settings.mqtt_url or "mqtt://127.0.0.1:1883")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 1883
        self.prefix = prefix  # tests and benchmarks use a private prefix on a shared broker
        # QoS 0 delivery to this online subscriber is not capped by the broker's per-client queue
        # (max_queued_messages, 1000 by default), so bursts are not dropped; devices may still publish QoS 1.
        self.qos = qos
        self.subscription = prefix + SUBSCRIPTION
        self.batch_size, self.flush_seconds = batch_size, flush_seconds
        self.inbox: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        self.stored = 0
        self.received = 0
        self.unusable = 0
        self.rejected = 0
        self._stop = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "", clean_session=True)
        if parts.username:
            self.client.username_pw_set(parts.username, parts.password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.max_queued_messages_set(0)
        self.connected = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="yiwang-mqtt-writer", daemon=True)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        client.subscribe(self.subscription, qos=self.qos)
        self.connected.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.received += 1
        self.inbox.put((message.topic, message.payload))

    def start(self) -> "Bridge":
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self._writer.start()
        return self

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
        self._stop.set()
        self._writer.join(timeout=10)

    def _drain(self) -> list[tuple[str, bytes]]:
        items: list[tuple[str, bytes]] = []
        deadline = time.monotonic() + self.flush_seconds
        while len(items) < self.batch_size:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                items.append(self.inbox.get(timeout=timeout))
            except queue.Empty:
                break
        return items

    def _write_loop(self) -> None:
        while not self._stop.is_set() or not self.inbox.empty():
            items = self._drain()
            if items:
                try:
                    self.write(items)
                except Exception:  # keep the bridge alive; the batch is logged
                    log.exception("MQTT batch of %d failed", len(items))

    def write(self, items: list[tuple[str, bytes]]) -> None:
        """Store a batch: grouped by datastream on the fast path; anything unusual goes the general way."""
        groups: dict[int, tuple[list[str], list[Any]]] = {}
        slow: list[ingest.Incoming] = []
        raws: list[str] = []
        bad: list[tuple[str, str]] = []
        plen = len(self.prefix)
        for topic, payload in items:
            match = _TOPIC_RE.match(topic[plen:]) if topic.startswith(self.prefix) else None
            try:
                body = json.loads(payload) if match else None
            except (json.JSONDecodeError, UnicodeDecodeError):
                body = None
            key = ingest.fast_key(body.get("phenomenonTime")) if isinstance(body, dict) and "result" in body else None
            if match and key:
                keys, results = groups.setdefault(int(match.group(1)), ([], []))
                keys.append(key)
                results.append(body["result"])  # type: ignore[index]
                continue
            row, problem = parse_message(topic, payload, self.prefix)
            if row is None:
                bad.append((topic, problem))
                continue
            slow.append(row)
            raws.append(payload[:2000].decode("utf-8", "replace"))
        stored = rejected = 0
        with self.runtime.db.unit_of_work() as db:
            infos = ingest.stream_info(db, set(groups)) if groups else {}
            extents: dict[int, ingest.Extent] = {}
            for ds, (keys, results) in groups.items():
                outcome, _bad = ingest.store_array(
                    db, datastream_id=ds, keys=keys, results=results, channel="mqtt", infos=infos, extents=extents
                )
                stored += outcome.accepted + outcome.duplicates
                rejected += outcome.rejected
            if extents:
                ingest.touch(db, extents, utcnow())
            if slow:
                outcome = ingest.store(db, rows=slow, channel="mqtt", raw=raws)
                stored += outcome.accepted + outcome.duplicates
                rejected += outcome.rejected
            if bad:
                from yiwang.sensing import models as m

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
        self.unusable += len(bad)
        self.stored += stored
        self.rejected += rejected


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
