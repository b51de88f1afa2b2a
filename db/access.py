"""Whose rights a request's queries run with: the database enforces role and beat as well.

Migration 0004 made the roles and their row-level policies; here a request's transaction
takes on the role of its user (``SET LOCAL``, so the pooled connection forgets it at the
end) and names the user to the policies.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

ROLES = ("beatbook_app", "beatbook_planner", "beatbook_keeper", "beatbook_admin")
_LISTED = ", ".join(f"'{role}'" for role in ROLES)

# Roles belong to the server, not to one database: made if missing (by migration 0004, and
# before a restore, whose grants and policies name them), with the current user a member of
# each so that it may SET ROLE to them. Two databases of one server may be migrated at once
# (the tests' workers): a role or a membership another session made meanwhile is no error.
ENSURE_ROLES = f"""
    DO $$
    DECLARE name text; pair text[];
    BEGIN
        FOREACH name IN ARRAY ARRAY[{_LISTED}] LOOP
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
                    EXECUTE format('CREATE ROLE %I NOLOGIN', name);
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END LOOP;
        -- Members take on their parent's rights: the base role's, and the keeper's for admins.
        FOREACH pair SLICE 1 IN ARRAY ARRAY[['beatbook_planner', 'beatbook_app'],
                                            ['beatbook_keeper', 'beatbook_app'],
                                            ['beatbook_admin', 'beatbook_keeper']]
                                      || (SELECT array_agg(ARRAY[current_user::text, r])
                                          FROM unnest(ARRAY[{_LISTED}]) r) LOOP
            IF NOT pg_has_role(pair[1], pair[2], 'MEMBER') THEN
                BEGIN
                    EXECUTE format('GRANT %I TO %I', pair[2], pair[1]);
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                END;
            END IF;
        END LOOP;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'Beatbook needs the database roles % and the current user as a member of '
            'each; create them once as a superuser or a user with CREATEROLE', ARRAY[{_LISTED}];
    END $$
"""

# Officers and supervisors keep records (within their beats); admins too, in every beat.
DATABASE_ROLES = {"officer": "beatbook_keeper", "supervisor": "beatbook_keeper",
                  "planner": "beatbook_planner", "admin": "beatbook_admin"}
ANONYMOUS = "beatbook_app"


def act_as(conn: Connection, user_id: int | None, role: str | None) -> int:
    """The rest of the transaction runs with the rights of this user (None: before login, with
    infrastructure and the users table, no personal records). One statement, ``SET LOCAL``
    both: it runs on every request. It also reads the data's generation (``db/generation.py``)
    before any data is read, which is what an answer kept for later was made from."""
    return conn.execute(text("SELECT set_config('role', :db_role, true), set_config('beatbook.user_id', :id, true), "
                             "beatbook_data_generation()"),
                        {"db_role": ANONYMOUS if role is None else DATABASE_ROLES[role],
                         "id": "" if user_id is None else str(user_id)}).one()[2]


def act_as_owner(conn: Connection) -> None:
    """Back to the connecting user's own rights (the tests look behind the API this way)."""
    conn.execute(text("RESET ROLE"))
    conn.execute(text("SELECT set_config('beatbook.user_id', '', true)"))


def visible_beats(conn: Connection) -> list[str]:
    """The codes of the beats whose records the request's user may see, by the database's own
    rule: an officer's assigned today, a supervisor's station's (and any no station claims)."""
    return list(conn.execute(text(
        "SELECT code FROM beat WHERE id = ANY(beatbook_visible_beats()) ORDER BY code")).scalars())
