"""oruk round trip: the id an ORUK record's service is re-exported under

Revision ID: 0010_oruk_round_trip
Revises: 0009_carer_my_places
Create Date: 2026-12-07 15:45:00
"""
import json
import uuid

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
    # Records imported before: the id their place is now exported under (as kindmap.ingest.oruk.service_id_for).
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, data_json FROM placeextra WHERE source = 'oruk' AND place_id IS NOT NULL")).all()
    for row_id, data in rows:
        try:
            raw = json.loads(data)
            service, sal = raw["service"], raw["service_at_location"]
            first = (service.get("service_at_locations") or [{}])[0].get("id") == sal.get("id")
            value = str(service["id"]) if first else str(uuid.uuid5(uuid.UUID(str(service["id"])), str(sal.get("id"))))
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
            continue
        conn.execute(sa.text("UPDATE placeextra SET service_id = :v WHERE id = :i"), {"v": value[:120], "i": row_id})


def downgrade() -> None:
    with op.batch_alter_table('placeextra', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placeextra_service_id'))
        batch_op.drop_column('service_id')
