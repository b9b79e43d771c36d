"""Real `yiwang` processes for crash tests: started on the test database, killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.second_factor import fresh_code
from yiwang.config import Settings


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a yiwang process on the test session's database and data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIWANG_")}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env |= {
        "PYTHONPATH": src + os.pathsep + env.get("PYTHONPATH", ""),
        "YIWANG_DATA_DIR": str(settings.data_dir),
        "YIWANG_DATABASE_URL": settings.resolved_database_url,
        "YIWANG_PUBLIC_URL": settings.public_url,
        "YIWANG_DEMO": "1" if settings.demo else "0",
        "YIWANG_DEMO_ON_FIRST_START": "false",
        "YIWANG_DEMO_SIZE": "small",
        "YIWANG_RUN_JOBS_IN_PROCESS": "false",
        "YIWANG_PASSWORD_TIME_COST": str(settings.password_time_cost),
        "YIWANG_PASSWORD_MEMORY_KIB": str(settings.password_memory_kib),
        "YIWANG_CRYPTO_PROFILE": settings.crypto_profile,
    }
    if settings.field_key:
        env["YIWANG_FIELD_KEY"] = settings.field_key
    return env | extra


def yiwang(*args: str) -> list[str]:
    return [sys.executable, "-m", "yiwang", *args]


class Server:
    """`yiwang serve` in its own process group on a free port."""

    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            yiwang("serve", "--port", str(self.port)),
            env=process_env(settings, **env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 90) -> "Server":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start; see {self.log.name}")

    def kill(self) -> int:
        """SIGKILL, as the kernel's OOM killer or a pulled plug would: no clean-up runs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        code = self.process.wait(timeout=30)
        self.log.close()
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


def token(url: str, username: str, password: str) -> str:
    """A password-grant token from a live server; an account with a second factor (the demo's
    administrators) adds a code of the published demo secret."""
    data = {"grant_type": "password", "username": username, "password": password}
    response = httpx.post(f"{url}/api/auth/token", data=data)
    if response.status_code == 401 and response.json()["error"]["code"] == "mfa_required":
        data["otp"] = fresh_code(url, username)
        response = httpx.post(f"{url}/api/auth/token", data=data)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]
