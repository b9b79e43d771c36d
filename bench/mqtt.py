"""MQTT ingest through Mosquitto: sustained messages/s with zero loss (count in = count stored).

Publishes SensorThings observation messages on a private topic prefix as fast as the broker takes them
for --seconds (default 15; the issue's figure is 60: --seconds 60), through the platform's bridge into
the observations table, then waits until every message is stored. Baseline in the same run: a bare
paho subscriber that only counts the same messages (the broker and client ceiling).

    .venv/bin/python bench/mqtt.py [--seconds 60] [--database-url ...]
"""

import argparse
import json
import multiprocessing
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from observations import make_streams
from sensing_common import Platform, machine


def publish_for(
    seconds: float, prefix: str, streams: list[int], start: datetime, offset: int, qos: int = 0, rate: float = 0
) -> tuple[int, float, float]:
    """Publish messages round-robin over the datastreams for a while (at `rate` per second, 0: flat out)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    topics = [f"{prefix}v1.1/Datastreams({ds})/Observations" for ds in streams]
    sent = 0
    pending = []
    began = time.monotonic()
    began_wall = time.time()
    deadline = began + seconds
    while time.monotonic() < deadline:
        if rate:
            ahead = sent / rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
        for _ in range(100):
            i = offset + sent
            when = (start + timedelta(seconds=i // len(topics))).strftime("%Y-%m-%dT%H:%M:%SZ")
            payload = json.dumps({"phenomenonTime": when, "result": 20.0 + (i % 37)})
            pending.append(client.publish(topics[i % len(topics)], payload, qos=qos))
            sent += 1
        if len(pending) > 5000:
            for info in pending[:-1000]:
                info.wait_for_publish(30)
            pending = pending[-1000:]
    for info in pending:
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()
    return sent, began_wall, time.time()


def publish_elsewhere(
    seconds: float, prefix: str, streams: list[int], start: datetime, rate: float
) -> tuple[int, float, float]:
    """Publish from another process, so the publisher does not share the platform's interpreter."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(publish_for, (seconds, prefix, streams, start, 0, 0, rate))


def bare_count(prefix: str, streams: list[int], seconds: float, rate: float) -> dict:
    """Baseline: publish the same way while a bare subscriber only counts."""
    received = 0
    done = threading.Event()

    def on_message(*_args) -> None:
        nonlocal received
        received += 1

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{uuid.uuid4().hex[:8]}")
    sub.on_message = on_message
    sub.on_connect = lambda c, *_: (c.subscribe(f"{prefix}v1.1/+/Observations", qos=0), done.set())
    sub.connect("127.0.0.1", 1883)
    sub.loop_start()
    done.wait(10)
    sent, t0, _ = publish_elsewhere(seconds, prefix, streams, datetime(2020, 1, 1, tzinfo=UTC), rate)
    deadline = time.monotonic() + 60
    last, last_change = -1, time.time()
    while received < sent and time.monotonic() < deadline:
        if received != last:
            last, last_change = received, time.time()
        elif time.time() - last_change > 3:
            break  # nothing more is coming
        time.sleep(0.01)
    elapsed = (time.time() if received >= sent else last_change) - t0
    sub.loop_stop()
    sub.disconnect()
    return {"sent": sent, "received": received, "per_s": round(received / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=10000, help="messages/s offered (0: as fast as possible)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    bench = Platform(args.database_url, packages=("yiwang.org", "yiwang.sensing"))
    try:
        from yiwang.sensing import models as m
        from yiwang.sensing.mqtt import Bridge

        client = httpx.Client(base_url=bench.url, headers={"Authorization": f"Bearer {bench.token('hbj_steward')}"})
        streams = make_streams(client, 50)
        prefix = f"yiwang-bench-{uuid.uuid4().hex[:8]}/"
        baseline = bare_count(prefix + "bare/", streams, min(args.seconds, 10), args.rate)
        bridge = Bridge(
            bench.runtime,
            url="mqtt://127.0.0.1:1883",
            client_id=f"bench-bridge-{uuid.uuid4().hex[:8]}",
            prefix=prefix,
            batch_size=20000,
            flush_seconds=0.25,
        ).start()
        bridge.connected.wait(10)
        sent, t0, t1 = publish_elsewhere(args.seconds, prefix, streams, datetime(2021, 1, 1, tzinfo=UTC), args.rate)
        publish_seconds = t1 - t0
        deadline = time.monotonic() + 300
        last, last_change = -1, time.time()
        done = 0
        while bridge.stored + bridge.rejected + bridge.unusable < sent and time.monotonic() < deadline:
            done = bridge.stored + bridge.rejected + bridge.unusable
            if done != last:
                last, last_change = done, time.time()
            elif time.time() - last_change > 5:
                break  # nothing more is coming: some were lost
            time.sleep(0.01)
        done = bridge.stored + bridge.rejected + bridge.unusable
        drained_seconds = (time.time() if done >= sent else last_change) - t0
        bridge.stop()
        with bench.runtime.db.unit_of_work() as db:
            stored = db.execute(select(func.count()).where(m.Observation.datastream_id.in_(streams))).scalar_one()
        print(
            json.dumps(
                {
                    "benchmark": "mqtt",
                    "database": "sqlite" if bench.runtime.db.is_sqlite else "postgresql",
                    "seconds": args.seconds,
                    "offered_per_s": args.rate,
                    "sent": sent,
                    "received_by_bridge": bridge.received,
                    "stored": stored,
                    "lost": sent - stored,
                    "published_per_s": round(sent / publish_seconds),
                    "stored_per_s_sustained": round(stored / drained_seconds),
                    "bare_subscriber_per_s": baseline["per_s"],
                    "bare_lost": baseline["sent"] - baseline["received"],
                    "ratio": round((stored / drained_seconds) / max(baseline["per_s"], 1), 3),
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
