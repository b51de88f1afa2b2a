"""schools and clinics; versions, closing dates, unique identity numbers, export details

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

The gaps the records work left: a table of public facilities (schools, kindergartens,
universities, clinics, hospitals) for school catchments and a hazardous site's sensitive
places; a version on temporary registrations and facility issues so a stale change is a 409;
the day a dispute was resolved or referred; one resident per identity number; and what an
export was asked for, in the audit log.
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# The day a dispute was closed, where the change history says it: the local day of the change
# that moved it to resolved or referred (the demo's and later disputes; older ones stay NULL).
_CLOSED_FROM_HISTORY = """
    UPDATE dispute d SET closed_on = closed.day
    FROM (
        SELECT c.record_id, max((c.changed_at AT TIME ZONE
                                 COALESCE((SELECT timezone FROM area WHERE id = 1), 'UTC'))::date) AS day
        FROM change_log c
        WHERE c.record_table = 'dispute' AND c.changes ? 'status'
          AND c.changes -> 'status' ->> 1 IN ('resolved', 'referred')
        GROUP BY c.record_id
    ) closed
    WHERE d.id = closed.record_id AND d.status IN ('resolved', 'referred') AND closed.day >= d.reported_on
"""

# A unique index over duplicates fails with the duplicated hash in its message; say what to do.
_NO_DUPLICATE_IDENTITIES = """
    DO $$
    DECLARE shared integer;
    BEGIN
        SELECT count(*) INTO shared FROM (
            SELECT id_hash FROM resident WHERE id_hash IS NOT NULL GROUP BY id_hash HAVING count(*) > 1) d;
        IF shared > 0 THEN
            RAISE EXCEPTION '% identity numbers are registered to more than one resident; merge those '
                            'records (one person, one resident) and migrate again', shared;
        END IF;
    END $$
"""


def upgrade() -> None:
    op.create_geospatial_table('public_facility',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('osm_id', sa.BigInteger(), nullable=True),
    sa.Column('building_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("kind IN ('school', 'kindergarten', 'university', 'clinic', 'hospital')", name=op.f('ck_public_facility_kind')),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_public_facility_building_id_building'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_facility'))
    )
    op.create_geospatial_index('idx_public_facility_geom', 'public_facility', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_public_facility_building_id'), 'public_facility', ['building_id'], unique=False)

    op.add_column('temporary_registration', sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False))
    op.add_column('facility_issue', sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False))

    op.add_column('dispute', sa.Column('closed_on', sa.Date(), nullable=True))
    op.execute(_CLOSED_FROM_HISTORY)
    op.create_check_constraint(op.f('ck_dispute_closed_when_done'), 'dispute',
                               "closed_on IS NULL OR status IN ('resolved', 'referred')")
    op.create_check_constraint(op.f('ck_dispute_closed_after_report'), 'dispute',
                               'closed_on IS NULL OR closed_on >= reported_on')

    op.execute(_NO_DUPLICATE_IDENTITIES)
    op.drop_index(op.f('ix_resident_id_hash'), table_name='resident')
    op.create_index('uq_resident_id_hash', 'resident', ['id_hash'], unique=True,
                    postgresql_where=sa.text('id_hash IS NOT NULL'))

    # Adding a column rewrites no row, so the append-only trigger has nothing to refuse.
    op.add_column('audit_log', sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column('audit_log', 'details')
    op.drop_index('uq_resident_id_hash', table_name='resident', postgresql_where=sa.text('id_hash IS NOT NULL'))
    op.create_index(op.f('ix_resident_id_hash'), 'resident', ['id_hash'], unique=False)
    op.drop_constraint(op.f('ck_dispute_closed_after_report'), 'dispute', type_='check')
    op.drop_constraint(op.f('ck_dispute_closed_when_done'), 'dispute', type_='check')
    op.drop_column('dispute', 'closed_on')
    op.drop_column('facility_issue', 'version')
    op.drop_column('temporary_registration', 'version')
    op.drop_index(op.f('ix_public_facility_building_id'), table_name='public_facility')
    op.drop_geospatial_index('idx_public_facility_geom', table_name='public_facility', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('public_facility')
