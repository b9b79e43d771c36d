"""geo: boundaries, grid cells and buildings

Revision ID: geo_0001
Revises: 0001
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "geo_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("geo",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "geo_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("division_code", sa.String(length=20), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("schematic", sa.Boolean(), nullable=False),
        sa.Column("staff", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_geo_area_kind"), "geo_area", ["kind"], unique=False)
    op.create_index(op.f("ix_geo_area_division_code"), "geo_area", ["division_code"], unique=False)
    op.create_table(
        "geo_building",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("height", sa.Float(), nullable=False),
        sa.Column("floors", sa.Integer(), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("division_code", sa.String(length=20), nullable=True),
        sa.Column("grid_code", sa.String(length=20), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_geo_building_min_lon"), "geo_building", ["min_lon"], unique=False)
    op.create_index(op.f("ix_geo_building_division_code"), "geo_building", ["division_code"], unique=False)
    op.create_index(op.f("ix_geo_building_grid_code"), "geo_building", ["grid_code"], unique=False)
    op.create_table(
        "geo_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("geo_version")
    op.drop_index(op.f("ix_geo_building_grid_code"), table_name="geo_building")
    op.drop_index(op.f("ix_geo_building_division_code"), table_name="geo_building")
    op.drop_index(op.f("ix_geo_building_min_lon"), table_name="geo_building")
    op.drop_table("geo_building")
    op.drop_index(op.f("ix_geo_area_division_code"), table_name="geo_area")
    op.drop_index(op.f("ix_geo_area_kind"), table_name="geo_area")
    op.drop_table("geo_area")
