"""page cache generations (runtime/pagecache.py), when Redis does not hold them

Revision ID: cache_0001_generations
Revises: 0009_portal_access
Create Date: 2026-11-23 01:00:00
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = 'cache_0001_generations'
down_revision = '0009_portal_access'
branch_labels = ('cache',)
depends_on = None


def upgrade():
    table = op.create_table(
        'cache_generations',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_cache_generations')),
    )
    # the shared generation every cached page is filed under; users get theirs on first write
    op.bulk_insert(table, [{'key': 'everyone', 'token': secrets.token_hex(8)}])


def downgrade():
    op.drop_table('cache_generations')
