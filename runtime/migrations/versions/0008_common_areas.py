"""common areas of a development (requests about a place)

Revision ID: 0008_common_areas
Revises: 0007
Create Date: 2026-11-22 21:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_common_areas"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "common_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("development_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["development_id"], ["developments.id"],
                                name=op.f("fk_common_areas_development_id_developments"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_common_areas")),
        sa.UniqueConstraint("development_id", "external_id",
                            name=op.f("uq_common_areas_development_id")),
    )
    with op.batch_alter_table("common_areas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_common_areas_development_id"),
                              ["development_id"], unique=False)


def downgrade():
    with op.batch_alter_table("common_areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_common_areas_development_id"))
    op.drop_table("common_areas")
