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
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".drift-chart").forEach(draw);
    confirmForms();
  });
})();
