"""The SQL of beat workload: per beat, the counts a supervisor weighs."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection, text

# Residents to visit: those needing home service and those living alone (the elderly
# living alone are visited fortnightly). A premises or site is due when its latest
# inspection's next date has come, or it was never inspected. A dispute is open until
# it is resolved or referred.
_MEASURES = text("""
    SELECT b.code, b.name, ST_AsGeoJSON(b.geom, 6) AS geojson,
        (SELECT count(*) FROM household h WHERE ST_Intersects(h.geom, b.geom)) AS households,
        (SELECT count(*) FROM resident r JOIN household h ON h.id = r.household_id
          WHERE (r.needs_home_service OR r.lives_alone) AND ST_Intersects(h.geom, b.geom)) AS residents_to_visit,
        (SELECT count(*) FROM premises p WHERE ST_Intersects(p.geom, b.geom)
          AND COALESCE((SELECT i.next_due <= :as_of FROM inspection i WHERE i.premises_id = p.id
                        ORDER BY i.inspected_on DESC LIMIT 1), true)) AS premises_due,
        (SELECT count(*) FROM hazardous_site s WHERE ST_Intersects(s.geom, b.geom)
          AND COALESCE((SELECT i.next_due <= :as_of FROM inspection i WHERE i.hazardous_site_id = s.id
                        ORDER BY i.inspected_on DESC LIMIT 1), true)) AS sites_due,
        (SELECT count(*) FROM incident i WHERE ST_Intersects(i.geom, b.geom)
          AND i.occurred_at >= :since AND i.occurred_at < :until) AS incidents,
        (SELECT count(*) FROM dispute d WHERE ST_Intersects(d.geom, b.geom)
          AND d.status IN ('reported', 'mediating')) AS open_disputes,
        (SELECT COALESCE(sum(ST_Length(ST_Intersection(s.geom, b.geom)::geography)), 0) / 1000
           FROM street_segment s WHERE ST_Intersects(s.geom, b.geom)) AS street_km
    FROM beat b ORDER BY b.code
""")


def beat_measures(conn: Connection, *, since: datetime, until: datetime, as_of: date) -> pd.DataFrame:
    """One row per beat: code, name, geojson and the measures of ``geo.workload.MEASURES``."""
    result = conn.execute(_MEASURES, {"since": since, "until": until, "as_of": as_of})
    frame = pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
    return frame.astype({"street_km": float})
