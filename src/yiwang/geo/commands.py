"""`yiwang divisions import FILE` and `yiwang buildings import FILE`: boundaries, grid cells and buildings.

The command line (yiwang.cli) mounts them with its runtime and console operator."""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()


def _run(make_runtime: Callable[[], Any], make_actor: Callable[[], Any], kind: str, path: Path, crs: str) -> None:
    from yiwang.core.errors import AppError
    from yiwang.geo import service

    if not path.is_file():
        console.print(f"[red]文件不存在：{path}[/]")
        raise typer.Exit(1)
    runtime = make_runtime()
    try:
        with runtime.db.unit_of_work() as db:
            result = service.import_file(
                db, actor=make_actor(), kind=kind, data=path.read_bytes(), name=path.name, crs=crs
            )
    except AppError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from exc
    console.print(f"新增 {result.created}，更新 {result.updated}，跳过 {len(result.skipped)}")
    for line in result.skipped[:50]:
        console.print(f"  [yellow]{line}[/]")
    if not (result.created or result.updated):
        raise typer.Exit(1)


def commands(make_runtime: Callable[[], Any], make_actor: Callable[[], Any]) -> tuple[typer.Typer, typer.Typer]:
    divisions_app = typer.Typer(help="行政区划边界与网格", no_args_is_help=True)
    buildings_app = typer.Typer(help="建筑（CIM 第一层）", no_args_is_help=True)

    @divisions_app.command("import")
    def divisions_import(
        file: Annotated[Path, typer.Argument(help="GeoJSON，或打包为 .zip 的 Shapefile")],
        kind: Annotated[str, typer.Option(help="town（镇/街道）、community（村/社区）或 grid（网格）")] = "town",
        crs: Annotated[str, typer.Option(help="文件坐标系：wgs84、cgcs2000 或 gcj02")] = "wgs84",
    ) -> None:
        """Import town or community boundaries or grid cells; features are matched by their code."""
        if kind not in ("town", "community", "grid"):
            console.print("[red]--kind 应为 town、community 或 grid[/]")
            raise typer.Exit(2)
        _run(make_runtime, make_actor, kind, file, crs)

    @buildings_app.command("import")
    def buildings_import(
        file: Annotated[Path, typer.Argument(help="GeoJSON、CityJSON，或打包为 .zip 的 Shapefile")],
        crs: Annotated[str, typer.Option(help="文件坐标系：wgs84、cgcs2000 或 gcj02")] = "wgs84",
    ) -> None:
        """Import building footprints with heights (height in metres, or floors)."""
        _run(make_runtime, make_actor, "building", file, crs)

    return divisions_app, buildings_app
