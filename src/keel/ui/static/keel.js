// Draw the drift charts: each .drift-chart element carries its series in data-series (JSON),
// written by the server with autoescaping; no inline script is needed (CSP: script-src 'self').
(function () {
  function draw(el) {
    var series = JSON.parse(el.getAttribute("data-series"));
    var xs = series.points.map(function (_p, i) { return i; });
    var values = series.points.map(function (p) { return p.value; });
    var thresholds = series.points.map(function (p) { return p.threshold; });
    var labels = series.points.map(function (p) { return p.chunk; });
    var opts = {
      title: series.feature + " (" + series.statistic + ")",
      width: Math.min(el.clientWidth || 560, 560), height: 220,
      scales: { x: { time: false } },
      axes: [{ values: function (_u, ticks) { return ticks.map(function (t) { return labels[t] || ""; }); } }, {}],
      series: [{}, { label: series.statistic, stroke: "#1f5fbf", width: 2 },
               { label: "threshold", stroke: "#b3261e", dash: [6, 4], width: 1.5 }]
    };
    new uPlot(opts, [xs, values, thresholds], el);
  }
  function num(v) { return v === null || v === undefined ? null : v; }
  function width(el, most) { return Math.min(el.clientWidth || most, most); }
  function performance(el) {
    var data = JSON.parse(el.getAttribute("data-series"));
    var pts = data.points;
    var xs = pts.map(function (_p, i) { return i; });
    var labels = pts.map(function (p) { return p.chunk; });
    function pick(kind, key) { return pts.map(function (p) { return p[kind] ? num(p[kind][key]) : null; }); }
    new uPlot({
      title: data.metric + " per chunk", width: width(el, 1100), height: 260,
      scales: { x: { time: false } },
      axes: [{ values: function (_u, ticks) { return ticks.map(function (t) { return labels[t] || ""; }); } }, {}],
      series: [{}, { label: "estimated", stroke: "#1f5fbf", width: 2 },
               { label: "estimate low", stroke: "#8fb0e3", dash: [3, 3], width: 1 },
               { label: "estimate high", stroke: "#8fb0e3", dash: [3, 3], width: 1 },
               { label: "realized", stroke: "#1e7b34", width: 2, spanGaps: false },
               { label: "reference", stroke: "#777", dash: [6, 4], width: 1 }]
    }, [xs, pick("estimated", "value"), pick("estimated", "low"), pick("estimated", "high"),
        pick("realized", "value"), pts.map(function (p) { return num(p.reference); })], el);
  }
  function reliability(el) {
    var data = JSON.parse(el.getAttribute("data-series"));
    var pts = data.points.filter(function (p) { return p.calibration && p.calibration.mean_predicted !== null; });
    pts.sort(function (a, b) { return a.calibration.mean_predicted - b.calibration.mean_predicted; });
    var xs = [0].concat(pts.map(function (p) { return p.calibration.mean_predicted; })).concat([1]);
    var ys = [null].concat(pts.map(function (p) { return p.calibration.observed_rate; })).concat([null]);
    new uPlot({
      width: width(el, 540), height: 300,
      scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
      series: [{ label: "mean predicted" },
               { label: "observed rate", stroke: "#1f5fbf", paths: function () { return null; }, points: { show: true, size: 8, fill: "#1f5fbf" } },
               { label: "perfect", stroke: "#777", dash: [6, 4], width: 1 }]
    }, [xs, ys, xs], el);
  }
  function ece(el) {
    var data = JSON.parse(el.getAttribute("data-series"));
    var pts = data.points.filter(function (p) { return p.calibration; });
    var labels = pts.map(function (p) { return p.chunk; });
    new uPlot({
      width: width(el, 540), height: 300, scales: { x: { time: false } },
      axes: [{ values: function (_u, ticks) { return ticks.map(function (t) { return labels[t] || ""; }); } }, {}],
      series: [{}, { label: "ECE", stroke: "#1f5fbf", width: 2 },
               { label: "limit", stroke: "#b3261e", dash: [6, 4], width: 1.5 }]
    }, [pts.map(function (_p, i) { return i; }), pts.map(function (p) { return num(p.calibration.ece); }),
        pts.map(function (p) { return num(p.calibration.ece_threshold); })], el);
  }
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".drift-chart").forEach(draw);
    document.querySelectorAll(".perf-chart").forEach(performance);
    document.querySelectorAll(".reliability-chart").forEach(reliability);
    document.querySelectorAll(".ece-chart").forEach(ece);
    confirmForms();
  });
})();
