// The public page: live figures by server-sent events, charts from /public/api/*.
// Everything shown comes from the server already aggregated and suppressed; text is always
// set with textContent, never as HTML.
"use strict";

const MIN = Number(document.getElementById("live").dataset.min || 10);
const HIDDEN = `fewer than ${MIN}`;
const CONFIG = { displaylogo: false, responsive: true, scrollZoom: true };
const INK = "#1d2a3a", MUTED = "#6b7785", ACCENT = "#0b6e99", WARM = "#c2571a";
const LAYOUT = {
  margin: { t: 10, r: 16, b: 40, l: 56 }, paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)", font: { family: "system-ui, sans-serif", color: INK },
  legend: { orientation: "h", y: -0.2 }, hovermode: "x unified",
};
const CHANNEL_NAMES = { phone: "Phone", chat: "Chat", email: "E-mail", social: "Social media",
  web: "Web form", letter: "Letter", community: "Community", referral: "Referral", other: "Other" };

const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};
// Plotly reads HTML-like tags in labels: every label from the server is escaped first.
const esc = (text) => String(text ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;")
  .replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmtInt = (v) => (v === null || v === undefined ? HIDDEN : Math.round(v).toLocaleString("en"));
const fmtPct = (v) => (v === null || v === undefined ? HIDDEN : `${(v * 100).toFixed(1)}%`);
// The rule of cxhub.metrics.definitions.format_duration, so the live page and the daily
// reports say a duration the same way: 45 s, 4 min 10 s, 66 min, 5.2 h, 3.1 d.
function fmtWait(seconds) {
  if (seconds === null || seconds === undefined) return HIDDEN;
  const s = Math.abs(seconds);
  if (s < 120) return `${Math.round(seconds)} s`;
  if (s < 600) {
    const r = Math.round(seconds);
    return `${Math.floor(r / 60)} min ${String(r % 60).padStart(2, "0")} s`;
  }
  if (s < 7200) return `${Math.round(seconds / 60)} min`;
  if (s < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}
async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}
const layout = (extra) => Object.assign({}, LAYOUT, extra);

// --- live -----------------------------------------------------------------------------------
// How each expected wait was estimated (services/public_outlook.py), said on the card.
const WAIT_BASIS = {
  queue: "from the callers waiting now and the agents on duty",
  forecast: "from our forecast for this half hour and the agents on duty",
  forecast_plan: "from our forecast for this half hour and the agents we plan for it",
  measured: "from the waits of the last 30 minutes",
};
function openingText(o) {
  if (!o) return "";
  if (o.open) return `open now, closes at ${o.closes}`;
  return o.opens ? `closed now, opens ${o.opens}` : "closed";
}
function renderLive(data) {
  const cards = document.getElementById("live-cards");
  cards.replaceChildren();
  const bases = new Set();
  for (const c of data.channels || []) {
    const card = el("article", "card");
    card.dataset.channel = c.channel;
    card.append(el("h3", "", CHANNEL_NAMES[c.channel] || c.channel));
    if (c.opening) {
      const open = el("p", c.opening.open ? "open-now" : "closed-now", openingText(c.opening));
      open.dataset.figure = "opening";
      card.append(open);
    }
    const list = el("dl");
    for (const [key, label, fmt] of [["arrivals", "Contacts in the last hour", fmtInt],
                                     ["backlog", "Open, not yet resolved", fmtInt],
                                     ["expected_wait", "Expected wait now", fmtWait]]) {
      const closed = key === "expected_wait" && c.opening && !c.opening.open;
      // A wait hidden for too few contacts is not "fewer than 10" of anything: say so.
      const unknownWait = key === "expected_wait" && (c[key].value ?? null) === null;
      const text = closed ? "closed" : unknownWait ? "too few replies to say" : fmt(c[key].value);
      const dd = el("dd", c[key].suppressed && !closed ? "hidden-figure" : "", text);
      dd.dataset.figure = key;
      if (key === "expected_wait" && !closed && c[key].basis) {
        dd.dataset.basis = c[key].basis;
        dd.title = `Estimated ${WAIT_BASIS[c[key].basis] || ""}`;
        if (c[key].basis !== "measured") bases.add(c[key].basis);
      }
      list.append(el("dt", "", label), dd);
    }
    card.append(list);
    cards.append(card);
  }
  cards.setAttribute("aria-busy", "false");
  document.getElementById("live-updated").textContent = `Updated ${data.at || ""}`;
  const said = [...bases].map((b) => `${b === "queue" ? "where callers are waiting" : "for calls and chats"}, ${WAIT_BASIS[b]} (Erlang A queueing model)`);
  document.getElementById("live-basis").textContent = said.length
    ? `Expected wait now is estimated ${said.join("; ")}; for other channels ${WAIT_BASIS.measured}.`
    : `Expected wait is estimated from ${data.wait_basis || "recent waits"}.`;
}
function startLive() {
  const status = document.getElementById("live-status");
  const source = new EventSource("/public/live");
  source.addEventListener("live", (event) => {
    status.textContent = "Live.";
    renderLive(JSON.parse(event.data));
  });
  source.onerror = () => { status.textContent = "Reconnecting…"; };
}

// --- demand history (stock-chart style) -----------------------------------------------------
const demand = { grain: "day", auto: false, loading: false };
const RANGE_BUTTONS = [
  { count: 1, label: "1D", step: "day", stepmode: "backward" },
  { count: 7, label: "1W", step: "day", stepmode: "backward" },
  { count: 1, label: "1M", step: "month", stepmode: "backward" },
  { count: 1, label: "1Y", step: "year", stepmode: "backward" },
  { step: "all", label: "All" },
];
function grainFor(days) {
  if (days <= 8) return "hour";
  if (days <= 200) return "day";
  if (days <= 1100) return "week";
  return "month";
}
async function loadDemand(grain, range) {
  demand.loading = true;
  const data = await getJSON(`/public/api/demand?grain=${grain}`);
  if (data.unavailable) throw new Error(`demand: ${data.unavailable}`);
  demand.grain = grain;
  document.getElementById("demand-grain").textContent = grain;
  document.getElementById("demand-unit").textContent = grain === "hour" ? "hour" : "day";
  document.getElementById("demand-limit").textContent = data.days
    ? `By ${grain}, the last ${data.days.toLocaleString("en")} days are shown; choose a longer period for the whole history.`
    : "";
  const x = data.rows.map((r) => r.period);
  const traces = [
    { x, y: data.rows.map((r) => r.value), name: "Contacts", type: "scatter", mode: "lines",
      line: { color: ACCENT, width: 2 }, connectgaps: false },
    { x, y: data.rows.map((r) => (r.last_year === undefined ? null : r.last_year)),
      name: "Same period last year", type: "scatter", mode: "lines",
      line: { color: MUTED, width: 1.5, dash: "dot" } },
  ];
  const last = x.length ? new Date(x[x.length - 1]) : new Date();
  const first = x.length ? new Date(x[0]) : last;
  const start = new Date(Math.max(first.getTime(), last.getTime() - 90 * 86400e3));
  const xaxis = { type: "date", rangeselector: { buttons: RANGE_BUTTONS, y: 1.12 },
    rangeslider: { visible: true, thickness: 0.08 } };
  if (range) { xaxis.range = range; xaxis.autorange = false; }
  else if (x.length && grain === "day") { xaxis.range = [start.toISOString(), last.toISOString()]; }
  const chart = document.getElementById("demand-chart");
  const marks = await calendarMarks();
  await Plotly.react(chart, traces, layout({ xaxis, yaxis: { rangemode: "tozero",
    title: { text: `contacts per ${grain}` } }, margin: { t: 40, r: 16, b: 20, l: 64 },
    shapes: marks.shapes, annotations: marks.annotations }), CONFIG);
  chart.dataset.grain = grain;
  demand.loading = false;
}
// Planned demand (campaigns, releases, price changes) as shaded spans with their names.
let calendarCache = null;
async function calendarMarks() {
  if (!calendarCache) {
    calendarCache = getJSON("/public/api/calendar").catch(() => ({ marks: [] }));
  }
  const data = await calendarCache;
  const shapes = [], annotations = [];
  for (const m of data.marks || []) {
    shapes.push({ type: "rect", xref: "x", yref: "paper", x0: m.start, x1: m.end, y0: 0, y1: 1,
      fillcolor: WARM, opacity: 0.08, line: { width: 0 }, layer: "below" });
    // Holidays are shaded without a name: one-day names side by side would overlap.
    if (m.kind === "holiday") continue;
    annotations.push({ x: m.start, y: 1, xref: "x", yref: "paper", xanchor: "left",
      yanchor: "top", showarrow: false, font: { size: 11, color: WARM },
      text: esc(m.name || m.kind) });
  }
  return { shapes, annotations };
}
function visibleDays(chart) {
  const r = chart.layout.xaxis.range;
  return r ? (new Date(r[1]) - new Date(r[0])) / 86400e3 : Infinity;
}
function setGrainButtons(grain) {
  for (const b of document.querySelectorAll("#history [data-grain]")) {
    b.setAttribute("aria-pressed", String(b.dataset.grain === grain));
  }
}
function startDemand() {
  const chart = document.getElementById("demand-chart");
  loadDemand("day").then(() => {
    chart.on("plotly_relayout", () => {
      if (!demand.auto || demand.loading) return;
      const wanted = grainFor(visibleDays(chart));
      if (wanted !== demand.grain) loadDemand(wanted, chart.layout.xaxis.range.slice());
    });
  }).catch(showError(chart));
  for (const button of document.querySelectorAll("#history [data-grain]")) {
    button.addEventListener("click", () => {
      const g = button.dataset.grain;
      demand.auto = g === "auto";
      setGrainButtons(g);
      const range = chart.layout && chart.layout.xaxis.range ? chart.layout.xaxis.range.slice() : null;
      loadDemand(demand.auto ? grainFor(visibleDays(chart)) : g, range).catch(showError(chart));
    });
  }
}

// --- service level and response times -------------------------------------------------------
function byChannel(rows, scale = 1) {
  const groups = {};
  for (const r of rows) (groups[r.channel] ||= []).push(r);
  return Object.entries(groups).map(([channel, rs]) => ({
    x: rs.map((r) => r.period), y: rs.map((r) => (r.value === null ? null : r.value * scale)),
    name: CHANNEL_NAMES[channel] || esc(channel), type: "scatter", mode: "lines",
  }));
}
async function startService() {
  const data = await getJSON("/public/api/service");
  const sl = byChannel(data.service_level || [], 100);
  const target = (data.service_level || []).find((r) => r.target !== undefined && r.target !== null);
  if (target && sl.length) {
    const xs = sl[0].x;
    sl.push({ x: [xs[0], xs[xs.length - 1]], y: [target.target * 100, target.target * 100],
      name: "Target", mode: "lines", line: { color: WARM, dash: "dash" } });
  }
  const dateAxis = { type: "date", rangeselector: { buttons: RANGE_BUTTONS } };
  Plotly.react("sl-chart", sl, layout({ xaxis: dateAxis, yaxis: { ticksuffix: "%", range: [0, 100] },
    margin: { t: 30, r: 10, b: 40, l: 48 } }), CONFIG);
  Plotly.react("asa-chart", byChannel(data.asa || []), layout({ xaxis: dateAxis,
    yaxis: { title: { text: "seconds" }, rangemode: "tozero" }, margin: { t: 30, r: 10, b: 40, l: 56 } }), CONFIG);
  Plotly.react("frt-chart", byChannel(data.first_response || [], 1 / 3600), layout({ xaxis: dateAxis,
    yaxis: { title: { text: "hours" }, rangemode: "tozero" }, margin: { t: 30, r: 10, b: 40, l: 56 } }), CONFIG);
}

// --- best time to contact -------------------------------------------------------------------
async function startBestTime() {
  const data = await getJSON("/public/api/best-time");
  document.getElementById("best-weeks").textContent = data.weeks;
  const chart = document.getElementById("heat-chart");
  const draw = (key) => {
    const wait = key === "wait_seconds";
    Plotly.react(chart, [{ type: "heatmap", z: data[key], x: data.hours.map((h) => `${h}:00`),
      y: data.weekdays, colorscale: wait ? "YlOrRd" : "Blues", reversescale: true,
      hoverongaps: false,
      colorbar: { title: { text: wait ? "wait (s)" : "contacts / week" } } }],
      layout({ yaxis: { autorange: "reversed" }, margin: { t: 10, r: 10, b: 40, l: 90 },
        hovermode: "closest" }), CONFIG);
    for (const b of document.querySelectorAll("[data-heat]")) {
      b.setAttribute("aria-pressed", String(b.dataset.heat === key));
    }
  };
  for (const b of document.querySelectorAll("[data-heat]")) {
    b.addEventListener("click", () => draw(b.dataset.heat));
  }
  draw("contacts_per_week");
  let ahead = null;
  try {
    ahead = await getJSON("/public/api/outlook");
  } catch (error) {
    console.error(error);  // the look-back hint still shows
  }
  if (ahead && (ahead.recommended || []).length) {
    showAhead(ahead);
  } else {
    document.getElementById("best-basis").textContent = `Over the ${data.weeks} weeks to last` +
      " midnight (UTC). We recommend only hours when calls and chats are answered, weighing" +
      " the wait for an answer as much as how busy the hour is.";
    document.getElementById("best-hint").textContent = bestHint(data);
  }
}
const DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
function plainWait(seconds) {
  if (seconds < 60) return "under 1 minute";
  if (seconds < 90) return "about 1 minute";
  return `about ${Math.round(seconds / 60)} minutes`;
}
function showAhead(ahead) {
  // From the forecast of the next days and the rota: the quietest two open hours in a row.
  const hint = document.getElementById("best-hint");
  hint.replaceChildren();
  hint.dataset.basis = "forecast";
  for (const [channel, verb] of [["phone", "To call"], ["chat", "To chat"]]) {
    const c = ahead.recommended.find((r) => r.channel === channel);
    if (!c) continue;
    const line = el("span", "best-line");
    line.dataset.channel = channel;
    const same = plainWait(c.high) === plainWait(c.value);
    line.textContent = `${verb}, quietest: ${DAY_NAMES[c.weekday]} ${c.start}-${c.end}` +
      ` (${c.date}), expected wait ${plainWait(c.value)}. ${same ? "Even if" : "If"} more` +
      " people get in touch than we expect (the top of our forecast's 95% range)," +
      ` ${same ? "still " : ""}${plainWait(c.high)}.`;
    hint.append(line, el("br"));
  }
  const tz = ahead.timezone ? ` (${ahead.timezone} time)` : "";
  document.getElementById("best-basis").textContent =
    `Forecast for the next ${ahead.days} days${tz}: the expected wait in each open hour from` +
    " the calls and chats we forecast and the agents scheduled (or, beyond the rota, the" +
    " agents we plan). A forecast is a best guess: about 1 hour in 40 is busier than the top" +
    " of its range.";
}
function bestHint(data) {
  // Chosen by the server per channel: open hours only, the wait weighed with the demand.
  const picks = data.recommended || [];
  if (!picks.length) {
    return "Not enough answered calls and chats in these weeks to recommend a time yet.";
  }
  const parts = [];
  for (const [channel, verb] of [["phone", "call"], ["chat", "chat"]]) {
    const mine = picks.filter((c) => c.channel === channel);
    if (!mine.length) continue;
    const text = mine.map((c) => `${data.weekdays[c.weekday]} ${String(c.hour_of_day).padStart(2, "0")}:00` +
      ` (about ${fmtWait(c.value)} wait)`);
    parts.push(`to ${verb}: ${text.join(", ")}`);
  }
  return `Best times ${parts.join("; ")}.`;
}

// --- the last 30 days -----------------------------------------------------------------------
function bars(id, rows, key, names) {
  const shown = rows.filter((r) => r[key]);
  if (!shown.length) {
    document.getElementById(id).replaceChildren(el("p", "empty",
      "No contacts have been classified in these 30 days yet."));
    return;
  }
  const trace = [{ type: "bar", orientation: "h", y: shown.map((r) => esc(names?.[r[key]] || r[key])),
    x: shown.map((r) => r.value), name: "Last 30 days", marker: { color: ACCENT },
    text: shown.map((r) => (r.value === null ? HIDDEN : "")), textposition: "outside" }];
  if (shown.some((r) => r.previous !== undefined)) {
    trace.push({ type: "bar", orientation: "h", y: trace[0].y, x: shown.map((r) => r.previous),
      name: "30 days before", marker: { color: "#b9c4cf" } });
  }
  Plotly.react(id, trace, layout({ barmode: "group", yaxis: { automargin: true },
    margin: { t: 10, r: 30, b: 40, l: 10 }, hovermode: "closest" }), CONFIG);
}
const WAIT_GROUPS = { phone: ["Phone", "time to answer"], chat: ["Chat", "time to answer"],
  written: ["Written", "time to first reply"] };
function waits(rows) {
  const box = document.getElementById("waits");
  box.replaceChildren();
  for (const r of rows || []) {
    const [label, measure] = WAIT_GROUPS[r.channel] || [r.channel, "wait"];
    const card = el("article", "card small");
    card.dataset.group = r.channel;
    card.append(el("h3", "", `${label}: ${measure}`), el("p", "figure", fmtWait(r.value)));
    box.append(card);
  }
}
function satisfaction(sections) {
  const box = document.getElementById("satisfaction");
  box.replaceChildren();
  const now = (sections.satisfaction?.rows || [])[0] || {};
  const lastMonth = (sections.satisfaction_last_month?.rows || [])[0] || {};
  // A comparison without a figure: the data does not cover that whole period, or it is
  // built from too few answers; the figure itself is hidden only when too few answered.
  const compared = (v) => (v === null || v === undefined ? "no full period to compare" : fmtPct(v));
  for (const [label, value, fmt] of [["Satisfied customers (CSAT)", now.value, fmtPct],
    ["The 30 days before", now.previous, compared], ["Last month", lastMonth.value, fmtPct],
    ["Same period last year", now.last_year, compared], ["Target", now.target, fmtPct]]) {
    const card = el("article", "card small");
    card.append(el("h3", "", label), el("p", "figure", fmt(value === undefined ? null : value)));
    box.append(card);
  }
}
const ACTION_KINDS = { fix: "a fix", process_change: "a process change",
  policy: "a policy change", product_change: "a product change",
  communication: "a communication", help_content: "new help content" };
const PROBLEM_STATES = { open: "being looked at", acknowledged: "acknowledged by its owner",
  fix_planned: "a fix is planned", fixed: "fixed, being checked" };
function longDate(iso) {
  return new Date(`${String(iso).slice(0, 10)}T00:00:00Z`).toLocaleDateString("en-GB",
    { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
}
// One action in plain words: "Since a fix on billing (30 July 2026): about 2,066 fewer
// contacts a week (1,950 to 2,180)." The range is the estimate's 95% interval.
function actionWords(r) {
  const what = `Since ${ACTION_KINDS[r.kind] || "an action"} on ${r.cause || "contacts"} ` +
    `(${longDate(r.period)}): `;
  if (!r.significant) return `${what}no measurable change in contacts so far.`;
  const fewer = r.value < 0;
  const size = (v) => fmtInt(Math.abs(v));
  const range = r.low !== null && r.high !== null && r.low !== undefined
    ? ` (${size(fewer ? r.high : r.low)} to ${size(fewer ? r.low : r.high)})` : "";
  const change = `${what}about ${size(r.value)} ${fewer ? "fewer" : "more"} contacts a week`;
  // A fault's fix is measured on the problem's own contacts, not on the whole cause.
  if (r.basis === "problem") {
    // A fault younger than a week is measured at its rate over its own days.
    const when = r.days && r.days < 7
      ? `in the ${r.days} day${r.days === 1 ? "" : "s"} before it` : "before it";
    return `${change} about the problem it fixed${range}, which had come at about ` +
      `${fmtInt(r.previous)} a week ${when}.`;
  }
  return `${change}${range}, against about ${fmtInt(r.previous)} a week expected without it.`;
}
function openProblems(section) {
  const box = document.getElementById("open-problems");
  box.replaceChildren();
  if (!section || section.unavailable || !section.rows.length) {
    box.append(el("p", "empty", "No open problems."));
    return;
  }
  const table = el("table");
  const head = el("tr");
  // The product only where some problem names one (a company that records no products).
  const products = section.rows.some((r) => r.product);
  for (const h of ["Known since", "Cause", ...(products ? ["Product"] : []), "Contacts",
    "Where we are"]) {
    head.append(el("th", "", h));
  }
  table.append(head);
  for (const r of section.rows) {
    const tr = el("tr");
    for (const v of [longDate(r.period), r.cause, ...(products ? [r.product || "—"] : []),
      r.value === null ? "fewer than 10" : fmtInt(r.value), PROBLEM_STATES[r.status] || r.status]) {
      tr.append(el("td", "", v ?? "—"));
    }
    table.append(tr);
  }
  box.append(table);
}
function actions(section) {
  const box = document.getElementById("actions");
  box.replaceChildren();
  if (section.empty) {
    box.append(el("p", "empty", "No actions have been recorded yet. When we find a problem " +
      "behind contacts and fix it, the fix and its measured effect will be listed here."));
    return;
  }
  if (section.unavailable || !section.rows.length) {
    box.append(el("p", "empty", "Actions are recorded; their impact is not measured yet."));
    return;
  }
  const list = el("ul", "actions");
  for (const r of [...section.rows].reverse()) list.append(el("li", "", actionWords(r)));
  box.append(list);
}
async function startMonth() {
  const data = await getJSON("/public/api/summary");
  const last = new Date(Date.parse(data.end.slice(0, 10)) - 86400e3).toISOString().slice(0, 10);
  document.getElementById("month-window").textContent =
    `From ${data.start.slice(0, 10)} to ${last}, whole days.`;
  bars("mix-chart", data.sections.category_mix.rows, "category");
  bars("cause-chart", data.sections.complaints_by_cause.rows, "cause");
  waits(data.waits);
  satisfaction(data.sections);
  actions(data.sections.actions);
  openProblems(data.sections.open_problems);
}

const showError = (node) => (error) => {
  const target = typeof node === "string" ? document.getElementById(node) : node;
  target.replaceChildren(el("p", "empty", "These figures could not be loaded just now."));
  console.error(error);
};

window.addEventListener("DOMContentLoaded", () => {
  startLive();
  startDemand();
  startService().catch(showError("sl-chart"));
  startBestTime().catch(showError("heat-chart"));
  startMonth().catch(showError("actions"));
});
