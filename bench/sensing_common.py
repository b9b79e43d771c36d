"""Shared set-up for the sensing and cityops benchmarks: a throw-away platform served by uvicorn."""

import os
import platform
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import create_engine, text


def machine() -> dict[str, Any]:
    """Where a figure was measured; the load average tells how busy the shared cores were."""
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


class Platform:
    """A fresh data directory (and database), the app on a free port, and a staff bearer token."""

    def __init__(self, database_url: str | None = None, *, packages: tuple[str, ...] | None = None) -> None:
        from yiwang import domains
        from yiwang.app import create_app
        from yiwang.config import Settings

        if packages:
            domains.DOMAIN_PACKAGES = packages  # measure these domains alone
            domains.plugins.cache_clear()
        if database_url:
            reset_postgres(database_url)
        self.tmp = tempfile.TemporaryDirectory(prefix="yiwang-bench-")
        settings = Settings(
            data_dir=Path(self.tmp.name),
            database_url=database_url,
            run_jobs_in_process=False,
            demo=True,
            demo_on_first_start=True,
            demo_size="small",
        )
        self.app = create_app(settings)
        self.runtime = self.app.state.runtime
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", access_log=False
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def token(self, username: str, password: str = "changshu2026") -> str:
        response = httpx.post(
            f"{self.url}/api/auth/token", data={"grant_type": "password", "username": username, "password": password}
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.runtime.db.dispose()
        self.tmp.cleanup()
