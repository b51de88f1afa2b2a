"""The audit log, for the people who answer for it: supervisors (their station's users) and
admins. Nobody can change or delete an entry: there is no route for it, no database role may,
and a trigger refuses it even to the owner."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime

from api.deps import CurrentUser, DbDep, Page, PageDep
from api.errors import Forbidden
from db.history import audit_entries
from db.users import UserRecord

router = APIRouter(prefix="/api/audit", tags=["audit"])


def audit_reader(user: CurrentUser) -> UserRecord:
    if user.role not in ("supervisor", "admin"):
        raise Forbidden(f"the audit log is read by supervisors and admins, not the {user.role} role")
    return user


@router.get("")
def read_audit_log(
    request: Request, db: DbDep, user: Annotated[UserRecord, Depends(audit_reader)], page: PageDep,
    username: Annotated[str | None, Query(max_length=64, description="only this user's reads")] = None,
    table: Annotated[str | None, Query(max_length=64, description="only reads of this table, "
                                                                  "e.g. resident")] = None,
    since: Annotated[AwareDatetime | None, Query(description="from this instant (with its offset)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="before this instant")] = None,
) -> dict:
    """Who read which personal record or exported what, when and from where, oldest first,
    paged by id (the ``next`` link continues)."""
    entries = audit_entries(db, username=username, table=table, since=since, until=until,
                            after=page.after, limit=page.limit + 1)
    next_after = entries[page.limit - 1]["id"] if len(entries) > page.limit else None
    entries = entries[:page.limit]
    return {"entries": entries, "numberReturned": len(entries),
            "links": Page.links(request, next_after, "application/json")}
