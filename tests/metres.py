"""Hand-drawn test worlds in metres: UTM 35N offsets from a corner in central Helsinki, written
as SQL that stores them in EPSG:4326 as Beatbook does."""

from pyproj import Transformer

UTM = 32635  # the UTM zone of Helsinki
X0, Y0 = 386_000.0, 6_672_000.0  # the corner
TO_LONLAT = Transformer.from_crs(UTM, 4326, always_xy=True)
TO_METRIC = Transformer.from_crs(4326, UTM, always_xy=True)


def area() -> str:
    """SQL that sets up the area: 2 km square round the corner, Helsinki's time."""
    return (f"INSERT INTO area (name, metric_srid, timezone, geom) VALUES ('test', {UTM}, 'Europe/Helsinki', "
            f"ST_Multi({metric(box(-1000, -1000, 1000, 1000))}));")


def metric(wkt: str) -> str:
    """SQL of a geometry drawn in UTM 35N, stored in lon/lat."""
    return f"ST_Transform(ST_GeomFromText('{wkt}', {UTM}), 4326)"


def box(x0, y0, x1, y1) -> str:
    """WKT of a rectangle, in metres from the corner."""
    return (f"POLYGON(({X0 + x0} {Y0 + y0}, {X0 + x1} {Y0 + y0}, {X0 + x1} {Y0 + y1}, "
            f"{X0 + x0} {Y0 + y1}, {X0 + x0} {Y0 + y0}))")


def point(x, y) -> str:
    """SQL of a point, in metres from the corner."""
    return metric(f"POINT({X0 + x} {Y0 + y})")


def line(*points) -> str:
    """SQL of a line through (x, y) points, in metres from the corner."""
    return metric("LINESTRING(" + ", ".join(f"{X0 + x} {Y0 + y}" for x, y in points) + ")")


def lonlat(x, y) -> dict:
    lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
    return {"lon": lon, "lat": lat}


def offset(coordinates) -> tuple[float, float]:
    """A lon/lat position back in metres from the corner, to the decimetre."""
    x, y = TO_METRIC.transform(*coordinates)
    return round(x - X0, 1), round(y - Y0, 1)
