/* Dashboard glue around htmx + htmx-ext-ws:
 * - shows the live connection honestly (connecting / live / reconnecting),
 * - reconnects after any close (the ws extension only retries on 1006/1011/1012/1013; a server that
 *   shuts down cleanly sends 1001 and would otherwise leave a wall screen frozen),
 * - tells the server this screen's view (status filter, search, sort, activity camera) whenever it
 *   changes, so pushed cards and log rows obey it (the view lives in #inventory's data-view),
 * - keeps the activity log at its newest rows: a push sends only its new rows (in
 *   <template id="activity-new">); they go on top, and the log is sorted (two workers' frames can
 *   arrive out of order), without duplicates, the "no frames yet" row or rows of another camera than
 *   the log's filter, cut to #activity-rows' data-limit,
 * - shows HTTP errors (e.g. 403 on a threshold change) in a toast instead of failing silently. */
(function () {
  "use strict";
  var socket = null;          // htmx ws socketWrapper (publicInterface)
  var retries = 0;
  var RETRYABLE = [1006, 1011, 1012, 1013];
  var SIGNED_OUT = 4401;      // dashboard/consumers.py
  var NO_ACCESS = 4403;       // logged in, but no longer in a group that may watch the dashboard

  function setState(state, label) {
    var el = document.getElementById("connection");
    if (!el) return;
    el.dataset.state = state;
    el.querySelector(".connection-label").textContent = label;
  }

  // The view as the server last rendered it (a URL query: status, q, sort, camera; dashboard/triage.py).
  function currentView() {
    var grid = document.getElementById("inventory");
    return grid ? (grid.dataset.view || "") : "";
  }

  var sentView = null;  // the view the server's consumer has: its connect query, then what we sent
  function syncView() {
    if (!socket) return;
    var view = currentView();
    if (view === sentView) return;  // also keeps a pushed grid (rendered for sentView) from echoing
    sentView = view;
    var params = new URLSearchParams(view);
    socket.send(JSON.stringify({
      status: params.get("status") || "", q: params.get("q") || "",
      sort: params.get("sort") || "", camera: params.get("camera") || ""
    }));
  }

  function addActivityRows() {
    var body = document.getElementById("activity-rows");
    var log = document.getElementById("activity-log");
    var pushed = document.getElementById("activity-new");
    if (!body || !log || !pushed || !pushed.content.firstElementChild) return;
    var added = Array.prototype.slice.call(pushed.content.children);
    pushed.content.replaceChildren();  // empty again, the whitespace between the rows too (a wall screen runs for weeks)
    body.prepend.apply(body, added);
    var limit = parseInt(body.dataset.limit, 10) || 20;
    var only = log.dataset.cameraFilter || "";
    var seen = {}, rows = [], empty = null;
    Array.prototype.slice.call(body.children).forEach(function (row) {
      var id = Number(row.dataset.eventId);
      if (row.hasAttribute("data-empty")) empty = row;
      else if (id && !seen[id] && (!only || row.dataset.camera === only)) { seen[id] = true; rows.push(row); }
      else row.remove();
    });
    if (!rows.length) return;
    if (empty) empty.remove();
    var sorted = rows.slice().sort(function (a, b) { return b.dataset.eventId - a.dataset.eventId; });
    // Re-insert only when out of order: moving a row would replay its slide-in.
    if (sorted.some(function (row, i) { return row !== rows[i]; })) sorted.forEach(function (row) { body.appendChild(row); });
    sorted.slice(limit).forEach(function (row) { row.remove(); });
    if (window.localTime) window.localTime.render(body);  // its own listener may have run before this one
  }
  document.addEventListener("htmx:wsAfterMessage", addActivityRows);

  function toast(message, kind) {
    var box = document.getElementById("toast");
    if (!box) return;
    var p = document.createElement("p");
    p.className = "toast rounded-lg px-4 py-2 text-sm text-white shadow-lg " + (kind === "error" ? "bg-red-700" : "bg-emerald-700");
    p.textContent = message;
    box.replaceChildren(p);
  }

  // A toast (from JS or swapped in out-of-band) disappears after a few seconds.
  var toastTimer = null;
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("toast");
    if (!box) return;
    new MutationObserver(function () {
      if (!box.firstChild) return;
      clearTimeout(toastTimer);
      toastTimer = setTimeout(function () { box.replaceChildren(); }, 4000);
    }).observe(box, { childList: true });
  });

  document.addEventListener("htmx:wsConnecting", function () {
    setState("connecting", retries ? "Reconnecting…" : "Connecting…");
  });
  document.addEventListener("htmx:wsOpen", function (evt) {
    retries = 0;
    socket = evt.detail.socketWrapper;
    setState("live", "Live");
    // The server already sent a snapshot for the view in the socket's URL; correct it if it changed since.
    var root = document.getElementById("live-root");
    var url = root ? (root.getAttribute("ws-connect") || "") : "";
    sentView = url.indexOf("?") >= 0 ? url.slice(url.indexOf("?") + 1) : "";
    syncView();
  });
  document.addEventListener("htmx:wsClose", function (evt) {
    var code = evt.detail.event && evt.detail.event.code;
    if (code === SIGNED_OUT) {
      // The session expired (or the user logged out elsewhere): say so, then show the login page.
      setState("signed-out", "Signed out");
      toast("Your session has ended: log in again.", "error");
      var connection = document.getElementById("connection");
      var login = connection && connection.dataset.loginUrl;
      if (login) setTimeout(function () { location.assign(login + "?next=" + encodeURIComponent(location.pathname + location.search)); }, 3000);
      return;
    }
    if (code === NO_ACCESS) {
      // Retrying cannot help until an administrator gives the account a role again.
      setState("no-access", "No access");
      toast("Your account may no longer watch the dashboard: ask an administrator.", "error");
      return;
    }
    retries += 1;
    setState("reconnecting", "Reconnecting…");
    if (RETRYABLE.indexOf(code) < 0 && evt.detail.socketWrapper) {
      var wrapper = evt.detail.socketWrapper;
      var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(retries, 5))) * (0.5 + Math.random() / 2);
      setTimeout(function () { wrapper.reconnect(); }, delay);
    }
  });
  document.addEventListener("htmx:wsError", function () {
    setState("reconnecting", "Reconnecting…");
  });

  // Filter, search, sort or activity camera changed over HTTP: keep the server's per-connection view in step.
  document.addEventListener("htmx:afterSettle", syncView);

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var message = "Request failed (" + xhr.status + ").";
    if (xhr.status === 403) message = "You are not allowed to do that (403).";
    if (xhr.status === 0) message = "The server did not answer.";
    toast(message, "error");
  });
  document.addEventListener("htmx:sendError", function () { toast("The server did not answer.", "error"); });
})();
