"""sensing: FeaturesOfInterest generated from a Thing's Location, and observations by FeatureOfInterest

Revision ID: sensing_0002
Revises: sensing_0001
Create Date: 2026-11-28 11:00:00

An Observation created without a FeatureOfInterest gets the one generated from its Thing's current
Location; the Location remembers it. `FeaturesOfInterest(id)/Observations` reads by the new index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sensing_0002"
down_revision: str | None = "sensing_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sensing_location", sa.Column("feature_of_interest_id", sa.Integer(), nullable=True))
    op.create_index(
        op.f("ix_sensing_observation_feature_of_interest_id"),
        "sensing_observation",
        ["feature_of_interest_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sensing_observation_feature_of_interest_id"), table_name="sensing_observation")
    with op.batch_alter_table("sensing_location", schema=None) as batch_op:
        batch_op.drop_column("feature_of_interest_id")
