"""The national profile's cost: SM2 signatures and verifications per second through yiwang's keys,
against `openssl speed sm2` measured in the same run, and field encryption per second (FieldCipher)
in gm (SM4-GCM) against intl (AES-256-GCM). The transparency log's append rate in gm against intl is
`transparency_log_append_rates` (filled in by the certificates' benchmark when its log runs on SM3).

    .venv/bin/python bench/crypto.py [--seconds 5]

Prints one JSON line. Target (issue 14): SM2 signing ≥ 0.5 of `openssl speed sm2`.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from yiwang.core.crypto import GM, INTL, FieldCipher, Suite, generate_signing_key
from yiwang.core.crypto.fields import LegacyKeys
from yiwang.core.crypto.keys import FIELD, KeyVersion
from yiwang.core.timeutil import utcnow

MESSAGE = b'{"serial":"320581-2026-000123","holder":"3205811990********","type":"business_licence"}'


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per CPU second of work over about `seconds` of CPU (after a short warm-up).

    CPU time, as `openssl speed` divides by (its default, without -elapsed): on a machine shared with
    other work, wall time would measure the neighbours rather than the code."""
    for _ in range(50):
        work()
    done, started = 0, time.process_time()
    deadline = started + seconds
    while time.process_time() < deadline:
        for _ in range(100):
            work()
        done += 100
    return done / (time.process_time() - started)


def openssl_speed_sm2(seconds: int) -> tuple[float, float, str]:
    """(signs/s, verifies/s, version) from `openssl speed -mr -seconds N sm2`."""
    done = subprocess.run(
        ["openssl", "speed", "-mr", "-seconds", str(seconds), "sm2"], capture_output=True, text=True, check=True
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("+F7:"))
    sign, verify = (float(v) for v in line.split(":")[-2:])
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True, check=True).stdout.strip()
    return sign, verify, version


class _OneKey:
    """A key source with one field key of the given suite (as a keyring's current version)."""

    def __init__(self, profile_suite: Suite) -> None:
        legacy = LegacyKeys(b"m" * 32)
        secret = profile_suite.derive(b"m" * 32, "field-encryption")
        self.field = KeyVersion(FIELD, 1, profile_suite.aead_name, utcnow(), secret=secret)
        self.suite, self._legacy = profile_suite, legacy

    def current(self, purpose: str) -> KeyVersion:
        return self.field if purpose == FIELD else self._legacy.current(purpose)

    def get(self, purpose: str, version: int) -> KeyVersion:
        return self.field if purpose == FIELD else self._legacy.get(purpose, version)

    def live(self, purpose: str) -> list[KeyVersion]:
        return [self.current(purpose)]


def field_rates(seconds: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, profile_suite in (("gm", GM), ("intl", INTL)):
        cipher = FieldCipher(_OneKey(profile_suite))
        envelope = cipher.encrypt("320581199003071234", context="org_user.id_number")
        out[f"{name}_encrypt_per_s"] = rate(
            lambda c=cipher: c.encrypt("320581199003071234", context="org_user.id_number"), seconds
        )
        out[f"{name}_decrypt_per_s"] = rate(
            lambda c=cipher, e=envelope: c.decrypt(e, context="org_user.id_number"), seconds
        )
    return out


def transparency_log_append_rates() -> dict[str, float] | None:
    """Appends per second of the transparency log in gm (SM3 tree, SM2 checkpoints) and in intl.

    The certificates' log benchmark (bench/translog.py) measures them once its log follows the
    installation's profile; until then there is nothing to report here."""
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    key = generate_signing_key("SM2")
    public = key.public_key()
    signature = key.sign(MESSAGE)
    openssl_sign, openssl_verify, openssl_version = openssl_speed_sm2(args.seconds)
    sm2_sign = rate(lambda: key.sign(MESSAGE), args.seconds)
    sm2_verify = rate(lambda: public.verify(signature, MESSAGE), args.seconds)
    fields = field_rates(args.seconds)
    load = os.getloadavg()
    print(
        json.dumps(
            {
                "benchmark": "crypto",
                "sm2_sign_per_s": round(sm2_sign),
                "sm2_verify_per_s": round(sm2_verify),
                "openssl_speed_sm2_sign_per_s": round(openssl_sign),
                "openssl_speed_sm2_verify_per_s": round(openssl_verify),
                "sign_ratio_to_openssl": round(sm2_sign / openssl_sign, 3),
                "verify_ratio_to_openssl": round(sm2_verify / openssl_verify, 3),
                "sm4_gcm_field_encrypt_per_s": round(fields["gm_encrypt_per_s"]),
                "aes_gcm_field_encrypt_per_s": round(fields["intl_encrypt_per_s"]),
                "sm4_to_aes_encrypt_ratio": round(fields["gm_encrypt_per_s"] / fields["intl_encrypt_per_s"], 3),
                "sm4_gcm_field_decrypt_per_s": round(fields["gm_decrypt_per_s"]),
                "aes_gcm_field_decrypt_per_s": round(fields["intl_decrypt_per_s"]),
                "transparency_log_append_rates": transparency_log_append_rates(),
                "openssl": openssl_version,
                "machine": {
                    "cpus": os.cpu_count(),
                    "cpu": re.sub(r"\s+", " ", platform.processor() or platform.machine()),
                    "load_average_1m": round(load[0], 2),
                    "python": platform.python_version(),
                },
                "target": "sm2 signing ≥ 0.5 of openssl speed sm2",
                "divisor": "CPU seconds of this process, as openssl speed (without -elapsed)",
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
