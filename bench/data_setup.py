"""Shared set-up for the data-foundation benchmarks: a fresh platform in a temp dir (no demo data
beyond the organisation and demo accounts), and a test client logged in through the real API."""

import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fastapi.testclient import TestClient

from yiwang.app import create_app
from yiwang.config import Settings
from yiwang.demo import loader
from yiwang.org import totp


def platform(data_dir: Path) -> tuple[object, TestClient]:
    settings = Settings(
        data_dir=data_dir, run_jobs_in_process=False, demo=True, demo_on_first_start=False, demo_size="small"
    )
    app = create_app(settings)
    loader.load(app.state.runtime)  # divisions, departments, demo accounts and the demo exchange client
    return app, TestClient(app)


def bearer(client: TestClient, username: str, password: str = loader.DEMO_PASSWORD) -> dict[str, str]:
    """A password-grant token; an administrator (second factor) adds a code of the demo's published secret."""
    form = {"grant_type": "password", "username": username, "password": password}
    response = client.post("/api/auth/token", data=form)
    if response.status_code == 401 and response.json()["error"]["code"] == "mfa_required":
        form["otp"] = totp.code_at(loader.DEMO_TOTP_SECRET, datetime.now(UTC))
        response = client.post("/api/auth/token", data=form)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
