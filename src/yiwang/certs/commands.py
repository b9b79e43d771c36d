"""The `yiwang certs` commands: seal keys and transparency logs.

The command line (yiwang.cli, the wiring) mounts them, handing in how it builds the platform and who
the console operator is, so this domain never imports the wiring that assembles it."""

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from yiwang.certs import service

console = Console()


def rotate_seal(runtime: Any, actor: Any, department: str) -> None:
    """Start a department's next seal key version (also reached as `yiwang keys rotate seal`)."""
    with runtime.db.unit_of_work() as db:
        key = service.rotate_seal_key(
            db, actor=actor, signing=runtime.certificate_signing, department_code=department.upper()
        )
    console.print(f"[green]已启用[/] {key.name}（第 {key.version} 版，{key.algorithm}，密钥 ID {key.key_id}）")


def commands(make_runtime: Callable[[], Any], make_actor: Callable[[], Any]) -> typer.Typer:
    """`yiwang certs …`: built around the command line's runtime and console operator."""
    certs_app = typer.Typer(help="电子证照：印章密钥与透明日志", no_args_is_help=True)

    @certs_app.command("rotate-seal")
    def certs_rotate_seal(department: Annotated[str, typer.Option(help="颁证部门代码，如 GAJ")]) -> None:
        """Retire a department's seal key and start its next version (in the log's current profile);
        certificates it sealed keep verifying, and it stays published until the last of them expires."""
        rotate_seal(make_runtime(), make_actor(), department)

    @certs_app.command("keys")
    def certs_keys() -> None:
        """List the published seal keys: department, version, algorithm, key id, validity."""
        runtime = make_runtime()
        with runtime.db.unit_of_work() as db:
            keys = service.issuer_public_keys(db)
        table = Table("部门", "版本", "算法", "密钥 ID", "名称", "启用", "停用", "公开至")
        for k in keys:
            retired = f"{k.not_after:%Y-%m-%d}" if k.not_after else "使用中"
            until = "长期" if k.retired and k.signatures_valid_until is None else str(k.signatures_valid_until or "")
            table.add_row(
                k.department, str(k.version), k.algorithm, k.key_id, k.name, f"{k.not_before:%Y-%m-%d}", retired, until
            )
        console.print(table)

    @certs_app.command("logs")
    def certs_logs() -> None:
        """List the transparency logs: origin, algorithms, state, size, verifier key."""
        runtime = make_runtime()
        with runtime.db.unit_of_work() as db:
            found = service.transparency_logs(db, signing=runtime.certificate_signing)
        for log in found:
            state = "当前" if log.state == "active" else f"已冻结，接续 {log.successor}"
            console.print(
                f"[bold]{log.origin}[/] #{log.log_id} {log.algorithms.hash}/{log.algorithms.signature} {state}"
            )
            console.print(f"  树大小 {log.tree_size}  验证密钥 {log.verifier_key}")

    return certs_app
