"""Re-encryption survives kill -9, and a live installation switches from intl to gm: real processes."""

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, text

from tests.conftest import make_settings
from tests.core.test_audit_chain import append_only_lifted
from tests.databases import Templates
from tests.processes import Server, process_env, token, yiwang
from yiwang import bootstrap
from yiwang.core import audit
from yiwang.core.crypto import FIELD, LOOKUP, ProfileMismatch, parse_envelope
from yiwang.core.crypto.reencrypt import ReencryptCursor, envelope_versions, stale_rows
from yiwang.core.events import OutboxMessage
from yiwang.core.keyadmin import rotate
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.demo.loader import DEMO_PASSWORD
from yiwang.federation.transport import own_key, own_keys
from yiwang.org import accounts
from yiwang.org.models import User

pytestmark = pytest.mark.slow
OPERATOR = Principal(user_id=None, username="system:test", display_name="测试", kind="system", ip="cli")


@pytest.fixture
def intl_platform(tmp_path, templates: Templates) -> Iterator[Runtime]:
    """An intl installation with the small demo (accounts, applications, city events)."""
    runtime = Runtime.build(make_settings(templates.migrated_data_dir(tmp_path / "data"), crypto_profile="intl"))
    bootstrap.prepare(runtime)
    yield runtime
    runtime.db.dispose()


def _stale(runtime: Runtime) -> int:
    with runtime.db.unit_of_work() as db:
        return sum(stale_rows(db, cipher=runtime.cipher, sealed=t) for t in bootstrap.sealed_tables())


