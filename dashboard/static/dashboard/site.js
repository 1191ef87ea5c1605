/* Every page: the compact main menu on phones (a button that opens and closes the nav). Camera page:
 * a tapped event's frame fills "Selected event", which on a phone is far above the list: bring it
 * into view once it has arrived, or nothing seems to happen. */
(function () {
  "use strict";
  var scrollToSelected = false;
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest(".event-link")) scrollToSelected = true;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!scrollToSelected) return;
    var selected = document.getElementById("camera-selected");
    if (!selected) return;
    scrollToSelected = false;
    var box = selected.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight * 0.6) {
      (document.getElementById("selected-heading") || selected).scrollIntoView({ block: "start" });
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("nav-toggle");
    var nav = document.getElementById("main-nav");
    if (!button || !nav) return;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      nav.dataset.open = String(open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        button.setAttribute("aria-expanded", "false");
        nav.dataset.open = "false";
        button.focus();
      }
    });
  });
})();
