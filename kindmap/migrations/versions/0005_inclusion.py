"""inclusion: every place gets a listing (welcoming, support, facility, excluded), decided now

Adds ``place.listing`` / ``place.listing_rule`` and ``place_source.tags_json``, then applies the
inclusion rule (``geodata/inclusion.json``, as shipped with this version) to every existing place
from what the database holds (category, name, free_to_use; OSM tags are not stored before this
revision, so tag-only rules such as brands and hotels apply at the next OSM re-import), makes a
support service for each place listed as support, and writes the change report: logged, and saved
as JSON under ``<state dir>/reports/`` when that folder can be written.

Revision ID: 0005_inclusion
Revises: 0004_carer_account_links
Create Date: 2026-12-07 13:00:00
"""
import json
import logging

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005_inclusion'
down_revision = '0005_carer_not_for_us'
branch_labels = None
depends_on = None

log = logging.getLogger("kindmap.migrations")

_place = sa.table(
    "place", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("category", sa.String),
    sa.column("free_to_use", sa.Boolean), sa.column("no_purchase_needed", sa.Boolean), sa.column("drop_in", sa.Boolean),
    sa.column("listing", sa.String), sa.column("listing_rule", sa.String), sa.column("status", sa.String),
    sa.column("region_id", sa.Integer), sa.column("lon", sa.Float), sa.column("lat", sa.Float),
    sa.column("opening_hours", sa.String), sa.column("phone", sa.String), sa.column("email", sa.String),
    sa.column("website", sa.String), sa.column("description", sa.String), sa.column("source_licence", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listing', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                      server_default='welcoming'))
        batch_op.add_column(sa.Column('listing_rule', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True))
        batch_op.create_index(batch_op.f('ix_place_listing'), ['listing'], unique=False)
    with op.batch_alter_table('place_source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tags_json', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    _reclassify()


def _reclassify() -> None:
    """Apply the inclusion rule to the places already stored; log and save the change report."""
    from kindmap.ingest.inclusion import load_rules

    rules = load_rules()
    conn = op.get_bind()
    rows = conn.execute(sa.select(_place)).mappings().all()
    changes: dict[str, dict] = {}
    counts: dict[str, int] = {}
    support: list[dict] = []
    for row in rows:
        decision = rules.decide(category=row["category"], name=row["name"],
                                fields={k: row[k] for k in ("free_to_use", "no_purchase_needed", "drop_in")})
        listing = decision.listing.value
        counts[listing] = counts.get(listing, 0) + 1
        conn.execute(sa.update(_place).where(_place.c.id == row["id"]).values(listing=listing, listing_rule=decision.rule))
        if listing != "welcoming":
            entry = changes.setdefault(decision.rule, {"rule": decision.rule, "listing": listing,
                                                       "reason": decision.reason, "count": 0, "places": []})
            entry["count"] += 1
            entry["places"].append({"place_id": row["id"], "name": row["name"]})
        if listing == "support" and row["status"] == "published":
            support.append(dict(row, kind=rules.support_kind(category=row["category"], name=row["name"])))
    _support_rows(conn, support)
    report = {"kind": "reclassify", "why": "upgrade to 0005_inclusion", "places": len(rows), "listings": counts,
              "left_out": sorted(changes.values(), key=lambda e: (-e["count"], e["rule"]))}
    if rows:
        log.warning("inclusion rule applied on upgrade: %s", "; ".join(
            f"{e['count']} {e['listing']} ({e['rule']}): {', '.join(p['name'] for p in e['places'][:10])}"
            + ("…" if e["count"] > 10 else "") for e in report["left_out"]) or "every place stays welcoming")
        _save(report)


_KINDS = ('shared_lives_scheme_office', 'advice', 'carers_support', 'food_support', 'mental_health', 'befriending',
          'transport', 'other')
_support = sa.table(
    "supportservice", sa.column("source", sa.String), sa.column("source_id", sa.String),
    sa.column("source_licence", sa.String), sa.column("sample", sa.Boolean), sa.column("phone", sa.String),
    sa.column("email", sa.String), sa.column("website", sa.String), sa.column("name", sa.String),
    sa.column("kind", sa.Enum(*_KINDS, name="supportkind")), sa.column("description", sa.String),
    sa.column("region", sa.String), sa.column("place_id", sa.Integer), sa.column("lon", sa.Float),
    sa.column("lat", sa.Float), sa.column("opening_hours", sa.String),
    sa.column("status", sa.Enum("published", "pending", name="activitystatus")), sa.column("area_codes", sa.JSON),
    sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime), sa.column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime),
)


def _support_rows(conn, places: list[dict]) -> None:
    """One support service per place listed as support (as kindmap.services.catalogue.support_layer makes them)."""
    from kindmap.models.common import utcnow

    now = utcnow()
    slugs = dict(conn.execute(sa.text("SELECT id, slug FROM region")).all())
    rows = [{
        "source": "place", "source_id": f"place/{p['id']}", "source_licence": p["source_licence"], "sample": False,
        "phone": p["phone"], "email": p["email"], "website": p["website"], "name": p["name"], "kind": p["kind"],
        "description": p["description"], "region": slugs.get(p["region_id"]), "place_id": p["id"], "lon": p["lon"],
        "lat": p["lat"], "opening_hours": p["opening_hours"] if p["opening_hours"] and len(p["opening_hours"]) <= 255 else None,
        "status": "published", "area_codes": [], "created_at": now, "updated_at": now,
    } for p in places]
    if rows:
        op.bulk_insert(_support, rows)


def _save(report: dict) -> None:
    try:
        from kindmap.config import get_settings
        from kindmap.models.common import utcnow

        folder = get_settings().state_dir / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"reclassify-upgrade-{utcnow():%Y%m%dT%H%M%SZ}.json"
        path.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
        log.warning("inclusion change report saved to %s", path)
    except OSError as exc:  # the report is also in the log above; never fail the upgrade for it
        log.warning("inclusion change report not saved (%s)", exc)


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM supportservice WHERE source = 'place'"))
    with op.batch_alter_table('place_source', schema=None) as batch_op:
        batch_op.drop_column('tags_json')
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_place_listing'))
        batch_op.drop_column('listing_rule')
        batch_op.drop_column('listing')