def _run(runtime: Runtime, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(yiwang(*args), env=process_env(runtime.settings), capture_output=True, timeout=timeout)


def test_reencrypt_resumes_after_a_kill_midway(intl_platform, tmp_path):
    runtime = intl_platform
    with runtime.db.unit_of_work() as db:
        rotate(db, keyring=runtime.keyring, actor=OPERATOR, purpose=FIELD)
        rotate(db, keyring=runtime.keyring, actor=OPERATOR, purpose=LOOKUP)
    before = _stale(runtime)
    assert before > 5
    log = (tmp_path / "reencrypt.log").open("wb")
    process = subprocess.Popen(
        yiwang("keys", "reencrypt", "--batch-size", "1", "--pause", "0.3"),
        env=process_env(runtime.settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with runtime.db.unit_of_work() as db:
            moved = db.execute(select(ReencryptCursor.rows_rewritten)).scalars().all()
        if sum(moved) >= 2:
            break
        assert process.poll() is None, (tmp_path / "reencrypt.log").read_text()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    log.close()
    midway = _stale(runtime)
    assert 0 < midway < before  # part done, part left: a real interruption
    done = _run(runtime, "keys", "reencrypt", "--batch-size", "3")
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert "全部数据已在当前密钥下" in done.stdout.decode()
    assert _stale(runtime) == 0
    with runtime.db.unit_of_work() as db:
        for sealed in bootstrap.sealed_tables():
            versions = envelope_versions(db, sealed=sealed)
            assert set(versions) <= {"AES-256-GCM:2"}, versions
        assert audit.verify(db, runtime.keyring).ok
    verified = _run(runtime, "audit", "verify")
    assert verified.returncode == 0, verified.stdout.decode()


def _zhangsan_id_number(runtime: Runtime) -> str:
    from yiwang.demo.loader import DEMO_ACCOUNTS

    return next(a.id_number for a in DEMO_ACCOUNTS if a.username == "zhangsan")


def test_a_live_installation_switches_from_intl_to_gm(intl_platform, tmp_path):
    runtime = intl_platform
    with runtime.db.unit_of_work() as db:
        audit.record(db, actor=OPERATOR, action="test.before_switch")
        audit.sign_head(db, runtime.keyring)
    assert _run(runtime, "audit", "verify").returncode == 0
    federation_before = own_key(runtime)  # the federation key peers pin, in the intl profile
    assert federation_before.algorithm == "Ed25519"
    server = Server(runtime.settings, tmp_path / "server.log").wait_ready()
    try:
        before = token(server.url, "cgj_handler", DEMO_PASSWORD)
        switching = subprocess.Popen(
            yiwang("keys", "switch-profile", "gm", "--batch-size", "5"),
            env=process_env(runtime.settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        served = 0
        while switching.poll() is None:  # the platform keeps serving while it switches
            me = httpx.get(f"{server.url}/api/auth/me", headers={"Authorization": f"Bearer {before}"}, timeout=30)
            assert me.status_code == 200, me.text
            served += 1
            time.sleep(0.1)
        output = switching.stdout.read().decode() if switching.stdout else ""
        assert switching.returncode == 0, output
        assert "intl → gm" in output and served > 0
        time.sleep(1.5)  # the server picks up the new keys within a second
        after = token(server.url, "cgj_handler", DEMO_PASSWORD)
        for secret in (before, after):  # a token from before the switch and one from after
            me = httpx.get(f"{server.url}/api/auth/me", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
            assert me.status_code == 200
    finally:
        server.stop()

    with runtime.db.unit_of_work() as db:
        runtime.keyring.reload(db)
    assert runtime.keyring.profile.value == "gm"
    assert _stale(runtime) == 0
    # The federation key followed the profile: a new SM2 version that peers learn through the rollover,
    # the Ed25519 one kept for what was signed with it.
    federation_after = own_keys(runtime)
    assert federation_after.current.algorithm == "SM2"
    assert federation_after.current.version == federation_before.version + 1
    assert federation_before.key_id in federation_after.key_ids
    with runtime.db.unit_of_work() as db:
        for sealed in bootstrap.sealed_tables():
            assert set(envelope_versions(db, sealed=sealed)) <= {"SM4-GCM:2"}
        user_id = accounts.find_by_id_number(db, id_number=_zhangsan_id_number(runtime), cipher=runtime.cipher)
        assert user_id is not None
        user = db.get(User, user_id)
        assert parse_envelope(user.phone_enc)[0] == "SM4-GCM"
        event = db.execute(select(OutboxMessage).where(OutboxMessage.name == "crypto.profile_changed")).scalar_one()
        assert json.loads(event.payload) == {"from": "intl", "to": "gm"}
        change = db.execute(
            select(audit.AuditEntry).where(audit.AuditEntry.action == audit.PROFILE_CHANGED)
        ).scalar_one()
        assert db.execute(text("SELECT hash_algorithm FROM audit_chain_head")).scalar_one() == "SM3"
        signatures = db.execute(select(audit.AuditSignature.algorithm, audit.AuditSignature.seq)).all()
        assert {"Ed25519", "SM2"} <= {algorithm for algorithm, _ in signatures}
        last = db.execute(select(audit.AuditEntry.seq).order_by(audit.AuditEntry.seq.desc()).limit(1)).scalar_one()
    verified = _run(runtime, "audit", "verify")
    assert verified.returncode == 0, verified.stdout.decode()
    # The old setting is refused now, naming what to do; the new one starts.
    with pytest.raises(ProfileMismatch, match="switch-profile intl"):
        bootstrap.prepare(runtime)
    gm = Runtime.build(runtime.settings.model_copy(update={"crypto_profile": "gm"}))
    bootstrap.prepare(gm)
    gm.db.dispose()
    # A tampered entry is still named, on either side of the profile change.
    for target in (change.seq - 1, last):
        with runtime.db.unit_of_work() as db:
            original = db.get(audit.AuditEntry, target).actor_name
        with append_only_lifted(runtime) as engine, engine.begin() as conn:
            conn.execute(text("UPDATE audit_entry SET actor_name = 'mallory' WHERE seq = :s"), {"s": target})
        try:
            broken = _run(runtime, "audit", "verify")
            assert broken.returncode == 1
            assert f"first_broken_seq={target}" in broken.stdout.decode()
        finally:
            with append_only_lifted(runtime) as engine, engine.begin() as conn:
                conn.execute(
                    text("UPDATE audit_entry SET actor_name = :o WHERE seq = :s"), {"o": original, "s": target}
                )
    assert _run(runtime, "audit", "verify").returncode == 0
