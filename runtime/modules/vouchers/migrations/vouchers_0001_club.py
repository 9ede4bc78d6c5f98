"""vouchers: the benefits club's offers, codes and redemptions (its own branch from 0007)

Revision ID: vouchers_0001_club
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "vouchers_0001_club"
down_revision = "0007"
branch_labels = ("vouchers",)
depends_on = None


def upgrade():
    op.create_table(
        "vouchers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=True),
        sa.Column("image", sa.String(length=100), nullable=True),
        sa.Column("image_digest", sa.String(length=64), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("shared_code", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("partner", "title", name=op.f("uq_vouchers_partner")),
    )
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vouchers_partner"), ["partner"], unique=False)
        batch_op.create_index(batch_op.f("ix_vouchers_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_vouchers_valid_until"), ["valid_until"],
                              unique=False)
    op.create_table(
        "voucher_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["voucher_id"], ["vouchers.id"],
                                name=op.f("fk_voucher_codes_voucher_id_vouchers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_codes")),
        sa.UniqueConstraint("voucher_id", "code", name=op.f("uq_voucher_codes_voucher_id")),
    )
    with op.batch_alter_table("voucher_codes", schema=None) as batch_op:
        batch_op.create_index("ix_voucher_codes_voucher_id_claimed_at",
                              ["voucher_id", "claimed_at"], unique=False)
    op.create_table(
        "voucher_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["voucher_id"], ["vouchers.id"],
                                name=op.f("fk_voucher_redemptions_voucher_id_vouchers"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_voucher_redemptions_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["code_id"], ["voucher_codes.id"],
                                name=op.f("fk_voucher_redemptions_code_id_voucher_codes"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_redemptions")),
        sa.UniqueConstraint("code_id", name=op.f("uq_voucher_redemptions_code_id")),
        sa.UniqueConstraint("voucher_id", "user_id",
                            name=op.f("uq_voucher_redemptions_voucher_id")),
    )
    with op.batch_alter_table("voucher_redemptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voucher_redemptions_user_id"), ["user_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_voucher_redemptions_redeemed_at"),
                              ["redeemed_at"], unique=False)


def downgrade():
    op.drop_table("voucher_redemptions")
    op.drop_table("voucher_codes")
    op.drop_table("vouchers")
