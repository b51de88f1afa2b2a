"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29

The whole beat: area, stations, beats, officers, focus areas, streets, buildings,
entrances, cameras, population, special trades, hazardous sites, incidents,
disputes, education, facilities, GPS fixes and patrol tracks.
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    op.create_geospatial_table('area',
    sa.Column('id', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('metric_srid', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_area_geom_valid')),
    sa.CheckConstraint('id = 1', name=op.f('ck_area_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_area'))
    )
    op.create_geospatial_index('idx_area_geom', 'area', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('building',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('osm_id', sa.BigInteger(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('address_code', sa.String(length=64), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('floors', sa.Float(), nullable=True),
    sa.Column('use', sa.String(length=32), server_default='residential', nullable=False),
    sa.Column('managed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('property_company', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_building_geom_valid')),
    sa.CheckConstraint('floors IS NULL OR floors > 0', name=op.f('ck_building_floors_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_building')),
    sa.UniqueConstraint('address_code', name=op.f('uq_building_address_code'))
    )
    op.create_geospatial_index('idx_building_geom', 'building', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_building_address'), 'building', ['address'], unique=False)
    op.create_geospatial_table('camera',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('osm_id', sa.BigInteger(), nullable=True),
    sa.Column('direction_deg', sa.Float(), nullable=True),
    sa.Column('fov_deg', sa.Float(), server_default=sa.text('360'), nullable=False),
    sa.Column('range_m', sa.Float(), server_default=sa.text('30'), nullable=False),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('working', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint('direction_deg IS NULL OR (direction_deg >= 0 AND direction_deg < 360)', name=op.f('ck_camera_direction_range')),
    sa.CheckConstraint('fov_deg > 0 AND fov_deg <= 360', name=op.f('ck_camera_fov_range')),
    sa.CheckConstraint('range_m > 0', name=op.f('ck_camera_range_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_camera'))
    )
    op.create_geospatial_index('idx_camera_geom', 'camera', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=16), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.Text(), nullable=True),
    sa.Column('audience', sa.Text(), nullable=True),
    sa.Column('audience_size', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("kind IN ('lecture', 'leaflet', 'notice', 'drill')", name=op.f('ck_campaign_kind')),
    sa.CheckConstraint("topic IN ('burglary', 'fraud', 'fire', 'disaster', 'other')", name=op.f('ck_campaign_topic')),
    sa.CheckConstraint('audience_size IS NULL OR audience_size >= 0', name=op.f('ck_campaign_audience_nonnegative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign'))
    )
    op.create_geospatial_index('idx_campaign_geom', 'campaign', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('facility_issue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("status IN ('open', 'assigned', 'fixed')", name=op.f('ck_facility_issue_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facility_issue'))
    )
    op.create_geospatial_index('idx_facility_issue_geom', 'facility_issue', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('hazardous_site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('keeper', sa.Text(), nullable=True),
    sa.Column('storage_ok', sa.Boolean(), nullable=True),
    sa.Column('risk_radius_m', sa.Float(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("category IN ('firearms', 'explosives', 'toxic_chemicals', 'radioactive', 'other')", name=op.f('ck_hazardous_site_category')),
    sa.CheckConstraint('quantity IS NULL OR quantity >= 0', name=op.f('ck_hazardous_site_quantity_nonnegative')),
    sa.CheckConstraint('risk_radius_m > 0', name=op.f('ck_hazardous_site_radius_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazardous_site'))
    )
    op.create_geospatial_index('idx_hazardous_site_geom', 'hazardous_site', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('incident',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), server_default='import', nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident'))
    )
    op.create_geospatial_index('idx_incident_geom', 'incident', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_incident_occurred_at'), 'incident', ['occurred_at'], unique=False)
    op.create_index(op.f('ix_incident_type'), 'incident', ['type'], unique=False)
    op.create_geospatial_table('service_station',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('opening_hours', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_station'))
    )
    op.create_geospatial_index('idx_service_station_geom', 'service_station', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('station',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station')),
    sa.UniqueConstraint('code', name=op.f('uq_station_code'))
    )
    op.create_geospatial_index('idx_station_geom', 'station', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('street_segment',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('osm_id', sa.BigInteger(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('highway', sa.String(length=32), server_default='unclassified', nullable=False),
    sa.Column('oneway', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('length_m', sa.Float(), nullable=False),
    sa.Column('source', sa.BigInteger(), nullable=True),
    sa.Column('target', sa.BigInteger(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_street_segment_geom_valid')),
    sa.CheckConstraint('length_m > 0', name=op.f('ck_street_segment_length_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_street_segment'))
    )
    op.create_geospatial_index('idx_street_segment_geom', 'street_segment', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_street_segment_source'), 'street_segment', ['source'], unique=False)
    op.create_index(op.f('ix_street_segment_target'), 'street_segment', ['target'], unique=False)
    op.create_geospatial_table('beat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_beat_geom_valid')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_beat_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beat')),
    sa.UniqueConstraint('code', name=op.f('uq_beat_code'))
    )
    op.create_geospatial_index('idx_beat_geom', 'beat', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('dispute',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('building_id', sa.BigInteger(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('parties_kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='reported', nullable=False),
    sa.Column('reported_by', sa.String(length=16), nullable=False),
    sa.Column('referred_to', sa.String(length=32), nullable=True),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("(status = 'referred') = (referred_to IS NOT NULL)", name=op.f('ck_dispute_referral_named')),
    sa.CheckConstraint("category IN ('renovation', 'noise', 'shared_space', 'property_division', 'elder_care', 'merchant_customer', 'employer_employee', 'other')", name=op.f('ck_dispute_category')),
    sa.CheckConstraint("parties_kind IN ('neighbours', 'family', 'merchant_customer', 'employer_employee', 'other')", name=op.f('ck_dispute_parties_kind')),
    sa.CheckConstraint("referred_to IS NULL OR referred_to IN ('mediation_committee', 'judicial_office')", name=op.f('ck_dispute_referred_to')),
    sa.CheckConstraint("reported_by IN ('block_captain', 'committee', 'patrol', 'resident')", name=op.f('ck_dispute_reported_by')),
    sa.CheckConstraint("status IN ('reported', 'mediating', 'resolved', 'referred')", name=op.f('ck_dispute_status')),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_dispute_building_id_building'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute'))
    )
    op.create_geospatial_index('idx_dispute_geom', 'dispute', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_dispute_building_id'), 'dispute', ['building_id'], unique=False)
    op.create_geospatial_table('entrance',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('building_id', sa.BigInteger(), nullable=True),
    sa.Column('osm_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=16), server_default='main', nullable=False),
    sa.Column('access_control', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('lit', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("kind IN ('main', 'service', 'garage', 'emergency', 'other')", name=op.f('ck_entrance_kind')),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_entrance_building_id_building'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entrance'))
    )
    op.create_geospatial_index('idx_entrance_geom', 'entrance', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_entrance_building_id'), 'entrance', ['building_id'], unique=False)
    op.create_geospatial_table('household',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('building_id', sa.BigInteger(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('room', sa.String(length=16), nullable=True),
    sa.Column('tenure', sa.String(length=16), server_default='registered', nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("tenure IN ('registered', 'rented')", name=op.f('ck_household_tenure')),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_household_building_id_building'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household'))
    )
    op.create_geospatial_index('idx_household_geom', 'household', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_household_building_id'), 'household', ['building_id'], unique=False)
    op.create_table('officer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('badge', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_officer_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officer')),
    sa.UniqueConstraint('badge', name=op.f('uq_officer_badge'))
    )
    op.create_geospatial_table('premises',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('osm_id', sa.BigInteger(), nullable=True),
    sa.Column('building_id', sa.BigInteger(), nullable=True),
    sa.Column('trade', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('licence_no', sa.String(length=64), nullable=True),
    sa.Column('responsible_person', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("trade IN ('hotel', 'scrap_buyer', 'locksmith', 'other')", name=op.f('ck_premises_trade')),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_premises_building_id_building'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_premises'))
    )
    op.create_geospatial_index('idx_premises_geom', 'premises', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_premises_building_id'), 'premises', ['building_id'], unique=False)
    op.create_geospatial_table('access_control_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entrance_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('working', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("kind IN ('card', 'code', 'intercom', 'face', 'other')", name=op.f('ck_access_control_device_kind')),
    sa.ForeignKeyConstraint(['entrance_id'], ['entrance.id'], name=op.f('fk_access_control_device_entrance_id_entrance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_control_device'))
    )
    op.create_geospatial_index('idx_access_control_device_geom', 'access_control_device', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_access_control_device_entrance_id'), 'access_control_device', ['entrance_id'], unique=False)
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('officer', 'supervisor', 'planner', 'admin')", name=op.f('ck_app_user_role')),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], name=op.f('fk_app_user_officer_id_officer'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_app_user_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_geospatial_table('focus_area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('beat_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('priority', sa.Float(), server_default=sa.text('1'), nullable=False),
    sa.Column('geom', Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON', 'LINESTRING', 'MULTILINESTRING')", name=op.f('ck_focus_area_geom_type')),
    sa.CheckConstraint("kind IN ('commercial_street', 'footpath', 'car_park', 'other')", name=op.f('ck_focus_area_kind')),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_focus_area_geom_valid')),
    sa.CheckConstraint('priority > 0', name=op.f('ck_focus_area_priority_positive')),
    sa.ForeignKeyConstraint(['beat_id'], ['beat.id'], name=op.f('fk_focus_area_beat_id_beat'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_focus_area'))
    )
    op.create_geospatial_index('idx_focus_area_geom', 'focus_area', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_focus_area_beat_id'), 'focus_area', ['beat_id'], unique=False)
    op.create_geospatial_table('gps_fix',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint('accuracy_m IS NULL OR accuracy_m >= 0', name=op.f('ck_gps_fix_accuracy_nonnegative')),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], name=op.f('fk_gps_fix_officer_id_officer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gps_fix'))
    )
    op.create_geospatial_index('idx_gps_fix_geom', 'gps_fix', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_gps_fix_officer_time', 'gps_fix', ['officer_id', 'recorded_at'], unique=False)
    op.create_index('ix_gps_fix_recorded_at_brin', 'gps_fix', ['recorded_at'], unique=False, postgresql_using='brin')
    op.create_table('home_visit',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('next_due', sa.Date(), nullable=True),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_home_visit_household_id_household'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], name=op.f('fk_home_visit_officer_id_officer'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_home_visit'))
    )
    op.create_index(op.f('ix_home_visit_household_id'), 'home_visit', ['household_id'], unique=False)
    op.create_table('inspection',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('premises_id', sa.BigInteger(), nullable=True),
    sa.Column('hazardous_site_id', sa.Integer(), nullable=True),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('next_due', sa.Date(), nullable=True),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint('(premises_id IS NULL) <> (hazardous_site_id IS NULL)', name=op.f('ck_inspection_one_subject')),
    sa.CheckConstraint('next_due IS NULL OR next_due >= inspected_on', name=op.f('ck_inspection_due_after')),
    sa.ForeignKeyConstraint(['hazardous_site_id'], ['hazardous_site.id'], name=op.f('fk_inspection_hazardous_site_id_hazardous_site'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], name=op.f('fk_inspection_officer_id_officer'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], name=op.f('fk_inspection_premises_id_premises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection'))
    )
    op.create_index(op.f('ix_inspection_hazardous_site_id'), 'inspection', ['hazardous_site_id'], unique=False)
    op.create_index(op.f('ix_inspection_premises_id'), 'inspection', ['premises_id'], unique=False)
    op.create_table('mediation',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('dispute_id', sa.BigInteger(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.ForeignKeyConstraint(['dispute_id'], ['dispute.id'], name=op.f('fk_mediation_dispute_id_dispute'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], name=op.f('fk_mediation_officer_id_officer'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation'))
    )
    op.create_index(op.f('ix_mediation_dispute_id'), 'mediation', ['dispute_id'], unique=False)
    op.create_table('officer_beat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('beat_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_officer_beat_dates_ordered')),
    sa.ForeignKeyConstraint(['beat_id'], ['beat.id'], name=op.f('fk_officer_beat_beat_id_beat'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], name=op.f('fk_officer_beat_officer_id_officer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officer_beat'))
    )
    op.create_index(op.f('ix_officer_beat_beat_id'), 'officer_beat', ['beat_id'], unique=False)
    op.create_index(op.f('ix_officer_beat_officer_id'), 'officer_beat', ['officer_id'], unique=False)
    op.create_geospatial_table('patrol_track',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('n_fixes', sa.Integer(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='LINESTRINGM', srid=4326, dimension=3, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint('ended_at >= started_at', name=op.f('ck_patrol_track_times_ordered')),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], name=op.f('fk_patrol_track_officer_id_officer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_track')),
    sa.UniqueConstraint('officer_id', 'started_at', name=op.f('uq_patrol_track_officer_id_started_at'))
    )
    op.create_geospatial_index('idx_patrol_track_geom', 'patrol_track', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_patrol_track_officer_id'), 'patrol_track', ['officer_id'], unique=False)
    op.create_table('resident',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('id_hash', sa.LargeBinary(), nullable=True),
    sa.Column('id_last4', sa.String(length=4), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('lives_alone', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('needs_home_service', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("category IN ('permanent', 'temporary', 'floating')", name=op.f('ck_resident_category')),
    sa.CheckConstraint('birth_year BETWEEN 1880 AND 2100', name=op.f('ck_resident_birth_year_range')),
    sa.CheckConstraint('id_last4 IS NULL OR length(id_last4) = 4', name=op.f('ck_resident_id_last4_length')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_resident_household_id_household'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident'))
    )
    op.create_index(op.f('ix_resident_household_id'), 'resident', ['household_id'], unique=False)
    op.create_index(op.f('ix_resident_id_hash'), 'resident', ['id_hash'], unique=False)
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('record_table', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=True),
    sa.Column('client', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_audit_log_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_table('change_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('record_table', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['changed_by'], ['app_user.id'], name=op.f('fk_change_log_changed_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_log'))
    )
    op.create_table('movement',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=True),
    sa.Column('building_id', sa.BigInteger(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('moved_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_movement_direction')),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_movement_building_id_building'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_movement_resident_id_resident'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_movement'))
    )
    op.create_index(op.f('ix_movement_building_id'), 'movement', ['building_id'], unique=False)
    op.create_index(op.f('ix_movement_resident_id'), 'movement', ['resident_id'], unique=False)
    op.create_table('temporary_registration',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('employer', sa.Text(), nullable=True),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint('valid_to >= valid_from', name=op.f('ck_temporary_registration_dates_ordered')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_temporary_registration_resident_id_resident'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_temporary_registration'))
    )
    op.create_index(op.f('ix_temporary_registration_resident_id'), 'temporary_registration', ['resident_id'], unique=False)

    # The audit log is append-only: no route, bug or user of the app role can rewrite it.
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only';
        END $$;
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
        """
    )

def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_index(op.f('ix_temporary_registration_resident_id'), table_name='temporary_registration')
    op.drop_table('temporary_registration')
    op.drop_index(op.f('ix_movement_resident_id'), table_name='movement')
    op.drop_index(op.f('ix_movement_building_id'), table_name='movement')
    op.drop_table('movement')
    op.drop_table('change_log')
    op.drop_table('audit_log')
    op.drop_index(op.f('ix_resident_id_hash'), table_name='resident')
    op.drop_index(op.f('ix_resident_household_id'), table_name='resident')
    op.drop_table('resident')
    op.drop_index(op.f('ix_patrol_track_officer_id'), table_name='patrol_track')
    op.drop_geospatial_index('idx_patrol_track_geom', table_name='patrol_track', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('patrol_track')
    op.drop_index(op.f('ix_officer_beat_officer_id'), table_name='officer_beat')
    op.drop_index(op.f('ix_officer_beat_beat_id'), table_name='officer_beat')
    op.drop_table('officer_beat')
    op.drop_index(op.f('ix_mediation_dispute_id'), table_name='mediation')
    op.drop_table('mediation')
    op.drop_index(op.f('ix_inspection_premises_id'), table_name='inspection')
    op.drop_index(op.f('ix_inspection_hazardous_site_id'), table_name='inspection')
    op.drop_table('inspection')
    op.drop_index(op.f('ix_home_visit_household_id'), table_name='home_visit')
    op.drop_table('home_visit')
    op.drop_index('ix_gps_fix_recorded_at_brin', table_name='gps_fix', postgresql_using='brin')
    op.drop_index('ix_gps_fix_officer_time', table_name='gps_fix')
    op.drop_geospatial_index('idx_gps_fix_geom', table_name='gps_fix', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('gps_fix')
    op.drop_index(op.f('ix_focus_area_beat_id'), table_name='focus_area')
    op.drop_geospatial_index('idx_focus_area_geom', table_name='focus_area', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('focus_area')
    op.drop_table('app_user')
    op.drop_index(op.f('ix_access_control_device_entrance_id'), table_name='access_control_device')
    op.drop_geospatial_index('idx_access_control_device_geom', table_name='access_control_device', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('access_control_device')
    op.drop_index(op.f('ix_premises_building_id'), table_name='premises')
    op.drop_geospatial_index('idx_premises_geom', table_name='premises', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('premises')
    op.drop_table('officer')
    op.drop_index(op.f('ix_household_building_id'), table_name='household')
    op.drop_geospatial_index('idx_household_geom', table_name='household', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('household')
    op.drop_index(op.f('ix_entrance_building_id'), table_name='entrance')
    op.drop_geospatial_index('idx_entrance_geom', table_name='entrance', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('entrance')
    op.drop_index(op.f('ix_dispute_building_id'), table_name='dispute')
    op.drop_geospatial_index('idx_dispute_geom', table_name='dispute', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('dispute')
    op.drop_geospatial_index('idx_beat_geom', table_name='beat', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('beat')
    op.drop_index(op.f('ix_street_segment_target'), table_name='street_segment')
    op.drop_index(op.f('ix_street_segment_source'), table_name='street_segment')
    op.drop_geospatial_index('idx_street_segment_geom', table_name='street_segment', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('street_segment')
    op.drop_geospatial_index('idx_station_geom', table_name='station', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('station')
    op.drop_geospatial_index('idx_service_station_geom', table_name='service_station', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('service_station')
    op.drop_index(op.f('ix_incident_type'), table_name='incident')
    op.drop_index(op.f('ix_incident_occurred_at'), table_name='incident')
    op.drop_geospatial_index('idx_incident_geom', table_name='incident', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('incident')
    op.drop_geospatial_index('idx_hazardous_site_geom', table_name='hazardous_site', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('hazardous_site')
    op.drop_geospatial_index('idx_facility_issue_geom', table_name='facility_issue', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('facility_issue')
    op.drop_geospatial_index('idx_campaign_geom', table_name='campaign', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('campaign')
    op.drop_geospatial_index('idx_camera_geom', table_name='camera', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('camera')
    op.drop_index(op.f('ix_building_address'), table_name='building')
    op.drop_geospatial_index('idx_building_geom', table_name='building', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('building')
    op.drop_geospatial_index('idx_area_geom', table_name='area', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('area')
