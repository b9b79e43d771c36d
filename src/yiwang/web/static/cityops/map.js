// Events over the divisions: scatter on lon/lat, town centroids sized by count (no map tiles).
// ECharts renders tooltip text as HTML: event titles come from the public, so they are escaped first.
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}

document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("event-map");
  if (!el || !window.echarts) { return; }
  var data = JSON.parse(el.dataset.map || "{}");
  var chart = echarts.init(el);
  chart.setOption({
    tooltip: { formatter: function (p) { return escapeHtml(p.data[2]); } },
    legend: { data: ["镇（街道）", "事件"] },
    xAxis: { type: "value", scale: true, name: "经度" }, yAxis: { type: "value", scale: true, name: "纬度" },
    series: [
      { name: "镇（街道）", type: "scatter", itemStyle: { color: "rgba(25,118,210,0.35)" },
        symbolSize: function (v) { return 12 + Math.sqrt(v[3]) * 6; },
        data: (data.divisions || []).map(function (d) { return [d.lon, d.lat, d.name + "：" + d.count + " 件", d.count]; }) },
      { name: "事件", type: "scatter", symbolSize: 6, itemStyle: { color: "#c62828" },
        data: (data.points || []).map(function (e) { return [e.lon, e.lat, e.number + " " + e.title, e.number]; }) }
    ]
  });
  chart.on("click", function (p) { if (p.seriesName === "事件") { window.location = "/cityops/events/" + p.data[3]; } });
});
