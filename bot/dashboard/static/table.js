// Progressive enhancement only: the page works without it (the form and the header links
// filter and sort on the server). With JavaScript, the "Name contains" box filters as you type.
(function () {
  "use strict";
  var table = document.getElementById("module-table");
  var box = document.querySelector('.table-controls input[name="q"]');
  var count = document.getElementById("row-count");
  if (!table || !box || !count) { return; }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows).filter(function (r) {
    return r.hasAttribute("data-name");
  });
  var total = count.textContent.replace(/^\d+ of /, "");
  box.addEventListener("input", function () {
    var needle = box.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var hit = !needle || r.getAttribute("data-name").toLowerCase().indexOf(needle) !== -1;
      r.hidden = !hit;
      if (hit) { shown += 1; }
    });
    count.textContent = shown + " of " + total;
  });
})();
