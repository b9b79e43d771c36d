"""The two profiles' algorithms against the standards' own vectors and the OpenSSL 3 command line."""

import subprocess
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from yiwang.core.crypto import (
    ED25519,
    GM,
    INTL,
    SM2,
    generate_signing_key,
    load_signing_key,
    load_verifying_key,
    load_verifying_pem,
    suite,
)


def test_sm3_vectors_of_gb_t_32905() -> None:
    assert GM.hexdigest(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert GM.hexdigest(b"abcd" * 16) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_sm4_example_of_gb_t_32907() -> None:
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    # The standard gives one block under the bare cipher; ECB of one block is exactly that.
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305
    assert (encryptor.update(key) + encryptor.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


@pytest.mark.parametrize("chosen", [INTL, GM])
def test_aead_round_trip_is_bound_to_its_context(chosen) -> None:
    aead = chosen.aead(chosen.derive(b"m" * 32, "field-encryption"))
    sealed = aead.encrypt(b"n" * 12, b"320581199001011234", b"org_user.id_number")
    assert aead.decrypt(b"n" * 12, sealed, b"org_user.id_number") == b"320581199001011234"
    with pytest.raises(InvalidTag):
        aead.decrypt(b"n" * 12, sealed, b"org_user.phone")


def test_profiles_differ_and_unknown_profile_is_named() -> None:
    assert suite("gm") is GM and suite("intl") is INTL
    assert GM.mac(b"k", b"x") != INTL.mac(b"k", b"x")
    with pytest.raises(ValueError, match="intl or gm"):
        suite("rsa")


@pytest.mark.parametrize("algorithm", [ED25519, SM2])
def test_signature_round_trip_and_tamper(algorithm) -> None:
    key = generate_signing_key(algorithm)
    signature = key.sign(b"certificate")
    public = load_verifying_key(algorithm, key.public_key().raw())
    assert public.verify(signature, b"certificate")
    assert not public.verify(signature, b"certificatf")
    assert load_signing_key(key.private_pem()).public_key().raw() == key.public_key().raw()


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def test_yiwang_sm2_signature_verifies_with_openssl(tmp_path: Path) -> None:
    key = generate_signing_key(SM2)
    (tmp_path / "pub.pem").write_bytes(key.public_key().pem())
    (tmp_path / "msg").write_bytes(b"yiwang seal")
    (tmp_path / "sig").write_bytes(key.sign(b"yiwang seal"))
    _openssl(
        "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"), "-rawin", "-in", str(tmp_path / "msg"),
        "-sigfile", str(tmp_path / "sig"), "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
    )  # fmt: skip


def test_openssl_sm2_signature_verifies_in_yiwang(tmp_path: Path) -> None:
    _openssl("genpkey", "-algorithm", "SM2", "-out", str(tmp_path / "key.pem"))
    _openssl("pkey", "-in", str(tmp_path / "key.pem"), "-pubout", "-out", str(tmp_path / "pub.pem"))
    (tmp_path / "msg").write_bytes(b"made by openssl")
    _openssl(
        "pkeyutl", "-sign", "-inkey", str(tmp_path / "key.pem"), "-rawin", "-in", str(tmp_path / "msg"),
        "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-out", str(tmp_path / "sig"),
    )  # fmt: skip
    public = load_verifying_pem((tmp_path / "pub.pem").read_bytes())
    assert public.algorithm == SM2
    assert public.verify((tmp_path / "sig").read_bytes(), b"made by openssl")
    assert not public.verify((tmp_path / "sig").read_bytes(), b"made by someone else")
    assert load_signing_key((tmp_path / "key.pem").read_bytes()).algorithm == SM2
