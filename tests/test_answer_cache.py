"""Kept answers (api/answer_cache.py) and the data's generation they hang on (db/generation.py)."""

import itertools
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from api.answer_cache import AnswerCache, Kept
from db.generation import TABLES, UNCOUNTED, data_generation
from tests.test_patrol_api import NIGHT, at, beat, walk  # noqa: F401 (beat is a fixture)
from tests.test_tiles import tile_at

# --- the generation ------------------------------------------------------------------------


def test_every_table_but_the_audit_and_the_users_counts_its_writes(conn):
    uncounted = conn.execute(text("""
        SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND c.relname NOT IN ('spatial_ref_sys', 'alembic_version')
          AND NOT EXISTS (SELECT FROM pg_trigger AS t WHERE t.tgrelid = c.oid AND t.tgname = 'data_changed')
    """)).scalars().all()
    assert set(uncounted) == UNCOUNTED | TABLES


@pytest.fixture
def committed(engine):
    """Writes that other sessions see: a station added and taken away again."""

    def write(code: str) -> None:
        with engine.begin() as other:
            other.execute(text("INSERT INTO station (code, name) VALUES (:c, 'generation test')"), {"c": code})

    yield write
    with engine.begin() as other:
        other.execute(text("DELETE FROM station WHERE name = 'generation test'"))


def test_the_generation_moves_when_a_write_commits_not_before(engine, committed):
    with engine.connect() as reader, engine.connect() as writer:
        before = data_generation(reader)
        writing = writer.begin()
        writer.execute(text("INSERT INTO station (code, name) VALUES ('GEN-1', 'generation test')"))
        writer.execute(text("UPDATE station SET name = name WHERE code = 'GEN-1'"))
        assert data_generation(reader) == before
        assert data_generation(writer) == before + 2  # a transaction sees its own writes
        writing.commit()
        assert data_generation(reader) == before + 2
        reader.rollback()


def test_reads_the_audit_and_logins_leave_it_alone(conn, users):
    before = data_generation(conn)
    conn.execute(text("SELECT count(*) FROM building"))
    conn.execute(text("INSERT INTO audit_log (user_id, action, record_table, record_id) VALUES (:u, 'read', 'resident', 1)"),
                 {"u": users["officer"]})
    conn.execute(text("UPDATE app_user SET failed_logins = failed_logins + 1"))
    assert data_generation(conn) == before


def test_folding_the_changes_keeps_the_count(conn):
    before = data_generation(conn)
    for _ in range(1005):
        conn.execute(text("UPDATE station SET name = name WHERE false"))
    assert conn.execute(text("SELECT count(*) FROM data_change")).scalar_one() > 1000
    assert data_generation(conn) == before + 1005
    assert conn.execute(text("SELECT count(*) FROM data_change")).scalar_one() == 0
    assert data_generation(conn) == before + 1005


def test_the_app_roles_reach_the_counts_only_through_the_function(conn, users):
    from db import access

    access.act_as(conn, users["admin"], "admin")
    data_generation(conn)
    with pytest.raises(Exception, match="permission denied"):
        conn.execute(text("SELECT count(*) FROM data_change"))


# --- the cache, on real connections --------------------------------------------------------


def ask(cache: AnswerCache, conn, key: tuple, make) -> Kept:
    """As a request asks: with the generation read before anything else."""
    return cache.answer(conn, key, data_generation(conn), make)


def counting(value):
    """A ``make`` that counts its calls and answers ``value()``."""
    calls = []

    def make() -> Kept:
        calls.append(1)
        return Kept(str(value()).encode(), "text/plain")

    return make, calls


def test_an_answer_is_made_once_while_the_data_stands(conn):
    cache = AnswerCache(2**20)
    make, calls = counting(lambda: conn.execute(text("SELECT count(*) FROM station")).scalar_one())
    first = ask(cache, conn, ("q",), make)
    assert ask(cache, conn, ("q",), make) == first and len(calls) == 1
    ask(cache, conn, ("other",), make)
    assert len(calls) == 2
    conn.execute(text("INSERT INTO station (code, name) VALUES ('NEW', 'new')"))
    assert ask(cache, conn, ("q",), make).body == str(int(first.body) + 1).encode()
    assert len(calls) == 3


def test_no_answer_is_kept_with_a_size_of_zero(conn):
    cache = AnswerCache(0)
    make, calls = counting(lambda: 1)
    ask(cache, conn, ("q",), make)
    ask(cache, conn, ("q",), make)
    assert len(calls) == 2


def test_an_answer_larger_than_the_whole_cache_is_sent_not_kept(conn):
    cache = AnswerCache(100)
    make, calls = counting(lambda: "x" * 1000)
    assert ask(cache, conn, ("q",), make).body == b"x" * 1000
    ask(cache, conn, ("q",), make)
    assert len(calls) == 2


def test_an_answer_made_while_a_write_commits_is_not_kept(engine, committed):
    cache = AnswerCache(2**20)
    codes = iter(f"GEN-{i}" for i in itertools.count())

    def make() -> Kept:
        committed(next(codes))  # another session commits while this answer is being made
        return Kept(b"maybe half of each", "text/plain")

    with engine.connect() as conn:
        ask(cache, conn, ("q",), make)
        steady, calls = counting(lambda: "steady")
        ask(cache, conn, ("q",), steady)
        assert len(calls) == 1  # made again, not the half-made one
        conn.rollback()


