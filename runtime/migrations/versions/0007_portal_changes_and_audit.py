"""portal changes kept across ERP imports, audit of view-as

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-22 18:45:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('portal_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=20), nullable=False),
    sa.Column('old_value', sa.String(length=300), nullable=True),
    sa.Column('new_value', sa.String(length=300), nullable=True),
    sa.Column('applied_at', sa.DateTime(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('settled_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_portal_changes_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_portal_changes_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_changes'))
    )
    with op.batch_alter_table('portal_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_changes_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_changes_applied_at'), ['applied_at'], unique=False)
    # the audit screen filters by actor and by subject
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_subject_id'), ['subject_id'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_subject_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_actor_id'))
    with op.batch_alter_table('portal_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_changes_applied_at'))
        batch_op.drop_index(batch_op.f('ix_portal_changes_user_id'))
    op.drop_table('portal_changes')
