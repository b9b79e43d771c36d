/* Approximate division areas for the maps: Voronoi cells of the division centroids, clipped to an
   enlarged convex hull of them. Changshu's real boundaries are not available offline; these cells
   only show which town is nearest, and are labelled as approximate. */
(function (global) {
  "use strict";
  function cross(o, a, b) { return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]); }
  function hull(points) {
    const p = points.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const lower = [], upper = [];
    for (const q of p) { while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], q) <= 0) lower.pop(); lower.push(q); }
    for (const q of p.slice().reverse()) { while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], q) <= 0) upper.pop(); upper.push(q); }
    return lower.slice(0, -1).concat(upper.slice(0, -1));
  }
  // Keep the part of the polygon where (x - m)·d <= 0 (Sutherland–Hodgman against one half-plane).
  function clip(poly, m, d) {
    const out = [];
    const side = (p) => (p[0] - m[0]) * d[0] + (p[1] - m[1]) * d[1];
    for (let i = 0; i < poly.length; i++) {
      const a = poly[i], b = poly[(i + 1) % poly.length], sa = side(a), sb = side(b);
      if (sa <= 0) out.push(a);
      if ((sa < 0 && sb > 0) || (sa > 0 && sb < 0)) { const t = sa / (sa - sb); out.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]); }
    }
    return out;
  }
  function divisionAreas(divisions) {
    const sites = divisions.map((d) => [d.lon, d.lat]);
    const h = hull(sites);
    const cx = sites.reduce((s, p) => s + p[0], 0) / sites.length, cy = sites.reduce((s, p) => s + p[1], 0) / sites.length;
    const outline = h.map((p) => [cx + (p[0] - cx) * 1.35 + Math.sign(p[0] - cx) * 0.02, cy + (p[1] - cy) * 1.35 + Math.sign(p[1] - cy) * 0.02]);
    const features = divisions.map((d, i) => {
      let cell = outline.slice();
      sites.forEach((s, j) => {
        if (j === i || cell.length === 0) return;
        const mid = [(sites[i][0] + s[0]) / 2, (sites[i][1] + s[1]) / 2];
        cell = clip(cell, mid, [s[0] - sites[i][0], s[1] - sites[i][1]]);
      });
      const ring = cell.concat([cell[0]]);
      return { type: "Feature", properties: { name: d.name, code: d.code }, geometry: { type: "Polygon", coordinates: [ring] } };
    });
    return { type: "FeatureCollection", features };
  }
  global.brainGeo = { divisionAreas };
})(window);
