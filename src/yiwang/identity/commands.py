"""The `yiwang oidc` commands: register OpenID Connect clients, rotate and list signing keys.

The command line (yiwang.cli, the wiring) mounts them, handing in how it builds the platform and who
the console operator is, so this domain never imports the wiring that assembles it."""

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def commands(make_runtime: Callable[[], Any], make_actor: Callable[[], Any]) -> typer.Typer:
    """`yiwang oidc …`: built around the command line's runtime and console operator."""
    oidc_app = typer.Typer(help="统一身份认证 OpenID Connect：接入应用与签名密钥", no_args_is_help=True)
    oidc_client_app = typer.Typer(help="接入应用（OpenID Connect 客户端）", no_args_is_help=True)
    oidc_keys_app = typer.Typer(help="ID 令牌签名密钥", no_args_is_help=True)
    oidc_app.add_typer(oidc_client_app, name="client")
    oidc_app.add_typer(oidc_keys_app, name="keys")

    @oidc_client_app.command("create")
    def oidc_client_create(
        name: Annotated[str, typer.Option(help="应用名称")],
        redirect_uri: Annotated[list[str], typer.Option(help="回调地址（逐字匹配），可重复")],
        public: Annotated[bool, typer.Option("--public", help="公开客户端：无密钥，须用 PKCE S256")] = False,
        scope: Annotated[list[str] | None, typer.Option(help="授权范围，可重复；默认 openid profile")] = None,
        client_id: Annotated[str | None, typer.Option(help="客户端标识，默认自动生成")] = None,
        department: Annotated[str | None, typer.Option(help="所属部门代码")] = None,
        post_logout_redirect_uri: Annotated[list[str] | None, typer.Option(help="退出后返回地址，可重复")] = None,
        backchannel_logout_uri: Annotated[str | None, typer.Option(help="后端登出地址")] = None,
        frontchannel_logout_uri: Annotated[str | None, typer.Option(help="前端登出地址")] = None,
        id_token_alg: Annotated[str, typer.Option(help="RS256 或 ES256")] = "RS256",  # noqa: S107
        first_party: Annotated[
            bool, typer.Option("--first-party", help="市属工作人员应用：工作人员不再询问同意")
        ] = False,
    ) -> None:
        """Register an OpenID Connect client; prints client_id and (confidential clients) the secret once."""
        from pydantic import ValidationError

        from yiwang.core.errors import AppError
        from yiwang.identity import service as identity
        from yiwang.identity.schemas import ClientCreate

        runtime = make_runtime()
        try:
            data = ClientCreate(
                client_id=client_id,
                name=name,
                redirect_uris=redirect_uri,
                post_logout_redirect_uris=post_logout_redirect_uri or [],
                public=public,
                scopes=scope or ["openid", "profile"],
                department_code=department,
                id_token_alg=id_token_alg,
                first_party=first_party,
                backchannel_logout_uri=backchannel_logout_uri,
                frontchannel_logout_uri=frontchannel_logout_uri,
            )
            with runtime.db.unit_of_work() as db:
                created = identity.create_client(db, actor=make_actor(), data=data)
        except ValidationError as exc:
            console.print(f"[red]{exc.errors(include_url=False)}[/]")
            raise typer.Exit(2) from exc
        except AppError as exc:
            console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(1) from exc
        print(f"client_id={created.client.client_id}")
        if created.client_secret:
            print(f"client_secret={created.client_secret}")
            print("# 密钥只显示这一次；平台只保存其摘要", file=sys.stderr)
        print(f"issuer={runtime.settings.issuer}", file=sys.stderr)

    @oidc_keys_app.command("rotate")
    def oidc_keys_rotate(
        alg: Annotated[list[str] | None, typer.Option(help="只轮换该算法（RS256、ES256），可重复；默认全部")] = None,
    ) -> None:
        """New ID-token signing keys; the old ones stay in the JWKS until their last ID token has expired."""
        from datetime import timedelta

        from yiwang.identity import service as identity

        runtime = make_runtime()
        settings = runtime.settings
        keep_for = timedelta(minutes=settings.oidc_id_token_minutes + 5)
        algs = tuple(alg) if alg else ("RS256", "ES256")
        unknown = [a for a in algs if a not in ("RS256", "ES256")]
        if unknown:
            console.print(f"[red]不支持的算法：{' '.join(unknown)}[/]")
            raise typer.Exit(2)
        with runtime.db.unit_of_work() as db:
            made = identity.rotate(db, actor=make_actor(), key_dir=settings.key_dir, keep_for=keep_for, algs=algs)
        for key in made:
            print(f"{key.alg} kid={key.kid}")
        print(f"# 旧密钥在 JWKS 中保留 {int(keep_for.total_seconds() // 60)} 分钟", file=sys.stderr)

    @oidc_keys_app.command("list")
    def oidc_keys_list() -> None:
        """Signing keys: active, retired, and when each leaves the JWKS."""
        from yiwang.identity import service as identity

        runtime = make_runtime()
        with runtime.db.read_only() as db:
            keys = identity.list_keys(db)
        table = Table("kid", "alg", "created", "retired", "leaves JWKS")
        for key in keys:
            table.add_row(
                key.kid,
                key.alg,
                f"{key.created_at:%Y-%m-%d %H:%M}",
                f"{key.retired_at or '—'}",
                f"{key.drop_after or '—'}",
            )
        console.print(table)

    return oidc_app
