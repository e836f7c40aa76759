// A problem's charts: contacts per week, and the last action's impact (actual, the
// counterfactual and its 95% interval after the action). Data come in JSON blocks (the
// dashboard's Content-Security-Policy allows no inline script).
"use strict";

function readBlock(id) {
  const block = document.getElementById(id);
  return block ? JSON.parse(block.textContent) : null;
}

function drawProblemCharts() {
  if (typeof Plotly === "undefined") return;
  const layout = { margin: { t: 10, r: 10, b: 40, l: 50 }, height: 280, showlegend: true,
    legend: { orientation: "h" } };
  const volume = readBlock("volume-data");
  const vHolder = document.getElementById("volume-chart");
  if (volume && vHolder) {
    // Weeks as categories: a problem of one week still gets a bar of a readable width.
    const vLayout = Object.assign({}, layout, { showlegend: false, xaxis: { type: "category" } });
    Plotly.newPlot(vHolder, [{ type: "bar", name: "contacts", x: volume.x, y: volume.y }],
      vLayout, { displaylogo: false, responsive: true });
    vHolder.dataset.ready = "1";
  }
  const impact = readBlock("impact-data");
  const iHolder = document.getElementById("impact-chart");
  if (impact && iHolder) {
    const traces = [
      { type: "scatter", mode: "lines", name: "interval (95%)", x: impact.after_x,
        y: impact.high, line: { width: 0 }, showlegend: false },
      { type: "scatter", mode: "lines", name: "95% interval", x: impact.after_x, y: impact.low,
        fill: "tonexty", line: { width: 0 }, fillcolor: "rgba(120,120,200,0.25)" },
      { type: "scatter", mode: "lines", name: "expected without the action", x: impact.x,
        y: impact.expected, line: { dash: "dash" } },
      { type: "scatter", mode: "lines+markers", name: "actual", x: impact.x, y: impact.actual },
    ];
    const l = Object.assign({}, layout, { shapes: [{ type: "line", x0: impact.action,
      x1: impact.action, yref: "paper", y0: 0, y1: 1, line: { dash: "dot" } }] });
    Plotly.newPlot(iHolder, traces, l, { displaylogo: false, responsive: true });
    iHolder.dataset.ready = "1";
  }
}

document.addEventListener("DOMContentLoaded", drawProblemCharts);
