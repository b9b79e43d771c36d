"""MQTT ingest through Mosquitto: sustained messages/s with zero loss (count in = count stored).

Several publisher processes (each its own interpreter, so the offered load is not capped by one Python
process) publish SensorThings observation messages on a private topic prefix at a paced total rate
(default 12,000/s) for --seconds (the issue's figure is --seconds 60), through the platform's bridge into
the observations table; then the benchmark waits until every message is stored and counts the rows.
Baseline in the same run: the same publishers at the same rate while a bare paho subscriber only counts
(what the broker and one Python client deliver).

    .venv/bin/python bench/mqtt.py [--seconds 60] [--rate 12000] [--publishers 3] [--qos 1] [--database-url ...]

With --qos 1 the devices publish at QoS 1 and the bridge acknowledges each message after its batch commits.
"""

import argparse
import json
import multiprocessing
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from observations import make_streams
from sensing_common import Platform, machine


def publish_for(
    seconds: float, prefix: str, streams: list[int], start: datetime, rate: float, begin_at: float, qos: int = 0
) -> tuple[int, float]:
    """From wall time begin_at, publish round-robin over the datastreams at `rate` per second (0: flat out)
    for `seconds`; returns (sent, wall time when the last one was handed to the broker).

    Message i goes to stream i mod n at start + i // n seconds, so no two messages of a run share a key."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    topics = [f"{prefix}v1.1/Datastreams({ds})/Observations" for ds in streams]
    n = len(topics)
    sent = 0
    pending = []
    time.sleep(max(0.0, begin_at - time.time()))
    began = time.monotonic() - max(0.0, time.time() - begin_at)  # a late start catches up
    deadline = began + seconds
    while time.monotonic() < deadline:
        if rate:
            ahead = sent / rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
        for _ in range(50):
            when = (start + timedelta(seconds=sent // n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            payload = json.dumps({"phenomenonTime": when, "result": 20.0 + (sent % 37)})
            pending.append(client.publish(topics[sent % n], payload, qos=qos))
            sent += 1
        if len(pending) > 5000:
            for info in pending[:-1000]:
                info.wait_for_publish(30)
            pending = pending[-1000:]
    for info in pending:
        info.wait_for_publish(30)
    ended_wall = time.time()
    client.loop_stop()
    client.disconnect()
    return sent, ended_wall


def publish_from_processes(
    seconds: float, prefix: str, streams: list[int], start: datetime, rate: float, processes: int, qos: int = 0
) -> tuple[int, float, float]:
    """Publish from several processes at rate/processes each, all starting at one moment (a few seconds
    ahead, for the interpreters to start); each process gets its own span of instants.
    Returns (sent, wall time of the common start, wall time of the last publish)."""
    share = rate / processes
    begin_at = time.time() + 3
    jobs = [(seconds, prefix, streams, start + timedelta(days=30 * k), share, begin_at, qos) for k in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.starmap(publish_for, jobs)
    return sum(r[0] for r in results), begin_at, max(r[1] for r in results)


class Progress:
    """Samples a counter every 20 ms, to tell afterwards when it reached a total."""

    def __init__(self, count: Callable[[], int]) -> None:
        self.count, self.samples = count, [(time.time(), count())]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self.count()))
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def reached(self, target: int, quiet_seconds: float, limit_seconds: float) -> float:
        """Wait for the counter to reach target (or stop moving); the wall time it got there (or last moved)."""
        deadline = time.monotonic() + limit_seconds
        while time.monotonic() < deadline:
            now, done = self.samples[-1]
            if done >= target:
                break
            moved = next((t for t, c in reversed(self.samples) if c != done), self.samples[0][0])
            if now - moved > quiet_seconds:
                break  # nothing more is coming
            time.sleep(0.05)
        self.stop()
        final = self.samples[-1][1]
        return next(t for t, c in self.samples if c >= min(final, target))


def bare_count(prefix: str, streams: list[int], seconds: float, rate: float, processes: int, qos: int = 0) -> dict:
    """Baseline: publish the same way while a bare subscriber only counts."""
    received = 0
    subscribed = threading.Event()

    def on_message(*_args) -> None:
        nonlocal received
        received += 1

    sub = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    sub.on_message = on_message
    sub.on_connect = lambda c, *_: (c.subscribe(f"{prefix}v1.1/+/Observations", qos=qos), subscribed.set())
    receive = Properties(PacketTypes.CONNECT)
    receive.ReceiveMaximum = 65535  # as the bridge: QoS 1 deliveries are not held to Mosquitto's 20 in flight
    sub.connect("127.0.0.1", 1883, properties=receive)
    sub.loop_start()
    subscribed.wait(10)
    progress = Progress(lambda: received)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    sent, t0, _t1 = publish_from_processes(seconds, prefix, streams, start, rate, processes, qos)
    done = progress.reached(sent, quiet_seconds=3, limit_seconds=60)
    sub.loop_stop()
    sub.disconnect()
    return {"sent": sent, "received": received, "per_s": round(received / (done - t0))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=12000, help="messages/s offered in total (0: flat out)")
    parser.add_argument("--publishers", type=int, default=3, help="publisher processes")
    parser.add_argument("--qos", type=int, choices=(0, 1), default=0, help="QoS the devices publish with")
    parser.add_argument("--baseline-seconds", type=float, default=None, help="default: --seconds")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    bench = Platform(args.database_url, packages=("yiwang.org", "yiwang.sensing"))
    try:
        from yiwang.sensing import models as m
        from yiwang.sensing.mqtt import Bridge

        client = httpx.Client(base_url=bench.url, headers={"Authorization": f"Bearer {bench.token('hbj_steward')}"})
        streams = make_streams(client, 50)
        prefix = f"yiwang-bench-{uuid.uuid4().hex[:8]}/"
        baseline = bare_count(
            prefix + "bare/", streams, args.baseline_seconds or args.seconds, args.rate, args.publishers, args.qos
        )
        bridge = Bridge(
            bench.runtime,
            url="mqtt://127.0.0.1:1883",
            client_id=f"bench-bridge-{uuid.uuid4().hex[:8]}",
            prefix=prefix,
            session_expiry_seconds=0,  # a one-off client id: the broker need not keep its session
        ).start()
        bridge.connected.wait(10)
        progress = Progress(lambda: bridge.stored + bridge.rejected + bridge.unusable)
        backlog = Progress(lambda: bridge.received - bridge.stored - bridge.rejected - bridge.unusable)
        sent, t0, t1 = publish_from_processes(
            args.seconds, prefix, streams, datetime(2021, 1, 1, tzinfo=UTC), args.rate, args.publishers, args.qos
        )
        done = progress.reached(sent, quiet_seconds=5, limit_seconds=300)
        backlog.stop()
        bridge.stop()
        with bench.runtime.db.unit_of_work() as db:
            stored = db.execute(select(func.count()).where(m.Observation.datastream_id.in_(streams))).scalar_one()
        print(
            json.dumps(
                {
                    "benchmark": "mqtt",
                    "database": "sqlite" if bench.runtime.db.is_sqlite else "postgresql",
                    "seconds": args.seconds,
                    "publishers": args.publishers,
                    "qos": args.qos,
                    "offered_per_s": args.rate,
                    "sent": sent,
                    "published_per_s": round(sent / (t1 - t0)),
                    "received_by_bridge": bridge.received,
                    "stored": stored,
                    "lost": sent - stored,
                    "rejected": bridge.rejected + bridge.unusable,
                    "stored_per_s_sustained": round(stored / (done - t0)),
                    "drain_after_last_publish_s": round(done - t1, 2),
                    "largest_backlog": max(c for _t, c in backlog.samples),
                    "bare_subscriber_per_s": baseline["per_s"],
                    "bare_sent": baseline["sent"],
                    "bare_lost": baseline["sent"] - baseline["received"],
                    "ratio": round((stored / (done - t0)) / max(baseline["per_s"], 1), 3),
                    "targets": {"per_s": 10000, "lost": 0},
                    "machine": machine(),
                },
                ensure_ascii=False,
            )
        )
    finally:
        bench.close()


if __name__ == "__main__":
    main()
