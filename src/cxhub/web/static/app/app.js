// The dashboard's behaviour: charts whose points lead to the contacts behind them, overview
// cards that load one by one, confirmations. Data comes in JSON blocks (no inline script).
"use strict";

function chartLayout(data) {
  const layout = {
    margin: { t: 10, r: 10, b: 40, l: 60 }, hovermode: "closest", showlegend: data.traces.length > 1,
    legend: { orientation: "h", y: -0.15 },
    xaxis: { type: "date", gridcolor: "#eef1f4" }, yaxis: { gridcolor: "#eef1f4", rangemode: "tozero" },
    font: { family: "system-ui, sans-serif", size: 12, color: "#17212b" },
    paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  };
  if (data.unit === "share") layout.yaxis.tickformat = ".0%";
  if (data.unit === "seconds") layout.yaxis.title = { text: "seconds" };
  if (data.target !== null && data.target !== undefined) {
    layout.shapes = [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: data.target, y1: data.target,
                       line: { color: "#1b6e3a", dash: "dot", width: 1.5 } }];
  }
  return layout;
}

function drawChart() {
  const holder = document.getElementById("chart");
  const block = document.getElementById("chart-data");
  if (!holder || !block || typeof Plotly === "undefined") return;
  const data = JSON.parse(block.textContent);
  const stacked = data.bar && data.traces.length > 1;
  const traces = data.traces.map((t) => ({
    type: data.bar ? "bar" : "scatter", mode: "lines+markers", name: t.name, x: t.x, y: t.y,
    text: t.text, customdata: t.urls, hovertemplate: "%{x}<br>%{text}<extra>%{fullData.name}</extra>",
    marker: { size: 6 }, textposition: "none",
  }));
  const layout = chartLayout(data);
  if (stacked) layout.barmode = "stack";
  Plotly.newPlot(holder, traces, layout, { displaylogo: false, responsive: true });
  holder.on("plotly_click", (ev) => {
    const url = ev.points && ev.points[0] && ev.points[0].customdata;
    if (url) window.location.href = url;
  });
  holder.dataset.ready = "1";
}

async function loadCard(card) {
  const figure = card.querySelector(".figure");
  const list = card.querySelector(".compare");
  try {
    const res = await fetch(card.dataset.headline, { credentials: "same-origin" });
    const data = await res.json();
    if (!res.ok) throw new Error(data.error || res.statusText);
    figure.textContent = "";
    if (data.groups) {
      // One wait per channel group: seconds to answer a call, hours to reply to an e-mail.
      figure.classList.add("groups");
      for (const g of data.groups) {
        const row = document.createElement("span");
        row.className = "group";
        row.title = `${g.measure}, from ${g.n.toLocaleString()} contacts`;
        const label = document.createElement("span");
        label.className = "muted small";
        label.textContent = `${g.label} (${g.measure}) `;
        const value = document.createElement("span");
        value.textContent = g.text;
        row.append(label, value);
        figure.appendChild(row);
      }
    } else if (data.url) {
      const a = document.createElement("a");
      a.href = data.url; a.textContent = data.text;
      a.title = `The ${data.n.toLocaleString()} contacts behind this figure`;
      figure.appendChild(a);
    } else {
      figure.textContent = data.text;
    }
    for (const [name, text, tone] of data.compare) {
      const li = document.createElement("li");
      li.className = tone;
      const label = document.createElement("span");
      label.textContent = name + " ";
      li.append(label, text);
      list.appendChild(li);
    }
  } catch (err) {
    figure.innerHTML = "";
    const span = document.createElement("span");
    span.className = "muted small";
    span.textContent = "not available: " + err.message;
    figure.appendChild(span);
  }
  card.dataset.loaded = "1";
}

async function loadCards() {
  const cards = Array.from(document.querySelectorAll("[data-headline]"));
  // Two at a time: the server computes each card's figure and its comparisons.
  const queue = cards.slice();
  const worker = async () => { while (queue.length) await loadCard(queue.shift()); };
  await Promise.all([worker(), worker()]);
}

document.addEventListener("DOMContentLoaded", () => {
  drawChart();
  loadCards();
  document.querySelectorAll("[data-confirm]").forEach((button) => {
    button.addEventListener("click", (ev) => { if (!window.confirm(button.dataset.confirm)) ev.preventDefault(); });
  });
});
