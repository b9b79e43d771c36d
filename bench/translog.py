"""Transparency log: batched appends per second, and inclusion / consistency proofs at a large size,
in each crypto profile (intl: SHA-256 tree, Ed25519 checkpoints; gm: SM3 tree, SM2 checkpoints).

Builds its own logs in a temporary SQLite database (or --database-url, e.g. a scratch PostgreSQL
database) with the certs tables only: one log per profile. For each, appends --entries leaves in
batches through the real log code (leaf rows, every complete subtree node, head row, one signed C2SP
checkpoint per batch), then times proofs read from the stored nodes. Baseline: bare hashlib leaf
hashing of the same leaves (SHA-256); and the gm append rate against the intl one, measured in the
same run.

    .venv/bin/python bench/translog.py [--entries 1000000] [--batch 10000] [--proofs 2000] [--profiles intl,gm]

Prints one JSON line. Targets: ≥ 20,000 appends/s in batches and proofs at 1,000,000 entries ≤ 1 ms
(issue 5); gm appends ≥ 0.5 of intl's (issue 14).
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

from sqlalchemy.orm import Session

from yiwang.certs import logs, models, translog, verifier
from yiwang.certs.translog import LogInfo
from yiwang.core.db import Base, make_engine
from yiwang.core.keyring import SigningContext


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


def new_log(engine, workdir: Path, log_id: int, profile: str) -> tuple[SigningContext, LogInfo]:
    """An empty log of the profile, as a fresh installation of it starts one."""
    signing = SigningContext.build(workdir / f"keys-{profile}", "bench", profile)
    with Session(engine) as db, db.begin():
        return signing, logs.create_log(db, signing, log_id=log_id, profile=signing.suite)


def run_profile(engine, workdir: Path, log_id: int, profile: str, data: list[bytes], args) -> dict:
    signing, log = new_log(engine, workdir, log_id, profile)
    start = time.perf_counter()
    for offset in range(0, args.entries, args.batch):
        with Session(engine) as db, db.begin():
            translog.append(db, log.id, data[offset : offset + args.batch])
            logs.sign_checkpoint(db, signing, log)
    append_seconds = time.perf_counter() - start

    rng = random.Random(7)
    size = args.entries
    inclusion, consistency = [], []
    with Session(engine) as db:
        root = translog.root_at(db, log, size)
        for _ in range(args.proofs):
            index = rng.randrange(size)
            t0 = time.perf_counter()
            path = translog.inclusion_proof(db, log, index=index, size=size)
            inclusion.append(time.perf_counter() - t0)
            if len(inclusion) <= 50:
                verifier.verify_inclusion(
                    leaf=data[index], index=index, tree_size=size, path=path, root=root, hash_name=log.hash_name
                )
        for n in range(args.proofs):
            first = rng.randrange(1, size)
            t0 = time.perf_counter()
            proof = translog.consistency_proof(db, log, first=first, second=size)
            consistency.append(time.perf_counter() - t0)
            if n < 10:
                verifier.verify_consistency(
                    first=first,
                    second=size,
                    first_root=translog.root_at(db, log, first),
                    second_root=root,
                    proof=proof,
                    hash_name=log.hash_name,
                )
        checkpoint = translog.latest_checkpoint(db, log.id)
        assert checkpoint is not None
        verifier.verify_checkpoint(checkpoint.note, logs.verifier_key(signing, log))
    return {
        "hash": log.hash_name,
        "signature": log.signature_algorithm,
        "appends_per_s": round(args.entries / append_seconds),
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
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--proofs", type=int, default=2000)
    parser.add_argument("--profiles", default="intl,gm", help="comma-separated: intl, gm")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="yiwang-translog-"))
    url = args.database_url or f"sqlite:///{workdir / 'log.db'}"
    engine = make_engine(url)
    tables = [m.__table__ for m in (models.LogLeaf, models.LogNode, models.LogHead, models.LogCheckpoint)]
    Base.metadata.drop_all(engine, tables=tables)
    Base.metadata.create_all(engine, tables=tables)
    data = leaves(args.entries)

    start = time.perf_counter()
    for leaf in data:
        hashlib.sha256(b"\x00" + leaf).digest()
    baseline_seconds = time.perf_counter() - start

    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    results = {p: run_profile(engine, workdir, n, p, data, args) for n, p in enumerate(profiles, start=1)}
    engine.dispose()
    hashes_per_s = args.entries / baseline_seconds
    first = results[profiles[0]]
    figures = {
        "benchmark": "translog",
        "database": engine.dialect.name,
        "entries": args.entries,
        "batch": args.batch,
        # the first profile's figures at the top level, as before profiles existed
        "appends_per_s": first["appends_per_s"],
        "append_seconds": first["append_seconds"],
        "inclusion_proof_ms": first["inclusion_proof_ms"],
        "consistency_proof_ms": first["consistency_proof_ms"],
        "profiles": results,
        "proofs_verified": "independent verifier (yiwang.certs.verifier) on a sample, and the final checkpoint",
        "baseline": {
            "what": "bare hashlib SHA-256 leaf hashing of the same leaves",
            "hashes_per_s": round(hashes_per_s),
        },
        "ratio_appends_to_bare_hashing": round(first["appends_per_s"] / hashes_per_s, 4),
        "targets": {"appends_per_s": 20000, "proof_ms": 1.0, "gm_to_intl_appends": 0.5},
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    if "intl" in results and "gm" in results:
        figures["ratio_gm_to_intl_appends"] = round(
            results["gm"]["appends_per_s"] / results["intl"]["appends_per_s"], 3
        )
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
