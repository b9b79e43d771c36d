"""The `yiwang video` commands: import cameras from a CSV file exported by the video platform.

The command line (yiwang.cli, the wiring) mounts them, handing in how it builds the platform and the
console operator, so this domain never imports the wiring that assembles it."""

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

console = Console()


def commands(make_runtime: Callable[[], Any], make_actor: Callable[[], Any]) -> typer.Typer:
    video_app = typer.Typer(help="视频融合：摄像头目录", no_args_is_help=True)

    @video_app.command("import")
    def import_cameras(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV（UTF-8），首行为列名"),
    ) -> None:
        """Register cameras from a CSV: code, device_code, name, department_code, lon, lat, address,
        status, hls_url, flv_url, webrtc_url (GB/T 28181 codes checked; refused rows listed)."""
        from yiwang.video import service

        with file.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        runtime = make_runtime()
        with runtime.db.unit_of_work() as db:
            report = service.import_cameras(db, actor=make_actor(), rows=rows)
        console.print(f"[green]已登记摄像头[/] {report.created} 路")
        for number, reason in report.refused:
            console.print(f"[red]第 {number} 行未导入[/]：{reason}")
        if report.refused:
            raise typer.Exit(1)

    return video_app
