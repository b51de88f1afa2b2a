// WGS-84 <-> GCJ-02, the shifted coordinates of AMap/Gaode and Tencent maps, for the map page.
//
// The same formulas, constants and fixed-point inverse as geo/chinese_datums.py, operation
// for operation, so a point converted here and one converted by the server agree to the last
// bits (tests/test_datums_map.py holds them to 1e-9 degrees on thousands of real vertices).
// Beatbook stores WGS-84; over a GCJ-02 basemap its layers are drawn shifted with
// wgs84ToGcj02, and a click is read back with gcj02ToWgs84. Arguments and results are
// (longitude, latitude) in degrees, in that order, as in GeoJSON (not Leaflet's lat, lng).
// No dependencies: load it before the page's own script.
(function () {
  "use strict";

  // The Krasovsky 1940 ellipsoid the GCJ-02 formulas are written for.
  var A = 6378245.0;
  var EE = 0.00669342162296594323;
  // Outside this box (west, south, east, north) GCJ-02 equals WGS-84.
  var CHINA = [72.004, 0.8293, 137.8347, 55.8271];
  var PI = Math.PI;
  // The inverse: fixed-point iteration, as geo/chinese_datums.py's _invert.
  var MAX_ITERATIONS = 30;
  var TOLERANCE_DEG = 1e-10;

  function inChina(lng, lat) {
    return lng >= CHINA[0] && lng <= CHINA[2] && lat >= CHINA[1] && lat <= CHINA[3];
  }

  // The shift [dlng, dlat] in degrees that GCJ-02 adds at a WGS-84 point.
  function offset(lng, lat) {
    if (!inChina(lng, lat)) return [0.0, 0.0];
    var x = lng - 105.0, y = lat - 35.0;
    var shared = (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    var dlat = (-100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x)) + shared
      + (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3
      + (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3);
    var dlng = (300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x)) + shared
      + (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3
      + (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3);
    var rad = lat / 180.0 * PI;
    var sin = Math.sin(rad);
    var magic = 1 - EE * (sin * sin);
    dlat = dlat * 180.0 / ((A * (1 - EE)) / (magic * Math.sqrt(magic)) * PI);
    dlng = dlng * 180.0 / (A / Math.sqrt(magic) * Math.cos(rad) * PI);
    return [dlng, dlat];
  }

  function wgs84ToGcj02(lng, lat) {
    var d = offset(lng, lat);
    return [lng + d[0], lat + d[1]];
  }

  // GCJ-02 has no closed-form inverse: solve wgs84ToGcj02(p) = (lng, lat) by fixed-point
  // iteration from p = (lng, lat); each step shrinks the error some 200-fold.
  function gcj02ToWgs84(lng, lat) {
    var x = lng, y = lat;
    for (var i = 0; i < MAX_ITERATIONS; i++) {
      var f = wgs84ToGcj02(x, y);
      var ex = f[0] - lng, ey = f[1] - lat;
      x -= ex;
      y -= ey;
      if (Math.max(Math.abs(ex), Math.abs(ey)) < TOLERANCE_DEG) break;
    }
    return [x, y];
  }

  function outOfChina(lng, lat) {
    return !inChina(lng, lat);
  }

  window.beatbookDatums = Object.freeze({
    wgs84ToGcj02: wgs84ToGcj02,
    gcj02ToWgs84: gcj02ToWgs84,
    outOfChina: outOfChina,
  });
})();
