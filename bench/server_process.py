"""The platform served by uvicorn in its own process, as deployed: load generators stay out of its GIL.

Started by benchmarks: prints one JSON line (`url`, and an `api_key` when asked) once it answers,
then serves until terminated.

.venv/bin/python bench/server_process.py --data-dir DIR [--packages yiwang.org,yiwang.cityops]
    [--database-url URL] [--api-key-for USERNAME]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def serve() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--packages", default="")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--api-key-for", default=None)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    import uvicorn

    from yiwang import domains
    from yiwang.app import create_app
    from yiwang.config import Settings

    if args.packages:
        domains.DOMAIN_PACKAGES = tuple(args.packages.split(","))
        domains.plugins.cache_clear()
    settings = Settings(
        data_dir=Path(args.data_dir),
        database_url=args.database_url,
        run_jobs_in_process=False,
        demo=True,
        demo_on_first_start=True,
        demo_size="small",
    )
    app = create_app(settings)
    info: dict[str, str] = {"url": f"http://127.0.0.1:{args.port}"}
    if args.api_key_for:
        info["api_key"] = _api_key(app, settings, args.api_key_for)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    )
    print(json.dumps(info), flush=True)
    server.run()


def _api_key(app, settings, username: str) -> str:
    from yiwang.core.security import Principal
    from yiwang.org import accounts, auth

    actor = Principal(user_id=None, username="system:bench", display_name="压测", kind="system")
    with app.state.runtime.db.unit_of_work() as db:
        user = accounts.get_user_by_username(db, username=username)
        key, _ = auth.issue_api_key(db, actor=actor, user=user, settings=settings, label="bench")
    return key


class ServerProcess:
    """Start `serve()` in a child process and wait until it answers /healthz."""

    def __init__(
        self,
        data_dir: str,
        *,
        packages: tuple[str, ...] = (),
        database_url: str | None = None,
        api_key_for: str | None = None,
    ) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        command = [sys.executable, __file__, "--data-dir", data_dir, "--port", str(port)]
        if packages:
            command += ["--packages", ",".join(packages)]
        if database_url:
            command += ["--database-url", database_url]
        if api_key_for:
            command += ["--api-key-for", api_key_for]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            raise RuntimeError("the server process ended before it started")
        self.info = json.loads(line)
        self.url = self.info["url"]
        for _ in range(200):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the server process does not answer")

    def cpu_seconds(self) -> float:
        """User and system CPU the server process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


if __name__ == "__main__":
    serve()
