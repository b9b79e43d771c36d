"""The published SM2 signature sample verifies in yiwang and with the OpenSSL command line.

The sample is GM/T 0003.5-2012 (GB/T 32918.5-2017) Annex A, on the recommended curve: message
"message digest", the default identifier 1234567812345678, key d, public point (x, y), SM3(Z‖M) and
(r, s). (The older GM/T 0003.2 / GB/T 32918.2 example with the identity ALICE123@YAHOO.COM is on a
256-bit test curve with other parameters, which neither Tongsuo nor OpenSSL loads: only named curves.)
"""

import subprocess
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from yiwang.core.crypto import GM, SM2, load_verifying_key

MESSAGE = b"message digest"
IDENTIFIER = b"1234567812345678"
X = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
Y = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
DIGEST = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"  # SM3(Z ‖ M)
R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
# The recommended curve's a, b and base point (GB/T 32918.5), which Z covers.
A = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
B = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
GX = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
GY = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"

PUBLIC = bytes.fromhex("04" + X + Y)
SIGNATURE = encode_dss_signature(R, S)


def test_the_sample_digest_is_sm3_of_z_and_the_message() -> None:
    entl = (len(IDENTIFIER) * 8).to_bytes(2, "big")
    z = GM.digest(entl + IDENTIFIER + bytes.fromhex(A + B + GX + GY + X + Y))
    assert GM.hexdigest(z + MESSAGE).upper() == DIGEST


def test_the_sample_signature_verifies_in_yiwang() -> None:
    public = load_verifying_key(SM2, PUBLIC)
    assert public.verify(SIGNATURE, MESSAGE)
    assert not public.verify(SIGNATURE, b"message digesT")
    assert not public.verify(encode_dss_signature(R, S ^ 1), MESSAGE)


def test_the_sample_signature_verifies_with_openssl(tmp_path: Path) -> None:
    (tmp_path / "pub.pem").write_bytes(load_verifying_key(SM2, PUBLIC).pem())
    (tmp_path / "msg").write_bytes(MESSAGE)
    (tmp_path / "sig").write_bytes(SIGNATURE)
    command = [
        "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"), "-rawin",
        "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig"), "-digest", "sm3",
        "-pkeyopt", "distid:1234567812345678",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=False)
    assert done.returncode == 0 and b"Signature Verified Successfully" in done.stdout
    (tmp_path / "msg").write_bytes(b"message digesT")
    assert subprocess.run(command, capture_output=True, check=False).returncode != 0
