// A camera's trends page: draws the count chart (uPlot, vendored), the status timeline and the
// CRITICAL-per-day table from /cameras/<slug>/trends/data/, and, while the range ends now, fetches
// them again whenever the camera's socket says a frame (or new levels) arrived.
(function () {
  "use strict";
  const root = document.getElementById("trends");
  if (!root) return;
  const chartBox = document.getElementById("trend-chart");
  const colours = JSON.parse(root.dataset.colours || "{}");
  // The site's time zone (TIME_ZONE), not the browser's: axis, tooltips and table match the header.
  const zone = document.documentElement.dataset.timeZone || undefined;
  const stamp = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: zone });
  const axis = { stroke: "#94a3b8", grid: { stroke: "#1e293b", width: 1 }, ticks: { stroke: "#334155", width: 1 } };
  let plot = null;
  let inFlight = false;
  let again = false;

  let levels = [];

  // The critical and target levels: dashed lines across the whole plot, whatever the data.
  function drawLevels(u) {
    const ctx = u.ctx;
    ctx.save();
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.font = 12 * devicePixelRatio + "px sans-serif";
    for (const [value, colour, label] of levels) {
      const y = Math.round(u.valToPos(value, "y", true));
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
      ctx.textAlign = "right";
      ctx.fillText(label, u.bbox.left + u.bbox.width - 4 * devicePixelRatio, y - 4 * devicePixelRatio);
    }
    ctx.restore();
  }

  function yRange(u, low, high) {
    const top = Math.max(high || 0, ...levels.map((level) => level[0])) * 1.1 + 1;
    return [0, Math.ceil(top)];
  }

  function draw(data) {
    const s = data.series;
    const rows = [s.t, s.count, s.min, s.max];
    levels = [[data.critical_level, "#ef4444", "critical ≤ " + data.critical_level],
              [data.target_capacity, "#10b981", "target ≥ " + data.target_capacity]];
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
      tzDate: zone ? (ts) => uPlot.tzDate(new Date(ts * 1e3), zone) : undefined,
      scales: { x: { time: true, range: () => [Date.parse(data.start) / 1000, Date.parse(data.end) / 1000] },
                y: { range: yRange } },
      hooks: { draw: [drawLevels] },
      series: [
        {},
        { label: "count (median)", stroke: "#e2e8f0", width: 2, spanGaps: false },
        { label: "min", stroke: "#64748b", width: 1 },
        { label: "max", stroke: "#64748b", width: 1 },
      ],
      axes: [{ ...axis, label: zone ? "time (" + zone + ")" : undefined }, { ...axis, label: "packages" }],
    }, rows, chartBox);
    window.trendsPlot = plot;  // for the browser tests
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
      part.title = segment.status + ": " + stamp.format(new Date(from)) + " – " + stamp.format(new Date(to)) +
        (zone ? " (" + zone + ")" : "");
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
