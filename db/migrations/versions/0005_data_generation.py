"""the data's generation: a number that grows with every committed write to the data

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

The API keeps answers that many users ask alike (map tiles, the tonight view's analyses)
for as long as the data they were made from is unchanged (``api/answer_cache.py``). What
"unchanged" means across server processes, imports from the command line and psql is
said here: every statement that writes a table of the data appends one row to
``data_change`` (a statement-level trigger), and ``beatbook_data_generation()`` counts
them. The count moves exactly when a writing transaction commits, in every session's
view at once, and no writer waits for another: they only append.

Not counted: the audit log (reading a resident's record writes it) and the users (a login
writes the failure count); no kept answer is made from either. A table added later must
be given the trigger in its migration (tests/test_answer_cache.py checks every table).

So that ``data_change`` stays short, the generation function folds its rows into
``data_generation.folded`` once there are more than a thousand, in the reading
transaction; one reader at a time does it (an advisory lock), and the sum is the same
before and after in every snapshot.
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

UNCOUNTED = ("audit_log", "app_user")
COUNTED = ("access_control_device", "area", "beat", "building", "camera", "campaign", "change_log",
           "dispute", "entrance", "facility_issue", "focus_area", "gps_fix", "hazardous_site",
           "home_visit", "household", "incident", "inspection", "mediation", "movement", "officer",
           "officer_beat", "patrol_track", "premises", "public_facility", "resident", "service_station",
           "station", "storage_finding", "street_segment", "temporary_registration")
FOLD_ABOVE = 1000


def upgrade() -> None:
    op.execute("CREATE TABLE data_change (table_name text NOT NULL)")
    op.execute("CREATE TABLE data_generation (folded bigint NOT NULL)")
    op.execute("INSERT INTO data_generation VALUES (0)")
    # The app's roles reach both only through the functions below (the default privileges
    # of 0004 would have given keepers the tables).
    op.execute("REVOKE ALL ON data_change, data_generation FROM PUBLIC, beatbook_app, beatbook_keeper, "
               "beatbook_planner, beatbook_admin")
    op.execute("""
        CREATE FUNCTION beatbook_data_changed() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            INSERT INTO data_change (table_name) VALUES (TG_TABLE_NAME);
            RETURN NULL;
        END $$""")
    op.execute(f"""
        CREATE FUNCTION beatbook_data_generation() RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            IF (SELECT count(*) FROM data_change) > {FOLD_ABOVE}
               AND pg_try_advisory_xact_lock(hashtext('beatbook_data_generation')) THEN
                WITH gone AS (DELETE FROM data_change RETURNING 1)
                UPDATE data_generation SET folded = folded + (SELECT count(*) FROM gone);
            END IF;
            -- One statement, one snapshot: the folded count and the rows left agree.
            RETURN (SELECT folded FROM data_generation) + (SELECT count(*) FROM data_change);
        END $$""")
    for table in COUNTED:
        op.execute(f"CREATE TRIGGER data_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION beatbook_data_changed()")


def downgrade() -> None:
    for table in COUNTED:
        op.execute(f"DROP TRIGGER data_changed ON {table}")
    op.execute("DROP FUNCTION beatbook_data_generation()")
    op.execute("DROP FUNCTION beatbook_data_changed()")
    op.execute("DROP TABLE data_generation, data_change")
