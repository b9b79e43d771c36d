/* Charts on the normal 城市智脑 pages: trends, indicator history, a warning's band, forecasts. */
(function () {
  "use strict";
  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then((r) => {
      if (!r.ok) throw new Error(url + " " + r.status);
      return r.json();
    });
  }
  function fmt(v, d) { return v == null ? "—" : (Math.round(v * Math.pow(10, d)) / Math.pow(10, d)).toString(); }
  function short(t) { return t.slice(5, 16).replace("T", " "); }

  function trends(node) {
    get(node.dataset.url).then((t) => {
      echarts.init(node).setOption({
        tooltip: { trigger: "axis" }, legend: { top: 0, data: ["全市AQI（日均）", "事件量（日）"] }, grid: { left: 40, right: 40, top: 30, bottom: 24 },
        xAxis: { type: "category", data: t.days.map((d) => d.slice(5)) },
        yAxis: [{ type: "value", name: "AQI" }, { type: "value", name: "件", splitLine: { show: false } }],
        series: [{ name: "全市AQI（日均）", type: "line", smooth: true, data: t.aqi, connectNulls: true },
                 { name: "事件量（日）", type: "bar", yAxisIndex: 1, data: t.events, itemStyle: { opacity: 0.6 } }],
      });
    });
  }

  function history(node) {
    get(node.dataset.url).then((rows) => {
      const target = Number(node.dataset.target);
      echarts.init(node).setOption({
        tooltip: { trigger: "axis", formatter: (ps) => ps.map((p) => p.axisValue + " " + p.seriesName + "：" + fmt(p.value, 2)).join("<br>") },
        grid: { left: 50, right: 20, top: 20, bottom: 30 },
        xAxis: { type: "category", data: rows.map((r) => r.period + (r.origin === "demo" ? "（演示）" : "")) },
        yAxis: { type: "value", name: node.dataset.unit, min: 0, max: (v) => Math.ceil(Math.max(v.max, target) * 1.05) },
        series: [{ name: "月度值", type: "line", data: rows.map((r) => r.value), connectNulls: true, markLine: { symbol: "none", data: [{ yAxis: target, name: "2025目标" }], label: { formatter: "目标 {c}" } } }],
      });
    });
  }

  function band(node, d) {
    const w = d.warning;
    const lo = d.times.map(() => w.low), width = d.times.map(() => w.high - w.low);
    const at = d.times.findIndex((t) => new Date(t).getTime() === new Date(w.ts.endsWith("Z") || w.ts.includes("+") ? w.ts : w.ts + "Z").getTime());
    echarts.init(node).setOption({
      title: { text: w.label, subtext: w.reason, left: "center", textStyle: { fontSize: 14 }, subtextStyle: { width: 700, overflow: "break" } },
      tooltip: { trigger: "axis" }, grid: { left: 50, right: 20, top: 70, bottom: 30 },
      xAxis: { type: "category", data: d.times.map(short) }, yAxis: { type: "value", name: d.unit, scale: true },
      series: [
        { name: "下限", type: "line", stack: "band", data: lo, lineStyle: { opacity: 0 }, symbol: "none" },
        { name: "预期区间", type: "line", stack: "band", data: width, lineStyle: { opacity: 0 }, areaStyle: { color: "rgba(30,110,200,.18)" }, symbol: "none" },
        { name: "观测值", type: "line", data: d.values, connectNulls: false, markPoint: at >= 0 ? { data: [{ coord: [at, w.value], value: fmt(w.value, 1) }] } : undefined },
      ],
    });
  }

  function warnings(node) {
    document.querySelectorAll("a[data-warning]").forEach((a) => a.addEventListener("click", () => {
      get("/api/brain/warnings/" + a.dataset.warning).then((d) => band(node, d));
    }));
    const first = document.querySelector("a[data-warning]");
    if (first) get("/api/brain/warnings/" + first.dataset.warning).then((d) => band(node, d));
  }

  function forecasts(node) {
    node.textContent = "计算中…";
    get(node.dataset.url).then((list) => {
      node.textContent = "";
      if (!list.length) { node.textContent = "暂无可预测的序列（需要足够的历史数据）。"; return; }
      for (const f of list) {
        const card = document.createElement("section"); card.className = "card";
        const h = document.createElement("h2"); h.textContent = f.label; card.append(h);
        const p = document.createElement("p"); p.className = "muted small";
        if (f.reason) p.textContent = f.reason;
        else if (f.backtest) p.textContent = "回测（" + f.backtest.origins + " 个起点，" + f.backtest.horizon + " 步）：模型平均绝对误差 " + fmt(f.backtest.mae_model, 3) + "，季节朴素法平均绝对误差 " + fmt(f.backtest.mae_seasonal_naive, 3) + "，比值 " + fmt(f.backtest.ratio, 3) + "；80% 区间覆盖率 " + fmt(100 * f.backtest.coverage80, 1) + "%，95% 区间覆盖率 " + fmt(100 * f.backtest.coverage95, 1) + "%。";
        card.append(p);
        if (!f.reason) {
          const div = document.createElement("div"); div.style.height = "240px"; card.append(div); node.append(card);
          const times = f.history_times.concat(f.times).map(short);
          const pad = f.history.map(() => null);
          echarts.init(div).setOption({
            tooltip: { trigger: "axis" }, legend: { top: 0, data: ["历史", "预测", "季节朴素法", "95%区间", "80%区间"] },
            grid: { left: 50, right: 20, top: 30, bottom: 30 }, xAxis: { type: "category", data: times }, yAxis: { type: "value", scale: true, name: f.unit },
            series: [
              { name: "历史", type: "line", data: f.history.concat(f.times.map(() => null)), symbol: "none" },
              { name: "95%下限", type: "line", stack: "b95", data: pad.concat(f.lo95), lineStyle: { opacity: 0 }, symbol: "none" },
              { name: "95%区间", type: "line", stack: "b95", data: pad.concat(f.hi95.map((v, i) => v - f.lo95[i])), lineStyle: { opacity: 0 }, areaStyle: { color: "rgba(30,110,200,.12)" }, symbol: "none" },
              { name: "80%下限", type: "line", stack: "b80", data: pad.concat(f.lo80), lineStyle: { opacity: 0 }, symbol: "none" },
              { name: "80%区间", type: "line", stack: "b80", data: pad.concat(f.hi80.map((v, i) => v - f.lo80[i])), lineStyle: { opacity: 0 }, areaStyle: { color: "rgba(30,110,200,.22)" }, symbol: "none" },
              { name: "预测", type: "line", data: pad.concat(f.mean), symbol: "none", lineStyle: { width: 2 } },
              { name: "季节朴素法", type: "line", data: pad.concat(f.seasonal_naive), symbol: "none", lineStyle: { type: "dashed" } },
            ],
          });
        } else node.append(card);
      }
    }).catch(() => { node.textContent = "加载失败"; });
  }

  const kinds = { trends, history, warning: warnings, forecasts };
  document.querySelectorAll("[data-chart]").forEach((node) => { const f = kinds[node.dataset.chart]; if (f) f(node); });
})();
