"""One typed Settings for the whole platform (environment prefix YIWANG_)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Platform configuration; every field can be set as YIWANG_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="YIWANG_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("var"), description="SQLite database, keys and stored files")
    basemap: Path | None = Field(
        None,
        description="operator basemap file for the map: PMTiles or MBTiles, raster or vector (none: outlines only)",
    )
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    field_key: str | None = Field(
        None, description="the master key (base64, 32 bytes) in the environment; else the command, else keys/field.key"
    )
    master_key_command: str | None = Field(
        None, description="a command that prints the base64 master key (a KMS or HSM client tool); never logged"
    )
    crypto_profile: Literal["intl", "gm"] = Field(
        "intl",
        description="cryptographic profile: intl (SHA-256, AES-GCM, Ed25519) or gm (国密 SM3, SM4-GCM, SM2)",
    )
    site_name: str = "常熟市一网平台"
    video_dedup_minutes: int = Field(
        10, ge=0, le=1440, description="detections of one camera and category this close make one city event"
    )
    video_picture_max_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="largest detection picture taken")
    video_stream_timeout_seconds: float = Field(
        10.0, gt=0, description="reading a playlist or segment from the gateway"
    )
    city_code: str = "320581"
    demo: bool = Field(
        False,
        description="demo mode: published demo logins and client secret, a banner on every page; never for real data",
    )
    demo_on_first_start: bool = Field(
        True,
        description="fill an empty database on first start: the demo (demo mode) or the city's reference organisation",
    )
    demo_size: Literal["full", "small"] = Field(
        "full", description="full: the city at its real size; small: a few records per kind, for tests"
    )
    run_jobs_in_process: bool = True
    session_minutes: int = Field(480, ge=1, description="absolute lifetime of a yiwang browser session")
    session_idle_minutes: int = Field(
        60, ge=1, description="a browser session unused this long ends (its signed-in apps are logged out)"
    )
    access_token_minutes: int = 60
    api_key_days: int = 365
    login_max_failures: int = Field(5, description="failed logins of one name from one address before back-off")
    login_backoff_seconds: int = Field(30, description="first back-off; it doubles with each further failure")
    login_lock_minutes: int = Field(15, description="longest back-off, and the account-wide hold")
    login_failure_window_minutes: int = Field(60, description="failures older than this are forgotten")
    login_account_max_failures: int = Field(
        50, description="failures of one name from all addresses before unfamiliar addresses are held back"
    )
    sms_gateway: str = Field(
        "outbox",
        description="message gateway (消息网关): outbox (a local outbox the system administrator reads) or an "
        "http(s) URL of an SMS gateway that takes JSON POST {to, template, params, request_id}",
    )
    sms_gateway_token: str | None = Field(None, description="bearer token sent to the HTTP SMS gateway")
    sms_gateway_timeout_seconds: float = Field(5.0, gt=0, description="how long one call to the SMS gateway may take")
    sms_keep_days: int = Field(7, ge=1, description="days sent messages and code requests are kept")
    code_valid_minutes: int = Field(5, ge=1, description="how long a one-time SMS code stays valid")
    code_max_attempts: int = Field(5, ge=1, description="wrong entries of one code before it is void")
    code_resend_seconds: int = Field(60, ge=0, description="least wait between two codes to one mobile number")
    code_daily_per_number: int = Field(10, ge=1, description="codes one mobile number may receive in 24 hours")
    code_hourly_per_address: int = Field(30, ge=1, description="codes one client address may request in an hour")
    registration_min_age: int = Field(18, ge=0, description="youngest age at which a citizen may register alone")
    password_time_cost: int = Field(
        3, ge=1, description="Argon2id passes over memory per password hash (existing hashes keep their own cost)"
    )
    password_memory_kib: int = Field(65536, ge=32, description="Argon2id memory per password hash, in KiB")
    max_body_bytes: int = 16 * 1024 * 1024
    max_json_bytes: int = 1024 * 1024
    cookie_secure: bool = False
    audit_sign_seconds: int = 300
    event_delivery_seconds: float = Field(5, description="how often the worker delivers events left in the outbox")
    event_max_attempts: int = Field(8, description="deliveries of an event before it is marked failed")
    event_retry_seconds: float = Field(5, description="first retry delay; doubled on each further failure")
    event_keep_days: int = Field(7, description="days a delivered event stays in the outbox")
    federation_name: str | None = Field(
        None, description="how this installation names itself to peers; default site_name"
    )
    federation_delivery_seconds: float = Field(
        2, gt=0, description="how often the worker sends messages waiting for peers"
    )
    federation_sync_seconds: float = Field(60, gt=0, description="how often catalog changes are queued to peers")
    federation_retry_seconds: float = Field(
        5, gt=0, description="first retry delay to a peer; doubled per failure, jittered"
    )
    federation_retry_max_seconds: float = Field(600, gt=0, description="longest wait between retries to a peer")
    federation_timeout_seconds: float = Field(10, gt=0, description="HTTP time-out of one delivery to a peer")
    federation_replay_window_seconds: int = Field(
        300, ge=10, description="a peer message signed longer ago (or ahead) than this is refused as a replay"
    )
    collect_poll_seconds: float = Field(15, gt=0, description="how often the worker looks for collection sources due")
    collect_lease_seconds: int = Field(
        120, ge=2, description="a running collection's lease; renewed while it runs, taken over after a crash"
    )
    collect_folder_root: Path | None = Field(
        None, description="watched folders of collection sources lie under it (default: data_dir/collect_inbox)"
    )
    collect_batch_rows: int = Field(50000, ge=100, description="rows a collection reads from a source per batch")
    mqtt_url: str | None = None
    mqtt_username: str | None = Field(None, description="the bridge's broker account (or in mqtt_url)")
    mqtt_password: str | None = Field(None, description="the bridge account's password (or in mqtt_url)")
    mqtt_client_id: str = Field("yiwang-bridge", description="fixed, so the broker keeps the bridge's session")
    admission_max_in_flight: int = Field(
        8,
        ge=0,
        le=40,
        description="requests one process serves at once (0: no admission control); at most the thread pool's 40",
    )
    admission_max_queue: int = Field(8, ge=0, description="requests that may wait for a slot; more are refused at once")
    admission_queue_ms: int = Field(100, ge=0, description="longest wait for a slot before a 503")
    admission_retry_after_seconds: int = Field(1, ge=1, description="Retry-After sent with a 503 overloaded")
    mediation_max_body_bytes: int = Field(
        4 * 1024 * 1024 * 1024,
        ge=0,
        description="largest request or response body a mediated service call passes through",
    )
    mediation_spool_memory_bytes: int = Field(
        1024 * 1024, ge=0, description="a mediated body larger than this waits in a temporary file, never in memory"
    )
    mediation_keep_body_bytes: int = Field(
        1024 * 1024, ge=0, description="largest body kept in the message log for a service that keeps bodies"
    )
    mediation_max_connections: int = Field(200, ge=1, description="open connections to all providers, per process")
    public_url: str = Field(
        "http://127.0.0.1:8000", description="the platform's address as the public reaches it (links it publishes)"
    )
    db_pool_wait_seconds: float = Field(
        5.0, gt=0, description="how long a request waits for a database connection before a 503 database_busy"
    )
    db_pool_size: int = Field(10, ge=1, description="PostgreSQL: connections kept per process")
    db_pool_overflow: int = Field(20, ge=0, description="PostgreSQL: extra connections opened under load")
    db_busy_retry_after_seconds: int = Field(2, ge=1, description="Retry-After sent with a 503 database_busy")
    oidc_issuer: str | None = Field(
        None, description="OpenID Connect issuer identifier (default: public_url); never change it once in use"
    )
    oidc_code_seconds: int = Field(60, ge=1, le=600, description="lifetime of an authorization code")
    oidc_access_token_minutes: int = Field(15, ge=1, description="lifetime of an OIDC access token")
    oidc_id_token_minutes: int = Field(15, ge=1, description="lifetime of an ID token")
    oidc_refresh_token_days: int = Field(30, ge=1, description="lifetime of a refresh token (rotated on every use)")
    oidc_backchannel_timeout_seconds: float = Field(
        3.0, gt=0, le=30, description="how long a client's back-channel logout endpoint may take to answer"
    )
    sqlite_checkpoint_seconds: float = Field(
        0.5,
        ge=0,
        le=60,
        description="serve and worker: how often a thread of their own copies SQLite's write-ahead log into "
        "the database file, so that no request's commit does (0: SQLite checkpoints in the commit)",
    )
    sqlite_checkpoint_restart_pages: int = Field(
        4000, ge=100, description="log pages after which the background checkpoint restarts the log"
    )
    sqlite_read_connections: int = Field(
        4, ge=0, le=32, description="read-only SQLite connections for read-only endpoints (0: share the writer's)"
    )

    @property
    def resolved_database_url(self) -> str:
        """The configured database URL, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'yiwang.db').resolve()}"

    @property
    def issuer(self) -> str:
        """The OpenID Connect issuer identifier: the configured one, else the public address."""
        return (self.oidc_issuer or self.public_url).rstrip("/")

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"


DEMO_NOTICE = "演示模式：演示账号的密码是公开的，请勿用于真实数据"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
