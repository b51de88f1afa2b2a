"""access by role and beat in the database: roles, grants, row-level security; login limits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

The API runs every request under one of three database roles (db/access.py), so that a
route that forgets a filter still cannot read what its user may not:

- ``beatbook_app``: before login and the base of the others. Reads infrastructure (beats,
  buildings, entrances, cameras, streets, incidents...), the users for login, and views of
  the population and the disputes without names, identity numbers, phones or free text
  (``household_point``, ``resident_fact``, ``dispute_fact``), from which every count over
  them is made, in every beat; writes only login failures and audit rows.
- ``beatbook_planner``: the app's rights, plus premises, hazardous sites and disputes
  without the columns that name or describe people.
- ``beatbook_keeper`` (officers, supervisors): every table; the personal ones (households,
  residents and what hangs from them, disputes) only in the beats the user may see, by
  row-level security on ``beatbook.user_id``: an officer's beats assigned today, a
  supervisor's station's beats (and beats no station claims yet).
- ``beatbook_admin``: the keeper's rights over every beat, and the users.

The audit log can be appended to by everyone and read only by supervisors (their
station's users) and admins; no role may change or delete a row of it.

Roles belong to the whole server, so the downgrade leaves them (another database on the
server may use them) and takes back only what it granted here. Creating them needs a
superuser or CREATEROLE once; then the migrating user is made a member of each.
"""
import sqlalchemy as sa
from alembic import op

from db.access import ENSURE_ROLES, ROLES

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Personal records: households, residents and what hangs from them; by beat for keepers.
PERSONAL = ("household", "resident", "temporary_registration", "movement", "home_visit",
            "storage_finding", "mediation")
# Tables the base role does not read whole: histories, patrols, disputes, the audit, the users.
WITHHELD = ("change_log", "gps_fix", "patrol_track", "dispute", "audit_log", "app_user")
# Tables planners read but for the column that names or describes people (or, for patrol
# tracks, says whose they are: the audit of entrances needs where patrols went, not who).
PLANNER_COLUMNS = {"premises": "responsible_person", "hazardous_site": "keeper",
                   "dispute": "description", "mediation": "outcome", "patrol_track": "officer_id"}
SCOPED = PERSONAL + ("dispute", "audit_log", "change_log")
# Whose change history planners may read: that of records which are not about people.
PLANNER_HISTORY = "record_table NOT IN ({})".format(
    ", ".join(f"'{t}'" for t in PERSONAL + ("app_user",)))

# The beats the request's user may see records of (NULL before login): read with the
# owner's rights, since the keeper's own view of these tables is what it limits.
VISIBLE_BEATS = """
CREATE FUNCTION beatbook_visible_beats() RETURNS integer[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT CASE u.role
        WHEN 'admin' THEN ARRAY(SELECT id FROM beat)
        WHEN 'supervisor' THEN ARRAY(SELECT id FROM beat b
                                     WHERE b.station_id = u.station_id OR b.station_id IS NULL)
        WHEN 'officer' THEN ARRAY(SELECT ob.beat_id FROM officer_beat ob
                                  WHERE ob.officer_id = u.officer_id AND ob.valid_from <= current_date
                                    AND (ob.valid_to IS NULL OR ob.valid_to >= current_date))
        ELSE '{}'::integer[] END
    FROM app_user u
    WHERE u.id = CAST(NULLIF(current_setting('beatbook.user_id', true), '') AS integer) AND u.active
$$;
-- A person is registered once: whoever registers an identity number must learn of a record
-- of it in any beat (the resident's id, nothing else).
CREATE FUNCTION beatbook_identity_holder(id_hash bytea, other_than bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT id FROM resident WHERE resident.id_hash = $1 AND id <> COALESCE($2, -1) ORDER BY id LIMIT 1
$$;
CREATE FUNCTION beatbook_user() RETURNS app_user
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT * FROM app_user
    WHERE id = CAST(NULLIF(current_setting('beatbook.user_id', true), '') AS integer) AND active
$$;
"""

# A point is in the user's beats. The function calls are sub-selects so that they run once
# per query, not once per row.
IN_BEATS = """EXISTS (SELECT 1 FROM beat b WHERE b.id = ANY (CAST((SELECT beatbook_visible_beats()) AS integer[]))
                      AND ST_Intersects(b.geom, {geom}))"""

POLICIES = {
    "household": IN_BEATS.format(geom="household.geom"),
    "resident": "EXISTS (SELECT 1 FROM household h WHERE h.id = resident.household_id)",
    "temporary_registration":
        "EXISTS (SELECT 1 FROM resident r WHERE r.id = temporary_registration.resident_id)",
    "movement": "EXISTS (SELECT 1 FROM building bl WHERE bl.id = movement.building_id AND "
                + IN_BEATS.format(geom="bl.geom") + ")",
    "home_visit": "EXISTS (SELECT 1 FROM household h WHERE h.id = home_visit.household_id)",
    "storage_finding": "EXISTS (SELECT 1 FROM household h WHERE h.id = storage_finding.household_id)",
    "dispute": IN_BEATS.format(geom="dispute.geom"),
    "mediation": "EXISTS (SELECT 1 FROM dispute d WHERE d.id = mediation.dispute_id)",
}

