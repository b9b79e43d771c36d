"""The `yiwang` command: serve, worker, db, demo, user, apikey, client, audit."""

import logging
import signal
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from yiwang.config import get_settings

app = typer.Typer(help="yiwang 一网：常熟市一体化数字政府平台", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="数据库迁移", no_args_is_help=True)
demo_app = typer.Typer(help="演示数据", no_args_is_help=True)
user_app = typer.Typer(help="账号管理", no_args_is_help=True)
apikey_app = typer.Typer(help="API 密钥", no_args_is_help=True)
client_app = typer.Typer(help="系统接入客户端", no_args_is_help=True)
audit_app = typer.Typer(help="审计哈希链", no_args_is_help=True)
events_app = typer.Typer(help="跨域事件发件箱：投递状态与失败重试", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (demo_app, "demo"),
    (user_app, "user"),
    (apikey_app, "apikey"),
    (client_app, "client"),
    (audit_app, "audit"),
    (events_app, "events"),
):
    app.add_typer(sub, name=name)

console = Console()
CLI_ACTOR_NAME = "system:cli"


def _runtime(prepare: bool = True):
    from yiwang import bootstrap
    from yiwang.core.runtime import Runtime

    settings = get_settings()
    bootstrap.secure_data_dir(settings.data_dir)  # before the database file or a key is created
    runtime = Runtime.build(settings)
    if prepare:
        try:
            bootstrap.prepare(runtime)
        except bootstrap.DemoDataWithoutDemoMode as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
    return runtime


def _cli_actor():
    """The operator at the console: trusted with every permission, recorded as system:cli in the audit chain."""
    from yiwang.core.permissions import registry
    from yiwang.core.security import Principal

    return Principal(
        user_id=None,
        username=CLI_ACTOR_NAME,
        display_name="命令行",
        kind="system",
        ip="cli",
        permissions=frozenset(registry.permissions),
    )


def _acting_as(db, username: str):
    """The named account as a caller: the command then has that account's rights, and no more."""
    from yiwang.core.errors import NotFound
    from yiwang.org import accounts, auth

    user = accounts.get_user_by_username(db, username=username)
    if user is None or not user.active:
        raise NotFound(f"账号 {username} 不存在或已停用")
    return auth.build_principal(db, user=user, via="cli", ip="cli")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    workers: Annotated[int, typer.Option(help="进程数（PostgreSQL 部署时可大于1）")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="演示模式：装载公开密码的演示账号（勿用于真实数据）")] = False,
) -> None:
    """Start the web server (on the embedded default it also runs background jobs)."""
    import os

    import uvicorn

    from yiwang import bootstrap

    if demo:  # the environment carries it to uvicorn's app factory and any worker processes
        os.environ["YIWANG_DEMO"] = "1"
        get_settings.cache_clear()
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    runtime = _runtime()
    console.print(f"[bold green]yiwang 已启动[/]  http://{host}:{port}/   数据目录: {settings.data_dir.resolve()}")
    console.print(f"数据库: {runtime.db.engine.url.render_as_string(hide_password=True)}")
    if settings.demo:
        from yiwang.config import DEMO_NOTICE
        from yiwang.demo.loader import DEMO_ACCOUNTS, DEMO_PASSWORD

        console.print(f"[bold yellow]{DEMO_NOTICE}[/]")
        logins = "  ".join(a.username for a in DEMO_ACCOUNTS[:6])
        console.print(f"演示账号（密码均为 [bold]{DEMO_PASSWORD}[/]）: {logins} … 完整列表见 README")
    else:
        _announce_initial_admin(bootstrap.ensure_initial_admin(runtime))
    runtime.db.dispose()
    uvicorn.run(
        "yiwang.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


def _announce_initial_admin(created: tuple[str, str] | None) -> None:
    if created is None:
        return
    username, password = created
    console.print(
        f"[bold yellow]已创建初始平台管理员[/] 用户名 [bold]{username}[/] 一次性密码 [bold]{password}[/]\n"
        "该密码只显示这一次，首次登录后必须修改。"
    )


@app.command()
def worker() -> None:
    """Run background jobs (audit head signing, and each domain's scheduled work) until stopped."""
    from yiwang import bootstrap
    from yiwang.core.jobs import JobRunner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runtime = _runtime()
    runner = JobRunner(bootstrap.jobs(runtime))
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    console.print(f"[green]worker 运行中[/]：{', '.join(j.name for j in runner.jobs)}（Ctrl+C 停止）")
    try:
        runner.loop()
    except KeyboardInterrupt:
        runner.stop()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="目标版本")] = "heads") -> None:
    """Apply database migrations up to REVISION (default: every domain's head)."""
    from yiwang.core.migrate import upgrade

    runtime = _runtime(prepare=False)
    upgrade(runtime.db.engine, revision, cipher=runtime.cipher)
    console.print(f"[green]数据库已升级到 {revision}[/]")


