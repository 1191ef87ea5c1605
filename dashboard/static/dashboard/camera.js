/* Counting-zone editor on the camera page (dashboard/templates/dashboard/camera.html, #zone-editor).
 * Click on the latest frame to add points (normalised 0..1); "Finish zone" closes the polygon.
 * The zones live in the form's JSON textarea, which is what is saved: the server validates
 * (>= 3 points, within 0..1, not self-crossing) and answers with clear errors. No library, no CDN. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function round(value) { return Math.round(value * 10000) / 10000; }

  function init(editor) {
    if (!editor || editor.dataset.ready) return;
    var canvas = editor.querySelector("#zone-canvas.zone-drawable");
    var textarea = editor.querySelector("#zones-json");
    var tools = editor.querySelector("#zone-tools");
    if (!textarea) return;  // read-only viewer
    editor.dataset.ready = "1";
    var zones;
    try { zones = JSON.parse(textarea.value || "[]"); } catch (e) { zones = []; }
    if (!Array.isArray(zones)) zones = [];
    var draft = [];
    var shapes = editor.querySelector("#zone-shapes");
    var note = editor.querySelector("[data-field=zone-draft]");
    if (tools && canvas) tools.hidden = false;

    function polygon(points, finished) {
      var el = document.createElementNS(SVG, finished ? "polygon" : "polyline");
      el.setAttribute("points", points.map(function (p) { return p[0] * 1000 + "," + p[1] * 1000; }).join(" "));
      el.setAttribute("fill", finished ? "rgb(16 185 129 / 0.15)" : "none");
      el.setAttribute("stroke", finished ? "#10b981" : "#fbbf24");
      el.setAttribute("stroke-width", "2");
      el.setAttribute("vector-effect", "non-scaling-stroke");
      return el;
    }

    function draw() {
      if (shapes) {
        shapes.replaceChildren();
        zones.forEach(function (zone) { shapes.appendChild(polygon(zone, true)); });
        if (draft.length) {
          shapes.appendChild(polygon(draft, false));
          draft.forEach(function (p) {
            var dot = document.createElementNS(SVG, "circle");
            dot.setAttribute("cx", p[0] * 1000); dot.setAttribute("cy", p[1] * 1000); dot.setAttribute("r", "6");
            dot.setAttribute("class", "zone-draft-point");
            shapes.appendChild(dot);
          });
        }
      }
      // What is saved: the finished zones, plus a started one (so the server can say what is wrong with it).
      var all = draft.length ? zones.concat([draft]) : zones;
      textarea.value = JSON.stringify(all);
      if (note) {
        note.textContent = (zones.length ? zones.length + " zone(s)" : "whole frame") +
          (draft.length ? ", drawing: " + draft.length + " point(s)" : "");
      }
    }

    if (canvas) {
      canvas.addEventListener("click", function (evt) {
        var box = canvas.getBoundingClientRect();
        if (!box.width || !box.height) return;
        var x = Math.min(Math.max((evt.clientX - box.left) / box.width, 0), 1);
        var y = Math.min(Math.max((evt.clientY - box.top) / box.height, 0), 1);
        draft.push([round(x), round(y)]);
        draw();
      });
    }
    // Typing JSON by hand replaces the drawing.
    textarea.addEventListener("change", function () {
      try {
        var typed = JSON.parse(textarea.value || "[]");
        if (Array.isArray(typed)) { zones = typed; draft = []; draw(); }
      } catch (e) { /* left as typed: the server explains what is wrong */ }
    });
    editor.addEventListener("click", function (evt) {
      var button = evt.target.closest("[data-zone-action]");
      if (!button) return;
      var action = button.dataset.zoneAction;
      if (action === "finish" && draft.length) { zones.push(draft); draft = []; }
      else if (action === "undo") { draft.pop(); }
      else if (action === "remove") { if (draft.length) draft = []; else zones.pop(); }
      else if (action === "clear") { zones = []; draft = []; }
      draw();
    });
    if (canvas) draw();
  }

  function initAll() { init(document.getElementById("zone-editor")); }
  document.addEventListener("DOMContentLoaded", initAll);
  document.addEventListener("htmx:afterSettle", initAll);
})();

/* The event list holds still while someone works on it: while a "Count is wrong" dialog is open, or
 * while the pointer is on the list (a new frame every second moved the row under it). The newest
 * pushed list is kept and swapped in when the dialog closes or the pointer leaves. Esc closes the
 * dialog and gives focus back to the button that opened it. */
(function () {
  "use strict";
  var held = null;     // the newest pushed #camera-events, not yet shown
  var heldFrames = 0;
  var opener = null;

  function dialogOpen() { return !!document.querySelector("[data-flag-dialog]"); }
  function paused() { return dialogOpen() || !!document.querySelector("#camera-events:hover"); }

  function note(text) {
    var el = document.querySelector("#camera-events [data-field=events-paused]");
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || target.id !== "camera-events" || !paused()) return;
    evt.preventDefault();
    held = evt.detail.fragment;
    heldFrames += 1;
    note("Paused " + (dialogOpen() ? "while the dialog is open" : "under the pointer") + ": " + heldFrames +
         " newer update" + (heldFrames === 1 ? "" : "s") + " waiting.");
  });

  function resume() {
    if (!held || paused()) return;
    var current = document.getElementById("camera-events");
    var fresh = held.firstElementChild;
    held = null;
    heldFrames = 0;
    if (!current || !fresh) return;
    current.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
  }

  // Dialogs are removed from the DOM when closed; the pointer leaving the list is a mouseout.
  document.addEventListener("DOMContentLoaded", function () {
    new MutationObserver(function () { setTimeout(resume, 0); }).observe(document.body, { childList: true });
  });
  document.addEventListener("mouseout", function () { setTimeout(resume, 0); });

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-action=flag-count]");
    if (button) opener = button.getAttribute("href");
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var dialogs = document.querySelectorAll("[data-flag-dialog]");
    if (!dialogs.length) return;
    dialogs.forEach(function (d) { d.remove(); });
    var back = opener && document.querySelector("[data-action=flag-count][href='" + opener + "']");
    if (back) back.focus();
  });
})();

/* Zone editor: it keeps the frame it opened with (redrawing it would throw away a half-drawn zone),
 * so say when newer frames have arrived rather than silently drawing on an old one. */
(function () {
  "use strict";
  function check() {
    var canvas = document.querySelector("#zone-editor .zone-canvas-box[data-event-id]");
    var latest = document.querySelector("#camera-latest [data-event-id]");
    var warning = document.querySelector("#zone-editor [data-field=zone-stale-warning]");
    if (!canvas || !latest || !warning) return;
    warning.hidden = canvas.dataset.eventId === latest.dataset.eventId;
  }
  document.addEventListener("DOMContentLoaded", check);
  document.addEventListener("htmx:afterSettle", check);
  document.addEventListener("htmx:oobAfterSwap", check);
})();
