"""onestop service items bundles applications

Revision ID: onestop_0001
Revises: 0001
Create Date: 2026-11-28 07:00:37.379737
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "onestop_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("onestop",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "onestop_bundle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("lead_department_code", sa.String(length=20), nullable=False),
        sa.Column("entry_point", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_bundle")),
        sa.UniqueConstraint("code", name=op.f("uq_onestop_bundle_code")),
    )
    op.create_table(
        "onestop_calendar_override",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("workday", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_onestop_calendar_override")),
    )
    op.create_table(
        "onestop_counter",
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_onestop_counter")),
    )
    op.create_table(
        "onestop_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("basic_code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("life_event", sa.String(length=40), nullable=True),
        sa.Column("enterprise_event", sa.String(length=40), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("legal_days", sa.Integer(), nullable=False),
        sa.Column("promised_days", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("fee", sa.Boolean(), nullable=False),
        sa.Column("fee_note", sa.String(length=200), nullable=False),
        sa.Column("process", sa.Text(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("online_depth", sa.Integer(), nullable=False),
        sa.Column("entry_point", sa.Boolean(), nullable=False),
        sa.Column("produces_type_code", sa.String(length=21), nullable=True),
        sa.Column("form", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_item")),
        sa.UniqueConstraint("code", name=op.f("uq_onestop_item_code")),
    )
    with op.batch_alter_table("onestop_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_item_basic_code"), ["basic_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_item_department_code"), ["department_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_item_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_item_enterprise_event"), ["enterprise_event"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_item_life_event"), ["life_event"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_item_name"), ["name"], unique=False)
    op.create_table(
        "onestop_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=200), nullable=True),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("read_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_notification")),
    )
    with op.batch_alter_table("onestop_notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_notification_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_notification_user_id"), ["user_id"], unique=False)
    op.create_table(
        "onestop_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("applicant_name", sa.String(length=100), nullable=False),
        sa.Column("applicant_kind", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("bundle_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("form_data", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("submitted_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("completed_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bundle_id"], ["onestop_bundle.id"], name=op.f("fk_onestop_application_bundle_id_onestop_bundle")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["onestop_item.id"], name=op.f("fk_onestop_application_item_id_onestop_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_application")),
        sa.UniqueConstraint("number", name=op.f("uq_onestop_application_number")),
    )
    with op.batch_alter_table("onestop_application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_application_applicant_id"), ["applicant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_application_bundle_id"), ["bundle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_application_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_application_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_application_submitted_at"), ["submitted_at"], unique=False)
    op.create_table(
        "onestop_bundle_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bundle_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["onestop_bundle.id"],
            name=op.f("fk_onestop_bundle_item_bundle_id_onestop_bundle"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["onestop_item.id"], name=op.f("fk_onestop_bundle_item_item_id_onestop_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_bundle_item")),
        sa.UniqueConstraint("bundle_id", "item_id", name=op.f("uq_onestop_bundle_item_bundle_id")),
    )
    with op.batch_alter_table("onestop_bundle_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_bundle_item_bundle_id"), ["bundle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_bundle_item_item_id"), ["item_id"], unique=False)
    op.create_table(
        "onestop_material",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("form", sa.String(length=20), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("cert_type_code", sa.String(length=21), nullable=True),
        sa.Column("database", sa.String(length=20), nullable=True),
        sa.Column("produced_by", sa.String(length=40), nullable=True),
        sa.Column("max_pages", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["onestop_item.id"], name=op.f("fk_onestop_material_item_id_onestop_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_material")),
        sa.UniqueConstraint("item_id", "key", name=op.f("uq_onestop_material_item_id")),
    )
    with op.batch_alter_table("onestop_material", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_material_item_id"), ["item_id"], unique=False)
    op.create_table(
        "onestop_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("material_key", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("uploaded_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["onestop_application.id"],
            name=op.f("fk_onestop_attachment_application_id_onestop_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_attachment")),
    )
    with op.batch_alter_table("onestop_attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_attachment_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_attachment_owner_id"), ["owner_id"], unique=False)
    op.create_table(
        "onestop_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("material_key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("satisfied_by", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["onestop_application.id"],
            name=op.f("fk_onestop_claim_application_id_onestop_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_claim")),
    )
    with op.batch_alter_table("onestop_claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_claim_application_id"), ["application_id"], unique=False)
    op.create_table(
        "onestop_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("given_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["onestop_application.id"],
            name=op.f("fk_onestop_consent_application_id_onestop_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_consent")),
    )
    with op.batch_alter_table("onestop_consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_consent_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_consent_user_id"), ["user_id"], unique=False)
    op.create_table(
        "onestop_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["onestop_application.id"],
            name=op.f("fk_onestop_rating_application_id_onestop_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_rating")),
        sa.UniqueConstraint("application_id", name=op.f("uq_onestop_rating_application_id")),
    )
    with op.batch_alter_table("onestop_rating", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_rating_user_id"), ["user_id"], unique=False)
    op.create_table(
        "onestop_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("item_codes", sa.Text(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("paused_stage", sa.String(length=20), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("promised_days", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("paused_days", sa.Integer(), nullable=False),
        sa.Column("paused_since", sa.Date(), nullable=True),
        sa.Column("supplement_count", sa.Integer(), nullable=False),
        sa.Column("supplement_list", sa.Text(), nullable=True),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("decided_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("completed_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("used_working_days", sa.Integer(), nullable=True),
        sa.Column("certificates", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["onestop_application.id"],
            name=op.f("fk_onestop_task_application_id_onestop_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_task")),
    )
    with op.batch_alter_table("onestop_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_task_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_task_completed_at"), ["completed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_task_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_task_due_date"), ["due_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_task_stage"), ["stage"], unique=False)
    op.create_table(
        "onestop_followup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rating_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("closed_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rating_id"],
            ["onestop_rating.id"],
            name=op.f("fk_onestop_followup_rating_id_onestop_rating"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_followup")),
    )
    with op.batch_alter_table("onestop_followup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_followup_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_followup_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onestop_followup_rating_id"), ["rating_id"], unique=False)
    op.create_table(
        "onestop_task_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["onestop_task.id"],
            name=op.f("fk_onestop_task_event_task_id_onestop_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_task_event")),
    )
    with op.batch_alter_table("onestop_task_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onestop_task_event_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("onestop_task_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_task_event_task_id"))
    op.drop_table("onestop_task_event")
    with op.batch_alter_table("onestop_followup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_followup_rating_id"))
        batch_op.drop_index(batch_op.f("ix_onestop_followup_department_id"))
        batch_op.drop_index(batch_op.f("ix_onestop_followup_application_id"))
    op.drop_table("onestop_followup")
    with op.batch_alter_table("onestop_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_task_stage"))
        batch_op.drop_index(batch_op.f("ix_onestop_task_due_date"))
        batch_op.drop_index(batch_op.f("ix_onestop_task_department_id"))
        batch_op.drop_index(batch_op.f("ix_onestop_task_completed_at"))
        batch_op.drop_index(batch_op.f("ix_onestop_task_application_id"))
    op.drop_table("onestop_task")
    with op.batch_alter_table("onestop_rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_rating_user_id"))
    op.drop_table("onestop_rating")
    with op.batch_alter_table("onestop_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_consent_user_id"))
        batch_op.drop_index(batch_op.f("ix_onestop_consent_application_id"))
    op.drop_table("onestop_consent")
    with op.batch_alter_table("onestop_claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_claim_application_id"))
    op.drop_table("onestop_claim")
    with op.batch_alter_table("onestop_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_attachment_owner_id"))
        batch_op.drop_index(batch_op.f("ix_onestop_attachment_application_id"))
    op.drop_table("onestop_attachment")
    with op.batch_alter_table("onestop_material", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_material_item_id"))
    op.drop_table("onestop_material")
    with op.batch_alter_table("onestop_bundle_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_bundle_item_item_id"))
        batch_op.drop_index(batch_op.f("ix_onestop_bundle_item_bundle_id"))
    op.drop_table("onestop_bundle_item")
    with op.batch_alter_table("onestop_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_application_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_onestop_application_status"))
        batch_op.drop_index(batch_op.f("ix_onestop_application_item_id"))
        batch_op.drop_index(batch_op.f("ix_onestop_application_bundle_id"))
        batch_op.drop_index(batch_op.f("ix_onestop_application_applicant_id"))
    op.drop_table("onestop_application")
    with op.batch_alter_table("onestop_notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_notification_user_id"))
        batch_op.drop_index(batch_op.f("ix_onestop_notification_created_at"))
    op.drop_table("onestop_notification")
    with op.batch_alter_table("onestop_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_item_name"))
        batch_op.drop_index(batch_op.f("ix_onestop_item_life_event"))
        batch_op.drop_index(batch_op.f("ix_onestop_item_enterprise_event"))
        batch_op.drop_index(batch_op.f("ix_onestop_item_department_id"))
        batch_op.drop_index(batch_op.f("ix_onestop_item_department_code"))
        batch_op.drop_index(batch_op.f("ix_onestop_item_basic_code"))
    op.drop_table("onestop_item")
    op.drop_table("onestop_counter")
    op.drop_table("onestop_calendar_override")
    op.drop_table("onestop_bundle")