@demo_app.command("load")
def demo_load() -> None:
    """Load (idempotently) Changshu's divisions, departments and the demo accounts."""
    from yiwang.demo import loader

    try:
        loader.load_all(_runtime(), console=console)
    except loader.DemoModeRequired as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="用户名")],
    password: Annotated[str, typer.Option(help="初始密码", prompt=True, hide_input=True)],
    role: Annotated[
        list[str],
        typer.Option(
            help="角色代码，可重复：platform_admin dept_admin handler dispatcher data_steward leader citizen enterprise"
        ),
    ],
    department: Annotated[str | None, typer.Option(help="部门代码（工作人员必填）")] = None,
    name: Annotated[str | None, typer.Option(help="姓名/名称，默认同用户名")] = None,
    kind: Annotated[str | None, typer.Option(help="staff|citizen|enterprise，默认按角色推断")] = None,
    id_number: Annotated[str | None, typer.Option(help="身份证号码（个人账号）")] = None,
    phone: Annotated[str | None, typer.Option(help="手机号码")] = None,
    credit_code: Annotated[str | None, typer.Option(help="统一社会信用代码（企业账号）")] = None,
    must_change_password: Annotated[bool, typer.Option(help="首次登录后必须修改密码")] = False,
    as_user: Annotated[
        str | None, typer.Option("--as", help="以该账号的身份和权限操作（适用同样的授权规则），默认为命令行操作员")
    ] = None,
) -> None:
    """Create an account (e.g. the first platform administrator: --role platform_admin --department DSJ)."""
    from pydantic import ValidationError

    from yiwang.core.errors import AppError
    from yiwang.org import accounts
    from yiwang.org.schemas import UserCreate

    inferred = kind or ("citizen" if "citizen" in role else "enterprise" if "enterprise" in role else "staff")
    runtime = _runtime()
    try:
        data = UserCreate(
            username=username,
            kind=inferred,
            display_name=name or username,
            password=password,
            department_code=department,
            roles=role,
            id_number=id_number,
            phone=phone,
            credit_code=credit_code,
            must_change_password=must_change_password,
        )
        with runtime.db.unit_of_work() as db:
            actor = _acting_as(db, as_user) if as_user else _cli_actor()
            created = accounts.create_user(db, actor=actor, data=data, cipher=runtime.cipher)
    except ValidationError as exc:
        console.print(f"[red]输入有误[/]: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from exc
    except AppError as exc:
        console.print(f"[red]{exc.message}[/] {exc.details or ''}")
        raise typer.Exit(1) from exc
    console.print(f"[green]已创建账号[/] {created.username}（id {created.id}，角色 {', '.join(created.roles)}）")


@user_app.command("list")
def user_list() -> None:
    """List accounts (personal fields masked)."""
    from yiwang.org import accounts

    runtime = _runtime()
    with runtime.db.unit_of_work() as db:
        items, total = accounts.list_users(
            db, actor=_cli_actor(), cipher=runtime.cipher, filters=accounts.UserFilter(), limit=1000
        )
    table = Table("id", "用户名", "姓名", "类型", "部门", "角色")
    for u in items:
        table.add_row(str(u.id), u.username, u.display_name, u.kind, u.department_code or "", ",".join(u.roles))
    console.print(table)
    console.print(f"共 {total} 个账号")


@apikey_app.command("create")
def apikey_create(
    username: Annotated[str, typer.Option(help="账号用户名")],
    label: Annotated[str, typer.Option(help="用途说明")] = "cli",
) -> None:
    """Print a new API key for an account (stored only as a hash; shown once)."""
    from yiwang.org import accounts, auth

    runtime = _runtime()
    with runtime.db.unit_of_work() as db:
        user = accounts.get_user_by_username(db, username=username)
        if user is None:
            console.print(f"[red]账号 {username} 不存在[/]")
            raise typer.Exit(1)
        secret, credential = auth.issue_api_key(
            db, actor=_cli_actor(), user=user, settings=runtime.settings, label=label
        )
    print(secret)
    print(
        f"# 有效期至 {credential.expires_at:%Y-%m-%d}（UTC）；请求头 X-API-Key 或 Authorization: Bearer",
        file=sys.stderr,
    )


@client_app.command("create")
def client_create(
    client_id: Annotated[str, typer.Option(help="客户端标识")],
    name: Annotated[str, typer.Option(help="系统名称")],
    scope: Annotated[list[str], typer.Option(help="授予的权限，可重复")],
    department: Annotated[str | None, typer.Option(help="所属部门代码")] = None,
) -> None:
    """Register a system client for the OAuth2 client-credentials grant; prints its secret once."""
    from yiwang.core.errors import AppError
    from yiwang.org import accounts, auth
    from yiwang.org.schemas import UserCreate

    runtime = _runtime()
    secret = auth.new_client_secret()
    try:
        with runtime.db.unit_of_work() as db:
            accounts.create_user(
                db,
                actor=_cli_actor(),
                cipher=runtime.cipher,
                enforce_password_policy=False,
                data=UserCreate(
                    username=client_id,
                    kind="system",
                    display_name=name,
                    password=secret,
                    department_code=department,
                    scopes=scope,
                ),
            )
    except AppError as exc:
        console.print(f"[red]{exc.message}[/] {exc.details or ''}")
        raise typer.Exit(1) from exc
    print(f"client_id={client_id}\nclient_secret={secret}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole audit chain and its signed heads; names the first broken entry."""
    from yiwang.core import audit

    runtime = _runtime(prepare=False)
    with runtime.db.unit_of_work() as db:
        result = audit.verify(db, runtime.signing_key.public_key())
    if result.ok:
        console.print(
            f"[green]审计链完整[/]：{result.entries_checked} 条记录，{result.signatures_checked} 个链头签名校验通过"
        )
        return
    console.print(f"[red]审计链被破坏[/]：第 {result.first_broken_seq} 条 — {result.reason}")
    print(f"first_broken_seq={result.first_broken_seq}")
    raise typer.Exit(1)


@audit_app.command("sign")
def audit_sign() -> None:
    """Sign the current chain head now (the worker does this periodically)."""
    from yiwang.core import audit

    runtime = _runtime(prepare=False)
    with runtime.db.unit_of_work() as db:
        signature = audit.sign_head(db, runtime.signing_key)
    console.print(f"已签名链头 第 {signature.seq} 条" if signature else "链头已签名或为空，无需重复签名")


@events_app.command("list")
def events_list(
    status: Annotated[str | None, typer.Option(help="pending | delivered | failed")] = "failed",
    limit: Annotated[int, typer.Option(help="最多显示条数")] = 50,
) -> None:
    """List outbox events (by default the failed deliveries) with their last error."""
    from yiwang.core import events

    if status not in (None, "pending", "delivered", "failed"):
        console.print("[red]状态只能是 pending、delivered 或 failed[/]")
        raise typer.Exit(2)
    runtime = _runtime()
    with runtime.db.unit_of_work() as db:
        rows, total = events.list_messages(db, status=status, limit=limit)  # type: ignore[arg-type]
    table = Table("编号", "事件", "状态", "尝试", "错误")
    for row in rows:
        table.add_row(str(row.id), row.name, row.status, str(row.attempts), row.last_error or "")
    console.print(table)
    console.print(f"共 {total} 条")


@events_app.command("retry")
def events_retry(message_id: Annotated[int, typer.Argument(help="事件编号")]) -> None:
    """Put a failed delivery back in the queue and deliver it now."""
    from yiwang.core import events
    from yiwang.core.errors import AppError

    runtime = _runtime()
    try:
        with runtime.db.unit_of_work() as db:
            events.retry(db, actor=_cli_actor(), message_id=message_id)
        with runtime.db.unit_of_work() as db:
            row = events.get_message(db, message_id=message_id)
    except AppError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from exc
    if row.status == "delivered":
        console.print(f"[green]事件 #{row.id} 已投递[/]")
        return
    console.print(f"[yellow]事件 #{row.id} 仍未投递[/]（{row.status}）：{row.last_error or ''}")
    raise typer.Exit(1)


@events_app.command("deliver")
def events_deliver() -> None:
    """Deliver every due event left in the outbox now (the worker does this periodically)."""
    from yiwang.core import events

    runtime = _runtime()
    console.print(f"已投递 {events.deliver_due(runtime.db.engine)} 个事件")


@app.command()
def ingest(
    code: Annotated[str, typer.Argument(help="资源目录代码，如 HBJ-00001")],
    file: Annotated[str, typer.Argument(help="CSV（UTF-8/GBK/GB18030）、XLSX 或 JSON 文件")],
    note: Annotated[str, typer.Option(help="版本说明")] = "",
) -> None:
    """Mount a data file on a catalog entry through the governance pipeline (failure keeps the old version)."""
    from pathlib import Path

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from yiwang.core.errors import AppError
    from yiwang.governance import service as governance

    path = Path(file)
    if not path.is_file():
        console.print(f"[red]文件不存在[/]: {file}")
        raise typer.Exit(2)
    runtime = _runtime()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("读取", total=100)
        try:
            with runtime.db.unit_of_work() as db:
                version = governance.ingest(
                    db,
                    actor=_cli_actor(),
                    data_dir=runtime.settings.data_dir,
                    entry_code=code,
                    content=path.read_bytes(),
                    filename=path.name,
                    source="cli",
                    note=note,
                    progress=lambda fraction, stage: bar.update(task, completed=fraction * 100, description=stage),
                )
            bar.update(task, completed=100, description="完成")
        except AppError as exc:
            console.print(f"[red]导入失败，当前版本未改变[/]：{exc.message}")
            raise typer.Exit(1) from exc
    console.print(
        f"[green]{code} 第 {version.version} 版[/]：输入 {version.rows_in} 行，入库 {version.rows_out} 行，"
        f"隔离 {version.rows_quarantined} 行（主键重复 {version.duplicates}），编码 {version.encoding}"
    )


@demo_app.command("simulate")
def demo_simulate(
    seconds: Annotated[float, typer.Option(help="运行秒数")] = 60,
    interval: Annotated[float, typer.Option(help="每轮间隔秒数")] = 5,
) -> None:
    """Stream demo telemetry (diurnal, pollution episode, rain, gas leak) and a trickle of citizen reports."""
    from yiwang.cityops import demo as cityops_demo
    from yiwang.sensing import demo as sensing_demo

    runtime = _runtime()
    result = sensing_demo.simulate(
        runtime,
        seconds=seconds,
        interval=interval,
        console=console,
        on_tick=lambda rng: cityops_demo.random_report(runtime, rng),
    )
    console.print(f"[green]模拟结束[/]：{result}")


cityops_app = typer.Typer(help="一网统管", no_args_is_help=True)
app.add_typer(cityops_app, name="cityops")


@cityops_app.command("classify")
def cityops_classify(text: Annotated[str, typer.Argument(help="投诉或反映的文字")]) -> None:
    """Print the suggested event categories (and departments) for a complaint text."""
    from yiwang.cityops import service as cityops_service

    runtime = _runtime()
    with runtime.db.unit_of_work() as db:
        result = cityops_service.classify(db, text=text)
    table = Table("类别", "名称", "部门", "置信度")
    for s in result.suggestions:
        table.add_row(s.category_code, s.category_name, s.department_code, f"{s.score:.3f}")
    console.print(table)
    if result.needs_dispatcher:
        console.print("[yellow]置信度低，建议转人工分拨[/]")


sensing_app = typer.Typer(help="物联感知", no_args_is_help=True)
app.add_typer(sensing_app, name="sensing")


@sensing_app.command("mqtt-acl")
def sensing_mqtt_acl(
    bridge_user: Annotated[str, typer.Option(help="桥接程序的 MQTT 账号")] = "yiwang-bridge",
) -> None:
    """Print a Mosquitto acl_file: each device (thing-<id>) may publish only to its own datastreams."""
    from yiwang.sensing import service as sensing_service

    runtime = _runtime()
    with runtime.db.unit_of_work() as db:
        typer.echo(sensing_service.broker_acl(db, bridge_username=bridge_user), nl=False)


peer_app = typer.Typer(help="向上对接：对接节点", no_args_is_help=True)
app.add_typer(peer_app, name="peer")


@peer_app.command("add")
def peer_add(
    url: Annotated[str, typer.Argument(help="对方平台地址，如 https://szdata.example.gov.cn")],
    role: Annotated[str, typer.Option(help="对方层级：upper 上级 | lower 下级 | sibling 同级")] = "upper",
    platform: Annotated[str, typer.Option(help="对方平台：sharing 共享平台 | security | cloud | projects")] = "sharing",
    fingerprint: Annotated[str | None, typer.Option(help="已带外核对的公钥指纹；不给则显示指纹并询问")] = None,
    kinds: Annotated[str | None, typer.Option(help="必须交换的消息类型，逗号分隔；默认按平台")] = None,
    department: Annotated[str | None, typer.Option(help="代表该节点的本地部门代码；默认新建")] = None,
) -> None:
    """Fetch a peer's identity, show its key fingerprint for an out-of-band check, and pin it once confirmed."""
    from pydantic import ValidationError

    from yiwang.core.errors import AppError
    from yiwang.federation import service as federation_service
    from yiwang.federation.schemas import PeerCreate
    from yiwang.federation.transport import fetch_identity, own_key

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
                db, actor=_cli_actor(), identity=identity, data=data, own_key_id=own_key(runtime.settings).key_id
            )
    except ValidationError as exc:
        console.print(f"[red]参数无效：{exc.errors()[0]['msg']}[/]")
        raise typer.Exit(2) from exc
    except AppError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from exc
    own = own_key(runtime.settings)
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
    console.print(f"#{peer.id} {peer.name} {peer.url}\n指纹 {peer.fingerprint}（{peer.algorithm}） 状态 {peer.status}")
    console.print(f"待发送 {peer.backlog} 条，已送达 {peer.delivered} 条，已接收 {peer.received} 条")
    if peer.last_error:
        console.print(f"[yellow]最近错误：{peer.last_error}[/]")
    table = Table("方向", "类型", "状态", "尝试", "时间", "说明")
    for m in messages:
        when = m.delivered_at or m.created_at
        table.add_row(m.direction, m.kind, m.status, str(m.attempts), format_local(when), m.summary or m.last_error)
    console.print(table)
