"""GPS fixes and incidents split by month, and the months made as their rows arrive

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

A city's patrols write millions of fixes a month, and every question asked of them or of the
incidents is over a window of time: last week's nights, eight weeks of burglaries. Split by
month (RANGE on ``recorded_at`` / ``occurred_at``), a window reads only its months, and
retention (``beatbook prune``) drops whole months instead of deleting rows one by one.

- Months are UTC months, so a partition's bounds do not hang on any session's TimeZone.
- The primary key becomes (id, time): PostgreSQL wants the partition key in every unique
  constraint of a partitioned table. The ids still come from the same sequences, kept with
  their positions, so they stay unique; only rows loaded with explicit ids could repeat an
  id at another time. No foreign key points at either table (one would have to carry the
  time as well), so the wider key changes nothing else.
- No DEFAULT partition. A row for a month without its partition is refused ("no partition
  of relation ... found for row") rather than kept where retention cannot drop it by month,
  where it would stop its month being made later, and where making any month would have to
  scan it under an exclusive lock. Every path that writes these tables in bulk
  (``db.bulk.copy_frame``: imports, the demo, ``beatbook synth``, the benchmarks) makes the
  months first.
- ``beatbook_ensure_months(table, first, last)`` makes the missing months of a range. It
  runs with its owner's rights, so that keepers (supervisors importing over the API) can
  make a month of a table they do not own. A month is made as a table LIKE its parent and
  then attached: ATTACH takes SHARE UPDATE EXCLUSIVE on the parent, so reads and writes go
  on while the import that made a month runs to its commit, where CREATE TABLE ... PARTITION
  OF would hold ACCESS EXCLUSIVE as long. (Cloning gps_fix's foreign key holds officer
  against writes as long; officers change seldom.) Taken first, the same lock makes two
  sessions that make one month take turns; the second then finds it made. A month that
  exists costs no lock at all.
- Partitions are reached only through their parent: they keep no grants (the default
  privileges of 0004 would give keepers each one), so the parent's grants, its trigger
  (0005; a statement on the parent fires the parent's alone) and any policy one day are
  the only ones that count.
- Everything else is remade as it was: the grants, trigger, foreign key and indexes are read
  off the plain table and made again on the parent (and so on every month): gps_fix's BRIN
  on ``recorded_at`` (fixes arrive in time order, so a block range spans minutes), incident's
  B-tree on ``occurred_at`` (incidents arrive out of order: late reports, a year of history
  imported at once, where a BRIN range would span the whole month), and GiST on both
  geometries.

The downgrade brings back plain tables with every row, keyed by id alone again.
"""
from alembic import op
from sqlalchemy import text

from db.access import ROLES

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# Spelled out rather than read from the app, so that this revision stays what it was.
TIME_COLUMNS = {"gps_fix": "recorded_at", "incident": "occurred_at"}

ENSURE_MONTHS = f"""
CREATE FUNCTION beatbook_ensure_months(parent regclass, first_at timestamptz, last_at timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    schema_name name;
    parent_name name;
    starts timestamptz;
    part text;
BEGIN
    SELECT n.nspname, c.relname INTO schema_name, parent_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_partitioned_table p ON p.partrelid = c.oid
    WHERE c.oid = parent AND p.partstrat = 'r';
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not split by month', parent;
    END IF;
    FOR starts IN SELECT generate_series(date_trunc('month', first_at), date_trunc('month', last_at),
                                         interval '1 month') LOOP
        part := format('%s_%s', parent_name, to_char(starts, 'YYYY_MM'));
        CONTINUE WHEN to_regclass(format('%I.%I', schema_name, part)) IS NOT NULL;
        EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE', parent);
        -- Made by another session while this one waited for the lock.
        CONTINUE WHEN to_regclass(format('%I.%I', schema_name, part)) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING ALL EXCLUDING INDEXES)', schema_name, part, parent);
        EXECUTE format('REVOKE ALL ON %I.%I FROM PUBLIC, {", ".join(ROLES)}', schema_name, part);
        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                       parent, schema_name, part, starts, starts + interval '1 month');
        RETURN NEXT part;
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION beatbook_ensure_months(regclass, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beatbook_ensure_months(regclass, timestamptz, timestamptz) TO beatbook_keeper;
"""

# What CREATE TABLE ... LIKE does not copy, as the statements that make it again on a table of
# the same name: indexes but the key, foreign keys, triggers, grants on the table and its columns.
REMAKE = """
    SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ')
    FROM pg_index i WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisprimary
    UNION ALL
    SELECT format('ALTER TABLE %I ADD CONSTRAINT %I %s', :t, conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'
    UNION ALL
    SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) AND NOT tgisinternal
    UNION ALL
    SELECT format('GRANT %s%s ON %I TO %s%s', g.privilege_type, g.columns, :t,
                  CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END,
                  CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
    FROM (SELECT a.*, '' AS columns, c.relowner FROM pg_class c, aclexplode(c.relacl) a
          WHERE c.oid = CAST(:t AS regclass)
          UNION ALL
          SELECT a.*, format(' (%I)', att.attname), c.relowner
          FROM pg_class c JOIN pg_attribute att ON att.attrelid = c.oid, aclexplode(att.attacl) a
          WHERE c.oid = CAST(:t AS regclass)) g
    WHERE g.grantee <> g.relowner
"""


def _rebuild(table: str, partitioned: bool) -> None:
    """Make ``table`` again, split by month or plain, with its rows, sequence and all the rest."""
    bind = op.get_bind()
    column = TIME_COLUMNS[table]
    remake = bind.execute(text(REMAKE), {"t": table}).scalars().all()
    sequence = bind.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar_one()
    old = f"{table}_old"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    split = f" PARTITION BY RANGE ({column})" if partitioned else ""
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING ALL EXCLUDING INDEXES){split}")
    # Made by the default privileges of 0004; the old table's grants follow from REMAKE.
    op.execute(f"REVOKE ALL ON {table} FROM PUBLIC, {', '.join(ROLES)}")
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
    if partitioned:
        op.execute(f"""
            SELECT count(*) FROM (SELECT DISTINCT date_trunc('month', {column}, 'UTC') FROM {old}
                                  UNION SELECT now()) AS months (starts),
                                 beatbook_ensure_months('{table}', starts, starts)""")
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    op.execute(f"DROP TABLE {old}")
    key = f"id, {column}" if partitioned else "id"
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({key})")
    for statement in remake:
        op.execute(statement)


def upgrade() -> None:
    op.execute(ENSURE_MONTHS)
    for table in TIME_COLUMNS:
        _rebuild(table, partitioned=True)


def downgrade() -> None:
    for table in TIME_COLUMNS:
        _rebuild(table, partitioned=False)
    op.execute("DROP FUNCTION beatbook_ensure_months(regclass, timestamptz, timestamptz)")
