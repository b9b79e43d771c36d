"""The `yiwang` command: serve, worker, db, demo, user, apikey, client, audit, events, exchange."""

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
keys_app = typer.Typer(help="密钥管理：密钥环状态、轮换、重新加密与切换密码配置", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (demo_app, "demo"),
    (user_app, "user"),
    (apikey_app, "apikey"),
    (client_app, "client"),
    (audit_app, "audit"),
    (events_app, "events"),
    (keys_app, "keys"),
):
    app.add_typer(sub, name=name)

console = Console()
CLI_ACTOR_NAME = "system:cli"


def _runtime(prepare: bool = True, *, allow_profile_mismatch: bool = False, keys: bool = True):
    from yiwang import bootstrap
    from yiwang.core.crypto import MasterKeyError, ProfileMismatch
    from yiwang.core.runtime import Runtime

    settings = get_settings()
    try:
        bootstrap.secure_data_dir(settings.data_dir)  # before the database file or a key is created
        runtime = Runtime.build(settings)
        if prepare:
            bootstrap.prepare(runtime, allow_profile_mismatch=allow_profile_mismatch)
        elif keys:  # only reads: whatever the setting says, the recorded keys are the ones to check with
            bootstrap.open_keyring(runtime, allow_mismatch=True)
    except (bootstrap.DemoDataWithoutDemoMode, ProfileMismatch, MasterKeyError) as exc:
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
        f"[bold yellow]已创建初始系统管理员[/] 用户名 [bold]{username}[/] 一次性密码 [bold]{password}[/]\n"
        "该密码只显示这一次。首次登录时须先绑定身份验证器（双因素认证），再修改密码。\n"
        "三员分立：请再用 yiwang user create … --role security_admin 和 --role audit_admin "
        "分别创建安全管理员和审计管理员（不同的人）。"
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
    with runtime.background_checkpoints():
        try:
            runner.loop()
        except KeyboardInterrupt:
            runner.stop()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="目标版本")] = "heads") -> None:
    """Apply database migrations up to REVISION (default: every domain's head)."""
    from yiwang.core.migrate import upgrade

    runtime = _runtime(prepare=False, keys=False)
    upgrade(runtime.db.engine, revision, master_key=runtime.keyring.master_key)
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
            help="角色代码，可重复：platform_admin（系统管理员）security_admin（安全管理员）audit_admin（审计管理员）"
            " dept_admin handler dispatcher data_steward leader citizen enterprise；三员角色不能兼任"
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


@user_app.command("roles")
def user_roles(
    username: Annotated[str, typer.Argument(help="账号用户名")],
    role: Annotated[list[str], typer.Option(help="该账号应持有的全部角色，可重复；三员角色不能兼任")],
    as_user: Annotated[
        str | None, typer.Option("--as", help="以该账号的身份和权限操作（适用同样的授权规则），默认为命令行操作员")
    ] = None,
) -> None:
    """Set an existing account's roles (授权), e.g. name the security or audit administrator."""
    from yiwang.core.errors import AppError
    from yiwang.org import accounts

    runtime = _runtime()
    try:
        with runtime.db.unit_of_work() as db:
            actor = _acting_as(db, as_user) if as_user else _cli_actor()
            user = accounts.get_user_by_username(db, username=username)
            if user is None:
                raise AppError(f"账号 {username} 不存在", code="not_found", status_code=404)
            updated = accounts.assign_roles(db, actor=actor, user_id=user.id, role_codes=role, cipher=runtime.cipher)
    except AppError as exc:
        console.print(f"[red]{exc.message}[/] {exc.details or ''}")
        raise typer.Exit(1) from exc
    console.print(f"[green]已更新角色[/] {updated.username}：{', '.join(updated.roles) or '无'}")


@user_app.command("reset-second-factor")
def user_reset_second_factor(
    username: Annotated[str, typer.Argument(help="账号用户名")],
    reason: Annotated[str, typer.Option(help="重置事由（记入审计）")],
) -> None:
    """Remove an account's lost second factor (e.g. the only security administrator's); audited with the reason."""
    from yiwang.core.errors import AppError
    from yiwang.org import accounts, mfa

    runtime = _runtime()
    try:
        with runtime.db.unit_of_work() as db:
            user = accounts.get_user_by_username(db, username=username)
            if user is None:
                raise AppError(f"账号 {username} 不存在", code="not_found", status_code=404)
            mfa.reset(db, actor=_cli_actor(), user_id=user.id, reason=reason)
    except AppError as exc:
        console.print(f"[red]{exc.message}[/] {exc.details or ''}")
        raise typer.Exit(1) from exc
    console.print(f"[green]已重置[/] {username} 的双因素认证；其登录会话已结束，下次登录按角色要求重新绑定。")


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
        result = audit.verify(db, runtime.keyring)
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
        signature = audit.sign_head(db, runtime.keyring)
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


# ---- keys --------------------------------------------------------------------------------------------


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    )


def _reencrypt_with_bar(runtime, run):
    """Run a re-encryption with one progress bar per table, sized by what is left."""
    from yiwang import bootstrap
    from yiwang.core import keyadmin

    tables = bootstrap.sealed_tables()
    left = {p.table: p.left for p in keyadmin.left_to_reencrypt(runtime.db, keyring=runtime.keyring, tables=tables)}
    with _progress() as bar:
        tasks = {name: bar.add_task(name, total=max(count, 1)) for name, count in left.items()}
        return run(tables, lambda table, count: bar.advance(tasks[table], count))


