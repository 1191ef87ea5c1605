/* Formats server-rendered <time datetime="ISO"> elements in the viewer's own time zone (Intl).
 *   <time data-relative>  -> "12 s ago", absolute local time in the tooltip
 *   <time data-format="time"> -> local HH:MM:SS, full date in the tooltip
 * Re-runs after every htmx swap (including WebSocket pushes) and every 10 s so "ago" stays true.
 * No dependencies; the server's text (UTC) stays visible if this never runs. */
(function () {
  "use strict";
  var locale = undefined; // the browser's language
  var absolute = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" });
  var clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  var relative = typeof Intl.RelativeTimeFormat === "function"
    ? new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "short" }) : null;
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

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
      var title = absolute.format(date) + " (" + zone + ")";
      if (el.title !== title) el.title = title;
      var text = el.hasAttribute("data-relative") ? ago(date, now) : clock.format(date);
      if (el.textContent !== text) el.textContent = text;
    }
  }

  window.localTime = { render: render };
  document.addEventListener("DOMContentLoaded", function () { render(document); });
  document.addEventListener("htmx:afterSettle", function () { render(document); });
  document.addEventListener("htmx:oobAfterSwap", function () { render(document); });
  document.addEventListener("htmx:wsAfterMessage", function () { render(document); });
  setInterval(function () { render(document); }, 10000);
})();
