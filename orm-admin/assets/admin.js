// orm-admin: the little behaviour the pages need, loaded from a file
// (the Content-Security-Policy allows no inline script). Every page
// works without it.
"use strict";

// The change list's "select all" box.
document.querySelectorAll("input.select-all").forEach(function (all) {
  var form = all.closest("form");
  if (!form) return;
  var boxes = form.querySelectorAll("input[name=_selected_action]");
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      all.checked = Array.prototype.every.call(boxes, function (b) { return b.checked; });
    });
  });
});
