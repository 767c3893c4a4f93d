"""postcodes: a covering index for reading a region's postcodes by area (gap analysis at scale, issue 21)

Revision ID: 0006_postcode_area_cover
Revises: 0005_inclusion
Create Date: 2026-12-07 13:35:00
"""
from alembic import op

revision = '0006_postcode_area_cover'
down_revision = '0005_inclusion'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('postcode', schema=None) as batch_op:
        batch_op.create_index('ix_postcode_area_cover', ['area_code', 'postcode', 'lon', 'lat'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('postcode', schema=None) as batch_op:
        batch_op.drop_index('ix_postcode_area_cover')
