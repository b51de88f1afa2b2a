"""A layer's features as the files GIS tools and spreadsheets read: GeoPackage, GeoJSON, CSV
(geometry as WKT) and XLSX. Pure: a GeoDataFrame in, bytes out."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import geopandas as gpd

# format: (media type, file suffix)
FORMATS = {
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "geojson": ("application/geo+json", "geojson"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


def export_bytes(frame: gpd.GeoDataFrame, fmt: str, layer: str) -> bytes:
    """The frame written in ``fmt`` (a key of FORMATS), its layer (GeoPackage) named ``layer``."""
    if fmt in ("gpkg", "geojson"):
        # pyogrio writes to paths: a GeoPackage is a SQLite file.
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{layer}.{fmt}"
            frame.to_file(path, driver="GPKG" if fmt == "gpkg" else "GeoJSON",
                          layer=layer if fmt == "gpkg" else None)
            return path.read_bytes()
    table = frame.assign(geometry_wkt=frame.geometry.to_wkt()).drop(columns=frame.geometry.name)
    if fmt == "csv":
        return table.to_csv(index=False).encode("utf-8-sig")  # Excel reads the UTF-8 as such
    out = io.BytesIO()
    # Excel keeps no time zone: times go as they are in UTC, without their offset.
    for name in table.columns:
        if hasattr(table[name], "dt") and getattr(table[name].dt, "tz", None) is not None:
            table[name] = table[name].dt.tz_convert("UTC").dt.tz_localize(None)
    table.to_excel(out, index=False, sheet_name=layer[:31])
    return out.getvalue()
