"""Process-wide parts built once by create_app and reached by dependencies through app.state."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from yiwang.config import Settings
from yiwang.core import passwords
from yiwang.core.checkpoints import BackgroundCheckpointer
from yiwang.core.crypto import FieldCipher, Keyring, load_master_key
from yiwang.core.crypto.keys import bind
from yiwang.core.db import Database
from yiwang.core.keyring import SigningContext


@dataclass
class Runtime:
    settings: Settings
    db: Database
    cipher: FieldCipher
    keyring: Keyring  # every versioned key of the installation; opened by bootstrap.prepare
    certificate_signing: SigningContext  # certificates and their transparency log

    @classmethod
    def build(cls, settings: Settings) -> "Runtime":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        passwords.configure(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)
        database = Database(
            settings.resolved_database_url,
            pool_wait_seconds=settings.db_pool_wait_seconds,
            read_connections=settings.sqlite_read_connections,
            pool_size=settings.db_pool_size,
            pool_overflow=settings.db_pool_overflow,
        )
        master = load_master_key(settings.key_dir, configured=settings.field_key, command=settings.master_key_command)
        keyring = Keyring(master=master, key_dir=settings.key_dir, database_url=settings.resolved_database_url)
        bind(keyring, database.engine, database.reader)
        return cls(
            settings=settings,
            db=database,
            cipher=FieldCipher(keyring),
            keyring=keyring,
            certificate_signing=SigningContext.build(settings.key_dir, settings.city_code, settings.crypto_profile),
        )

    @contextmanager
    def background_checkpoints(self) -> Iterator[BackgroundCheckpointer | None]:
        """A long-running process (serve, worker) copies SQLite's log from a thread of its own meanwhile."""
        checkpointer = (
            self.db.background_checkpoints(
                interval_seconds=self.settings.sqlite_checkpoint_seconds,
                restart_pages=self.settings.sqlite_checkpoint_restart_pages,
            )
            if self.settings.sqlite_checkpoint_seconds > 0
            else None
        )
        if checkpointer is None:
            yield None
            return
        checkpointer.start()
        try:
            yield checkpointer
        finally:
            checkpointer.stop()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _cipher(request: Request) -> FieldCipher:
    cipher: FieldCipher = request.app.state.runtime.cipher
    return cipher


def _certificate_signing(request: Request) -> SigningContext:
    signing: SigningContext = request.app.state.runtime.certificate_signing
    return signing


SettingsDep = Annotated[Settings, Depends(_settings)]
CipherDep = Annotated[FieldCipher, Depends(_cipher)]
CertificateSigningDep = Annotated[SigningContext, Depends(_certificate_signing)]
