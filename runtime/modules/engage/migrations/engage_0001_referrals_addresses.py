"""engage: referrals, address confirmations and their re-checks (its own branch from 0007)

Revision ID: engage_0001_referrals_addresses
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "engage_0001_referrals_addresses"
down_revision = "0007"
branch_labels = ("engage",)
depends_on = None


def upgrade():
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("development_id", sa.Integer(), nullable=True),
        sa.Column("consent_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status_at", sa.DateTime(), nullable=False),
        sa.Column("status_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_referrals_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["development_id"], ["developments.id"],
                                name=op.f("fk_referrals_development_id_developments"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["status_by_id"], ["users.id"],
                                name=op.f("fk_referrals_status_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_development_id"), ["development_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_created_at"), ["created_at"],
                              unique=False)
        batch_op.create_index("ix_referrals_status_created_at", ["status", "created_at"],
                              unique=False)
    op.create_table(
        "address_confirmations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("asked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_address_confirmations_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_address_confirmations")),
    )
    with op.batch_alter_table("address_confirmations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_address_confirmations_confirmed_at"),
                              ["confirmed_at"], unique=False)
    op.create_table(
        "address_rechecks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("development_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("asked_by_id", sa.Integer(), nullable=True),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["development_id"], ["developments.id"],
                                name=op.f("fk_address_rechecks_development_id_developments"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["asked_by_id"], ["users.id"],
                                name=op.f("fk_address_rechecks_asked_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_rechecks")),
    )
    with op.batch_alter_table("address_rechecks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_address_rechecks_development_id"),
                              ["development_id"], unique=False)


def downgrade():
    op.drop_table("address_rechecks")
    op.drop_table("address_confirmations")
    op.drop_table("referrals")
