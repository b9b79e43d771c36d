"""Who may do what, cached per process: an account's roles and permissions and a department's scope.

Every authenticated request needs them, and they change rarely. Entries are keyed on the database's
access version (`org_access_version`), which triggers raise in the same transaction as any change to
roles, role permissions, role assignments or the department tree; a request reads the version in the
same query as its credential, before the request has written anything, so a change is seen by every
process on its next request and an uncommitted change is never cached. Account
fields that change more often (active, department, kind, client scopes) are read fresh every time.
"""

import threading
import weakref
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, ScalarSelect, select
from sqlalchemy.orm import Session

from yiwang.org.models import AccessVersion, Department, Role, RolePermission, UserRole
from yiwang.org.service import department_subtree_ids

MAX_ENTRIES = 20_000


@dataclass(frozen=True)
class Grants:
    roles: frozenset[str]
    permissions: frozenset[str]


@dataclass(frozen=True)
class Scope:
    department_code: str
    department_ids: frozenset[int]


class AccessCache:
    """The cache of one database; emptied whenever the database's access version moves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._grants: dict[int, Grants] = {}
        self._scopes: dict[int, Scope | None] = {}

    def _at(self, version: int) -> None:
        if version != self._version or len(self._grants) + len(self._scopes) > MAX_ENTRIES:
            with self._lock:
                self._version, self._grants, self._scopes = version, {}, {}

    def grants(self, db: Session, *, version: int, user_id: int) -> Grants:
        self._at(version)
        found = self._grants.get(user_id)
        if found is None:
            found = self._grants[user_id] = load_grants(db, user_id)
        return found

    def scope(self, db: Session, *, version: int, department_id: int) -> Scope | None:
        self._at(version)
        if department_id not in self._scopes:
            self._scopes[department_id] = load_scope(db, department_id)
        return self._scopes[department_id]


_caches: "weakref.WeakKeyDictionary[Engine | Connection, AccessCache]" = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(db: Session) -> AccessCache:
    engine = db.get_bind()
    cache = _caches.get(engine)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(engine, AccessCache())
    return cache


def version_expression() -> ScalarSelect[int]:
    """The access version as a scalar subquery, so reading it costs no extra round trip."""
    return select(AccessVersion.value).where(AccessVersion.id == 1).scalar_subquery()


def load_grants(db: Session, user_id: int) -> Grants:
    """Read afresh: for callers that may be inside a transaction that changed access."""
    roles = db.execute(
        select(Role.code).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user_id)
    ).scalars()
    role_codes = frozenset(roles)
    permissions = (
        db.execute(
            select(RolePermission.permission)
            .join(Role, Role.id == RolePermission.role_id)
            .where(Role.code.in_(role_codes))
        ).scalars()
        if role_codes
        else ()
    )
    return Grants(roles=role_codes, permissions=frozenset(permissions))


def load_scope(db: Session, department_id: int) -> Scope | None:
    department = db.get(Department, department_id)
    if department is None:
        return None
    return Scope(department.code, frozenset(department_subtree_ids(db, department_id=department.id)))
