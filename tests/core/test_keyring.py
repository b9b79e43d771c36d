"""Keyrings: versioned keys per purpose, rotation, lookups across versions, the recorded profile, and
where the master key comes from."""

import base64
import os
import secrets
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from tests.conftest import make_settings
from tests.databases import Templates
from yiwang import bootstrap
from yiwang.core import audit, keyadmin
from yiwang.core.crypto import (
    FIELD,
    LOOKUP,
    TOKEN,
    KeyFileExposed,
    MasterKeyError,
    ProfileMismatch,
    load_master_key,
    parse_envelope,
    suite,
)
from yiwang.core.crypto.reencrypt import stale_rows
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.demo import loader
from yiwang.org import accounts
from yiwang.org.models import User

OPERATOR = Principal(user_id=None, username="system:test", display_name="测试", kind="system", ip="cli")
PROFILE = os.environ.get("YIWANG_CRYPTO_PROFILE", "intl")


@pytest.fixture
def platform(tmp_path, templates: Templates) -> Iterator[Runtime]:
    """A platform of its own (organisation and demo accounts): its keys are rotated here."""
    runtime = Runtime.build(make_settings(templates.migrated_data_dir(tmp_path / "data"), demo_on_first_start=False))
    bootstrap.prepare(runtime)
    loader.load(runtime)
    yield runtime
    runtime.db.dispose()


def _user_with_id_number(runtime: Runtime) -> tuple[int, str]:
    with runtime.db.unit_of_work() as db:
        user = db.execute(select(User).where(User.id_number_enc.is_not(None)).limit(1)).scalar_one()
        return user.id, runtime.cipher.decrypt(user.id_number_enc, context=accounts.ID_NUMBER_CONTEXT)


def test_the_profile_is_recorded_at_first_start_with_version_one_of_every_key(platform):
    profile_suite = suite(PROFILE)
    assert platform.keyring.profile.value == PROFILE
    assert platform.keyring.current(FIELD).algorithm == profile_suite.aead_name
    assert platform.keyring.current(LOOKUP).algorithm == f"HMAC-{profile_suite.hash_name}"
    assert platform.keyring.current("audit").algorithm == profile_suite.signature_name
    assert all(platform.keyring.current(p).version == 1 for p in ("field", "lookup", "pseudonym", "token", "audit"))
    envelope = platform.cipher.encrypt("13800000000", context="t")
    assert envelope.startswith(f"{profile_suite.aead_name}:1:")
    assert oct((platform.settings.key_dir / "ring" / "audit.v1.pem").stat().st_mode)[-3:] == "600"


def test_rotation_makes_new_data_use_the_new_version_while_old_data_still_decrypts(platform):
    old = platform.cipher.encrypt("320581199001011234", context="org_user.id_number")
    with platform.db.unit_of_work() as db:
        assert keyadmin.rotate(db, keyring=platform.keyring, actor=OPERATOR, purpose=FIELD) == 2
    new = platform.cipher.encrypt("320581199001011234", context="org_user.id_number")
    assert parse_envelope(old)[1] == 1 and parse_envelope(new)[1] == 2
    assert platform.cipher.decrypt(old, context="org_user.id_number") == "320581199001011234"
    assert platform.cipher.decrypt(new, context="org_user.id_number") == "320581199001011234"
    assert not platform.cipher.is_current(old) and platform.cipher.is_current(new)
    with platform.db.unit_of_work() as db:  # the rotation is in the audit chain
        rotated = db.execute(
            select(audit.AuditEntry).where(audit.AuditEntry.action == "crypto.key.rotate")
        ).scalar_one()
        assert rotated.target_id == "field/v2"


