// Datastream charts for 物联感知 pages (the device map is the one city map, static/geo/map.js).
// ECharts renders tooltip text as HTML: names come from devices and people, so they are escaped first.
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".ds-chart").forEach(function (el) {
    fetch("/api/sensing/datastreams/" + el.dataset.datastream + "/series?period=hour", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var chart = echarts.init(el);
        chart.setOption({ grid: { left: 40, right: 10, top: 10, bottom: 20 }, tooltip: { trigger: "axis" },
          xAxis: { type: "time" }, yAxis: { type: "value", scale: true },
          series: [{ type: "line", showSymbol: false, data: body.points || [] }] });
      });
  });
});
