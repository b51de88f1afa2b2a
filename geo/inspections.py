"""What an inspection of a special-trade premises or a hazardous-material site checks, whether it
passed, and when the next one is due.

Pure: a kind of subject, the checks found, a date in; a verdict, findings and a date out.

The checklists are what the community officer verifies on the spot (DOMAIN.md): a hotel
registers every guest; a scrap buyer keeps the purchase ledger; a locksmith has its
practitioners on file and follows the unlocking procedure; a hazardous site stores its
materials as required and its keeper is on duty. An inspection passes when every check holds.
The cycles are the longest a subject may go uninspected; a failed inspection is followed up
within ``FOLLOW_UP_DAYS``.
"""

from __future__ import annotations

from datetime import date, timedelta

CHECKLISTS: dict[str, tuple[str, ...]] = {
    "hotel": ("guest_registration_checked", "registration_uploaded"),
    "scrap_buyer": ("purchase_ledger_kept", "sellers_identified"),
    "locksmith": ("practitioners_filed", "unlocking_procedure_followed"),
    "other": ("licence_displayed",),
    "hazardous_site": ("storage_as_required", "keeper_on_duty", "ledger_of_stock_kept"),
}
CYCLE_DAYS = {"hotel": 90, "scrap_buyer": 30, "locksmith": 180, "other": 180, "hazardous_site": 30}
FOLLOW_UP_DAYS = 14


def verdict(kind: str, checks: dict[str, bool]) -> tuple[bool, list[str]]:
    """Whether the inspection passed, and the checks that failed.

    Every check of the kind's list must be answered, and nothing else may be.
    """
    if kind not in CHECKLISTS:
        raise ValueError(f"unknown kind of subject {kind!r}; one of {', '.join(CHECKLISTS)}")
    expected = set(CHECKLISTS[kind])
    if missing := sorted(expected - set(checks)):
        raise ValueError(f"a {kind} inspection answers {', '.join(CHECKLISTS[kind])}; missing {', '.join(missing)}")
    if unknown := sorted(set(checks) - expected):
        raise ValueError(f"a {kind} inspection does not check {', '.join(unknown)}; "
                         f"it checks {', '.join(CHECKLISTS[kind])}")
    failed = [name for name in CHECKLISTS[kind] if not checks[name]]
    return not failed, failed


def next_due(kind: str, inspected_on: date, passed: bool) -> date:
    """The day the next inspection is due: a cycle after a pass, a follow-up after a failure."""
    return inspected_on + timedelta(days=CYCLE_DAYS[kind] if passed else min(FOLLOW_UP_DAYS, CYCLE_DAYS[kind]))
