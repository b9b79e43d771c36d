"""The `yiwang` command against the test database."""

from tests.conftest import bearer, run_cli, unique


def test_every_command_has_help(runtime):
    for args in (
        ["--help"],
        ["serve", "--help"],
        ["worker", "--help"],
        ["db", "upgrade", "--help"],
        ["demo", "load", "--help"],
        ["audit", "verify", "--help"],
        ["user", "create", "--help"],
        ["apikey", "create", "--help"],
        ["client", "create", "--help"],
    ):
        result = run_cli(runtime, *args)
        assert result.exit_code == 0, (args, result.output)


def test_user_create_then_login(runtime, client):
    username = unique("cli")
    result = run_cli(
        runtime,
        "user",
        "create",
        "--username",
        username,
        "--password",
        "Cli2026pass",
        "--role",
        "dispatcher",
        "--department",
        "LDZ",
        "--name",
        "命令行调度",
    )
    assert result.exit_code == 0, result.output
    me = client.get("/api/auth/me", headers=bearer(client, username, "Cli2026pass")).json()
    assert me["roles"] == ["dispatcher"] and me["department_code"] == "LDZ"


def test_user_create_reports_bad_input(runtime):
    result = run_cli(
        runtime,
        "user",
        "create",
        "--username",
        unique("cli"),
        "--password",
        "Cli2026pass",
        "--role",
        "handler",
        "--department",
        "NOPE",
    )
    assert result.exit_code == 1 and "部门 NOPE 不存在" in result.output
    result = run_cli(
        runtime,
        "user",
        "create",
        "--username",
        unique("cli"),
        "--password",
        "Cli2026pass",
        "--role",
        "citizen",
        "--id-number",
        "123",
    )
    assert result.exit_code == 2


def test_client_create_then_client_credentials(runtime, client):
    client_id = unique("svc")
    result = run_cli(
        runtime,
        "client",
        "create",
        "--client-id",
        client_id,
        "--name",
        "测试系统",
        "--scope",
        "org.division.read",
        "--department",
        "DSJ",
    )
    assert result.exit_code == 0, result.output
    secret = dict(line.split("=", 1) for line in result.stdout.strip().splitlines())["client_secret"]
    token = client.post(
        "/api/auth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert token.status_code == 200 and token.json()["scope"] == "org.division.read"


def test_demo_load_is_idempotent_and_db_upgrade_is_a_no_op(runtime):
    assert run_cli(runtime, "db", "upgrade").exit_code == 0
    result = run_cli(runtime, "demo", "load")
    assert result.exit_code == 0, result.output
    assert "'accounts': 0" in result.output  # everything was there already


def test_audit_verify_passes_on_an_intact_chain(runtime):
    result = run_cli(runtime, "audit", "verify")
    assert result.exit_code == 0 and "审计链完整" in result.output
    assert run_cli(runtime, "audit", "sign").exit_code == 0
