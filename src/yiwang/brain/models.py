"""Tables of 城市智脑: indicator history, the registries behind indicators 1–3, 10 and 16–20,
hourly sign series, warnings, evaluation scores and registry import reports."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class IndicatorSnapshot(Base):
    """One indicator's value for one month (the month's first day); the latest run of the month wins."""

    __tablename__ = "brain_indicator_snapshot"
    __table_args__ = (UniqueConstraint("indicator_no", "period", name="uq_brain_indicator_snapshot_no_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_no: Mapped[int] = mapped_column(Integer, index=True)
    period: Mapped[date] = mapped_column(Date, index=True)
    value: Mapped[float | None] = mapped_column(Float)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # computed | registry
    origin: Mapped[str] = mapped_column(String(20), default="live")  # live | demo (back-filled demo history)
    note: Mapped[str] = mapped_column(Text, default="")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GovSystem(Base):
    """A government information system (政务信息系统): where it is hosted, which network, IPv6."""

    __tablename__ = "brain_gov_system"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department_code: Mapped[str] = mapped_column(String(20), index=True)
    hosting: Mapped[str] = mapped_column(String(20))  # gov_cloud | own_room
    network: Mapped[str] = mapped_column(String(20))  # extranet | private
    private_network: Mapped[str] = mapped_column(String(60), default="")  # the private network it was built on
    ipv6: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CardScenario(Base):
    """A citizen-card (一卡通) application scenario."""

    __tablename__ = "brain_card_scenario"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department_code: Mapped[str] = mapped_column(String(20), index=True)
    category: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(20))  # live | pilot | planned
    launched_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EcosystemEnterprise(Base):
    """An enterprise settled in (or courted for) the big-data centre's ecosystem carrier."""

    __tablename__ = "brain_ecosystem_enterprise"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # 统一社会信用代码
    name: Mapped[str] = mapped_column(String(100))
    department_code: Mapped[str] = mapped_column(String(20), default="DSJ")
    field: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(20))  # settled | negotiating | left
    settled_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UpstreamIntegration(Base):
    """One item of an integration with a Suzhou city-level platform (indicators 17–20)."""

    __tablename__ = "brain_upstream_integration"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    indicator_no: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(100))
    department_code: Mapped[str] = mapped_column(String(20), default="DSJ")
    state: Mapped[str] = mapped_column(String(20))  # not_started | in_progress | done
    done_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RegistryImport(Base):
    """An XLSX import into a registry: counts, and every rejected row with its reasons."""

    __tablename__ = "brain_registry_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    registry_key: Mapped[str] = mapped_column(String(30), index=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(100))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_saved: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejects: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [{"row", "values", "reasons"}]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SeriesPoint(Base):
    """One hourly (or daily) value of a city-sign series, e.g. aqi:<station>, level:<sluice>, events:<category>."""

    __tablename__ = "brain_series_point"
    __table_args__ = (
        UniqueConstraint("series", "ts", name="uq_brain_series_point_series_ts"),
        Index("ix_brain_series_point_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    series: Mapped[str] = mapped_column(String(80))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    value: Mapped[float] = mapped_column(Float)


class SignWarning(Base):
    """A detected anomaly: the value, the expected band, and why it was flagged."""

    __tablename__ = "brain_warning"
    __table_args__ = (UniqueConstraint("series", "ts", name="uq_brain_warning_series_ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(80), index=True)
    label: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))  # aqi | level | events ...
    department_code: Mapped[str | None] = mapped_column(String(20), index=True)
    division_code: Mapped[str | None] = mapped_column(String(20))
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    value: Mapped[float] = mapped_column(Float)
    expected: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(20))  # notice | warning | serious
    reason: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Evaluation(Base):
    """A composite score of one department or division for one month, with its components."""

    __tablename__ = "brain_evaluation"
    __table_args__ = (UniqueConstraint("period", "scope_kind", "scope_code", name="uq_brain_evaluation_period_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[date] = mapped_column(Date, index=True)
    scope_kind: Mapped[str] = mapped_column(String(20))  # department | division
    scope_code: Mapped[str] = mapped_column(String(20))
    scope_name: Mapped[str] = mapped_column(String(100))
    score: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    components: Mapped[str] = mapped_column(Text, default="{}")  # JSON: {name: {"value", "weight"}}
    origin: Mapped[str] = mapped_column(String(20), default="live")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SeriesMeta(Base):
    """What a series is: its label, kind, unit, owner and place (for the map, warnings and forecasts)."""

    __tablename__ = "brain_series"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    label: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), index=True)  # aqi | level | events
    step: Mapped[str] = mapped_column(String(10))  # hour | day
    unit: Mapped[str] = mapped_column(String(20), default="")
    department_code: Mapped[str | None] = mapped_column(String(20))
    division_code: Mapped[str | None] = mapped_column(String(20))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SignSnapshot(Base):
    """The latest city-wide signs or map layers (JSON), taken by the diagnosis job, so the cockpit's
    first render does not recompute every domain's figures; a stale snapshot is recomputed live."""

    __tablename__ = "brain_sign_snapshot"

    key: Mapped[str] = mapped_column(String(20), primary_key=True)  # signs | map
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[str] = mapped_column(Text)
