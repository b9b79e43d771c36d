from sqlalchemy import text


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_database_and_migrations(client, runtime):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "migrations": "current"}
    with runtime.db.engine.begin() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        conn.execute(text("DELETE FROM alembic_version"))
    try:
        stale = client.get("/readyz")
        assert stale.status_code == 503 and stale.json()["migrations"] == "pending"
    finally:
        with runtime.db.engine.begin() as conn:
            for version in current:
                conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
    assert client.get("/readyz").status_code == 200


def test_security_headers_and_request_id(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert len(client.get("/healthz").headers["x-request-id"]) == 16
