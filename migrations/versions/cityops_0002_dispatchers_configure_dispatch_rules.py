"""cityops: dispatchers configure dispatch rules

Revision ID: cityops_0002
Revises: cityops_0001
Create Date: 2026-11-28 12:00:00

The command centre's dispatchers now hold `cityops.config.write` by default. A new database gets it
from the role definitions at start; an existing one got `cityops.config.write` on the platform
admin only, and the start-up sync never re-adds a grant to a permission it has seen, so this grants
it once here. No-op on a new database (there are no roles yet when migrations run).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "cityops_0002"
down_revision: str | None = "cityops_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRANT = """
INSERT INTO org_role_permission (role_id, permission)
SELECT r.id, 'cityops.config.write' FROM org_role r
WHERE r.code = 'dispatcher'
  AND NOT EXISTS (
    SELECT 1 FROM org_role_permission p WHERE p.role_id = r.id AND p.permission = 'cityops.config.write'
  )
"""


def upgrade() -> None:
    op.execute(GRANT)


def downgrade() -> None:
    """Leaves the grant: after a downgrade it is an ordinary grant an administrator may remove."""
