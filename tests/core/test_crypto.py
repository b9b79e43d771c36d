import base64

import pytest
from cryptography.exceptions import InvalidTag

from yiwang.core.crypto import FieldCipher, MasterKeyError, load_master_key


def test_master_key_is_created_once_with_private_permissions(tmp_path):
    first = load_master_key(tmp_path)
    again = load_master_key(tmp_path)
    assert first == again and len(first) == 32
    assert (tmp_path / "field.key").stat().st_mode & 0o077 == 0


def test_configured_key_wins_and_must_be_32_bytes(tmp_path):
    key = base64.b64encode(b"k" * 32).decode()
    assert load_master_key(tmp_path, configured=key) == b"k" * 32
    with pytest.raises(MasterKeyError):
        load_master_key(tmp_path, configured=base64.b64encode(b"short").decode())


def test_encryption_round_trip_is_randomised_and_bound_to_its_column():
    cipher = FieldCipher.legacy(b"m" * 32)
    a = cipher.encrypt("13812345678", context="org_user.phone")
    b = cipher.encrypt("13812345678", context="org_user.phone")
    assert a != b and "13812345678" not in a
    assert a.startswith("AES-256-GCM:1:")
    assert cipher.decrypt(a, context="org_user.phone") == "13812345678"
    with pytest.raises(InvalidTag):
        cipher.decrypt(a, context="org_user.id_number")


def test_lookup_hash_is_deterministic_and_keyed():
    one, other = FieldCipher.legacy(b"a" * 32), FieldCipher.legacy(b"b" * 32)
    assert one.lookup_hash("x", context="c") == one.lookup_hash("x", context="c")
    assert one.lookup_hash("x", context="c") != other.lookup_hash("x", context="c")
    assert one.lookup_hash("x", context="c") != one.lookup_hash("x", context="d")