AUDIT_READERS = """(SELECT (beatbook_user()).role) = 'admin'
    OR ((SELECT (beatbook_user()).role) = 'supervisor'
        AND EXISTS (SELECT 1 FROM app_user u WHERE u.id = audit_log.user_id
                    AND u.station_id = (SELECT (beatbook_user()).station_id)))"""

VIEWS = """
CREATE VIEW household_point AS
    SELECT id, building_id, geom, synthetic FROM household;
CREATE VIEW dispute_fact AS
    SELECT id, building_id, category, parties_kind, status, reported_by, reported_on, geom
    FROM dispute;
CREATE VIEW resident_fact AS
    SELECT r.household_id, h.building_id, h.geom, r.category, r.birth_year, r.lives_alone,
           r.needs_home_service
    FROM resident r JOIN household h ON h.id = r.household_id;
"""


def _grant_columns(table: str, role: str, *, without: str) -> None:
    op.execute(f"""
        DO $$ BEGIN
            EXECUTE format('GRANT SELECT (%s) ON {table} TO {role}', (
                SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
                FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = '{table}'
                  AND column_name <> '{without}'));
        END $$
    """)


def upgrade() -> None:
    op.add_column('app_user', sa.Column('failed_logins', sa.Integer(), server_default=sa.text('0'),
                                        nullable=False))
    op.add_column('app_user', sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    op.execute(ENSURE_ROLES)
    op.execute(VIEWS)
    op.execute(VISIBLE_BEATS)

    withheld = ", ".join(f"'{t}'" for t in PERSONAL + WITHHELD + tuple(PLANNER_COLUMNS))
    op.execute(f"""
        DO $$
        DECLARE t text;
        BEGIN
            FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
                     AND tablename NOT IN ({withheld}) LOOP
                EXECUTE format('GRANT SELECT ON %I TO beatbook_app', t);
            END LOOP;
        END $$
    """)
    op.execute("GRANT SELECT ON household_point, resident_fact, dispute_fact TO beatbook_app")
    op.execute("GRANT SELECT, UPDATE (failed_logins, locked_until) ON app_user TO beatbook_app")
    op.execute("GRANT INSERT ON audit_log TO beatbook_app")
    op.execute("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO beatbook_app")
    for table, column in PLANNER_COLUMNS.items():
        _grant_columns(table, "beatbook_planner", without=column)

    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO beatbook_keeper")
    op.execute("REVOKE INSERT, UPDATE, DELETE ON audit_log, change_log, alembic_version, spatial_ref_sys "
               "FROM beatbook_keeper")
    op.execute("GRANT INSERT ON change_log TO beatbook_keeper")
    # The views read with their owner's rights: written through, they would pass by the policies.
    op.execute("REVOKE INSERT, UPDATE, DELETE ON household_point, resident_fact, dispute_fact "
               "FROM beatbook_keeper")
    op.execute("REVOKE INSERT, UPDATE, DELETE ON app_user FROM beatbook_keeper")
    op.execute("GRANT INSERT, UPDATE ON app_user TO beatbook_admin")
    # Tables of later migrations are the keepers' unless a migration says otherwise.
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public "
               "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO beatbook_keeper")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO beatbook_app")

    for table in SCOPED:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for table, condition in POLICIES.items():
        op.execute(f"CREATE POLICY in_beats ON {table} TO beatbook_keeper USING ({condition})")
    for table in ("dispute", "mediation"):
        op.execute(f"CREATE POLICY every_row ON {table} FOR SELECT TO beatbook_planner USING (true)")
    op.execute("GRANT SELECT ON change_log TO beatbook_planner")
    op.execute("CREATE POLICY every_row ON change_log TO beatbook_keeper USING (true)")
    op.execute(f"CREATE POLICY not_personal ON change_log FOR SELECT TO beatbook_planner "
               f"USING ({PLANNER_HISTORY})")
    op.execute("CREATE POLICY appended ON audit_log FOR INSERT TO beatbook_app WITH CHECK (true)")
    op.execute(f"CREATE POLICY readers ON audit_log FOR SELECT TO beatbook_keeper USING ({AUDIT_READERS})")


def downgrade() -> None:
    op.execute("DROP POLICY readers ON audit_log")
    op.execute("DROP POLICY appended ON audit_log")
    op.execute("DROP POLICY not_personal ON change_log")
    for table in ("change_log", "mediation", "dispute"):
        op.execute(f"DROP POLICY every_row ON {table}")
    for table in POLICIES:
        op.execute(f"DROP POLICY in_beats ON {table}")
    for table in SCOPED:
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM beatbook_app")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public "
               "REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM beatbook_keeper")
    op.execute("DROP FUNCTION beatbook_user()")
    op.execute("DROP FUNCTION beatbook_identity_holder(bytea, bigint)")
    op.execute("DROP FUNCTION beatbook_visible_beats()")
    op.execute("DROP VIEW resident_fact, household_point, dispute_fact")
    for role in ROLES:
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
    op.drop_column('app_user', 'locked_until')
    op.drop_column('app_user', 'failed_logins')