def test_lookups_find_rows_under_either_lookup_version_until_reencrypted(platform):
    user_id, id_number = _user_with_id_number(platform)
    with platform.db.unit_of_work() as db:
        keyadmin.rotate(db, keyring=platform.keyring, actor=OPERATOR, purpose=LOOKUP)
        keyadmin.rotate(db, keyring=platform.keyring, actor=OPERATOR, purpose=FIELD)
    assert len(platform.cipher.lookup_hashes(id_number, context=accounts.ID_NUMBER_CONTEXT)) == 2
    with platform.db.unit_of_work() as db:  # the row's hash is still version 1's
        assert accounts.find_by_id_number(db, id_number=id_number, cipher=platform.cipher) == user_id
    tables = bootstrap.sealed_tables()
    with platform.db.unit_of_work() as db:
        assert sum(stale_rows(db, cipher=platform.cipher, sealed=t) for t in tables) > 0
    result = keyadmin.reencrypt(platform.db, keyring=platform.keyring, tables=tables, actor=OPERATOR, batch_size=7)
    assert result.rows_read > 0 and not any(p.left for p in result.left)
    with platform.db.unit_of_work() as db:
        assert sum(stale_rows(db, cipher=platform.cipher, sealed=t) for t in tables) == 0
        user = db.get(User, user_id)
        assert parse_envelope(user.id_number_enc)[1] == 2
        assert user.id_number_hash == platform.cipher.lookup_hash(id_number, context=accounts.ID_NUMBER_CONTEXT)
        # the older lookup version is retired: one candidate again, and the row is found under it
        assert len(platform.cipher.lookup_hashes(id_number, context=accounts.ID_NUMBER_CONTEXT)) == 1
        assert accounts.find_by_id_number(db, id_number=id_number, cipher=platform.cipher) == user_id
        assert audit.verify(db, platform.keyring).ok


def test_tokens_issued_before_a_token_key_rotation_still_authenticate(platform):
    from fastapi.testclient import TestClient

    from tests.conftest import bearer
    from yiwang.app import create_app

    app = create_app(platform.settings, runtime=platform)
    with TestClient(app) as client:
        headers = bearer(client, "cgj_handler")
        with platform.db.unit_of_work() as db:
            keyadmin.rotate(db, keyring=platform.keyring, actor=OPERATOR, purpose=TOKEN)
        assert client.get("/api/auth/me", headers=headers).status_code == 200
        assert client.get("/api/auth/me", headers=bearer(client, "cgj_handler")).status_code == 200
    current = platform.keyring.current(TOKEN)
    assert current.version == 2 and current.algorithm == f"HMAC-{suite(PROFILE).hash_name}"


def test_audit_heads_signed_by_an_older_audit_key_still_verify(platform):
    with platform.db.unit_of_work() as db:
        audit.record(db, actor=OPERATOR, action="test.before_rotation")
        assert audit.sign_head(db, platform.keyring).key_version == 1
        keyadmin.rotate(db, keyring=platform.keyring, actor=OPERATOR, purpose="audit")
        assert audit.sign_head(db, platform.keyring).key_version == 2
    with platform.db.unit_of_work() as db:
        result = audit.verify(db, platform.keyring)
        assert result.ok and result.signatures_checked >= 2


def test_a_start_with_another_profile_is_refused_naming_the_switch_command(platform):
    other = "gm" if PROFILE == "intl" else "intl"
    settings = platform.settings.model_copy(update={"crypto_profile": other})
    runtime = Runtime.build(settings)
    try:
        with pytest.raises(ProfileMismatch, match=f"yiwang keys switch-profile {other}"):
            bootstrap.prepare(runtime)
    finally:
        runtime.db.dispose()


# ---- the master key ---------------------------------------------------------------------------------


def test_the_master_key_comes_from_the_environment(tmp_path):
    key = secrets.token_bytes(32)
    assert load_master_key(tmp_path, configured=base64.b64encode(key).decode()) == key
    assert not (tmp_path / "field.key").exists()


def test_the_master_key_comes_from_a_command_and_its_failures_never_show_it(tmp_path):
    key = secrets.token_bytes(32)
    printer = tmp_path / "kms-client.py"
    printer.write_text(f"print({base64.b64encode(key).decode()!r})\n")
    assert load_master_key(tmp_path, command=f"{sys.executable} {printer}") == key
    failing = tmp_path / "failing.py"
    failing.write_text("import sys\nprint('c2VjcmV0')\nsys.exit('HSM offline')\n")
    with pytest.raises(MasterKeyError, match="HSM offline") as refused:
        load_master_key(tmp_path, command=f"{sys.executable} {failing}")
    assert "c2VjcmV0" not in str(refused.value)
    with pytest.raises(MasterKeyError):
        load_master_key(tmp_path, configured=base64.b64encode(key).decode(), command="true")


