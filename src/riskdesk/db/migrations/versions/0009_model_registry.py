"""model registry, PD overlays, PD predictions, model health

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
PD = sa.Numeric(precision=10, scale=6)


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("data_sha256", sa.String(length=64), nullable=False),
        sa.Column("parent_version", sa.String(length=64), nullable=True),
        sa.Column("trained_by", sa.String(length=64), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("registered_at", WHEN, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("promotion", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("requested_at", WHEN, nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("decision_reason", sa.String(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_model_versions_version")),
    )
    op.create_table(
        "pd_overlays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sector", sa.String(length=8), nullable=False),
        sa.Column("factor", sa.Numeric(precision=8, scale=4), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pd_overlays")),
    )
    op.create_table(
        "pd_predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("run", sa.String(length=32), nullable=False),
        sa.Column("model_pd", PD, nullable=False),
        sa.Column("overlay_id", sa.Integer(), nullable=True),
        sa.Column("overlay_factor", sa.Numeric(precision=8, scale=4), nullable=True),
        sa.Column("probability_of_default", PD, nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("previous_grade", sa.String(length=8), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("challenger_version_id", sa.Integer(), nullable=True),
        sa.Column("challenger_pd", PD, nullable=True),
        sa.Column("scored_by", sa.String(length=64), nullable=False),
        sa.Column("scored_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_pd_predictions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_pd_predictions_model_version_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["challenger_version_id"],
            ["model_versions.id"],
            name=op.f("fk_pd_predictions_challenger_version_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["overlay_id"], ["pd_overlays.id"], name=op.f("fk_pd_predictions_overlay_id_pd_overlays")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pd_predictions")),
    )
    op.create_index("ix_pd_predictions_customer", "pd_predictions", ["customer_id", "id"])
    op.create_index(op.f("ix_pd_predictions_run"), "pd_predictions", ["run"])
    op.create_table(
        "model_health",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("run", sa.String(length=32), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("psi", sa.Numeric(precision=10, scale=4), nullable=False),
        sa.Column("csi", sa.JSON(), nullable=False),
        sa.Column("realised", sa.JSON(), nullable=False),
        sa.Column("review_needed", sa.Boolean(), nullable=False),
        sa.Column("checked_by", sa.String(length=64), nullable=False),
        sa.Column("checked_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name=op.f("fk_model_health_model_version_id_model_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_health")),
    )
    op.create_index(op.f("ix_model_health_model_version_id"), "model_health", ["model_version_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_model_health_model_version_id"), table_name="model_health")
    op.drop_table("model_health")
    op.drop_index(op.f("ix_pd_predictions_run"), table_name="pd_predictions")
    op.drop_index("ix_pd_predictions_customer", table_name="pd_predictions")
    op.drop_table("pd_predictions")
    op.drop_table("pd_overlays")
    op.drop_table("model_versions")
