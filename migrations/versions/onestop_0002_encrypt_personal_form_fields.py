"""onestop: personal fields of application forms encrypted at rest, masked in form_data

Revision ID: onestop_0002
Revises: onestop_0001
Create Date: 2026-12-07 07:20:00

Existing applications kept ID numbers and phones in clear in `form_data`. Each row's personal
fields — by the form it was made with (ID number and phone types, fields marked `personal`), and any
other value that is a valid ID number or mobile number — move into `personal_data` as one AES-GCM
envelope bound to the application number, and `form_data` keeps them masked. The key is the
platform's field key (the running platform hands its cipher over; `yiwang db upgrade` builds it from
the settings). Rows already converted are left alone, so the upgrade can be resumed.
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from yiwang.core.crypto import FieldCipher, load_master_key
from yiwang.core.identifiers import id_number_check_char, is_mobile
from yiwang.core.masking import mask_address, mask_id_number, mask_name, mask_phone

revision: str = "onestop_0002"
down_revision: str | None = "onestop_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERSONAL_CONTEXT = "onestop_application.personal_data"
BATCH = 500

applications = sa.table(
    "onestop_application",
    sa.column("id", sa.Integer),
    sa.column("number", sa.String),
    sa.column("item_id", sa.Integer),
    sa.column("bundle_id", sa.Integer),
    sa.column("form_data", sa.Text),
    sa.column("personal_data", sa.Text),
)
items = sa.table("onestop_item", sa.column("id", sa.Integer), sa.column("form", sa.Text))
bundle_items = sa.table(
    "onestop_bundle_item",
    sa.column("bundle_id", sa.Integer),
    sa.column("item_id", sa.Integer),
    sa.column("position", sa.Integer),
)

MASKS = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "name": mask_name,
    "address": mask_address,
}


def _cipher() -> FieldCipher:
    master = context.config.attributes.get("master_key")
    if master is None:
        from yiwang.config import get_settings

        settings = get_settings()
        master = load_master_key(settings.key_dir, configured=settings.field_key, command=settings.master_key_command)
    # Rows this migration converts predate keyrings: version 1 of the intl keys, which every keyring keeps.
    return FieldCipher.legacy(master)


def _kinds_of(form_json: str) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for field in json.loads(form_json or "[]"):
        kind = field.get("type") if field.get("type") in ("id_number", "phone") else field.get("personal")
        if kind:
            kinds.setdefault(field["name"], kind)
    return kinds


def _form_kinds(connection: sa.Connection) -> tuple[dict[int, dict[str, str]], dict[int, dict[str, str]]]:
    """Personal field kinds per item and per bundle (the first item naming a field decides, as in merging)."""
    by_item = {row.id: _kinds_of(row.form) for row in connection.execute(sa.select(items.c.id, items.c.form))}
    by_bundle: dict[int, dict[str, str]] = {}
    members = connection.execute(
        sa.select(bundle_items.c.bundle_id, bundle_items.c.item_id).order_by(
            bundle_items.c.bundle_id, bundle_items.c.position
        )
    )
    for bundle_id, item_id in members:
        merged = by_bundle.setdefault(bundle_id, {})
        for name, kind in by_item.get(item_id, {}).items():
            merged.setdefault(name, kind)
    return by_item, by_bundle


def _looks_personal(value: Any) -> str | None:
    """A value that is an ID number or a mobile number, whatever field it was typed into.

    ID numbers are recognised by their GB 11643 check character alone: an older number whose address
    code or birth date a strict validator rejects is still someone's ID number."""
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    if is_mobile(text):
        return "phone"
    if len(text) == 18 and text[:17].isdigit() and id_number_check_char(text[:17]) == text[17]:
        return "id_number"
    return None


def _mask(kind: str, value: Any) -> str:
    return MASKS.get(kind, lambda text: "****" if text else text)(str(value)) or ""


def upgrade() -> None:
    with op.batch_alter_table("onestop_application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal_data", sa.Text(), nullable=True))
    connection = op.get_bind()
    by_item, by_bundle = _form_kinds(connection)
    cipher: FieldCipher | None = None
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(applications)
            .where(applications.c.id > last_id, applications.c.personal_data.is_(None))
            .order_by(applications.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        changes = []
        for row in rows:
            defined = by_bundle.get(row.bundle_id, {}) if row.bundle_id else by_item.get(row.item_id, {})
            form = json.loads(row.form_data or "{}")
            kinds = {name: defined.get(name) or _looks_personal(value) for name, value in form.items()}
            personal = {name: value for name, value in form.items() if kinds[name]}
            if not personal:
                continue
            cipher = cipher or _cipher()
            stored = {name: _mask(kinds[name], value) if kinds[name] else value for name, value in form.items()}
            sealed = cipher.encrypt(
                json.dumps(personal, ensure_ascii=False, sort_keys=True), context=f"{PERSONAL_CONTEXT}:{row.number}"
            )
            changes.append(
                {"row_id": row.id, "form_data": json.dumps(stored, ensure_ascii=False), "personal_data": sealed}
            )
        if changes:
            connection.execute(
                applications.update()
                .where(applications.c.id == sa.bindparam("row_id"))
                .values(form_data=sa.bindparam("form_data"), personal_data=sa.bindparam("personal_data")),
                changes,
            )


def downgrade() -> None:
    connection = op.get_bind()
    sealed_rows = connection.execute(
        sa.select(applications.c.id, applications.c.number, applications.c.form_data, applications.c.personal_data)
        .where(applications.c.personal_data.is_not(None))
        .order_by(applications.c.id)
    ).all()
    if sealed_rows:
        cipher = _cipher()
        for row in sealed_rows:
            clear = json.loads(cipher.decrypt(row.personal_data, context=f"{PERSONAL_CONTEXT}:{row.number}"))
            form = json.loads(row.form_data or "{}") | clear
            connection.execute(
                applications.update()
                .where(applications.c.id == row.id)
                .values(form_data=json.dumps(form, ensure_ascii=False))
            )
    with op.batch_alter_table("onestop_application", schema=None) as batch_op:
        batch_op.drop_column("personal_data")
