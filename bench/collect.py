"""Collection throughput: 1,000,000 rows from MariaDB and from PostgreSQL into a governance version
(read in bulk as the server's text — COPY for PostgreSQL, a streaming cursor for MariaDB — then the
whole pipeline, Parquet snapshot, version registered), against the same rows read with the bare
driver into Polars and written to Parquet in the same run. Also the bare read through PyMySQL when it
is installed, to compare MySQL drivers.

    .venv/bin/python bench/collect.py [--rows 1000000]

Needs PostgreSQL (YIWANG_BENCH_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
and MariaDB (YIWANG_BENCH_MARIADB_URL, default mysql+mysqldb://root@127.0.0.1:3306/test); it creates a
database `collect_src_bench` on each. Prints one JSON line. Target: ≤ 2× the bare read.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data_setup import bearer, platform
from sensing_common import machine

from yiwang.collect import loads

DATABASE = "collect_src_bench"
SERVERS = {
    "postgresql": os.environ.get("YIWANG_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mariadb": os.environ.get("YIWANG_BENCH_MARIADB_URL", "mysql+mysqldb://root@127.0.0.1:3306/test"),
}
FILL = {
    "postgresql": (
        "CREATE TABLE people AS SELECT g AS id, 'name' || g AS name,"
        " lpad((g::bigint * 7919 % 1000000000)::text, 9, '0') AS code, 13800000000 + g AS phone,"
        " ((g % 1000) * 1.25)::numeric(10,2) AS amount,"
        " timestamp '2024-01-01' + g * interval '1 second' AS updated_at, 'town' || (g % 17) AS town"
        " FROM generate_series(1, :rows) g"
    ),
    "mariadb": (
        "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40), code VARCHAR(12), phone BIGINT,"
        " amount DECIMAL(10,2), updated_at DATETIME, town VARCHAR(20)) AS SELECT seq AS id,"
        " concat('name', seq) AS name, lpad((seq * 7919) % 1000000000, 9, '0') AS code, 13800000000 + seq AS phone,"
        " (seq % 1000) * 1.25 AS amount, timestamp'2024-01-01 00:00:00' + interval seq second AS updated_at,"
        " concat('town', seq % 17) AS town FROM seq_1_to_{rows}"
    ),
}
QUERY = "SELECT id, name, code, phone, amount, updated_at, town FROM people"
ITEMS = [
    {"name": "id", "label": "编号", "data_type": "integer", "required": True, "is_key": True},
    {"name": "name", "label": "名称", "required": True},
    {"name": "code", "label": "代码", "length": 9},
    {"name": "phone", "label": "手机号码", "validator": "mobile", "masking": "mobile", "sensitivity": 3},
    {"name": "amount", "label": "金额", "data_type": "number", "validator": "range", "validator_arg": "0,"},
    {"name": "updated_at", "label": "更新时间", "data_type": "datetime"},
    {"name": "town", "label": "所在镇"},
]
BATCH = 50000


def source_url(kind: str) -> str:
    return make_url(SERVERS[kind]).set(database=DATABASE).render_as_string(hide_password=False)


def ensure_table(kind: str, rows: int) -> None:
    """The source table with `rows` rows, built once and kept between runs."""
    admin = create_engine(SERVERS[kind], poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if kind == "mariadb":
            connection.execute(text(f"CREATE DATABASE IF NOT EXISTS {DATABASE}"))
        elif not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE}).first():
            connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    engine = create_engine(source_url(kind), poolclass=NullPool)
    with engine.begin() as connection:
        try:
            present = connection.execute(text("SELECT count(*) FROM people")).scalar_one()
        except Exception:
            present = None
    if present != rows:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS people"))
            sql = FILL[kind].replace("{rows}", str(rows))
            connection.execute(text(sql), {"rows": rows} if kind == "postgresql" else {})
    engine.dispose()


def bare_read(kind: str, out: Path, driver: str = "") -> tuple[float, float]:
    """The driver's own server-side cursor into Polars batches, concatenated and written to Parquet;
    (wall-clock seconds, this process's CPU seconds)."""
    started, cpu = time.perf_counter(), time.process_time()
    if kind == "postgresql":
        import psycopg

        url = make_url(source_url(kind))
        connection = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database)
        cursor = connection.cursor(name="bare")
        cursor.itersize = BATCH
    elif driver == "pymysql":
        import pymysql
        import pymysql.cursors

        connection = pymysql.connect(host="127.0.0.1", user="root", database=DATABASE)
        cursor = connection.cursor(pymysql.cursors.SSCursor)
    else:
        import MySQLdb
        import MySQLdb.cursors

        url = make_url(source_url(kind))
        connection = MySQLdb.connect(host=url.host, port=url.port or 3306, user=url.username, database=url.database)
        cursor = connection.cursor(MySQLdb.cursors.SSCursor)
    cursor.execute(QUERY)
    names = [d[0] for d in cursor.description]
    frames = []
    while rows := cursor.fetchmany(BATCH):
        frames.append(pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None))
    cursor.close()
    connection.close()
    pl.concat(frames).write_parquet(out)
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    figures: dict[str, object] = {"benchmark": "collect", "rows": args.rows, "target_ratio": 2.0}
    with tempfile.TemporaryDirectory() as tmp:
        app, client = platform(Path(tmp) / "data")
        runtime = app.state.runtime
        steward = bearer(client, "hbj_steward")
        entry = client.post(
            "/api/catalog/entries",
            json={
                "name": "归集基准",
                "summary": "一百万行归集基准测试用的资源目录条目。",
                "items": ITEMS,
                "sharing_type": "无条件共享",
                "open_type": "不予开放",
                "update_cycle": "每日",
                "data_grade": "2",
            },
            headers=steward,
        ).json()["code"]
        client.post(f"/api/catalog/entries/{entry}/submit", headers=steward).raise_for_status()
        review = {"approve": True, "note": "基准"}
        client.post(
            f"/api/catalog/entries/{entry}/review", json=review, headers=bearer(client, "admin")
        ).raise_for_status()
        for kind in ("mariadb", "postgresql"):
            ensure_table(kind, args.rows)
            bare, bare_cpu = bare_read(kind, Path(tmp) / f"bare-{kind}.parquet")
            body = {"code": f"BENCH-{kind}", "name": kind, "entry_code": entry, "kind": "database"}
            body |= {"location": source_url(kind), "query": QUERY}
            source = client.post("/api/collect/sources", json=body, headers=steward)
            source.raise_for_status()
            started, cpu = time.perf_counter(), time.process_time()
            run = loads.run_source(runtime, source_id=source.json()["id"], trigger="cli")
            elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - cpu
            assert run is not None and run.status == "succeeded", run
            assert run.rows_loaded == args.rows, run
            figures[kind] = {
                "collect_seconds": round(elapsed, 2),
                "rows_per_second": round(args.rows / elapsed),
                "bare_read_seconds": round(bare, 2),
                "ratio": round(elapsed / bare, 2),
                "collect_cpu_seconds": round(elapsed_cpu, 2),  # this process's CPU (the database server's apart)
                "bare_read_cpu_seconds": round(bare_cpu, 2),
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        try:
            figures["mariadb_bare_read_pymysql_seconds"] = round(
                bare_read("mariadb", Path(tmp) / "bare-pymysql.parquet", driver="pymysql")[0], 2
            )
        except ImportError:
            figures["mariadb_bare_read_pymysql_seconds"] = None
        client.close()
    figures["machine"] = machine()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
