"""The audit chain: every entry linked to the previous one, tampering found at the exact entry."""

from contextlib import contextmanager

import pytest
from sqlalchemy import text

from tests.conftest import bearer, run_cli
from yiwang.core import audit
from yiwang.core.security import Principal


@contextmanager
def append_only_lifted(runtime):
    """Play a database administrator who drops the append-only triggers to edit history."""
    engine = runtime.db.engine
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_entry_no_update"))
            conn.execute(text("DROP TRIGGER audit_entry_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
    try:
        yield engine
    finally:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(
                    text("""CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
                                     BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END""")
                )
                conn.execute(
                    text("""CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
                                     BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END""")
                )
            else:
                conn.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only"))


def _record(runtime, action: str) -> int:
    actor = Principal(user_id=None, username="test", display_name="test", kind="system", ip="127.0.0.1")
    with runtime.db.unit_of_work() as db:
        return audit.record(db, actor=actor, action=action, target_type="test", details={"n": 1}).seq


def _verify(runtime) -> audit.VerifyResult:
    with runtime.db.unit_of_work() as db:
        return audit.verify(db, runtime.keyring)


def test_entries_link_to_their_predecessor(runtime):
    first = _record(runtime, "test.link.a")
    second = _record(runtime, "test.link.b")
    with runtime.db.unit_of_work() as db:
        a, b = db.get(audit.AuditEntry, first), db.get(audit.AuditEntry, second)
        assert b.seq == a.seq + 1 and b.prev_hash == a.entry_hash
        assert audit.compute_hash(b, audit.head_algorithm(db)) == b.entry_hash
    assert _verify(runtime).ok


def test_the_database_refuses_updates_and_deletes(runtime):
    seq = _record(runtime, "test.append_only")
    for statement in ("UPDATE audit_entry SET action = 'x' WHERE seq = :s", "DELETE FROM audit_entry WHERE seq = :s"):
        with pytest.raises(Exception, match="append-only"), runtime.db.engine.begin() as conn:
            conn.execute(text(statement), {"s": seq})


def test_verify_names_exactly_the_edited_entry(runtime):
    _record(runtime, "test.before")
    target = _record(runtime, "test.target")
    _record(runtime, "test.after")
    with append_only_lifted(runtime) as engine, engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET outcome = 'failure' WHERE seq = :s"), {"s": target})
    try:
        result = _verify(runtime)
        assert not result.ok
        assert result.first_broken_seq == target
        assert "篡改" in (result.reason or "")
        cli = run_cli(runtime, "audit", "verify")
        assert cli.exit_code == 1
        assert f"first_broken_seq={target}" in cli.output
    finally:
        with append_only_lifted(runtime) as engine, engine.begin() as conn:
            conn.execute(text("UPDATE audit_entry SET outcome = 'success' WHERE seq = :s"), {"s": target})
    assert _verify(runtime).ok


def test_verify_finds_a_deleted_entry(runtime):
    target = _record(runtime, "test.deleted")
    _record(runtime, "test.after_deleted")
    with runtime.db.engine.begin() as conn:
        row = conn.execute(text("SELECT * FROM audit_entry WHERE seq = :s"), {"s": target}).mappings().one()
    with append_only_lifted(runtime) as engine, engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq = :s"), {"s": target})
    try:
        result = _verify(runtime)
        assert not result.ok and result.first_broken_seq == target
    finally:
        columns = ", ".join(row.keys())
        values = ", ".join(f":{k}" for k in row)
        with runtime.db.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO audit_entry ({columns}) VALUES ({values})"), dict(row))  # noqa: S608
    assert _verify(runtime).ok


def test_signed_head_detects_a_rewritten_chain(runtime):
    seq = _record(runtime, "test.signed")
    with runtime.db.unit_of_work() as db:
        signature = audit.sign_head(db, runtime.keyring)
        assert signature is not None and signature.seq == seq
        assert audit.sign_head(db, runtime.keyring) is None  # already signed: idempotent
    assert _verify(runtime).signatures_checked >= 1
    # An attacker who recomputes every hash after editing still contradicts the signed head.
    with runtime.db.unit_of_work() as db:
        entry = db.get(audit.AuditEntry, seq)
        forged_details = '{"n":2}'
        entry_copy = audit.AuditEntry(**{c.name: getattr(entry, c.name) for c in audit.AuditEntry.__table__.columns})
        entry_copy.details = forged_details
        forged_hash = audit.compute_hash(entry_copy, audit.head_algorithm(db))
        original = (entry.details, entry.entry_hash)
    with append_only_lifted(runtime) as engine, engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_entry SET details = :d, entry_hash = :h WHERE seq = :s"),
            {"d": forged_details, "h": forged_hash, "s": seq},
        )
        conn.execute(
            text("UPDATE audit_chain_head SET last_hash = :h WHERE id = 1 AND last_seq = :s"),
            {"h": forged_hash, "s": seq},
        )
    try:
        result = _verify(runtime)
        assert not result.ok and result.first_broken_seq == seq
    finally:
        with append_only_lifted(runtime) as engine, engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_entry SET details = :d, entry_hash = :h WHERE seq = :s"),
                {"d": original[0], "h": original[1], "s": seq},
            )
            conn.execute(
                text("UPDATE audit_chain_head SET last_hash = :h WHERE id = 1 AND last_seq = :s"),
                {"h": original[1], "s": seq},
            )
    assert _verify(runtime).ok


def test_audit_search_api_filters_and_requires_permission(client, auditor_headers):
    marker = _record(client.app.state.runtime, "test.search.unique")
    found = client.get("/api/audit/entries", params={"action": "test.search.unique"}, headers=auditor_headers)
    assert found.status_code == 200
    assert [item["seq"] for item in found.json()["items"]] == [marker]
    denied = client.get("/api/audit/entries", headers=bearer(client, "cgj_handler"))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"
