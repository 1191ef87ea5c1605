/* Dashboard glue around htmx + htmx-ext-ws:
 * - shows the live connection honestly (connecting / live / reconnecting),
 * - reconnects after any close (the ws extension only retries on 1006/1011/1012/1013; a server that
 *   shuts down cleanly sends 1001 and would otherwise leave a wall screen frozen),
 * - tells the server the activity filter, so pushed log rows match what the page shows,
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

  function currentFilter() {
    var log = document.getElementById("activity-log");
    return log ? (log.dataset.cameraFilter || "") : "";
  }

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
    // The server already sent a snapshot for the filter in the URL; correct it if it changed since.
    var initial = new URLSearchParams(location.search).get("camera") || "";
    if (currentFilter() !== initial || document.body.dataset.filterChanged) {
      socket.send(JSON.stringify({ camera: currentFilter() }));
    }
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

  // Activity filter clicked (HTTP swap): keep the server's per-connection filter in step.
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "activity-log" || (evt.detail.elt && evt.detail.elt.id === "activity-log")) {
      document.body.dataset.filterChanged = "1";
      if (socket) socket.send(JSON.stringify({ camera: currentFilter() }));
    }
  });

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var message = "Request failed (" + xhr.status + ").";
    if (xhr.status === 403) message = "You are not allowed to do that (403).";
    if (xhr.status === 0) message = "The server did not answer.";
    toast(message, "error");
  });
  document.addEventListener("htmx:sendError", function () { toast("The server did not answer.", "error"); });
})();