def test_a_platform_starts_on_a_master_key_from_a_command(tmp_path, templates: Templates):
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    printer = tmp_path / "kms-client.py"
    printer.write_text(f"print({key!r})\n")
    settings = make_settings(
        templates.migrated_data_dir(tmp_path / "data"),
        demo_on_first_start=False,
        master_key_command=f"{sys.executable} {printer}",
    )
    runtime = Runtime.build(settings)
    try:
        bootstrap.prepare(runtime)
        assert not (settings.key_dir / "field.key").exists()
        sealed = runtime.cipher.encrypt("x", context="c")
        again = Runtime.build(settings)  # a second process, the same key from the command
        bootstrap.open_keyring(again)
        assert again.cipher.decrypt(sealed, context="c") == "x"
        again.db.dispose()
    finally:
        runtime.db.dispose()


def test_a_master_key_file_others_may_read_is_refused(tmp_path, templates: Templates):
    settings = make_settings(templates.migrated_data_dir(tmp_path / "data"), demo_on_first_start=False)
    load_master_key(settings.key_dir)
    (settings.key_dir / "field.key").chmod(0o644)
    bootstrap.secure_data_dir(settings.data_dir)  # never silently tightens a key that may have leaked
    with pytest.raises(KeyFileExposed, match="chmod 600"):
        Runtime.build(settings)
    (settings.key_dir / "field.key").chmod(0o600)
    Runtime.build(settings).db.dispose()


def test_the_cli_refuses_a_readable_key_file(tmp_path, templates: Templates):
    import subprocess

    from tests.processes import process_env, yiwang

    settings = make_settings(templates.migrated_data_dir(tmp_path / "data"), demo_on_first_start=False)
    load_master_key(settings.key_dir)
    (settings.key_dir / "field.key").chmod(0o640)
    done = subprocess.run(yiwang("keys", "status"), env=process_env(settings), capture_output=True, timeout=120)
    assert done.returncode == 1
    assert "chmod 600" in " ".join(done.stdout.decode().split())  # the console wraps long lines


def test_audit_chain_starts_with_the_profile_hash(platform):
    with platform.db.unit_of_work() as db:
        algorithm = db.execute(text("SELECT hash_algorithm FROM audit_chain_head")).scalar_one()
    assert algorithm == suite(PROFILE).hash_name


def test_an_installation_older_than_keyrings_keeps_its_keys_and_is_recorded_as_intl(tmp_path, templates: Templates):
    """Data sealed before keyrings (v1 envelopes, the platform Ed25519 file) stays readable and verifiable;
    such an installation is intl whatever the setting says, and switches with the command."""
    from yiwang.core.crypto import FieldCipher, generate_signing_key, write_new_secret

    settings = make_settings(
        templates.migrated_data_dir(tmp_path / "data"), demo_on_first_start=False, crypto_profile="gm"
    )
    master = load_master_key(settings.key_dir)
    legacy_audit = generate_signing_key("Ed25519")
    write_new_secret(settings.key_dir / "platform_ed25519.pem", legacy_audit.private_pem())
    old_envelope = FieldCipher.legacy(master).encrypt("13912345678", context="org_user.phone")
    old_envelope = "v1:" + old_envelope.split(":", 2)[2]  # as the envelope was written before versions
    runtime = Runtime.build(settings)
    with runtime.db.unit_of_work() as db:  # an audit chain already under way
        audit.record(db, actor=OPERATOR, action="test.before_keyrings")
    try:
        with pytest.raises(ProfileMismatch, match="switch-profile gm"):
            bootstrap.prepare(runtime)
        bootstrap.prepare(runtime, allow_profile_mismatch=True)  # what the switch command does
        assert runtime.keyring.profile.value == "intl"
        assert runtime.cipher.decrypt(old_envelope, context="org_user.phone") == "13912345678"
        assert (
            runtime.keyring.current("audit").public_b64() == base64.b64encode(legacy_audit.public_key().raw()).decode()
        )
        with runtime.db.unit_of_work() as db:
            assert audit.verify(db, runtime.keyring).ok
    finally:
        runtime.db.dispose()
