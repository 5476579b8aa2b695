/* Folded sections: redraw a section's charts when it opens (drawn while folded they have no width),
   and open every section before printing. */
(function () {
  function resize(root) {
    if (!window.Plotly) { return; }
    root.querySelectorAll(".js-plotly-plot").forEach(function (gd) { window.Plotly.Plots.resize(gd); });
  }
  document.addEventListener("toggle", function (ev) {
    if (ev.target.open) { resize(ev.target); }
  }, true);
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
    resize(document);
  });
})();
