// Keyledger's only script: draws charts from JSON data blocks (no inline script: strict CSP).
// Every page works without it; charts are progressive enhancement over the tables beside them.
(function () {
  "use strict";
  function drawCharts() {
    if (typeof window.Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) { return; }
      var config = JSON.parse(source.textContent);
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
      if (config.links) {  // a bar opens the inventory list it counts (same-origin paths only)
        var links = config.links;
        config.options.onClick = function (_event, elements) {
          if (!elements.length) { return; }
          var href = (links[elements[0].datasetIndex] || [])[elements[0].index];
          if (typeof href === "string" && href.charAt(0) === "/" && href.charAt(1) !== "/") { window.location.assign(href); }
        };
        config.options.onHover = function (event, elements) {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        };
      }
      new window.Chart(canvas, config);
      canvas.dataset.drawn = "1";
    });
  }
  document.addEventListener("DOMContentLoaded", drawCharts);
  document.addEventListener("htmx:afterSettle", drawCharts);
})();
