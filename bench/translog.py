"""Transparency log: batched appends per second, and inclusion / consistency proofs at a large size.

Builds its own log in a temporary SQLite database (or --database-url, e.g. a scratch PostgreSQL
database) with the certs tables only, appends --entries leaves in batches through the real log code
(leaf rows, every complete subtree node, head row, one signed C2SP checkpoint per batch), then times
proofs read from the stored nodes. Baseline: bare hashlib leaf hashing of the same leaves.

    .venv/bin/python bench/translog.py [--entries 1000000] [--batch 10000] [--proofs 2000]

Prints one JSON line. Targets (issue 5): ≥ 20,000 appends/s in batches; inclusion and consistency proofs
at 1,000,000 entries ≤ 1 ms.
"""

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from yiwang.certs import models, translog, verifier
from yiwang.core.db import Base, make_engine


def leaves(count: int) -> list[bytes]:
    return [
        json.dumps(
            {"type": "issue", "identifier": f"1.2.156.3005.2.DEMO.{i:010d}", "content_sha256": f"{i:064x}"},
            separators=(",", ":"),
        ).encode()
        for i in range(count)
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--proofs", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="yiwang-translog-"))
    url = args.database_url or f"sqlite:///{workdir / 'log.db'}"
    engine = make_engine(url)
    tables = [m.__table__ for m in (models.LogLeaf, models.LogNode, models.LogHead, models.LogCheckpoint)]
    Base.metadata.drop_all(engine, tables=tables)
    Base.metadata.create_all(engine, tables=tables)
    key = Ed25519PrivateKey.generate()
    data = leaves(args.entries)

    start = time.perf_counter()
    for leaf in data:
        hashlib.sha256(b"\x00" + leaf).digest()
    baseline_seconds = time.perf_counter() - start

    start = time.perf_counter()
    for offset in range(0, args.entries, args.batch):
        with Session(engine) as db, db.begin():
            translog.append(db, data[offset : offset + args.batch])
            translog.sign_checkpoint(db, key=key, origin="bench.yiwang/certs-log")
    append_seconds = time.perf_counter() - start

    rng = random.Random(7)
    size = args.entries
    inclusion, consistency = [], []
    with Session(engine) as db:
        root = translog.root_at(db, size)
        for _ in range(args.proofs):
            index = rng.randrange(size)
            t0 = time.perf_counter()
            path = translog.inclusion_proof(db, index=index, size=size)
            inclusion.append(time.perf_counter() - t0)
            if len(inclusion) <= 50:
                verifier.verify_inclusion(leaf=data[index], index=index, tree_size=size, path=path, root=root)
        for n in range(args.proofs):
            first = rng.randrange(1, size)
            t0 = time.perf_counter()
            proof = translog.consistency_proof(db, first=first, second=size)
            consistency.append(time.perf_counter() - t0)
            if n < 10:
                verifier.verify_consistency(
                    first=first, second=size, first_root=translog.root_at(db, first), second_root=root, proof=proof
                )
    engine.dispose()
    appends_per_s = args.entries / append_seconds
    hashes_per_s = args.entries / baseline_seconds
    print(
        json.dumps(
            {
                "benchmark": "translog",
                "database": engine.dialect.name,
                "entries": args.entries,
                "batch": args.batch,
                "appends_per_s": round(appends_per_s),
                "append_seconds": round(append_seconds, 2),
                "inclusion_proof_ms": {
                    "mean": round(statistics.mean(inclusion) * 1000, 3),
                    "p95": round(percentile(inclusion, 0.95) * 1000, 3),
                    "max": round(max(inclusion) * 1000, 3),
                },
                "consistency_proof_ms": {
                    "mean": round(statistics.mean(consistency) * 1000, 3),
                    "p95": round(percentile(consistency, 0.95) * 1000, 3),
                    "max": round(max(consistency) * 1000, 3),
                },
                "proofs_verified": "independent verifier (yiwang.certs.verifier) on a sample",
                "baseline": {
                    "what": "bare hashlib SHA-256 leaf hashing of the same leaves",
                    "hashes_per_s": round(hashes_per_s),
                },
                "ratio_appends_to_bare_hashing": round(appends_per_s / hashes_per_s, 4),
                "targets": {"appends_per_s": 20000, "proof_ms": 1.0},
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpu_count": os.cpu_count(),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
