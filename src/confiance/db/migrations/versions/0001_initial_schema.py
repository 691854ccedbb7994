"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29 08:53:01.193036
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import confiance.db.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("created_at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("revoked_at", confiance.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_entries",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("customer_pid", sa.String(length=36), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_entries_customer_pid"), ["customer_pid"], unique=False
        )

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "crypto_keks",
        sa.Column("kek_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kek_id", name=op.f("pk_crypto_keks")),
    )
    op.create_table(
        "manifest_versions",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("loaded_at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_manifest_versions")),
    )
    with op.batch_alter_table("manifest_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_manifest_versions_sha256"), ["sha256"], unique=False)

    op.create_table(
        "vault_customers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kek_id", sa.String(length=16), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("manifest_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kek_id"], ["crypto_keks.kek_id"], name=op.f("fk_vault_customers_kek_id_crypto_keks")
        ),
        sa.ForeignKeyConstraint(
            ["manifest_seq"],
            ["manifest_versions.seq"],
            name=op.f("fk_vault_customers_manifest_seq_manifest_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_customers")),
    )
    with op.batch_alter_table("vault_customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vault_customers_kek_id"), ["kek_id"], unique=False)

    op.create_table(
        "vault_blind_index",
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["vault_customers.id"],
            name=op.f("fk_vault_blind_index_customer_id_vault_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "field", "digest", "customer_id", name=op.f("pk_vault_blind_index")
        ),
    )
    with op.batch_alter_table("vault_blind_index", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_blind_index_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "vault_values",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("collected_at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", confiance.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["vault_customers.id"],
            name=op.f("fk_vault_values_customer_id_vault_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "field", name=op.f("pk_vault_values")),
    )


def downgrade() -> None:

    op.drop_table("vault_values")
    with op.batch_alter_table("vault_blind_index", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_blind_index_customer_id"))

    op.drop_table("vault_blind_index")
    with op.batch_alter_table("vault_customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_customers_kek_id"))

    op.drop_table("vault_customers")
    with op.batch_alter_table("manifest_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manifest_versions_sha256"))

    op.drop_table("manifest_versions")
    op.drop_table("crypto_keks")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_customer_pid"))

    op.drop_table("audit_entries")
    op.drop_table("audit_checkpoints")
    op.drop_table("api_keys")
