"""The Helsinki demo: real streets, buildings, entrances, cameras and shops of central Helsinki
(OpenStreetMap, see data/helsinki/SOURCE.txt) under synthetic beats, officers, people and events.

Every row is marked synthetic: even the OSM-derived ones carry invented attributes
(property management, access control, floors where OSM has none).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatbook.generate.population import (
    FINNISH_NAMES,
    Plan,
    entrance_frame,
    finalize,
    geoframe,
    names,
    nearest_geometry,
    other_door_kinds,
    outline_entrances,
    pick,
    polygon_index,
    populate,
    register_premises,
    snap_to_outline,
    stream,
    synthetic_premises,
    with_ids,
)
from beatbook.settings import PROJECT_ROOT, get_settings

LAYERS = PROJECT_ROOT / "data" / "helsinki" / "helsinki_layers.gpkg"
BEATS = PROJECT_ROOT / "data" / "boundaries" / "helsinki_beats.geojson"
TZ = "Europe/Helsinki"
STATION = "HKI"
AREA_MARGIN_M = 200.0

RESIDENTIAL_TAGS = {"yes", "apartments", "residential", "house", "detached", "terrace", "dormitory"}
COMMERCIAL_TAGS = {"retail", "commercial", "office", "kiosk", "hotel", "supermarket"}
PUBLIC_TAGS = {
    "public",
    "church",
    "chapel",
    "cathedral",
    "university",
    "school",
    "museum",
    "civic",
    "government",
    "hospital",
    "train_station",
}
SHOPS_MAKING_COMMERCIAL = 5  # a building='yes' with this many shops/offices inside is not housing
PROPERTY_COMPANIES = (
    "Kruunu Isännöinti Oy",
    "Esplanadi Kiinteistöpalvelut Oy",
    "Helmi Huolto Oy",
    "Sataman Isännöinti Oy",
    "Kaarti Kiinteistöt Oy",
)
ENTRANCE_KIND = {
    "main": "main",
    "yes": "main",
    "staircase": "main",
    "home": "main",
    "service": "service",
    "side": "service",
    "secondary": "service",
    "delivery": "service",
    "garage": "garage",
    "emergency": "emergency",
    "exit": "emergency",
}
ENTRANCE_SNAP_M = 5.0
TRADE_MIN = 3
SHOP_AMENITIES = {"restaurant", "cafe", "fast_food", "pub", "bar", "bank", "pharmacy", "ice_cream"}
FOOTPATHS = {"footway", "path", "pedestrian"}
NOT_ROADS = FOOTPATHS | {"steps", "corridor", "elevator", "trail", "cycleway", "bridleway"}
SIDEWALK_M = 12.0  # a footway closer than this to a road runs along it
# OSM amenities that are public facilities, by kind (PUBLIC_FACILITY_KINDS). Dentists and
# pharmacies are left out: no one is kept or taught there.
FACILITY_AMENITIES = {
    "school": "school",
    "kindergarten": "kindergarten",
    "childcare": "kindergarten",
    "university": "university",
    "college": "university",
    "clinic": "clinic",
    "doctors": "clinic",
    "hospital": "hospital",
}


def build_demo(
    seed: int = 7, reference_date: date = date(2026, 11, 1), *, id_hash_key: str | None = None
) -> dict[str, pd.DataFrame]:
    """The demo dataset: frames keyed by table name, in load order, geometries in EPSG:4326.

    Deterministic: the same seed, reference date and hash key give identical frames.
    ``id_hash_key`` defaults to the settings' key, which the API uses to match numbers.
    """
    beat_shapes = gpd.read_file(BEATS)
    crs = beat_shapes.estimate_utm_crs()
    layer = {
        name: gpd.read_file(LAYERS, layer=name)
        for name in ("streets_walking", "buildings", "entrances", "pois", "surveillance_cameras")
    }
    streets = street_segments(layer["streets_walking"], crs)
    pois = layer["pois"].to_crs(crs)
    buildings = _buildings(stream(seed, "buildings"), layer["buildings"].to_crs(crs), pois)
    beats = _beats(beat_shapes.to_crs(crs))
    officers, officer_beat = _officers(stream(seed, "officers"), reference_date)
    place = {
        "building": buildings,
        "entrance": _entrances(
            stream(seed, "entrances"), layer["entrances"].to_crs(crs), buildings, streets
        ),
        "street_segment": streets,
        "beat": beats,
        "officer_beat": officer_beat,
        "premises": _premises(stream(seed, "premises"), pois, buildings),
    }
    facilities = _public_facilities(pois, buildings)
    plan = Plan(
        reference_date=reference_date,
        tz=TZ,
        names=FINNISH_NAMES,
        id_hash_key=id_hash_key or get_settings().id_hash_key,
        units_per_floor=1.5,
        default_floors=5,
        incident_days=56,
        n_incidents=240,
        n_disputes=40,
        n_campaigns=12,
        n_facility_issues=25,
        n_hazardous_sites=int(stream(seed, "plan").integers(3, 6)),
        patrol_nights=21,
        n_patrol_shifts=50,
    )
    return finalize(
        {
            "area": _area(beats),
            "station": geoframe(
                crs,
                [beats.geometry.values[1].centroid],
                id=[1],
                code=[STATION],
                name=["Helsinki demo station"],
            ),
            "officer": officers,
            "camera": _cameras(stream(seed, "cameras"), layer["surveillance_cameras"].to_crs(crs)),
            "focus_area": _focus_areas(pois, streets, buildings, beats),
            **place,
            "public_facility": facilities,
            **populate(seed, place, plan),
        }
    )


# --- streets ------------------------------------------------------------------------------


def street_segments(ways: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    """The walking network as routable segments, measured in the metric ``crs``.

    OSM ways run through junctions, so each way is split at every node it shares
    with another way. Vertex ids come from endpoint coordinates rounded to 1e-7°
    (~1 cm): ends that meet get the same id, which is what makes the graph routable.
    A segment marked one way runs from source to target.
    """
    geoms = ways.geometry.values.copy()
    backwards = ways["oneway"].eq("-1").to_numpy()  # one way against the drawing direction
    geoms[backwards] = shapely.reverse(geoms[backwards])
    coords, way = shapely.get_coordinates(geoms, return_index=True)
    vertex = np.unique(np.round(coords, 7), axis=0, return_inverse=True)[1].ravel()
    first = np.r_[True, way[1:] != way[:-1]]
    last = np.r_[way[1:] != way[:-1], True]
    ways_at_vertex = np.bincount(np.unique(np.c_[vertex, way], axis=0)[:, 0])
    split = (ways_at_vertex[vertex] > 1) & ~first & ~last

    copies = 1 + split  # a split node ends one piece and starts the next
    starts = np.repeat(first, copies)
    starts[(np.cumsum(copies) - 1)[split]] = True
    piece = np.cumsum(starts) - 1
    lines = shapely.linestrings(np.repeat(coords, copies, axis=0), indices=piece)
    source_of = np.repeat(way, copies)[starts]

    ends = np.round(
        np.r_[
            shapely.get_coordinates(shapely.get_point(lines, 0)),
            shapely.get_coordinates(shapely.get_point(lines, -1)),
        ],
        7,
    )
    node = np.unique(ends, axis=0, return_inverse=True)[1].ravel() + 1
    attrs = ways.iloc[source_of]
    frame = geoframe(
        ways.crs,
        lines,
        osm_id=attrs["id"].to_numpy(),
        name=attrs["name"].to_numpy(dtype=object),
        highway=attrs["highway"].fillna("unclassified").to_numpy(dtype=object),
        oneway=attrs["oneway"].isin(["yes", "-1", "true", "1"]).to_numpy(),
        source=node[: len(lines)],
        target=node[len(lines) :],
    ).to_crs(crs)
    frame.insert(frame.columns.get_loc("source"), "length_m", frame.length.to_numpy())
    return with_ids(frame[frame["length_m"] > 0].reset_index(drop=True))


# --- buildings, entrances, cameras, premises ----------------------------------------------


def as_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Each geometry as a valid MultiPolygon (None when nothing polygonal is left).

    ``make_valid`` can turn a bad ring into a collection of polygons and lines; the
    lines (zero-area slivers) are dropped and the polygons kept together.
    """
    parts, owner = shapely.get_parts(shapely.make_valid(geoms), return_index=True)
    parts, inner = shapely.get_parts(parts, return_index=True)  # collections may hold multipolygons
    owner = owner[inner]
    polygon = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    kept, dense = np.unique(owner[polygon], return_inverse=True)
    out = np.full(len(geoms), None, dtype=object)
    out[kept] = shapely.multipolygons(parts[polygon], indices=dense)
    return out


