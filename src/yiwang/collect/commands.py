"""The `yiwang source` commands: list collection sources and run one now with a progress bar.

The command line (yiwang.cli, the wiring) mounts them, handing in how it builds the platform and who
the console operator is, so this domain never imports the wiring that assembles it."""

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()


def commands(make_runtime: Callable[[], Any], make_actor: Callable[[], Any]) -> typer.Typer:
    """`yiwang source …`: built around the command line's runtime and console operator."""
    source_app = typer.Typer(help="数据归集源", no_args_is_help=True)

    @source_app.command("list")
    def source_list() -> None:
        """List collection sources: schedule, next run, last status."""
        from rich.table import Column, Table

        from yiwang.collect import service as collect
        from yiwang.collect.schemas import KIND_NAMES, MODE_NAMES, STATUS_NAMES
        from yiwang.core.timeutil import format_local

        runtime = make_runtime()
        table = Table("名称", "资源", "类型", "方式", "计划", "下次运行", "最近状态")
        table.columns.insert(0, Column("源代码", no_wrap=True))
        with runtime.db.read_only() as db:
            offset = 0
            while True:
                sources, total = collect.list_sources(db, actor=make_actor(), offset=offset, limit=200)
                for s in sources:
                    table.add_row(
                        s.code,
                        s.name,
                        s.entry_code,
                        KIND_NAMES[s.kind],
                        MODE_NAMES[s.mode],
                        s.schedule or "手动",
                        format_local(s.next_run_at) if s.next_run_at else "",
                        "运行中" if s.running else STATUS_NAMES.get(s.last_status, s.last_status or "未运行"),
                    )
                offset += len(sources)
                if not sources or offset >= total:
                    break
        console.print(table)

    @source_app.command("run")
    def source_run(code: Annotated[str, typer.Argument(help="归集源代码")]) -> None:
        """Run a collection source now, with a progress bar; a failure keeps the current version."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from yiwang.collect import loads
        from yiwang.collect import service as collect
        from yiwang.collect.schemas import STATUS_NAMES
        from yiwang.core.errors import AppError

        runtime = make_runtime()
        try:
            with runtime.db.read_only() as db:
                source = collect.get_source(db, actor=make_actor(), code=code)
        except AppError as exc:
            console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(2) from exc
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("开始", total=100)
            run = loads.run_source(
                runtime,
                source_id=source.id,
                trigger="cli",
                progress=lambda fraction, stage: bar.update(task, completed=fraction * 100, description=stage),
            )
        if run is None:
            console.print("[yellow]该源正在另一进程中运行[/]")
            raise typer.Exit(1)
        summary = (
            f"读取 {run.rows_read} 行，入库 {run.rows_loaded} 行，"
            f"隔离 {run.rows_quarantined} 行，删除 {run.rows_deleted} 行"
        )
        if run.status == "failed":
            console.print(f"[red]归集失败[/]：{run.error}（当前版本未改变）")
            raise typer.Exit(1)
        version = f"，第 {run.version} 版" if run.version else ""
        console.print(
            f"[green]{STATUS_NAMES[run.status]}[/]：{summary}{version}，用时 {(run.duration_ms or 0) / 1000:.1f} 秒"
        )

    return source_app
