"""Logins: wrong passwords lock an account for a while, tokens expire, users are managed by
admins, and the audit log is read by supervisors and admins only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import text

from tests.conftest import PASSWORD


def login(client, username: str, password: str):
    return client.post("/api/auth/token", data={"username": username, "password": password})


def test_wrong_passwords_lock_the_account_and_a_right_one_resets_the_count(client, conn, users, settings):
    for _ in range(settings.login_max_failures - 1):
        assert login(client, "officer", "wrong").status_code == 401
    assert login(client, "officer", PASSWORD).status_code == 200  # the count starts again
    for _ in range(settings.login_max_failures):
        assert login(client, "officer", "wrong").status_code == 401
    locked = login(client, "officer", PASSWORD)
    assert locked.status_code == 429
    assert "locked" in locked.json()["detail"]
    assert 0 < int(locked.headers["Retry-After"]) <= settings.login_lock_minutes * 60
    # Once the lock has run out, the right password works again.
    conn.execute(text("UPDATE app_user SET locked_until = now() - interval '1 second' "
                      "WHERE username = 'officer'"))
    assert login(client, "officer", PASSWORD).status_code == 200


def test_an_unknown_user_is_told_only_that_the_login_is_wrong(client, users):
    response = login(client, "nobody", PASSWORD)
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong username or password"}


def test_an_expired_or_forged_token_is_refused(client, users, settings):
    past = datetime.now(UTC) - timedelta(minutes=1)
    for token in (
        jwt.encode({"sub": str(users["officer"]), "exp": past}, settings.secret_key, algorithm="HS256"),
        jwt.encode({"sub": str(users["admin"]), "exp": past + timedelta(hours=2)}, "another key, long enough for HS256 to accept",
                   algorithm="HS256"),
        jwt.encode({"sub": str(users["admin"])}, settings.secret_key, algorithm="HS256"),  # no expiry
    ):
        response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert "log in again" in response.json()["detail"]


def test_admins_manage_users_and_a_deactivated_user_is_refused_at_once(client, auth, conn, users):
    created = client.post("/api/users", headers=auth("admin"), json={
        "username": "newcomer", "password": "a long enough secret", "role": "planner",
        "station_code": "HKI", "reason": "joined the planning office"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["role"] == "planner" and body["station_code"] == "HKI" and "password_hash" not in body
    token = login(client, "newcomer", "a long enough secret").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/me", headers=headers).status_code == 200

    assert client.post("/api/users", headers=auth("admin"), json={
        "username": "newcomer", "password": "another long secret", "role": "planner",
        "reason": "again"}).status_code == 409
    changed = client.patch(f"/api/users/{body['id']}", headers=auth("admin"),
                           json={"active": False, "reason": "left"})
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    history = conn.execute(text("SELECT changes FROM change_log WHERE record_table = 'app_user' "
                                "AND record_id = :i ORDER BY id"), {"i": body["id"]}).scalars().all()
    assert history[0]["password"] == [None, "(set)"] and history[1] == {"active": [True, False]}
    assert "a long enough secret" not in str(history)

    for role in ("officer", "supervisor", "planner"):
        assert client.get("/api/users", headers=auth(role)).status_code == 403
    assert client.patch(f"/api/users/{users['admin']}", headers=auth("admin"),
                        json={"role": "planner", "reason": "oops"}).status_code == 403


def test_an_admin_unlocks_a_locked_account(client, auth, users, settings):
    admin = auth("admin")
    for _ in range(settings.login_max_failures):
        login(client, "officer", "wrong")
    assert login(client, "officer", PASSWORD).status_code == 429
    listed = client.get("/api/users", headers=admin).json()["users"]
    assert next(u for u in listed if u["username"] == "officer")["locked_until"] is not None
    assert client.patch(f"/api/users/{users['officer']}", headers=admin,
                        json={"unlock": True, "reason": "called in"}).status_code == 200
    assert login(client, "officer", PASSWORD).status_code == 200


def test_supervisors_and_admins_read_the_audit_log_and_nobody_edits_it(client, auth, conn, users):
    conn.execute(text("INSERT INTO station (code, name) VALUES ('FAR', 'Another station')"))
    conn.execute(text("""
        INSERT INTO app_user (username, password_hash, role, station_id)
        SELECT 'far-officer', 'x', 'officer', id FROM station WHERE code = 'FAR'
    """))
    conn.execute(text("""
        INSERT INTO audit_log (user_id, action, record_table, record_id, client)
        SELECT id, 'read', 'resident', 7, '10.0.0.1' FROM app_user WHERE username IN ('officer', 'far-officer')
    """))
    for role, expected in (("supervisor", {"officer"}), ("admin", {"officer", "far-officer"})):
        response = client.get("/api/audit?table=resident", headers=auth(role))
        assert response.status_code == 200, response.text
        assert {e["user"] for e in response.json()["entries"]} == expected
    for role in ("officer", "planner"):
        assert client.get("/api/audit", headers=auth(role)).status_code == 403
    page = client.get("/api/audit?limit=1", headers=auth("admin")).json()
    assert page["numberReturned"] == 1 and page["links"][0]["rel"] == "next"
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)("/api/audit").status_code == 405
