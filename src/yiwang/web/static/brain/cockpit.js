/* 城市智脑驾驶舱: draws everything from /api/brain/cockpit, refreshes it every minute and the warning
   ticker every 20 seconds, without reloading the page. */
(function () {
  "use strict";
  const api = document.body.dataset.api;
  const charts = {};
  const C = { ink: "#d8e6ff", muted: "#7f9cc9", accent: "#3fd0ff", good: "#2fd38a", warn: "#ffb648", bad: "#ff5d6c", line: "#1d4b8f" };
  const AQI_COLOURS = [[50, "#00e400"], [100, "#ffff00"], [150, "#ff7e00"], [200, "#ff0000"], [300, "#99004c"], [1e9, "#7e0023"]];
  let mapRegistered = false;

  function esc(s) { return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])); }
  function fmt(v, d) { return v == null ? "—" : (Math.round(v * Math.pow(10, d || 0)) / Math.pow(10, d || 0)).toString(); }
  function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    return charts[id];
  }
  function aqiColour(v) { for (const [hi, c] of AQI_COLOURS) if (v <= hi) return c; return "#7e0023"; }
  const text = { color: C.ink };

  function kpis(s) {
    const box = document.getElementById("ck-kpis");
    box.replaceChildren();
    const items = [
      ["全市AQI", s.air && s.air.city_aqi, s.air && (s.air.reason || "优良天数比例 " + fmt(s.air.good_day_share, 1) + "%")],
      ["I–III类水质", s.water && s.water.good_share != null ? fmt(s.water.good_share, 1) + "%" : null, s.water && (s.water.reason || "劣V类 " + (s.water.worse_than_v || []).length + " 个断面")],
      ["在办事件", s.events && s.events.open, s.events && (s.events.reason || "超期 " + s.events.overdue + " 件")],
      ["事件按时办结", s.events && s.events.on_time_rate != null ? fmt(100 * s.events.on_time_rate, 1) + "%" : null, s.events && (s.events.reason || "满意率 " + (s.events.satisfaction != null ? fmt(100 * s.events.satisfaction, 1) + "%" : "—"))],
      ["今日办件", s.services && s.services.applications_today, s.services && (s.services.reason || "好评率 " + fmt(s.services.satisfaction, 1) + "%")],
      ["设备在线率", s.devices && s.devices.online_rate != null ? fmt(s.devices.online_rate, 1) + "%" : null, s.devices && (s.devices.reason || "活动告警 " + s.devices.active_alarms + " 条")],
      ["已挂载资源", s.data && s.data.mounted_resources, s.data && ("开放数据鲜活 " + (s.data.fresh_datasets != null ? s.data.fresh_datasets + "/" + s.data.open_datasets : "—"))],
      ["近30天共享调用", s.data && s.data.sharing_calls_30d, s.data && (s.data.exchange_reason || "生效授权 " + (s.data.active_grants != null ? s.data.active_grants : "—"))],
    ];
    for (const [label, value, note] of items) {
      const k = el("div", "ck-kpi");
      k.append(el("span", null, label), el("b", null, value == null ? "—" : String(value)), el("em", null, note || ""));
      box.append(k);
    }
  }

  function gauges(indicators) {
    const chosen = [8, 11, 13, 4, 1, 15].map((no) => indicators.find((i) => i.no === no)).filter(Boolean).slice(0, 4);
    const series = chosen.map((i, n) => {
      const share = i.value == null ? 0 : Math.min(100, (100 * i.value) / i.target);
      const colour = i.status === "met" ? C.good : i.status === "at_risk" ? C.bad : i.status === "no_data" ? C.muted : C.accent;
      return {
        type: "gauge", center: [(n % 2 ? 75 : 25) + "%", (n < 2 ? 27 : 75) + "%"], radius: "34%", startAngle: 210, endAngle: -30, min: 0, max: 100,
        progress: { show: true, width: 8, itemStyle: { color: colour } }, axisLine: { lineStyle: { width: 8, color: [[1, "rgba(63,208,255,.15)"]] } },
        axisTick: { show: false }, splitLine: { show: false }, axisLabel: { show: false }, pointer: { show: false },
        title: { offsetCenter: [0, "95%"], color: C.muted, fontSize: 11, overflow: "truncate", width: 150 },
        detail: { offsetCenter: [0, "5%"], color: "#fff", fontSize: 17, formatter: () => (i.value == null ? "无数据" : fmt(i.value, 1) + i.unit) },
        data: [{ value: share, name: i.indicator.length > 12 ? i.indicator.slice(0, 12) + "…" : i.indicator }],
      };
    });
    chart("ck-gauges").setOption({ series: series }, true);
  }

  function cells(indicators) {
    const box = document.getElementById("ck-cells");
    box.replaceChildren();
    for (const i of indicators) {
      const c = el("a", "ck-cell " + i.status);
      c.href = "/brain/indicators/" + i.no;
      c.title = i.indicator + "：" + i.status_name + "。" + i.status_reason;
      c.append(el("span", null, i.no + " " + i.status_name), el("b", null, i.value == null ? "—" : fmt(i.value, 1) + (i.unit === "%" ? "%" : "")));
      c.style.color = C.ink; c.style.textDecoration = "none";
      box.append(c);
    }
  }

  /* Town boundaries from the one map (OGC API – Features `divisions`): surveyed ones when imported, the demo's
     marked schematic otherwise; without access to that layer, the nearest-centroid cells of geo.js. */
  let boundaries = null;
  function loadBoundaries(m) {
    if (!boundaries) {
      boundaries = fetch("/ogc/collections/divisions/items?limit=1000", { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((fc) => {
          const towns = fc.features.filter((f) => f.properties.kind === "town");
          if (!towns.length) return Promise.reject("empty");
          const schematic = towns.some((f) => f.properties.schematic);
          const note = document.getElementById("ck-map-note");
          if (note) note.textContent = schematic ? "镇（街道）边界为示意" : "镇（街道）边界";
          return { type: "FeatureCollection", features: towns.map((f) => ({ type: "Feature", properties: { name: f.properties.name }, geometry: f.geometry })) };
        })
        .catch(() => window.brainGeo.divisionAreas(m.divisions));
    }
    return boundaries;
  }

  function map(m) {
    if (!m.divisions || !m.divisions.length) return;
    if (!mapRegistered) {
      loadBoundaries(m).then((areas) => { echarts.registerMap("changshu-approx", areas); mapRegistered = true; drawMap(m); });
      return;
    }
    drawMap(m);
  }

  function drawMap(m) {
    const maxEvents = Math.max(1, ...m.divisions.map((d) => d.events || 0));
    chart("ck-map").setOption({
      tooltip: { trigger: "item", formatter: (p) => esc(p.name) + (p.data && p.data.tip ? "<br>" + esc(p.data.tip) : "") },
      visualMap: { show: true, seriesIndex: 0, min: 0, max: maxEvents, left: 10, bottom: 10, text: ["事件多", "少"], textStyle: text,
                   inRange: { color: ["#0b2a5a", "#15508f", "#2a7fc4"] }, calculable: false, itemHeight: 80 },
      geo: { map: "changshu-approx", roam: true, zoom: 1.05, label: { show: true, color: "#cfe3ff", fontSize: 11 },
             itemStyle: { areaColor: "#0d2f63", borderColor: "#3fd0ff", borderWidth: 1 }, emphasis: { itemStyle: { areaColor: "#2465b8" }, label: { color: "#fff" } } },
      series: [
        { type: "map", geoIndex: 0, data: m.divisions.map((d) => ({ name: d.name, value: d.events || 0, tip: "近7天事件 " + (d.events || 0) + " 件" })) },
        { name: "事件", type: "scatter", coordinateSystem: "geo", symbolSize: 4, itemStyle: { color: C.warn, opacity: 0.7 },
          data: (m.events || []).map((e) => ({ name: e.title || e.number, value: [e.lon, e.lat], tip: e.number + " " + (e.status || "") })) },
        { name: "空气站", type: "scatter", coordinateSystem: "geo", symbolSize: 13, label: { show: true, formatter: (p) => p.data.aqi == null ? "" : String(p.data.aqi), position: "top", color: "#fff", fontSize: 10 },
          data: (m.stations || []).map((s) => ({ name: s.name, value: [s.lon, s.lat], aqi: s.aqi, tip: "AQI " + (s.aqi == null ? "—" : s.aqi), itemStyle: { color: s.aqi == null ? C.muted : aqiColour(s.aqi), borderColor: "#fff", borderWidth: 1 } })) },
        { name: "水闸", type: "scatter", coordinateSystem: "geo", symbol: "diamond", symbolSize: 12, itemStyle: { color: "#4e8cff" },
          data: (m.sluices || []).map((s) => ({ name: s.name, value: [s.lon, s.lat], tip: s.online ? "在线" : "离线" })) },
        { name: "告警", type: "effectScatter", coordinateSystem: "geo", symbolSize: 14, rippleEffect: { scale: 3.5, brushType: "stroke" }, itemStyle: { color: C.bad },
          data: (m.alarms || []).map((a) => ({ name: a.name, value: [a.lon, a.lat], tip: a.message })) },
      ],
    });
  }

  function trend(t) {
    chart("ck-trend").setOption({
      tooltip: { trigger: "axis" }, legend: { data: ["全市AQI", "事件量"], textStyle: text, top: 0 },
      grid: { left: 40, right: 40, top: 28, bottom: 24 },
      xAxis: { type: "category", data: t.days.map((d) => d.slice(5)), axisLabel: { color: C.muted }, axisLine: { lineStyle: { color: C.line } } },
      yAxis: [{ type: "value", name: "AQI", axisLabel: { color: C.muted }, nameTextStyle: text, splitLine: { lineStyle: { color: "rgba(63,208,255,.1)" } } },
              { type: "value", name: "件", axisLabel: { color: C.muted }, nameTextStyle: text, splitLine: { show: false } }],
      series: [
        { name: "全市AQI", type: "line", smooth: true, data: t.aqi, itemStyle: { color: C.good }, areaStyle: { color: "rgba(47,211,138,.15)" }, connectNulls: true },
        { name: "事件量", type: "bar", yAxisIndex: 1, data: t.events, itemStyle: { color: "rgba(255,182,72,.7)" } },
      ],
    });
  }

  function rank(r) {
    const rows = (r.rows || []).filter((x) => x.score != null).slice(0, 14).reverse();
    chart("ck-rank").setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 70, right: 40, top: 6, bottom: 16 },
      xAxis: { type: "value", max: 100, axisLabel: { color: C.muted }, splitLine: { lineStyle: { color: "rgba(63,208,255,.1)" } } },
      yAxis: { type: "category", data: rows.map((x) => x.name), axisLabel: { color: C.ink, fontSize: 11 } },
      series: [{ type: "bar", data: rows.map((x) => x.score), barWidth: "55%", label: { show: true, position: "right", color: "#fff", formatter: (p) => fmt(p.value, 1) },
                 itemStyle: { color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [{ offset: 0, color: "#1b5fb3" }, { offset: 1, color: C.accent }]) } }],
    });
  }

  function events(e) {
    const rows = e && e.by_department ? e.by_department.slice().sort((a, b) => b.open - a.open).slice(0, 8) : [];
    chart("ck-events").setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } }, legend: { data: ["在办", "超期"], textStyle: text, top: 0 },
      grid: { left: 40, right: 10, top: 26, bottom: 36 },
      xAxis: { type: "category", data: rows.map((x) => x.name), axisLabel: { color: C.ink, interval: 0, rotate: 30, fontSize: 10 } },
      yAxis: { type: "value", axisLabel: { color: C.muted }, splitLine: { lineStyle: { color: "rgba(63,208,255,.1)" } } },
      series: [{ name: "在办", type: "bar", data: rows.map((x) => x.open), itemStyle: { color: C.accent } },
               { name: "超期", type: "bar", data: rows.map((x) => x.overdue_open), itemStyle: { color: C.bad } }],
    });
  }

  function ticker(warnings) {
    const list = document.getElementById("ck-ticker");
    list.replaceChildren();
    const names = { serious: "严重", warning: "警告", notice: "提示" };
    const items = warnings.length ? warnings : [{ severity: "notice", label: "暂无预警", reason: "各项体征在预期区间内", ts: null }];
    for (let copy = 0; copy < 2; copy++) {  // two copies so the scroll loops seamlessly
      for (const w of items) {
        const li = el("li");
        const t = el("time", null, w.ts ? new Date(w.ts.endsWith("Z") || w.ts.includes("+") ? w.ts : w.ts + "Z").toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) : "");
        li.append(el("span", "sev " + w.severity, names[w.severity] || ""), t, el("strong", null, w.label + "："), document.createTextNode(w.reason));
        list.append(li);
      }
    }
  }

  async function getJson(path) {
    const r = await fetch(api + path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (r.status === 401) { window.location.href = "/login?next=/brain/cockpit"; throw new Error("login"); }
    if (!r.ok) throw new Error(path + " " + r.status);
    return r.json();
  }

  async function load() {
    try {
      const d = await getJson("/cockpit");
      kpis(d.signs); gauges(d.indicators); cells(d.indicators); map(d.map); trend(d.trends); rank(d.ranking); events(d.signs.events); ticker(d.warnings);
      document.getElementById("ck-updated").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
      document.body.dataset.ready = "1";
    } catch (err) {
      document.getElementById("ck-updated").textContent = "数据加载失败，稍后重试";
    }
  }
  async function loadWarnings() { try { ticker(await getJson("/warnings?limit=30")); } catch (err) { /* next turn */ } }
  function clock() { document.getElementById("ck-clock").textContent = new Date().toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }); }

  clock(); setInterval(clock, 1000);
  load(); setInterval(load, 60000); setInterval(loadWarnings, 20000);
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
})();
