"""tickets: indexes for "My tickets" (its page in order, the finished ones to rate)

The page's rows come in (client_id, updated_at, id) order straight from an index, and the
finished tickets to rate from (client_id, status, finished_at), which also serves what
(client_id, status) served: that one goes.

Revision ID: tickets_0002_list_indexes
Revises: tickets_0001_place
"""

from alembic import op

revision = "tickets_0002_list_indexes"
down_revision = "tickets_0001_place"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_client_updated", ["client_id", "updated_at", "id"],
                              unique=False)
        batch_op.create_index("ix_tickets_client_status_finished",
                              ["client_id", "status", "finished_at"], unique=False)
        batch_op.drop_index("ix_tickets_client_status")


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_client_status", ["client_id", "status"],
                              unique=False)
        batch_op.drop_index("ix_tickets_client_status_finished")
        batch_op.drop_index("ix_tickets_client_updated")
