"""exchange: consumer system clients keep reading their grants under the new data-read permission

Revision ID: exchange_0002
Revises: exchange_0001
Create Date: 2026-12-07 07:00:00

The data API now needs the permission `exchange.data.read`. Staff roles receive it when roles are
synchronised on start; system clients hold their permissions as scopes on the account, so a client
of a department that already consumes a grant gets the scope here and keeps working. A token asked
for with a narrower scope still lacks it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "exchange_0002"
down_revision: str | None = "exchange_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATA_READ = "exchange.data.read"

users = sa.table(
    "org_user",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("department_id", sa.Integer),
    sa.column("scopes", sa.Text),
)
grants = sa.table("exch_grant", sa.column("consumer_department_id", sa.Integer))


def upgrade() -> None:
    connection = op.get_bind()
    consumers = sa.select(grants.c.consumer_department_id).distinct()
    clients = connection.execute(
        sa.select(users.c.id, users.c.scopes).where(users.c.kind == "system", users.c.department_id.in_(consumers))
    ).all()
    for user_id, scopes in clients:
        held = (scopes or "").split()
        if DATA_READ not in held:
            connection.execute(users.update().where(users.c.id == user_id).values(scopes=" ".join([*held, DATA_READ])))


def downgrade() -> None:
    connection = op.get_bind()
    clients = connection.execute(
        sa.select(users.c.id, users.c.scopes).where(users.c.kind == "system", users.c.scopes.contains(DATA_READ))
    ).all()
    for user_id, scopes in clients:
        kept = [scope for scope in (scopes or "").split() if scope != DATA_READ]
        connection.execute(users.update().where(users.c.id == user_id).values(scopes=" ".join(kept)))
