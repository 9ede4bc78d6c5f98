"""finance: instalments and annual statements imported from the ERP

Revision ID: finance_0001_instalments
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "finance_0001_instalments"
down_revision = "0007"
branch_labels = ("finance",)
depends_on = None


def upgrade():
    op.create_table(
        "instalments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("paid_cents", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("boleto_url", sa.String(length=1000), nullable=True),
        sa.Column("digitable_line", sa.String(length=48), nullable=True),
        sa.Column("pix_code", sa.String(length=512), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"],
                                name=op.f("fk_instalments_contract_id_contracts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instalments")),
        sa.UniqueConstraint("contract_id", "number", name="uq_instalments_contract_id_number"),
    )
    op.create_index("ix_instalments_contract_id_due_on", "instalments",
                    ["contract_id", "due_on"], unique=False)
    op.create_table(
        "annual_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("stored_name", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"],
                                name=op.f("fk_annual_statements_contract_id_contracts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_statements")),
        sa.UniqueConstraint("contract_id", "year",
                            name="uq_annual_statements_contract_id_year"),
    )


def downgrade():
    op.drop_table("annual_statements")
    op.drop_index("ix_instalments_contract_id_due_on", table_name="instalments")
    op.drop_table("instalments")