def _buildings(
    rng: np.random.Generator, raw: gpd.GeoDataFrame, pois: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    geom = as_multipolygons(raw.geometry.values)
    raw = raw[pd.notna(geom)].reset_index(drop=True)
    geom = geom[pd.notna(geom)]
    floors = np.ceil(pd.to_numeric(raw["building:levels"], errors="coerce"))
    managed = rng.random(len(raw)) < 0.4
    frame = geoframe(
        raw.crs,
        geom,
        osm_id=raw["id"].to_numpy(),
        address=_addresses(raw).to_numpy(dtype=object),
        name=raw["name"].to_numpy(dtype=object),
        floors=pd.array(floors.where(floors > 0), dtype="Int64"),
        use=_uses(raw["building"].fillna("yes").to_numpy(dtype=object), _shops_inside(geom, pois)),
        managed=managed,
        property_company=np.where(managed, pick(rng, PROPERTY_COMPANIES, len(raw)), None),
    )
    frame = with_ids(frame)
    frame.insert(
        3,
        "address_code",
        np.char.add(
            f"{STATION}-B", np.char.zfill(frame["id"].astype(str).to_numpy(dtype=str), 6)
        ).astype(object),
    )
    return frame


def _addresses(raw: pd.DataFrame) -> pd.Series:
    """'street number, postcode city' from the addr:* tags, as far as they go."""
    street = (raw["addr:street"] + " " + raw["addr:housenumber"].fillna("")).str.strip()
    town = (raw["addr:postcode"].fillna("") + " " + raw["addr:city"].fillna("")).str.strip()
    return street.where(town == "", street + ", " + town)


def _shops_inside(geoms: np.ndarray, pois: gpd.GeoDataFrame) -> np.ndarray:
    shops = pois[pois["shop"].notna() | pois["office"].notna()]
    _, building = shapely.STRtree(geoms).query(
        shapely.point_on_surface(shops.geometry.values), predicate="within"
    )
    return np.bincount(building, minlength=len(geoms))


def _uses(tags: np.ndarray, shops: np.ndarray) -> np.ndarray:
    """Use guessed from the OSM tag; an untyped building full of shops is commercial."""
    use = np.full(len(tags), "other", dtype=object)
    use[np.isin(tags, list(RESIDENTIAL_TAGS))] = "residential"
    use[np.isin(tags, list(PUBLIC_TAGS))] = "public"
    use[
        np.isin(tags, list(COMMERCIAL_TAGS))
        | ((tags == "yes") & (shops >= SHOPS_MAKING_COMMERCIAL))
    ] = "commercial"
    return use


def _entrances(
    rng: np.random.Generator,
    raw: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """OSM entrances within 5 m of a building (snapped onto its outline), and 1-3 made-up ones on
    the outline of every building OSM gives none, the first facing the nearest street.

    OSM entrances farther from any building (metro stairs, gates) are not building
    entrances and are left out.
    """
    geoms = buildings.geometry.values
    found, osm_row = shapely.STRtree(geoms).query_nearest(
        raw.geometry.values, max_distance=ENTRANCE_SNAP_M, all_matches=False
    )
    bare = np.setdiff1d(np.arange(len(geoms)), osm_row)
    counts = np.where(shapely.area(geoms[bare]) < 150, 1, rng.integers(1, 4, len(bare)))
    made, made_points, rank = outline_entrances(
        geoms[bare], nearest_geometry(streets.geometry.values, geoms[bare]), counts
    )
    osm_id = pd.array(
        np.r_[raw["id"].to_numpy()[found], np.zeros(len(made), np.int64)], dtype="Int64"
    )
    osm_id[len(found) :] = pd.NA
    return entrance_frame(
        rng,
        buildings,
        rows=np.r_[osm_row, bare[made]],
        points=np.r_[snap_to_outline(geoms[osm_row], raw.geometry.values[found]), made_points],
        kind=np.r_[
            raw["entrance"].map(ENTRANCE_KIND).fillna("other").to_numpy(dtype=object)[found],
            other_door_kinds(rng, rank),
        ],
        osm_id=osm_id,
    )


def _cameras(rng: np.random.Generator, raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """OSM surveillance cameras: a numeric direction tag gives a 90° sector, none a 360° dome."""
    tags = [json.loads(t) if isinstance(t, str) else {} for t in raw["tags"]]
    direction = np.array([_degrees(t.get("camera:direction", t.get("direction"))) for t in tags])
    frame = geoframe(
        raw.crs,
        raw.geometry.values,
        osm_id=raw["id"].to_numpy(),
        direction_deg=direction,
        fov_deg=np.where(np.isnan(direction), 360.0, 90.0),
        range_m=rng.integers(30, 51, len(raw)).astype(float),
        owner=np.array([t.get("operator") for t in tags], dtype=object),
        working=rng.random(len(raw)) < 0.95,
    )
    return with_ids(frame)


def _degrees(value) -> float:
    try:
        return float(value) % 360.0
    except (TypeError, ValueError):
        return float("nan")


def _premises(
    rng: np.random.Generator, pois: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Special-trade premises from OSM shops and amenities, topped up to three per trade.

    Hotels by name or amenity, scrap buyers from second-hand, pawn and scrap shops,
    locksmiths from craft or shop = locksmith. Trades with fewer than three get
    synthetic premises inside non-residential buildings, so every trade has some.
    """
    name = pois["name"].fillna("")
    trade = np.select(
        [
            pois["amenity"].eq("hotel").to_numpy()
            | name.str.contains(r"(?i)\b(?:hotel|hostel|hotelli|motel)\b").to_numpy(),
            pois["shop"].isin(["second_hand", "pawnbroker", "scrap"]).to_numpy(),
            (pois["craft"].eq("locksmith") | pois["shop"].eq("locksmith")).to_numpy(),
        ],
        ["hotel", "scrap_buyer", "locksmith"],
        default="",
    )
    osm = pois[trade != ""]
    points = shapely.point_on_surface(osm.geometry.values)
    found, row = shapely.STRtree(buildings.geometry.values).query_nearest(
        points, max_distance=10.0, all_matches=False
    )
    building_id = pd.array(np.zeros(len(osm), np.int64), dtype="Int64")
    building_id[:] = pd.NA
    building_id[found] = buildings["id"].to_numpy()[row]
    frames = [
        geoframe(
            buildings.crs,
            points,
            osm_id=osm["id"].to_numpy(),
            building_id=building_id,
            trade=trade[trade != ""].astype(object),
            name=osm["name"].to_numpy(dtype=object),
        )
    ]
    hosts = buildings[buildings["use"] != "residential"]
    for kind in ("hotel", "scrap_buyer", "locksmith"):
        missing = TRADE_MIN - int((trade == kind).sum())
        if missing > 0:
            frames.append(
                synthetic_premises(
                    rng,
                    kind,
                    missing,
                    shapely.point_on_surface(hosts.geometry.values),
                    hosts["id"].to_numpy(),
                    FINNISH_NAMES,
                    buildings.crs,
                )
            )
    return register_premises(rng, frames, STATION, FINNISH_NAMES)


def _public_facilities(pois: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Schools, kindergartens, universities, clinics and hospitals among the OSM POIs, as they are.

    The point is on the POI (inside a school's grounds); the building is the one the POI's
    outline overlaps most, or for a point the one it stands in or within 10 m of.
    """
    osm = pois[pois["amenity"].isin(list(FACILITY_AMENITIES))].reset_index(drop=True)
    geoms = osm.geometry.values
    building_id = pd.array(np.zeros(len(osm), np.int64), dtype="Int64")
    building_id[:] = pd.NA
    tree = shapely.STRtree(buildings.geometry.values)
    found, row = tree.query_nearest(shapely.point_on_surface(geoms), max_distance=10.0, all_matches=False)
    building_id[found] = buildings["id"].to_numpy()[row]
    grounds, row = tree.query(geoms, predicate="intersects")
    if len(grounds):
        overlap = shapely.area(shapely.intersection(geoms[grounds], buildings.geometry.values[row]))
        best = pd.DataFrame({"poi": grounds, "row": row, "overlap": overlap})
        best = best[best["overlap"] > 0].sort_values(["poi", "overlap"], ascending=[True, False])
        best = best.drop_duplicates("poi")
        building_id[best["poi"].to_numpy()] = buildings["id"].to_numpy()[best["row"].to_numpy()]
    frame = geoframe(
        pois.crs,
        shapely.point_on_surface(geoms),
        osm_id=osm["id"].to_numpy(),
        building_id=building_id,
        kind=osm["amenity"].map(FACILITY_AMENITIES).to_numpy(dtype=object),
        name=osm["name"].to_numpy(dtype=object),
    )
    return with_ids(frame)


# --- beats, officers, focus areas, area ----------------------------------------------------


def _beats(shapes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    shapes = shapes.sort_values("code").reset_index(drop=True)
    frame = geoframe(
        shapes.crs,
        as_multipolygons(shapes.geometry.values),
        station_id=1,
        code=shapes["code"].to_numpy(dtype=object),
        name=shapes["name"].to_numpy(dtype=object),
    )
    return with_ids(frame)


def _officers(rng: np.random.Generator, reference_date: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four officers for three beats; the fourth moved from beat 2 to beat 3 four months ago."""
    officers = with_ids(
        pd.DataFrame(
            {
                "station_id": 1,
                "badge": [f"{STATION}-{101 + i}" for i in range(4)],
                "name": names(rng, 4, FINNISH_NAMES),
            }
        )
    )
    since = reference_date - timedelta(days=400)
    moved = reference_date - timedelta(days=120)
    officer_beat = with_ids(
        pd.DataFrame(
            {
                "officer_id": [1, 2, 3, 4, 4],
                "beat_id": [1, 2, 3, 2, 3],
                "valid_from": [since, since, since, since, moved],
                "valid_to": [None, None, None, moved - timedelta(days=1), None],
            }
        )
    )
    return officers, officer_beat


def _focus_areas(
    pois: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    beats: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    frame = pd.concat(
        [_commercial_streets(pois, streets), _footpaths(streets, buildings), _car_parks(pois)],
        ignore_index=True,
    )
    frame.insert(
        0,
        "beat_id",
        beats["id"].to_numpy()[
            polygon_index(shapely.point_on_surface(frame.geometry.values), beats.geometry.values)
        ],
    )
    return with_ids(frame)


def _commercial_streets(pois: gpd.GeoDataFrame, streets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Named streets with at least 4 shops or cafés within 20 m of a segment, as 10 m buffers.

    Priority grows with the number of shops along the street (1-3).
    """
    busy = pois[pois["shop"].notna() | pois["amenity"].isin(SHOP_AMENITIES)]
    roads = streets[streets["name"].notna() & ~streets["highway"].isin(FOOTPATHS)]
    _, near = shapely.STRtree(roads.geometry.values).query(
        shapely.point_on_surface(busy.geometry.values), predicate="dwithin", distance=20.0
    )
    shops = np.bincount(near, minlength=len(roads))
    lively = roads.assign(shops=shops)[shops >= 4]
    per_street = lively.groupby("name").agg(shops=("shops", "sum"))
    shapes = [
        shapely.union_all(
            shapely.buffer(lively.geometry.values[lively["name"].to_numpy() == n], 10.0)
        )
        for n in per_street.index
    ]
    return geoframe(
        streets.crs,
        shapes,
        kind="commercial_street",
        name=per_street.index.to_numpy(dtype=object),
        priority=np.digitize(per_street["shops"].to_numpy(), [15, 40]).astype(float) + 1.0,
    )


def _footpaths(streets: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Footpaths between blocks: footways, paths and pedestrian streets that are not sidewalks
    (their middle is over 12 m from any road) and pass within 15 m of two or more buildings,
    merged into continuous lines of 50 m or more; those of 100 m or more get priority 2."""
    paths = streets[streets["highway"].isin(FOOTPATHS)]
    roads = streets[~streets["highway"].isin(NOT_ROADS)]
    middle = shapely.line_interpolate_point(paths.geometry.values, 0.5, normalized=True)
    paths = paths[shapely.distance(middle, shapely.union_all(roads.geometry.values)) > SIDEWALK_M]
    path_row, building_row = shapely.STRtree(buildings.geometry.values).query(
        paths.geometry.values, predicate="dwithin", distance=15.0
    )
    between = np.unique(np.c_[path_row, building_row], axis=0)[:, 0]
    chosen = paths.geometry.values[np.bincount(between, minlength=len(paths)) >= 2]
    lines = shapely.get_parts(shapely.line_merge(shapely.union_all(chosen)))
    lines = lines[shapely.length(lines) >= 50.0]
    return geoframe(
        streets.crs,
        lines,
        kind="footpath",
        name=None,
        priority=np.where(shapely.length(lines) >= 100.0, 2.0, 1.0),
    )


def _car_parks(pois: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """OSM car parks: their outline when mapped as an area, else a 15 m circle round the point."""
    parks = pois[pois["amenity"].eq("parking")]
    geom = parks.geometry.values
    polygonal = np.isin(
        shapely.get_type_id(geom), [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON]
    )
    shapes = np.where(
        polygonal, shapely.make_valid(geom), shapely.buffer(shapely.point_on_surface(geom), 15.0)
    )
    return geoframe(
        pois.crs,
        shapes,
        kind="car_park",
        name=parks["name"].fillna("Car park").to_numpy(dtype=object),
        priority=2.0,
    )


def _area(beats: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The installation's area: all beats and 200 m round them, measured in their UTM zone."""
    outline = shapely.buffer(shapely.union_all(beats.geometry.values), AREA_MARGIN_M)
    return geoframe(
        beats.crs,
        as_multipolygons(np.array([outline])),
        id=[1],
        name=["Helsinki demo area"],
        metric_srid=[beats.crs.to_epsg()],
        timezone=[TZ],
    )