def _print_left(left) -> None:
    remaining = sum(p.left for p in left)
    for p in left:
        console.print(f"  {p.table}: 共 {p.total} 行，剩余 {p.left} 行")
    console.print(
        "[green]全部数据已在当前密钥下[/]" if not remaining else f"[yellow]尚余 {remaining} 行，请再次运行[/]"
    )


@keys_app.command("status")
def keys_status() -> None:
    """The profile, every key version of every purpose, and what is left to re-encrypt."""
    from yiwang import bootstrap
    from yiwang.core import keyadmin

    runtime = _runtime(prepare=False)
    table = Table("用途", "版本", "算法", "创建时间", "状态")
    for key in keyadmin.key_status(runtime.keyring):
        state = "当前" if key.current else ("已退役（仅解密/验签）" if key.retired else "保留（解密/验签）")
        table.add_row(key.purpose, str(key.version), key.algorithm, key.created, state)
    console.print(
        f"密码配置：[bold]{runtime.keyring.profile.value}[/]（YIWANG_CRYPTO_PROFILE={runtime.settings.crypto_profile}）"
    )
    console.print(table)
    console.print("待重新加密：")
    _print_left(keyadmin.left_to_reencrypt(runtime.db, keyring=runtime.keyring, tables=bootstrap.sealed_tables()))


@keys_app.command("rotate")
def keys_rotate(
    purpose: Annotated[str, typer.Argument(help="field | lookup | pseudonym | token | audit | federation | seal")],
    department: Annotated[str | None, typer.Option(help="seal：颁证部门代码，如 GAJ")] = None,
) -> None:
    """Add a new current version of a purpose's key: new data uses it at once. `seal --department
    CODE` rotates a department's certificate seal key (the same as `yiwang certs rotate-seal`)."""
    from yiwang.core import keyadmin

    if purpose == "seal":
        if not department:
            console.print("[red]轮换印章密钥需要 --department[/]")
            raise typer.Exit(2)
        from yiwang.certs.commands import rotate_seal

        rotate_seal(_runtime(), _cli_actor(), department)
        return
    runtime = _runtime()
    with runtime.db.unit_of_work() as db:
        version = keyadmin.rotate(db, keyring=runtime.keyring, actor=_cli_actor(), purpose=purpose)
    console.print(f"[green]{purpose} 的新密钥版本 v{version} 已启用[/]；旧版本保留用于解密和验签")
    if purpose in ("field", "lookup"):
        console.print("运行 `yiwang keys reencrypt` 把已存数据改用新密钥")


@keys_app.command("reencrypt")
def keys_reencrypt(
    batch_size: Annotated[int, typer.Option(min=1, help="每批行数（每批一个事务）")] = 500,
    pause: Annotated[float, typer.Option(min=0, help="批间暂停秒数，给在线业务让出写入")] = 0.0,
) -> None:
    """Rewrite stored fields and lookup hashes under the current keys; resumable, safe while serving."""
    from yiwang.core import keyadmin

    runtime = _runtime()

    def run(tables, advanced):
        return keyadmin.reencrypt(
            runtime.db,
            keyring=runtime.keyring,
            tables=tables,
            actor=_cli_actor(),
            batch_size=batch_size,
            pause_seconds=pause,
            advanced=advanced,
        )

    result = _reencrypt_with_bar(runtime, run)
    console.print(f"读取 {result.rows_read} 行，用时 {result.seconds:.1f} 秒")
    _print_left(result.left)


@keys_app.command("switch-profile")
def keys_switch_profile(
    profile: Annotated[str, typer.Argument(help="目标密码配置：gm 或 intl")],
    batch_size: Annotated[int, typer.Option(min=1, help="重新加密每批行数")] = 500,
) -> None:
    """Switch a live installation to another crypto profile: new keys, audit chain continued, data re-encrypted."""
    from yiwang.core import keyadmin
    from yiwang.core.crypto import Profile

    target = Profile(profile)
    runtime = _runtime(allow_profile_mismatch=True)

    def run(tables, advanced):
        return keyadmin.switch_profile(
            runtime.db,
            keyring=runtime.keyring,
            tables=tables,
            actor=_cli_actor(),
            target=target,
            batch_size=batch_size,
            advanced=advanced,
        )

    result = _reencrypt_with_bar(runtime, run)
    console.print(
        f"[green]密码配置 {result.previous} → {result.profile}[/]，用时 {result.seconds:.1f} 秒；"
        f"重新加密读取 {result.reencrypted.rows_read} 行"
    )
    _print_left(result.reencrypted.left)
    console.print(f"请把 YIWANG_CRYPTO_PROFILE 设为 {result.profile} 后再重启各进程")


def _mount_domain_commands() -> None:
    from yiwang.certs.commands import commands as certs
    from yiwang.collect.commands import commands as collect
    from yiwang.exchange.commands import commands as exchange_commands
    from yiwang.federation.commands import peer_commands
    from yiwang.geo.commands import commands as geo_commands
    from yiwang.identity.commands import commands as oidc
    from yiwang.video.commands import commands as video

    for make, name in (certs, "certs"), (collect, "source"), (oidc, "oidc"), (video, "video"):
        app.add_typer(make(_runtime, _cli_actor), name=name)
    app.add_typer(peer_commands(_runtime, _cli_actor, console), name="peer")
    app.add_typer(exchange_commands(_runtime), name="exchange")
    divisions_app, buildings_app = geo_commands(_runtime, _cli_actor)
    app.add_typer(divisions_app, name="divisions")
    app.add_typer(buildings_app, name="buildings")


_mount_domain_commands()
