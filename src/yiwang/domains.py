"""The domains that make up the platform, and how each plugs in: tables, routers, pages, jobs, demo.

Each domain package has a `plugin.py` with `plugin() -> DomainPlugin`. The application, the
worker, Alembic and the demo loader all iterate over DOMAIN_PACKAGES, so adding a domain never
means editing app.py or bootstrap.py.
"""

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from sqlalchemy import MetaData

if TYPE_CHECKING:
    from yiwang.core.crypto.reencrypt import SealedTable
    from yiwang.core.jobs import Job
    from yiwang.core.runtime import Runtime
    from yiwang.web.nav import Entry

# In dependency order: a domain's demo data may use the domains before it.
DOMAIN_PACKAGES = (
    "yiwang.org",
    "yiwang.identity",
    "yiwang.geo",
    "yiwang.catalog",
    "yiwang.governance",
    "yiwang.collect",
    "yiwang.exchange",
    "yiwang.opendata",
    "yiwang.certs",
    "yiwang.onestop",
    "yiwang.sensing",
    "yiwang.cityops",
    "yiwang.video",
    "yiwang.federation",
    "yiwang.brain",
)


@dataclass
class DomainPlugin:
    """What a domain contributes to the running platform."""

    name: str
    routers: list[APIRouter] = field(default_factory=list)
    # Matched before every other route: a hot path under a prefix of its own (routes are tried in order).
    first_routers: list[APIRouter] = field(default_factory=list)
    template_dir: Path | None = None
    nav: list["Entry"] = field(default_factory=list)
    jobs: Callable[["Runtime"], list["Job"]] | None = None
    on_startup: Callable[["Runtime"], None] | None = None  # subscribe to events, register workbench providers
    demo: Callable[["Runtime", Any], dict[str, int]] | None = None  # (runtime, rich console or None) -> counts
    sealed: list["SealedTable"] = field(default_factory=list)  # encrypted columns, for `yiwang keys reencrypt`


def _present(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def installed_packages() -> list[str]:
    return [p for p in DOMAIN_PACKAGES if _present(p)]


@cache
def plugins() -> tuple[DomainPlugin, ...]:
    """The plugins of every domain package present, in DOMAIN_PACKAGES order."""
    found = []
    for package in installed_packages():
        if _present(f"{package}.plugin"):
            found.append(importlib.import_module(f"{package}.plugin").plugin())
    return tuple(found)


def metadata() -> MetaData:
    """Every table of the kernel and of every domain, for Alembic."""
    from yiwang.core import audit, events, workdays  # noqa: F401  (the kernel's tables: audit chain, outbox, calendar)
    from yiwang.core.crypto import keys, reencrypt  # noqa: F401  (keyrings, profile, re-encryption cursors)
    from yiwang.core.db import Base

    for package in installed_packages():
        if _present(f"{package}.models"):
            importlib.import_module(f"{package}.models")
    return Base.metadata
