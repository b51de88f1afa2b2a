"""The whole API fuzzed from its OpenAPI description: no request gets a 5xx, and none hangs.

Every operation is sent a few generated requests, valid and invalid, in-process, each as a
random role, against a small synthetic district committed once in a database of this module's
own; each test runs in a transaction on it, rolled back after. Generated values seldom name
anything that exists, so the hooks below swap some or all of them for real ones (a beat, a
layer, ids, the district's days and places): those requests get past the lookups into the
analyses, plans and records themselves.
"""

import functools
import json
import math

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from sqlalchemy import create_engine, pool

from api.main import create_app
from beatbook.generate.district import build_district
from beatbook.generate.load import load_dataset
from beatbook.settings import Settings
from db.layers import LAYERS
from db.migrate import upgrade
from db.patrols import rebuild_tracks
from tests.conftest import TEST_DB, fresh_database, libpq
from tests.tokens import ROLES, bearer_headers

EXAMPLES = 10
# Far above any route's time on this district: a request still running then is a hang.
TIMEOUT_S = 20
# The planners search for as long as they are told (up to 30 s); the fuzz tells them this at most.
SOLVER_BUDGET_S = 0.5

# build_district(40, seed=1): beats SZ-01 and SZ-02 of station SZ, officer SZ-1001 on SZ-01,
# events in October 2026, ids from 1 in every table.
DISTRICT_BUILDINGS = 40
DAYS = {"start": "2026-10-01", "end": "2026-10-31", "since": "2026-10-01", "until": "2026-10-31",
        "as_of": "2026-11-01", "train_start": "2026-10-01", "train_end": "2026-10-20",
        "test_start": "2026-10-21", "test_end": "2026-10-31"}
IDS = ("household_id", "resident_id", "registration_id", "dispute_id", "site_id", "finding_id",
       "issue_id", "building_id")


@functools.cache
def district_frames() -> dict:
    return build_district(DISTRICT_BUILDINGS, seed=1)


@functools.cache
def real_values() -> dict[str, list]:
    """Values that name something in the district or say something sensible, per parameter name."""
    west, south, east, north = district_frames()["area"].total_bounds
    lon, lat = (west + east) / 2, (south + north) / 2
    ring = [[lon - 0.002, lat - 0.002], [lon + 0.002, lat - 0.002], [lon + 0.002, lat + 0.002],
            [lon - 0.002, lat + 0.002], [lon - 0.002, lat - 0.002]]
    z = 16  # buildings and entrances are drawn from here on
    return {
        "beat": ["SZ-01"],
        "polygon": [json.dumps({"type": "Polygon", "coordinates": [ring]})],
        "bbox": [f"{west},{south},{east},{north}", "-180,-90,180,90"],
        "layer": list(LAYERS),
        **{name: [day] for name, day in DAYS.items()},
        **{name: [1, 2] for name in IDS},
        "lon": [lon], "lat": [lat],
        "z": [z],
        "x": [int((lon + 180) / 360 * 2**z)],
        "y": [int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)],
        "types": ["burglary"], "window": ["22:00-06:00"], "hours": ["22:00-06:00"], "days": ["fri,sat"],
        "shares": ["0.5,0.9"], "area_share": ["0.05,0.1"], "space_bands": ["0-100,100-200"],
        "time_bands": ["0-7,7-14"],
    }


def swap_in(generated, *, takes_beat: bool = False) -> st.SearchStrategy:
    """The generated parameters as they are; or each left or swapped for a real value; or all
    that can be swapped for real ones, asking about beat SZ-01 if the query takes a beat (a mix
    of real values and junk seldom gets past the first check)."""
    if not isinstance(generated, dict):
        return st.just(generated)
    real = real_values()
    each = st.fixed_dictionaries({
        name: st.sampled_from([value, *real[name]]) if name in real else st.just(value)
        for name, value in generated.items()})
    every = st.fixed_dictionaries({
        **{name: st.sampled_from(real[name]) if name in real else st.just(value)
           for name, value in generated.items() if not (takes_beat and name == "polygon")},
        **({"beat": st.just("SZ-01")} if takes_beat else {})})
    return st.one_of(st.just(generated), each, every)


@pytest.fixture(scope="module")
def engine(server_url):
    """This module's own database, holding the district committed once (loading it in each
    test's transaction would cost a second a test); conftest's ``conn`` and ``app`` then run
    every test in a transaction on it, rolled back after."""
    url = fresh_database(server_url, TEST_DB + "_fuzz")
    upgrade(url.render_as_string(hide_password=False))
    with psycopg.connect(libpq(url)) as conn:
        load_dataset(conn, district_frames(), progress=False)
        rebuild_tracks(conn)
    engine = create_engine(url, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def tokens(conn, settings) -> dict[str, dict[str, str]]:
    """Headers with a bearer token per role; the officer walks beat SZ-01."""
    return bearer_headers(conn, settings.secret_key, officer_badge="SZ-1001", station_code="SZ")


# The description only; each test sends its requests to the ``app`` fixture. Generated requests
# only: the coverage phase's hundreds of boundary cases per operation would take minutes, and
# the schema's own examples cannot be sent as a role.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(environment="test")).openapi(),
    config=SchemathesisConfig.from_dict({"phases": {"examples": {"enabled": False},
                                                    "coverage": {"enabled": False}}}),
)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    return swap_in(path_parameters)


@schema.hook
def flatmap_query(context, query):
    return swap_in(query, takes_beat="beat" in context.operation.query)


@schema.hook
def flatmap_body(context, body):
    return swap_in(body)


@schema.hook
def map_body(context, body):
    if isinstance(body, dict) and isinstance(body.get("time_limit_s"), int | float):
        body["time_limit_s"] = min(body["time_limit_s"], SOLVER_BUDGET_S)
    return body


# The fixtures are per test on purpose (an operation's requests share its transaction), and a
# slow route or a large generated body is no flaw of the API.
@schema.parametrize()
@schema.given(role=st.sampled_from(ROLES))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error_or_hangs(case, role, app, tokens):
    response = case.call(app=app, headers=tokens[role], timeout=TIMEOUT_S)
    case.validate_response(response, checks=[not_a_server_error])
