// The staffing page's two charts: demand (forecast band, forecast, actual) and agents
// (needed as a line, scheduled as bars coloured by status: under red, over amber).
(function () {
  "use strict";
  function draw() {
    const block = document.getElementById("staffing-data");
    if (!block || typeof Plotly === "undefined") return;
    const d = JSON.parse(block.textContent);
    const layout = (title) => ({
      margin: { t: 10, r: 10, b: 40, l: 50 }, height: 320, yaxis: { title: title },
      legend: { orientation: "h" }, hovermode: "x unified",
    });
    const config = { displaylogo: false, responsive: true };
    Plotly.newPlot("demand-chart", [
      { x: d.x, y: d.hi, mode: "lines", line: { width: 0 }, name: "95% interval",
        showlegend: false, hoverinfo: "skip" },
      { x: d.x, y: d.lo, mode: "lines", line: { width: 0 }, fill: "tonexty",
        fillcolor: "rgba(31,119,180,0.2)", name: "95% interval" },
      { x: d.x, y: d.forecast, mode: "lines", name: "forecast", line: { color: "#1f77b4" } },
      { x: d.x, y: d.actual, mode: "markers", name: "actual", marker: { size: 4, color: "#333" } },
    ], layout("contacts"), config);
    const colours = d.status.map((s) => (s === "under" ? "#d62728" : s === "over" ? "#ff9f1c" : "#8c8c8c"));
    Plotly.newPlot("agents-chart", [
      { x: d.x, y: d.scheduled, type: "bar", name: "scheduled", marker: { color: colours },
        text: d.status, hovertemplate: "%{y} scheduled (%{text})<extra></extra>" },
      { x: d.x, y: d.need, mode: "lines", line: { shape: "hv", color: "#1f77b4" }, name: "needed" },
    ], layout("agents"), config);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
