"""areas: ward, deprivation score and method, map share; region map extent (issue 16)

All nullable: existing areas keep their rows; a re-import from the national tables fills them.

Revision ID: 0002_area_ward
Revises: 0001_baseline
Create Date: 2026-12-07 12:30:16.184868
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0002_area_ward'
down_revision = '0001_baseline'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('area', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deprivation_score', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('deprivation_method', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('ward_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('ward_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('map_share', sa.Float(), nullable=True))

    with op.batch_alter_table('region', schema=None) as batch_op:
        batch_op.add_column(sa.Column('map_extent_geojson', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('region', schema=None) as batch_op:
        batch_op.drop_column('map_extent_geojson')

    with op.batch_alter_table('area', schema=None) as batch_op:
        batch_op.drop_column('map_share')
        batch_op.drop_column('ward_name')
        batch_op.drop_column('ward_code')
        batch_op.drop_column('deprivation_method')
        batch_op.drop_column('deprivation_score')
