"""The `yiwang exchange` commands: check and sign the message log of mediated calls.

The command line (yiwang.cli, the wiring) mounts them, handing in how it builds the platform, so this
domain never imports the wiring that assembles it."""

from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

console = Console()


def commands(make_runtime: Callable[..., Any]) -> typer.Typer:
    """`yiwang exchange …`: built around the command line's runtime."""
    exchange_app = typer.Typer(help="共享交换：在线服务的消息日志", no_args_is_help=True)

    @exchange_app.command("verify-messages")
    def verify_messages() -> None:
        """Check the message log of mediated calls: every link, signed head and message signature."""
        from yiwang.exchange import message_keys, message_log

        runtime = make_runtime(prepare=False)
        with runtime.db.read_only() as db:
            result = message_log.verify(db, keys=message_keys.MessageKeys(runtime.keyring))
        if result.ok:
            console.print(
                f"[green]消息日志完整[/]：{result.entries_checked} 条记录，{result.checkpoints_checked} 个链头签名、"
                f"{result.signatures_checked} 个报文签名校验通过"
            )
            return
        console.print(f"[red]消息日志被破坏[/]：第 {result.first_broken_seq} 条 — {result.reason}")
        print(f"first_broken_seq={result.first_broken_seq}")
        raise typer.Exit(1)

    @exchange_app.command("sign-messages")
    def sign_messages() -> None:
        """Sign the message log's current head now (the worker does this periodically)."""
        from yiwang.exchange import message_keys, message_log

        runtime = make_runtime(prepare=False)
        with runtime.db.unit_of_work() as db:
            checkpoint = message_log.sign_head(db, keys=message_keys.MessageKeys(runtime.keyring))
        console.print(f"已签名消息日志链头 第 {checkpoint.seq} 条" if checkpoint else "链头已签名或为空，无需重复签名")

    return exchange_app
