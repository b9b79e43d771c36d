"""Password hashing with Argon2id and the platform's password policy."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
# A wrong username is verified against a dummy hash of the same cost, so it costs as long as a wrong password.
_DUMMY_PASSWORD = "yiwang-dummy-password"  # noqa: S105  (hashed only to spend the same work)


class _Hashing:
    """The hasher for new passwords and a dummy hash made at the same cost."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.use(hasher)

    def use(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self.dummy_hash = hasher.hash(_DUMMY_PASSWORD)


_hashing = _Hashing(PasswordHasher())


def configure(*, time_cost: int, memory_kib: int) -> None:
    """Set the Argon2 cost of new hashes for this process. A hash records the cost it was made with,
    so existing hashes still verify, and a login rehashes one whose cost differs."""
    current = _hashing.hasher
    if (current.time_cost, current.memory_cost) != (time_cost, memory_kib):
        _hashing.use(PasswordHasher(time_cost=time_cost, memory_cost=memory_kib))


def hash_password(password: str) -> str:
    return _hashing.hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one Argon2 verification."""
    try:
        return _hashing.hasher.verify(password_hash or _hashing.dummy_hash, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hashing.hasher.check_needs_rehash(password_hash)


def policy_problems(password: str, *, username: str | None = None) -> list[str]:
    """Reasons (Chinese) why a new password is not acceptable; empty when it is."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"密码至少{MIN_LENGTH}位")
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        problems.append("密码须同时包含字母和数字")
    if username and username.lower() in password.lower():
        problems.append("密码不能包含用户名")
    return problems
