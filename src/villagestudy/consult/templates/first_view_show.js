/* The consultation page's first view (villagestudy.consult.first_view), before its HTML: Voila shows its cells
   only once its own JavaScript has loaded the theme; show this view now instead of the spinner (until then the
   cells hold nothing else visible), so that its map is laid out when the page's drawer draws it. */
(function () {
  "use strict";
  var spinner = document.getElementById("loading");
  if (spinner && spinner.parentNode) { spinner.parentNode.removeChild(spinner); }
  var cells = document.getElementById("rendered_cells");
  if (cells) { cells.style.display = ""; }
})();
