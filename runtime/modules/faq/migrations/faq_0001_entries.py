"""faq: entries seeded from the tenant file and edited in the staff console (its own branch)

Revision ID: faq_0001_entries
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "faq_0001_entries"
down_revision = "0007"
branch_labels = ("faq",)
depends_on = None


def upgrade():
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=True),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("answer_html", sa.Text(), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("edited_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["edited_by_id"], ["users.id"],
                                name=op.f("fk_faq_entries_edited_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_entries")),
        sa.UniqueConstraint("source_key", name=op.f("uq_faq_entries_source_key")),
    )
    with op.batch_alter_table("faq_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_faq_entries_position"), ["position"], unique=False)


def downgrade():
    op.drop_table("faq_entries")
