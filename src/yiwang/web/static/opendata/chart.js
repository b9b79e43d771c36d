// Draws the dataset chart: fetches the ECharts option prepared by the server (no inline script, CSP-safe).
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("chart");
  if (!box || !window.echarts) return;
  fetch(box.dataset.src, { headers: { Accept: "application/json" } })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (option) {
      if (!option) { box.style.height = "auto"; return; }
      box.innerHTML = "";
      var chart = window.echarts.init(box);
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
    });
});
