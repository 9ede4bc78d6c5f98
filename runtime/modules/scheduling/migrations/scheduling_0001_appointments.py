"""scheduling: appointments, slot counters and blocked dates (its own branch from 0007)

Revision ID: scheduling_0001_appointments
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "scheduling_0001_appointments"
down_revision = "0007"
branch_labels = ("scheduling",)
depends_on = None


def upgrade():
    op.create_table(
        "scheduling_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.String(length=64), nullable=False),
        sa.Column("development_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["development_id"], ["developments.id"],
                                name=op.f("fk_scheduling_slots_development_id_developments"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduling_slots")),
        sa.UniqueConstraint("type_id", "development_id", "starts_at",
                            name=op.f("uq_scheduling_slots_type_id")),
    )
    op.create_index(op.f("ix_scheduling_slots_development_id"), "scheduling_slots",
                    ["development_id"], unique=False)
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("development_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("type_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["development_id"], ["developments.id"],
                                name=op.f("fk_appointments_development_id_developments"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["technician_id"], ["users.id"],
                                name=op.f("fk_appointments_technician_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_appointments_ticket_id_tickets"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_appointments_unit_id_units"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_appointments_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    op.create_index(op.f("ix_appointments_development_id"), "appointments", ["development_id"],
                    unique=False)
    op.create_index("ix_appointments_starts_at_status", "appointments",
                    ["starts_at", "status"], unique=False)
    op.create_index("ix_appointments_user_id_starts_at", "appointments",
                    ["user_id", "starts_at"], unique=False)
    op.create_table(
        "scheduling_blocked_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("development_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["development_id"], ["developments.id"],
                                name=op.f("fk_scheduling_blocked_dates_development_id_developments"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduling_blocked_dates")),
        sa.UniqueConstraint("day", "development_id",
                            name=op.f("uq_scheduling_blocked_dates_day")),
    )
    op.create_index(op.f("ix_scheduling_blocked_dates_day"), "scheduling_blocked_dates",
                    ["day"], unique=False)


def downgrade():
    op.drop_table("scheduling_blocked_dates")
    op.drop_table("appointments")
    op.drop_table("scheduling_slots")
