"""`yiwang peer …`: adding a peer after its fingerprint is checked, listing, removing, one peer's state.

The wiring (`yiwang.cli`) builds the command group with its own runtime and console-actor factories."""

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table


def peer_commands(_runtime: Callable[[], Any], _cli_actor: Callable[[], Any], console: Console) -> typer.Typer:
    """The `peer` command group."""
    peer_app = typer.Typer(help="向上对接：对接节点", no_args_is_help=True)

    @peer_app.command("add")
    def peer_add(
        url: Annotated[str, typer.Argument(help="对方平台地址，如 https://szdata.example.gov.cn")],
        role: Annotated[str, typer.Option(help="对方层级：upper 上级 | lower 下级 | sibling 同级")] = "upper",
        platform: Annotated[
            str, typer.Option(help="对方平台：sharing 共享平台 | security | cloud | projects")
        ] = "sharing",
        fingerprint: Annotated[str | None, typer.Option(help="已带外核对的公钥指纹；不给则显示指纹并询问")] = None,
        kinds: Annotated[str | None, typer.Option(help="必须交换的消息类型，逗号分隔；默认按平台")] = None,
        department: Annotated[str | None, typer.Option(help="代表该节点的本地部门代码；默认新建")] = None,
    ) -> None:
        """Fetch a peer's identity, show its key fingerprint for an out-of-band check, and pin it once confirmed."""
        from pydantic import ValidationError

        from yiwang.core.errors import AppError
        from yiwang.federation import service as federation_service
        from yiwang.federation.schemas import PeerCreate
        from yiwang.federation.transport import fetch_identity, own_keys

        runtime = _runtime()
        try:
            identity = fetch_identity(url, timeout=runtime.settings.federation_timeout_seconds)
        except AppError as exc:
            console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(1) from exc
        console.print(f"对方平台：{identity.name}（{identity.url}）\n签名算法：{identity.algorithm}")
        typer.echo(f"公钥指纹：{identity.fingerprint}")
        if fingerprint is None:
            console.print("请通过电话或公文等带外渠道与对方核对上面的指纹。")
            if not typer.confirm("指纹与对方提供的一致吗？", default=False):
                console.print("[yellow]未添加[/]")
                raise typer.Exit(1)
            fingerprint = identity.fingerprint
        try:
            data = PeerCreate(
                url=url,
                role=role,
                platform=platform,
                fingerprint=fingerprint,
                required_kinds=[k.strip() for k in kinds.split(",") if k.strip()] if kinds else None,
                department_code=department,
            )
            with runtime.db.unit_of_work() as db:
                peer = federation_service.add_peer(
                    db, actor=_cli_actor(), identity=identity, data=data, own=own_keys(runtime)
                )
        except ValidationError as exc:
            console.print(f"[red]参数无效：{exc.errors()[0]['msg']}[/]")
            raise typer.Exit(2) from exc
        except AppError as exc:
            console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(1) from exc
        own = own_keys(runtime).current
        console.print(f"[green]已添加对接节点 #{peer.id} {peer.name}[/]。请对方也添加本平台：")
        typer.echo(f"  yiwang peer add {runtime.settings.public_url} --fingerprint {own.fingerprint}")

    @peer_app.command("list")
    def peer_list() -> None:
        """Peers with their fingerprints, status, last contact and backlog."""
        from yiwang.core.timeutil import format_local
        from yiwang.federation import service as federation_service

        runtime = _runtime()
        with runtime.db.unit_of_work() as db:
            peers = federation_service.list_peers(db)
        table = Table("编号", "节点", "层级", "指纹", "状态", "最近发送", "最近接收", "待发送")
        for p in peers:
            table.add_row(
                str(p.id),
                f"{p.name}\n{p.url}",
                p.role,
                p.fingerprint,
                p.status,
                format_local(p.last_sent_at) if p.last_sent_at else "—",
                format_local(p.last_received_at) if p.last_received_at else "—",
                str(p.backlog),
            )
        console.print(table)

    @peer_app.command("remove")
    def peer_remove(peer_id: Annotated[int, typer.Argument(help="节点编号（yiwang peer list）")]) -> None:
        """Stop trusting a peer: its messages are refused, messages waiting for it are cancelled."""
        from yiwang.core.errors import AppError
        from yiwang.federation import service as federation_service

        runtime = _runtime()
        try:
            with runtime.db.unit_of_work() as db:
                peer = federation_service.remove_peer(db, actor=_cli_actor(), peer_id=peer_id)
        except AppError as exc:
            console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(1) from exc
        console.print(f"[green]已移除对接节点 #{peer.id} {peer.name}[/]")

    @peer_app.command("status")
    def peer_status(
        peer_id: Annotated[int, typer.Argument(help="节点编号")],
        limit: Annotated[int, typer.Option(help="显示的消息条数")] = 20,
    ) -> None:
        """One peer's delivery state and its latest messages either way."""
        from yiwang.core.errors import AppError
        from yiwang.core.timeutil import format_local
        from yiwang.federation import service as federation_service

        runtime = _runtime()
        try:
            with runtime.db.unit_of_work() as db:
                peer = federation_service.get_peer(db, peer_id=peer_id)
                messages = federation_service.message_history(db, peer_id=peer_id, limit=limit)
        except AppError as exc:
            console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(1) from exc
        console.print(
            f"#{peer.id} {peer.name} {peer.url}\n指纹 {peer.fingerprint}（{peer.algorithm}） 状态 {peer.status}"
        )
        console.print(f"待发送 {peer.backlog} 条，已送达 {peer.delivered} 条，已接收 {peer.received} 条")
        if peer.last_error:
            console.print(f"[yellow]最近错误：{peer.last_error}[/]")
        table = Table("方向", "类型", "状态", "尝试", "时间", "说明")
        for m in messages:
            when = m.delivered_at or m.created_at
            table.add_row(m.direction, m.kind, m.status, str(m.attempts), format_local(when), m.summary or m.last_error)
        console.print(table)

    return peer_app