def test_askers_at_once_wait_for_the_first_to_make_it(engine):
    cache = AnswerCache(2**20)
    calls = []

    def make() -> Kept:
        calls.append(1)
        time.sleep(0.3)
        return Kept(b"slow", "text/plain")

    answers = []

    def asker() -> None:
        with engine.connect() as conn:
            answers.append(ask(cache, conn, ("slow",), make).body)
            conn.rollback()

    threads = [threading.Thread(target=asker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [b"slow"] * 6 and len(calls) == 1


def test_a_failed_answer_is_not_kept_and_the_next_asker_makes_it(conn):
    cache = AnswerCache(2**20)

    def fail() -> Kept:
        raise ValueError("bad")

    with pytest.raises(ValueError):
        ask(cache, conn, ("q",), fail)
    make, calls = counting(lambda: "good")
    assert ask(cache, conn, ("q",), make).body == b"good" and len(calls) == 1


STATION_CODES = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(st.integers(0, 2), st.just("write")), max_size=30))
def test_what_is_handed_out_is_always_what_would_be_made_now(conn, steps):
    """Any mix of questions and writes: every answer equals a fresh one."""
    cache = AnswerCache(2**20)
    for step in steps:
        if step == "write":
            # Every example writes in the test's one transaction: the codes go on across them.
            conn.execute(text("INSERT INTO station (code, name) VALUES (:c, 'property')"),
                         {"c": f"P-{next(STATION_CODES)}"})
            continue

        def now(step=step) -> str:
            count = conn.execute(text("SELECT count(*) FROM station WHERE name = 'property'")).scalar_one()
            return f"{step}:{count}"

        make, _ = counting(now)
        assert ask(cache, conn, (step,), make).body == now().encode()


# --- through the API -----------------------------------------------------------------------


@pytest.mark.usefixtures("beat")
def test_a_tile_is_cut_once_for_everyone_of_a_role_until_the_data_changes(client, auth, conn, monkeypatch):
    from api.routers import tiles

    cut = []
    original = tiles.tile_bytes
    monkeypatch.setattr(tiles, "tile_bytes", lambda *a, **k: cut.append(1) or original(*a, **k))
    lon, lat = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM entrance WHERE id = 1")).one()
    x, y = tile_at(lon, lat, 17)
    url = f"/api/tiles/buildings/17/{x}/{y}.mvt"
    officer, supervisor = auth("officer"), auth("supervisor")
    first = client.get(url, headers=officer)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "private, max-age=60"
    assert client.get(url, headers=officer).content == first.content
    assert len(cut) == 1
    client.get(url, headers=supervisor)
    assert len(cut) == 2  # kept per role
    client.get(url, headers={**officer, "Accept-Encoding": "identity"})
    assert len(cut) == 3  # and per encoding
    conn.execute(text("UPDATE building SET managed = NOT managed WHERE id = 1"))
    assert client.get(url, headers=officer).content != first.content
    assert len(cut) == 4
    assert client.get(url, headers=auth("planner")).status_code == 200
    assert client.get("/api/tiles/gps_fixes/17/0/0.mvt", headers=auth("planner")).status_code == 403


@pytest.mark.usefixtures("beat")
def test_the_gaps_are_worked_out_once_until_a_patrol_is_added(client, auth, conn, monkeypatch):
    from api.routers import analysis

    worked = []
    original = analysis.patrol_gap_features
    monkeypatch.setattr(analysis, "patrol_gap_features", lambda *a, **k: worked.append(1) or original(*a, **k))
    query = {"beat": "T-1", "start": NIGHT, "end": NIGHT}
    officer = auth("officer")
    before = client.get("/api/analysis/patrol-gaps", params=query, headers=officer).json()
    again = client.get("/api/analysis/patrol-gaps", params=dict(reversed(query.items())), headers=officer)
    assert again.json() == before and len(worked) == 1  # the order of the query does not matter
    walk(conn, [(0, 100, at("23:00")), (200, 100, at("23:03"))])
    after = client.get("/api/analysis/patrol-gaps", params=query, headers=officer).json()
    assert len(worked) == 2
    assert after["summary"]["covered_length_m"] > before["summary"]["covered_length_m"]


def test_a_kept_json_answer_sends_what_is_not_a_number_as_null(conn, app):
    from starlette.requests import Request

    from api.answer_cache import KeptAnswers

    request = Request({"type": "http", "method": "GET", "path": "/x", "query_string": b"", "headers": [],
                       "app": app, "state": {"user": None, "generation": 0}})
    answer = KeptAnswers(request, conn).json(lambda: {"mean": float("nan"), "max": float("inf"), "n": 1})
    assert answer.body == b'{"mean":null,"max":null,"n":1}'


@pytest.mark.usefixtures("beat")
def test_a_kept_answer_is_gzipped_for_a_client_that_takes_it(client, auth, conn):
    walk(conn, [(0, 100, at("23:00")), (70, 100, at("23:01"))])
    query = {"beat": "T-1", "start": NIGHT, "end": NIGHT, "revisits": "true"}
    officer = auth("officer")
    zipped = client.get("/api/analysis/patrol-gaps", params=query, headers={**officer, "Accept-Encoding": "gzip"})
    plain = client.get("/api/analysis/patrol-gaps", params=query, headers={**officer, "Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert zipped.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    assert zipped.json() == plain.json()
