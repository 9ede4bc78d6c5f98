"""page cache generations (runtime/pagecache.py), when Redis does not hold them

Revision ID: cache_0001_generations
Revises: 0009_portal_access
Create Date: 2026-11-23 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'cache_0001_generations'
down_revision = '0009_portal_access'
branch_labels = ('cache',)
depends_on = None


def upgrade():
    # no row: the shared token is made on the first page read (runtime/pagecache.py), so a
    # migrated, unused database stays empty (portal restore checks that)
    op.create_table(
        'cache_generations',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_cache_generations')),
    )


def downgrade():
    op.drop_table('cache_generations')
