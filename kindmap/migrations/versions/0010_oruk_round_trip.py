"""oruk round trip: the id an ORUK record's service is re-exported under

Revision ID: 0010_oruk_round_trip
Revises: 0009_carer_my_places
Create Date: 2026-12-07 15:45:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0010_oruk_round_trip'
down_revision = '0009_carer_my_places'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('placeextra', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_placeextra_service_id'), ['service_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('placeextra', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placeextra_service_id'))
        batch_op.drop_column('service_id')
