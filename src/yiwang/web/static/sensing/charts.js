// Device map (scatter on lon/lat, no tiles) and datastream charts for 物联感知 pages.
// ECharts renders tooltip text as HTML: names come from devices and people, so they are escaped first.
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}

document.addEventListener("DOMContentLoaded", function () {
  var mapEl = document.getElementById("device-map");
  if (mapEl && window.echarts) {
    var points = JSON.parse(mapEl.dataset.points || "[]");
    var chart = echarts.init(mapEl);
    chart.setOption({
      tooltip: { formatter: function (p) { return escapeHtml(p.data[2]); } },
      xAxis: { type: "value", scale: true, name: "经度" }, yAxis: { type: "value", scale: true, name: "纬度" },
      series: [{ type: "scatter", symbolSize: 9, data: points.map(function (t) { return [t.lon, t.lat, t.name, t.id, t.online]; }),
        itemStyle: { color: function (p) { return p.data[4] ? "#2e7d32" : "#c62828"; } } }]
    });
    chart.on("click", function (p) { window.location = "/sensing/things/" + p.data[3]; });
  }
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
