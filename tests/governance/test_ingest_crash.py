"""`yiwang ingest` killed with SIGKILL while it writes a large snapshot: no half version is visible,
the staging folder it left is removed at the next start, and the next ingest succeeds."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.catalog.helpers import publish_entry
from tests.conftest import bearer, run_cli
from tests.processes import process_env, yiwang
from yiwang.governance import service as governance

ROWS = 1_000_000
ITEMS = [
    {"name": "record_id", "label": "记录编号", "required": True, "is_key": True},
    {"name": "town", "label": "所在镇", "validator": "enum", "validator_arg": "虞山街道|梅李镇|海虞镇"},
    {"name": "reading", "label": "读数", "data_type": "number", "validator": "range", "validator_arg": "0,100"},
]
TOWNS = ("虞山街道", "梅李镇", "海虞镇")


def _write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("record_id,town,reading\n")
        handle.writelines(f"R{i:08d},{TOWNS[i % 3]},{i % 1000 / 10}\n" for i in range(rows))


def _staging(settings) -> Path:
    return settings.data_dir / "governance" / "_staging"


def _staging_folders(settings) -> list[Path]:
    root = _staging(settings)
    return [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []


def _current_rows(runtime, code: str) -> int:
    """Rows of the current version as readers (exchange, opendata) see them."""
    with runtime.db.unit_of_work() as db:
        _, total = governance.read_rows(
            db,
            data_dir=runtime.settings.data_dir,
            entry_code=code,
            fields=["record_id"],
            masking={},
            pseudonym=lambda field, value: value,
            limit=1,
        )
    return total


def _kill_while_staging(settings, code: str, path: Path, log: Path) -> float:
    """Start the ingest, SIGKILL it the moment its snapshot folder appears; returns seconds it ran."""
    before = set(_staging_folders(settings))
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            yiwang("ingest", code, str(path)),
            env=process_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while not set(_staging_folders(settings)) - before:
                assert process.poll() is None, f"ingest ended ({process.returncode}) before it was killed: {log}"
                assert time.monotonic() - started < 120, "ingest never reached the snapshot stage"
                time.sleep(0.005)
            os.killpg(process.pid, signal.SIGKILL)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return time.monotonic() - started


pytestmark = pytest.mark.slow


def test_an_ingest_killed_mid_write_leaves_the_old_version_and_is_cleaned_at_next_start(client, runtime, tmp_path):
    settings = runtime.settings
    code = publish_entry(client, items=ITEMS)["code"]
    small = tmp_path / "small.csv"
    _write_csv(small, 10)
    assert run_cli(runtime, "ingest", code, str(small)).exit_code == 0
    big = tmp_path / "big.csv"
    _write_csv(big, ROWS)

    ran = _kill_while_staging(settings, code, big, tmp_path / "killed.log")
    leftover = _staging_folders(settings)
    assert leftover, "the kill was meant to land while the snapshot was being written"

    steward = bearer(client, "admin")
    versions = client.get(f"/api/governance/resources/{code}/versions", headers=steward).json()
    assert [(v["version"], v["current"], v["rows_out"]) for v in versions] == [(1, True, 10)]
    assert _current_rows(runtime, code) == 10

    # The next start (here: the next ingest) removes what the killed one left, then succeeds.
    started = time.monotonic()
    result = subprocess.run(
        yiwang("ingest", code, str(big), "--note", "重新导入"),
        env=process_env(settings),
        capture_output=True,
        timeout=300,
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert not any(p.exists() for p in leftover)
    assert _staging_folders(settings) == []
    assert not list(_staging(settings).glob("*.lock"))
    versions = client.get(f"/api/governance/resources/{code}/versions", headers=steward).json()
    assert [(v["version"], v["current"], v["rows_out"]) for v in versions] == [(2, True, ROWS), (1, False, 10)]
    assert _current_rows(runtime, code) == ROWS
    print(f"\n{ROWS} rows: killed after {ran:.1f} s; full ingest {took:.1f} s")


def test_snapshot_folders_no_version_points_at_are_removed_at_start(client, runtime, tmp_path):
    """An ingest killed after moving its folder into place but before committing leaves an orphan."""
    settings = runtime.settings
    code = publish_entry(client, items=ITEMS)["code"]
    small = tmp_path / "small.csv"
    _write_csv(small, 5)
    assert run_cli(runtime, "ingest", code, str(small)).exit_code == 0
    entry_folder = settings.data_dir / "governance" / code
    (kept,) = list(entry_folder.iterdir())
    old_orphan, fresh_orphan = entry_folder / ("0" * 32), entry_folder / ("f" * 32)
    for folder in (old_orphan, fresh_orphan):
        folder.mkdir()
        (folder / "data.parquet").write_bytes(b"PAR1 half written")
    two_hours_ago = time.time() - 7200
    for folder in (old_orphan, kept):
        os.utime(folder, (two_hours_ago, two_hours_ago))

    result = subprocess.run(yiwang("events", "deliver"), env=process_env(settings), capture_output=True, timeout=120)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert not old_orphan.exists()
    assert fresh_orphan.exists()  # perhaps another node is registering it right now
    assert kept.exists() and _current_rows(runtime, code) == 5
