"""Start-up work shared by `serve`, `worker` and the CLI: migrate, plug in domains, sync roles, demo."""

import logging
import os
import secrets
import stat
from datetime import timedelta
from pathlib import Path

from yiwang import domains
from yiwang.config import DEMO_NOTICE
from yiwang.core import audit, events
from yiwang.core.crypto.reencrypt import SealedTable
from yiwang.core.jobs import Job
from yiwang.core.migrate import upgrade
from yiwang.core.passwords import policy_problems
from yiwang.core.permissions import PLATFORM_ADMIN, SCOPE_ALL_DEPARTMENTS
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.org import service as org_service
from yiwang.org.schemas import UserCreate
from yiwang.web import nav, templating

log = logging.getLogger(__name__)
_BOOTSTRAP = Principal(
    user_id=None,
    username="system:bootstrap",
    display_name="首次启动",
    kind="system",
    permissions=frozenset({SCOPE_ALL_DEPARTMENTS}),
)


class DemoDataWithoutDemoMode(RuntimeError):
    """The database holds the demo (published passwords) but demo mode is off."""

    def __init__(self) -> None:
        super().__init__(
            "该数据库装载过演示数据（演示账号的密码是公开的）："
            "请以演示模式启动（YIWANG_DEMO=1 或 yiwang serve --demo），或为真实数据使用新的数据库"
        )


def prepare(runtime: Runtime, *, allow_profile_mismatch: bool = False) -> None:
    """Upgrade the schema, plug in every domain, sync roles, and fill an empty database.

    In demo mode an empty database gets the Changshu demo; otherwise only the city's reference
    organisation (divisions, departments) and no account at all, and a database that holds the demo
    is refused: its accounts have published passwords. The crypto profile is recorded at first start
    and checked against the setting afterwards (ProfileMismatch)."""
    secure_data_dir(runtime.settings.data_dir)
    upgrade(runtime.db.engine, master_key=runtime.keyring.master_key)
    open_keyring(runtime, allow_mismatch=allow_profile_mismatch)
    events.configure(
        max_attempts=runtime.settings.event_max_attempts, retry_base_seconds=runtime.settings.event_retry_seconds
    )
    for plugin in domains.plugins():
        nav.register(*plugin.nav)
        if plugin.template_dir:
            templating.add_template_dir(plugin.template_dir)
        if plugin.on_startup:
            plugin.on_startup(runtime)
    with runtime.db.unit_of_work() as db:
        org_service.sync_roles(db)
        empty = not org_service.list_departments(db, include_inactive=True)
    from yiwang.demo import loader

    if runtime.settings.demo:
        log.warning(DEMO_NOTICE)
        if empty and runtime.settings.demo_on_first_start:
            log.info("empty database: loading the Changshu demo")
            # Said on the terminal as it goes: the first start takes a minute or two before it serves.
            from rich.console import Console

            console = Console(stderr=True)
            console.print("[bold]首次启动：正在装载常熟演示数据，完成后即可访问（约一到两分钟）…[/]")
            loader.load_all(runtime, console=console)
            console.print("[bold green]演示数据装载完成[/]")
        return
    if loader.has_demo_data(runtime):
        raise DemoDataWithoutDemoMode()
    if empty and runtime.settings.demo_on_first_start:
        log.info("empty database: loading the city's reference organisation (no accounts)")
        loader.load_reference(runtime)


def open_keyring(runtime: Runtime, *, allow_mismatch: bool = False) -> None:
    with runtime.db.unit_of_work() as db:
        runtime.keyring.open(db, configured=runtime.settings.crypto_profile, allow_mismatch=allow_mismatch)


def sealed_tables() -> list[SealedTable]:
    """Every encrypted column of every domain, for re-encryption."""
    return [table for plugin in domains.plugins() for table in plugin.sealed]


def ensure_initial_admin(runtime: Runtime, *, username: str = "admin") -> tuple[str, str] | None:
    """Outside demo mode, a platform without any platform administrator gets one: a random one-time
    password, shown once by the caller, that must be changed at first login. None when one exists."""
    with runtime.db.unit_of_work() as db:
        if org_service.list_accounts(db, role=PLATFORM_ADMIN):
            return None
        department = next((d for d in org_service.list_departments(db) if d.kind == "platform"), None)
        if department is None:
            return None
        while org_service.find_account(db, username=username) is not None:
            username = f"admin-{secrets.token_hex(3)}"
        password = _one_time_password()
        org_service.create_account(
            db,
            actor=_BOOTSTRAP,
            cipher=runtime.cipher,
            data=UserCreate(
                username=username,
                kind="staff",
                display_name="系统管理员",
                password=password,
                department_code=department.code,
                roles=[PLATFORM_ADMIN],
                must_change_password=True,
            ),
        )
    return username, password


def _one_time_password() -> str:
    while True:
        candidate = secrets.token_urlsafe(12)
        if not policy_problems(candidate):
            return candidate


def secure_data_dir(data_dir: Path) -> None:
    """The data directory holds the database, keys, uploads and Parquet snapshots: readable by the
    platform's own user only. New files are created private (umask 077) and older ones are tightened,
    except key files: one found readable by others is refused by its loader, never silently fixed."""
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True)
    keys = (data_dir / "keys").resolve()
    for root, dirs, files in os.walk(data_dir):
        _tighten(Path(root), 0o700)
        in_key_dir = Path(root).resolve().is_relative_to(keys)
        for name in files:
            if not in_key_dir:
                _tighten(Path(root) / name, 0o600)
        for name in dirs:
            _tighten(Path(root) / name, 0o700)


def _tighten(path: Path, mode: int) -> None:
    try:
        if not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) & ~mode:
            path.chmod(mode)
    except FileNotFoundError:  # a file removed meanwhile (an SQLite -shm, a swept upload)
        pass


def sign_audit_head(runtime: Runtime) -> None:
    with runtime.db.unit_of_work() as db:
        audit.sign_head(db, runtime.keyring)


def deliver_events(runtime: Runtime) -> None:
    delivered = events.deliver_due(runtime.db.engine)
    if delivered:
        log.info("delivered %s events left in the outbox", delivered)


def purge_events(runtime: Runtime) -> None:
    with runtime.db.unit_of_work() as db:
        events.purge_delivered(db, older_than=timedelta(days=runtime.settings.event_keep_days))


def jobs(runtime: Runtime) -> list[Job]:
    """Periodic jobs of the kernel and of every domain."""
    settings = runtime.settings
    found = [
        Job("audit.sign_head", settings.audit_sign_seconds, lambda: sign_audit_head(runtime)),
        Job("events.deliver", settings.event_delivery_seconds, lambda: deliver_events(runtime)),
        Job("events.purge", 3600, lambda: purge_events(runtime)),
    ]
    for plugin in domains.plugins():
        if plugin.jobs:
            found.extend(plugin.jobs(runtime))
    return found
