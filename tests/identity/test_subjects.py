"""Pairwise subjects stay what an application knows its users by, whatever happens to the keys."""

import secrets

from yiwang.core.crypto import PSEUDONYM, FieldCipher, KeyVersion
from yiwang.core.timeutil import utcnow
from yiwang.identity.claims import subject
from yiwang.org.service import AccountBrief

CITIZEN = AccountBrief(
    id=7, username="zhangsan", kind="citizen", display_name="张三", department_id=None,
    department_code=None, active=True, credit_code=None,
)  # fmt: skip
STAFF = AccountBrief(
    id=8, username="cgj_handler", kind="staff", display_name="赵经办", department_id=3,
    department_code="CGJ", active=True, credit_code=None,
)  # fmt: skip


class TwoPseudonymKeys:
    """A keyring whose pseudonym key was rotated once (version 2 is current)."""

    def __init__(self, algorithm: str = "HMAC-SHA-256") -> None:
        now = utcnow()
        self.versions = {v: KeyVersion(PSEUDONYM, v, algorithm, now, secret=secrets.token_bytes(32)) for v in (1, 2)}

    def current(self, purpose: str) -> KeyVersion:
        return self.versions[2]

    def get(self, purpose: str, version: int) -> KeyVersion:
        return self.versions[version]


def test_a_client_keeps_the_pseudonym_key_version_it_was_registered_under():
    cipher = FieldCipher(TwoPseudonymKeys())
    old = subject(cipher, sector="app-a", key_version=1, account=CITIZEN)
    assert old == subject(cipher, sector="app-a", key_version=1, account=CITIZEN)  # stable after the rotation
    assert old != subject(cipher, sector="app-a", key_version=2, account=CITIZEN)  # new registrations: new key
    assert old != subject(cipher, sector="app-b", key_version=1, account=CITIZEN)  # pairwise
    assert len(old) == 24


def test_staff_subjects_are_their_user_code_under_any_key():
    cipher = FieldCipher(TwoPseudonymKeys())
    assert subject(cipher, sector="app-a", key_version=1, account=STAFF) == "cgj_handler"
    assert subject(cipher, sector="app-b", key_version=2, account=STAFF) == "cgj_handler"


def test_the_national_profile_makes_subjects_with_hmac_sm3():
    intl, gm = TwoPseudonymKeys(), TwoPseudonymKeys("HMAC-SM3")
    gm.versions = {
        v: KeyVersion(PSEUDONYM, v, "HMAC-SM3", k.created_at, secret=k.secret) for v, k in intl.versions.items()
    }
    same_secret_other_algorithm = (
        subject(FieldCipher(intl), sector="app-a", key_version=1, account=CITIZEN),
        subject(FieldCipher(gm), sector="app-a", key_version=1, account=CITIZEN),
    )
    assert same_secret_other_algorithm[0] != same_secret_other_algorithm[1]
