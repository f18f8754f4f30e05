// "Tick every key on this page" for bulk forms: a checkbox with data-select-all="NAME" ticks
// or unticks every checkbox named NAME in its form. Hidden without this script (a static
// file: the CSP forbids inline scripts); the page works without it, one tick at a time.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-select-all]").forEach(function (all) {
      var boxes = all.form.querySelectorAll('input[type=checkbox][name="' + all.dataset.selectAll + '"]');
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
      });
    });
  });
})();
