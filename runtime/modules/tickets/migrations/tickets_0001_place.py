"""tickets: the place a request is about (a unit or a common area)

Revision ID: tickets_0001_place
Revises: 0008_common_areas
"""

import sqlalchemy as sa
from alembic import op

revision = "tickets_0001_place"
down_revision = "0008_common_areas"
branch_labels = ("tickets",)
depends_on = None


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("common_area_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_tickets_unit_id_units"),
                                    "units", ["unit_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_tickets_common_area_id_common_areas"),
                                    "common_areas", ["common_area_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_tickets_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_common_area_id"), ["common_area_id"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_common_area_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_unit_id"))
        batch_op.drop_constraint(batch_op.f("fk_tickets_common_area_id_common_areas"),
                                 type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_tickets_unit_id_units"), type_="foreignkey")
        batch_op.drop_column("common_area_id")
        batch_op.drop_column("unit_id")
