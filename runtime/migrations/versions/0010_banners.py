"""home banners: seeded from the tenant file, edited in the staff console

Revision ID: 0010_banners
Revises: 0009_portal_access
Create Date: 2026-11-23 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_banners"
down_revision = "0009_portal_access"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "banners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alt", sa.String(length=200), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("image", sa.String(length=100), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("source_key", sa.String(length=64), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("edited_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["edited_by_id"], ["users.id"],
                                name=op.f("fk_banners_edited_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_banners")),
        sa.UniqueConstraint("source_key", name=op.f("uq_banners_source_key")),
    )
    with op.batch_alter_table("banners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_banners_position"), ["position"], unique=False)


def downgrade():
    op.drop_table("banners")
