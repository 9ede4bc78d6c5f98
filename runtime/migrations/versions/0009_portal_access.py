"""log in by phone, portal access switched per client and per development

Revision ID: 0009_portal_access
Revises: 0007
Create Date: 2026-11-22 21:45:00
"""

import re

import sqlalchemy as sa
from alembic import op

revision = '0009_portal_access'
down_revision = '0007'
branch_labels = None
depends_on = None


def _national(value):
    """runtime/phones.py's national() as of this revision (a migration never changes)."""
    number = re.sub(r"\D", "", value or "")
    if len(number) in (12, 13) and number.startswith("55"):
        number = number[2:]
    elif len(number) in (11, 12) and number.startswith("0"):
        number = number[1:]
    if len(number) not in (10, 11) or "0" in number[:2]:
        return None
    if (len(number) == 11 and number[2] != "9") or (len(number) == 10 and number[2] in "01"):
        return None
    return number


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_digits', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('portal_access', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
        batch_op.add_column(sa.Column('access_note', sa.String(length=300), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_phone_digits'), ['phone_digits'],
                              unique=False)
    with op.batch_alter_table('developments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('portal_access', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
        batch_op.add_column(sa.Column('access_note', sa.String(length=300), nullable=True))
    # the numbers accounts already have, in the form the login looks them up by
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('phone', sa.String),
                     sa.column('phone_digits', sa.String))
    conn = op.get_bind()
    rows = conn.execute(sa.select(users.c.id, users.c.phone)
                        .where(users.c.phone.is_not(None))).all()
    for user_id, phone in rows:
        number = _national(phone)
        if number:
            conn.execute(users.update().where(users.c.id == user_id)
                         .values(phone_digits=number))


def downgrade():
    with op.batch_alter_table('developments', schema=None) as batch_op:
        batch_op.drop_column('access_note')
        batch_op.drop_column('portal_access')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_phone_digits'))
        batch_op.drop_column('access_note')
        batch_op.drop_column('portal_access')
        batch_op.drop_column('phone_digits')
