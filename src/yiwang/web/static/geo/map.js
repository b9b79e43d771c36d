/* The one city map (OpenLayers, served by the platform): the county outline, the operator's basemap when
   one is set, and the OGC API – Features layers the caller may read, with a legend. Features come from
   /ogc/collections/{id}/items, the same layers GIS tools read. */
(function () {
  "use strict";
  var CITY = [120.53, 31.48, 121.12, 31.85];
  var POINT_COLOURS = { events: "#dc2626", things: "#0891b2", alarms: "#f59e0b", cameras: "#7c3aed" };

  function text(value) { return value == null ? "" : String(value); }

  function outlineStyle(colour, schematic) {
    return function (feature) {
      var dashed = schematic || feature.get("schematic");
      return new ol.style.Style({
        stroke: new ol.style.Stroke({ color: colour, width: dashed ? 1.5 : 2, lineDash: dashed ? [6, 4] : undefined }),
        fill: new ol.style.Fill({ color: "rgba(255,255,255,0.01)" }),
        text: new ol.style.Text({ text: text(feature.get("name")) + (feature.get("schematic") ? "（示意）" : ""),
          font: "12px sans-serif", fill: new ol.style.Fill({ color: colour }), overflow: false })
      });
    };
  }

  /* 2.5-D buildings: walls and a roof shifted up the screen in proportion to height. */
  function buildingStyle(colour) {
    return function (feature, resolution) {
      var geom = feature.getGeometry();
      var polys = geom.getType() === "MultiPolygon" ? geom.getPolygons() : [geom];
      var lift = (feature.get("height") || 10) * 0.6 * Math.max(1, resolution / 2);
      var styles = [];
      polys.forEach(function (poly) {
        var ring = poly.getCoordinates()[0];
        for (var i = 0; i < ring.length - 1; i++) {
          var a = ring[i], b = ring[i + 1];
          styles.push(new ol.style.Style({
            geometry: new ol.geom.Polygon([[a, b, [b[0], b[1] + lift], [a[0], a[1] + lift], a]]),
            fill: new ol.style.Fill({ color: "rgba(71,85,105,0.55)" }), stroke: new ol.style.Stroke({ color: "#334155", width: 0.5 })
          }));
        }
        var roof = poly.clone(); roof.translate(0, lift);
        styles.push(new ol.style.Style({ geometry: roof, fill: new ol.style.Fill({ color: colour }),
          stroke: new ol.style.Stroke({ color: "#1e293b", width: 1 }) }));
      });
      return styles;
    };
  }

  function pointStyle(colour) {
    var style = new ol.style.Style({ image: new ol.style.Circle({ radius: 5, fill: new ol.style.Fill({ color: colour }),
      stroke: new ol.style.Stroke({ color: "#fff", width: 1 }) }) });
    return function () { return style; };
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(url + " " + r.status); }
      return r.json();
    });
  }

  function init(el) {
    var legendEl = el.parentNode.querySelector(".ywmap-legend");
    var layers = JSON.parse(el.dataset.layers || "[]");
    var format = new ol.format.GeoJSON({ featureProjection: "EPSG:3857" });
    var center = el.dataset.center ? JSON.parse(el.dataset.center) : null;
    var view = new ol.View({ center: ol.proj.fromLonLat(center || [120.78, 31.66]), zoom: Number(el.dataset.zoom || 10) });
    var map = new ol.Map({ target: el, view: view, layers: [], controls: ol.control.defaults.defaults({ attribution: false }) });
    var empty = document.createElement("div"); empty.className = "ywmap-empty"; empty.textContent = "加载中…"; el.appendChild(empty);
    var outline = new ol.layer.Vector({ source: new ol.source.Vector({ url: "/static/vendor/changshu-outline.geojson", format: format }),
      style: new ol.style.Style({ stroke: new ol.style.Stroke({ color: "#0f172a", width: 2.5 }) }), zIndex: 1 });
    map.addLayer(outline);
    if (!center) { map.getView().fit(ol.proj.transformExtent(CITY, "EPSG:4326", "EPSG:3857"), { padding: [10, 10, 10, 10] }); }
    getJSON("/geo/basemap.json").then(function (info) {
      if (!info.present) { return; }
      var layer = info.format === "pbf"
        ? new ol.layer.VectorTile({ source: new ol.source.VectorTile({ format: new ol.format.MVT(), url: info.tiles, maxZoom: info.max_zoom }) })
        : new ol.layer.Tile({ source: new ol.source.XYZ({ url: info.tiles, maxZoom: info.max_zoom }) });
      layer.setZIndex(0); map.addLayer(layer); el.dataset.basemap = info.kind;
    }).catch(function () {});
    var total = 0, pending = layers.length;
    var extent = ol.proj.transformExtent(CITY, "EPSG:4326", "EPSG:3857");
    var bbox = el.dataset.bbox || CITY.join(",");
    function done() {
      pending -= 1;
      if (pending <= 0) {
        if (total === 0) { empty.textContent = "暂无数据"; } else { empty.remove(); }
        el.dataset.features = String(total); el.dataset.ready = "1";
      }
    }
    if (!layers.length) { pending = 1; done(); }
    layers.forEach(function (spec, i) {
      var colour = spec.legend.stroke || spec.legend.fill || POINT_COLOURS[spec.id] || "#2563eb";
      var kind = spec.legend.kind || "point";
      var style = kind === "outline" ? outlineStyle(colour) : kind === "building" ? buildingStyle(colour) : pointStyle(colour);
      var source = new ol.source.Vector();
      var layer = new ol.layer.Vector({ source: source, style: style, zIndex: 2 + i, declutter: false });
      layer.set("yw", spec.id);
      map.addLayer(layer);
      var label = document.createElement("label");
      var box = document.createElement("input"); box.type = "checkbox"; box.checked = true;
      box.addEventListener("change", function () { layer.setVisible(box.checked); });
      var swatch = document.createElement("i"); swatch.style.color = colour; if (kind === "point") { swatch.className = "point"; swatch.style.background = colour; }
      var count = document.createElement("span");
      label.append(box, swatch, document.createTextNode(spec.title), count);
      legendEl.appendChild(label);
      getJSON("/ogc/collections/" + encodeURIComponent(spec.id) + "/items?limit=2000&bbox=" + bbox).then(function (fc) {
        var features = format.readFeatures(fc);
        source.addFeatures(features); total += features.length;
        count.textContent = "（" + features.length + (fc.numberMatched > features.length ? "/" + fc.numberMatched : "") + "）";
      }).catch(function () { count.textContent = "（无法读取）"; }).then(done);
    });
    var note = document.createElement("label");
    note.innerHTML = '<i style="color:#0f172a"></i>常熟市界';
    legendEl.prepend(note);
    if (el.dataset.schematic) { var s = document.createElement("span"); s.className = "muted"; s.textContent = "虚线：示意边界"; legendEl.appendChild(s); }
    /* Hover: the feature's name as plain text (textContent: names come from devices and the public). */
    var tip = document.createElement("div"); tip.className = "ywmap-popup"; tip.hidden = true;
    var overlay = new ol.Overlay({ element: tip, offset: [10, -10], positioning: "bottom-left" });
    map.addOverlay(overlay);
    function label(feature, id) {
      var p = feature.getProperties();
      if (id === "events") { return feature.getId() + " " + text(p.title); }
      if (id === "things") { return text(p.name); }
      if (id === "alarms") { return text(p.thing) + "：" + text(p.message); }
      return text(p.name) + (p.height ? "（" + p.height + " 米）" : "");
    }
    function showTip(feature, id, coordinate) {
      if (!feature) { tip.hidden = true; return; }
      tip.textContent = label(feature, id); tip.hidden = false; overlay.setPosition(coordinate);
    }
    map.on("pointermove", function (evt) {
      var hit = null;
      map.forEachFeatureAtPixel(evt.pixel, function (feature, layer) { hit = [feature, layer && layer.get("yw")]; return true; },
        { layerFilter: function (l) { return !!l.get("yw"); } });
      showTip(hit && hit[0], hit && hit[1], evt.coordinate);
    });
    el.ywTip = function (id, fid) {
      var layer = map.getLayers().getArray().find(function (l) { return l.get("yw") === id; });
      var feature = layer && layer.getSource().getFeatureById(fid);
      if (!feature) { return null; }
      showTip(feature, id, ol.extent.getCenter(feature.getGeometry().getExtent()));
      return { text: tip.textContent, html: tip.innerHTML };
    };
    map.on("singleclick", function (evt) {
      map.forEachFeatureAtPixel(evt.pixel, function (feature, layer) {
        var id = layer && layer.get("yw");
        if (id === "buildings") { window.location = "/map/buildings/" + encodeURIComponent(feature.getId()); return true; }
        if (id === "events") { window.location = "/cityops/events/" + encodeURIComponent(feature.getId()); return true; }
        if (id === "things") { window.location = "/sensing/things/" + encodeURIComponent(feature.getId()); return true; }
        return false;
      });
    });
    el.ywmap = map;
    void extent;
  }

  window.ywMap = { init: init };
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.ol) { return; }
    document.querySelectorAll(".ywmap").forEach(init);
  });
})();
