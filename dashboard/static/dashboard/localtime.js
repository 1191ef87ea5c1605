/* Formats server-rendered <time datetime="ISO"> elements in the SITE's time zone (TIME_ZONE, on
 * <html data-time-zone>), never the viewer's own: a depot has one clock, and a manager travelling
 * or a browser set to another zone must see the same times as the shift on site.
 *   <time data-relative>  -> "12 s ago", the date and time (site zone, named) in the tooltip
 *   <time data-format="time"> -> HH:MM:SS in the site zone, full date in the tooltip
 *   any other <time> keeps the server's text (date and time, site zone) and gets the tooltip
 * Re-runs after every htmx swap (including WebSocket pushes) and every 10 s so "ago" stays true.
 * No dependencies; the server's text (site zone) stays visible if this never runs. */
(function () {
  "use strict";
  var locale = "en-GB"; // 24-hour clock and day-month order, as the server renders
  var zone = document.documentElement.getAttribute("data-time-zone") || undefined;
  var absolute = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium", timeZone: zone });
  var clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit",
                                                hourCycle: "h23", timeZone: zone });
  var relative = typeof Intl.RelativeTimeFormat === "function"
    ? new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "short" }) : null;
  var zoneName = zone || Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

  function ago(date, now) {
    var seconds = Math.round((date.getTime() - now) / 1000);
    var abs = Math.abs(seconds);
    if (!relative) return clock.format(date);
    if (abs < 5) return "just now";
    if (abs < 60) return relative.format(seconds, "second");
    if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
    if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
    return relative.format(Math.round(seconds / 86400), "day");
  }

  function render(root) {
    var now = Date.now();
    var nodes = (root || document).querySelectorAll("time[datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) continue;
      var title = absolute.format(date) + " (" + zoneName + ")";
      if (el.title !== title) el.title = title;
      var text = el.hasAttribute("data-relative") ? ago(date, now)
        : el.getAttribute("data-format") === "time" ? clock.format(date) : null;
      if (text !== null && el.textContent !== text) el.textContent = text;
    }
  }

  window.localTime = { render: render };
  document.addEventListener("DOMContentLoaded", function () { render(document); });
  document.addEventListener("htmx:afterSettle", function () { render(document); });
  document.addEventListener("htmx:oobAfterSwap", function () { render(document); });
  document.addEventListener("htmx:wsAfterMessage", function () { render(document); });
  setInterval(function () { render(document); }, 10000);
})();
