"""certs: each certificate type names the one department that may issue it

Revision ID: certs_0003
Revises: certs_0002
Create Date: 2026-12-07 07:10:00

Until now any department could sign any type. Existing types get their issuer here: the demo's
types from the mapping the demo uses, any other type from the department that signed most of its
certificates so far. A type left without an issuer cannot be issued until one is set.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "certs_0003"
down_revision: str | None = "certs_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The demo's type codes (GB 32100-valid demo ministry codes + number) and their Changshu issuers.
DEMO_ISSUERS = {
    "11100000000000GABR001": "GAJ",  # 居民身份证
    "11100000000000GABR002": "GAJ",  # 居民户口簿
    "11100000000000GABR010": "GAJ",  # 印章备案证明
    "11100000000000WJWT001": "WJW",  # 出生医学证明
    "11100000000000WJWT002": "WJW",  # 居民死亡医学证明
    "11100000000000M2BX001": "MZJ",  # 结婚证
    "11100000000000M2BX005": "MZJ",  # 遗体火化证明
    "11100000000005J2JN001": "SPJ",  # 营业执照
    "11100000000005J2JN002": "SJJ",  # 食品经营许可证
    "111000000000002JBJ001": "SWJ",  # 城镇污水排入排水管网许可证
    "111000000000002JBJ002": "CGJ",  # 户外广告设施设置许可
    "111000000000002JBJ003": "GJJ",  # 住房公积金单位登记证明
    "111000000000002RBR001": "ZGJ",  # 不动产权证书
    "11100000000000R5BP001": "RSJ",  # 社会保障卡
    "11100000000000R5BP002": "RSJ",  # 就业创业证
    "11100000000000R5BP003": "RSJ",  # 社会保险登记证明
    "11100000000000YBJ0001": "YBJ",  # 医疗保险参保凭证
    "11100000000005W2JF001": "SPJ",  # 税务登记确认书
    "1110000000000RMYH2001": "SPJ",  # 基本存款账户信息
}

types = sa.table(
    "certs_type",
    sa.column("id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("issuer_department_code", sa.String),
)
certificates = sa.table("certs_certificate", sa.column("type_id", sa.Integer), sa.column("issuer_key_id", sa.Integer))
keys = sa.table("certs_issuer_key", sa.column("id", sa.Integer), sa.column("department_code", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("certs_type", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issuer_department_code", sa.String(length=20), nullable=True))
    connection = op.get_bind()
    for type_id, code in connection.execute(sa.select(types.c.id, types.c.code)).all():
        issuer = DEMO_ISSUERS.get(code) or _most_frequent_signer(connection, type_id)
        if issuer:
            connection.execute(types.update().where(types.c.id == type_id).values(issuer_department_code=issuer))


def _most_frequent_signer(connection: sa.Connection, type_id: int) -> str | None:
    count = sa.func.count()
    row = connection.execute(
        sa.select(keys.c.department_code, count)
        .join(certificates, certificates.c.issuer_key_id == keys.c.id)
        .where(certificates.c.type_id == type_id)
        .group_by(keys.c.department_code)
        .order_by(count.desc(), keys.c.department_code)
        .limit(1)
    ).first()
    return row[0] if row else None


def downgrade() -> None:
    with op.batch_alter_table("certs_type", schema=None) as batch_op:
        batch_op.drop_column("issuer_department_code")
