"""notices: an audience (developments, buyers, syndics) and e-mail sent once per client

Revision ID: notices_0001_audience
Revises: 0007
Create Date: 2026-11-22 21:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "notices_0001_audience"
down_revision = "0007"
branch_labels = ("notices",)
depends_on = None


def upgrade():
    # notices written before audiences existed keep reaching every client
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("for_buyers", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("for_syndics", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("all_developments", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column("send_email", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        "notice_developments",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("development_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"],
                                name=op.f("fk_notice_developments_notice_id_notices"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["development_id"], ["developments.id"],
                                name=op.f("fk_notice_developments_development_id_developments"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("notice_id", "development_id",
                                name=op.f("pk_notice_developments")),
    )
    with op.batch_alter_table("notice_developments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_developments_development_id"),
                              ["development_id"], unique=False)
    op.create_table(
        "notice_recipients",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"],
                                name=op.f("fk_notice_recipients_notice_id_notices"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_notice_recipients_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("notice_id", "user_id", name=op.f("pk_notice_recipients")),
    )
    with op.batch_alter_table("notice_recipients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_recipients_outbox_id"), ["outbox_id"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("notice_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_recipients_outbox_id"))
    op.drop_table("notice_recipients")
    with op.batch_alter_table("notice_developments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_developments_development_id"))
    op.drop_table("notice_developments")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("send_email")
        batch_op.drop_column("all_developments")
        batch_op.drop_column("for_syndics")
        batch_op.drop_column("for_buyers")
