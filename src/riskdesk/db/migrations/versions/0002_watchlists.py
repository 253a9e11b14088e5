"""watchlists and screening hits

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watchlists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlists")),
        sa.UniqueConstraint("name", name=op.f("uq_watchlists_name")),
    )
    op.create_table(
        "watchlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("identifiers", sa.JSON(), nullable=False),
        sa.Column("birth_date", sa.String(length=10), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("first_version", sa.Integer(), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["watchlist_id"], ["watchlists.id"], name=op.f("fk_watchlist_entries_watchlist_id_watchlists")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_entries")),
        sa.UniqueConstraint("watchlist_id", "entry_key", name=op.f("uq_watchlist_entries_watchlist_id_entry_key")),
    )
    with op.batch_alter_table("watchlist_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_watchlist_entries_watchlist_id"), ["watchlist_id"], unique=False)

    op.create_table(
        "screening_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("subject_role", sa.String(length=32), nullable=False),
        sa.Column("subject_name", sa.String(length=500), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_name", sa.String(length=500), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_screening_hits_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["watchlist_entries.id"], name=op.f("fk_screening_hits_entry_id_watchlist_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_hits")),
        sa.UniqueConstraint(
            "customer_id",
            "subject_name",
            "entry_id",
            "entry_hash",
            name=op.f("uq_screening_hits_customer_id_subject_name_entry_id_entry_hash"),
        ),
    )
    with op.batch_alter_table("screening_hits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screening_hits_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_screening_hits_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index("ix_screening_hits_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "watchlist_entry_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("list_version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["watchlist_entries.id"], name=op.f("fk_watchlist_entry_versions_entry_id_watchlist_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_entry_versions")),
    )
    with op.batch_alter_table("watchlist_entry_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_watchlist_entry_versions_entry_id"), ["entry_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("watchlist_entry_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_watchlist_entry_versions_entry_id"))

    op.drop_table("watchlist_entry_versions")
    with op.batch_alter_table("screening_hits", schema=None) as batch_op:
        batch_op.drop_index("ix_screening_hits_status_created")
        batch_op.drop_index(batch_op.f("ix_screening_hits_entry_id"))
        batch_op.drop_index(batch_op.f("ix_screening_hits_customer_id"))

    op.drop_table("screening_hits")
    with op.batch_alter_table("watchlist_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_watchlist_entries_watchlist_id"))

    op.drop_table("watchlist_entries")
    op.drop_table("watchlists")
