// A camera's trends page: draws the count chart (uPlot, vendored), the status timeline and the
// CRITICAL-per-day table from /cameras/<slug>/trends/data/, and, while the range ends now, fetches
// them again whenever the camera's socket says a frame (or new levels) arrived.
(function () {
  "use strict";
  const root = document.getElementById("trends");
  if (!root) return;
  const chartBox = document.getElementById("trend-chart");
  const colours = JSON.parse(root.dataset.colours || "{}");
  let plot = null;
  let inFlight = false;
  let again = false;

  function constant(times, value) {
    return times.map(() => value);
  }

  function draw(data) {
    const s = data.series;
    const rows = [s.t, s.count, s.min, s.max, constant(s.t, data.critical_level), constant(s.t, data.target_capacity)];
    const points = s.count.filter((v) => v !== null).length;
    chartBox.dataset.points = String(points);
    chartBox.dataset.lastT = String(s.t.length ? s.t[s.t.length - 1] : "");
    chartBox.dataset.lastCount = String(points ? s.count.filter((v) => v !== null).pop() : "");
    document.getElementById("trend-frames").textContent = String(s.frames);
    document.getElementById("trend-empty").classList.toggle("hidden", points > 0);
    const width = Math.max(320, chartBox.clientWidth || root.clientWidth);
    if (plot) {
      plot.setData(rows);
      plot.setScale("x", { min: Date.parse(data.start) / 1000, max: Date.parse(data.end) / 1000 });
      return;
    }
    plot = new uPlot({
      width: width, height: 320,
      scales: { x: { time: true, range: () => [Date.parse(data.start) / 1000, Date.parse(data.end) / 1000] } },
      series: [
        {},
        { label: "count (median)", stroke: "#0f172a", width: 2, spanGaps: false },
        { label: "min", stroke: "#94a3b8", width: 1 },
        { label: "max", stroke: "#94a3b8", width: 1 },
        { label: "critical ≤", stroke: "#ef4444", dash: [6, 4], width: 1.5, points: { show: false } },
        { label: "target ≥", stroke: "#10b981", dash: [6, 4], width: 1.5, points: { show: false } },
      ],
      axes: [{}, { label: "packages" }],
    }, rows, chartBox);
    window.addEventListener("resize", () => plot.setSize({ width: Math.max(320, chartBox.clientWidth), height: 320 }));
  }

  function timeline(data) {
    const box = document.getElementById("status-timeline");
    const start = Date.parse(data.start), span = Date.parse(data.end) - start;
    box.replaceChildren(...data.timeline.map((segment) => {
      const part = document.createElement("div");
      const from = Date.parse(segment.start), to = Date.parse(segment.end);
      part.style.width = (100 * (to - from) / span) + "%";
      part.style.background = colours[segment.status] || "#94a3b8";
      part.dataset.status = segment.status;
      part.title = segment.status + ": " + new Date(from).toLocaleString() + " – " + new Date(to).toLocaleString();
      return part;
    }));
    const offset = data.timeline.length ? Date.parse(data.timeline[0].start) - start : 0;
    box.style.paddingLeft = (100 * offset / span) + "%";
  }

  function perDay(data) {
    const body = document.querySelector("#critical-per-day tbody");
    body.replaceChildren(...data.critical_per_day.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.day = row.day;
      for (const [text, cls] of [[row.day, "px-3 py-1"], [row.minutes.toFixed(1), "py-1 text-right tabular-nums"],
                                 [String(row.stockouts), "px-3 py-1 text-right tabular-nums"]]) {
        const td = document.createElement("td");
        td.className = cls;
        td.textContent = text;
        tr.appendChild(td);
      }
      return tr;
    }));
  }

  async function refresh() {
    if (inFlight) { again = true; return; }  // at most one fetch at a time, and one more after it
    inFlight = true;
    try {
      const response = await fetch(root.dataset.url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        draw(data);
        timeline(data);
        perDay(data);
        root.dataset.generatedAt = data.generated_at;
      }
    } finally {
      inFlight = false;
      if (again) { again = false; setTimeout(refresh, 500); }
    }
  }

  function listen() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + root.dataset.ws);
    socket.onopen = () => { root.dataset.live = "live"; };
    socket.onmessage = () => refresh();
    socket.onclose = (event) => {
      root.dataset.live = "closed";
      if (event.code === 4401) { location.reload(); return; }  // signed out: the page goes to the login
      if (event.code < 4000) setTimeout(listen, 3000);
    };
  }

  refresh().then(() => { if (root.dataset.live === "connecting") listen(); });
})();
