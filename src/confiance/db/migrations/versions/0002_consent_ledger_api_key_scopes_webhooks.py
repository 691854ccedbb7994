"""consent ledger, api key scopes, webhooks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 09:33:27.274047
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import confiance.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column(
            "previous_secret_until", confiance.db.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("disabled_at", confiance.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=16), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", confiance.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("delivered_at", confiance.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_outbox_state")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_outbox_subscription_id_webhook_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
    )
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_outbox_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_webhook_outbox_subscription_id"), ["subscription_id"], unique=False
        )

    op.create_table(
        "consent_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("manifest_seq", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", confiance.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("evidence", sa.String(length=64), nullable=False),
        sa.Column("receipt_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["vault_customers.id"],
            name=op.f("fk_consent_events_customer_id_vault_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["manifest_seq"],
            ["manifest_versions.seq"],
            name=op.f("fk_consent_events_manifest_seq_manifest_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_events_at"), ["at"], unique=False)
        batch_op.create_index(
            "ix_consent_events_customer_target", ["customer_id", "target"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consent_events_receipt_id"), ["receipt_id"], unique=False
        )

    op.create_table(
        "consent_receipts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["vault_customers.id"],
            name=op.f("fk_consent_receipts_customer_id_vault_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_receipts")),
    )
    with op.batch_alter_table("consent_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_receipts_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "consent_state",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("manifest_seq", sa.Integer(), nullable=False),
        sa.Column("at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", confiance.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["vault_customers.id"],
            name=op.f("fk_consent_state_customer_id_vault_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "target", name=op.f("pk_consent_state")),
    )
    with op.batch_alter_table("consent_state", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_state_target_state", ["target", "state", "customer_id"], unique=False
        )

    op.create_table(
        "webhook_delivery_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=32), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["webhook_outbox.id"],
            name=op.f("fk_webhook_delivery_attempts_message_id_webhook_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery_attempts")),
    )
    with op.batch_alter_table("webhook_delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_delivery_attempts_message_id"), ["message_id"], unique=False
        )

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scopes", sa.JSON(), server_default="[]", nullable=False))

    with op.batch_alter_table("vault_customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consent_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:

    with op.batch_alter_table("vault_customers", schema=None) as batch_op:
        batch_op.drop_column("consent_version")

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("scopes")

    with op.batch_alter_table("webhook_delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_delivery_attempts_message_id"))

    op.drop_table("webhook_delivery_attempts")
    with op.batch_alter_table("consent_state", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_state_target_state")

    op.drop_table("consent_state")
    with op.batch_alter_table("consent_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_receipts_customer_id"))

    op.drop_table("consent_receipts")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_events_receipt_id"))
        batch_op.drop_index("ix_consent_events_customer_target")
        batch_op.drop_index(batch_op.f("ix_consent_events_at"))

    op.drop_table("consent_events")
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_outbox_subscription_id"))
        batch_op.drop_index("ix_webhook_outbox_due")

    op.drop_table("webhook_outbox")
    op.drop_table("webhook_subscriptions")
