"""catalogue change counter: one row bumped by triggers on every write to place (issue 21)

Revision ID: 0003_catalogue_version
Revises: 0002_catalogue_names
Create Date: 2026-12-07 13:00:00
"""
import sqlalchemy as sa
from alembic import op

from kindmap.models.catalogue_version import drop_ddl, trigger_ddl

revision = '0003_catalogue_version'
down_revision = '0002_catalogue_names'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    for sql in trigger_ddl(op.get_bind().dialect.name):
        op.execute(sql)


def downgrade() -> None:
    for sql in drop_ddl(op.get_bind().dialect.name):
        op.execute(sql)
    op.drop_table('catalogue_version')
