/* villagestudy consult, the Voila page's figure drawer: draws every <div class="vs-plotly" data-figure="...">
   the app's outputs carry (the map, live and in the first view), those in the page already and those added
   later, with the page's own offline plotly.js, once the div is laid out; redraws it at its new width when its width changes and frees it when it leaves the page.
   The outputs themselves carry no script: the figure is data in an attribute, this file (served by the app's
   server) is the only code. */
(function () {
  "use strict";
  var Plotly = window.Plotly;
  if (!Plotly) { return; }
  var SELECTOR = "div.vs-plotly[data-figure]";
  var widths = new WeakMap();

  var sizes = new ResizeObserver(function (entries) {
    entries.forEach(function (entry) {
      var div = entry.target;
      if (!div.isConnected) {
        sizes.unobserve(div);
        Plotly.purge(div);
        return;
      }
      var width = div.clientWidth;
      if (!width) { return; }
      if (!widths.has(div)) {
        draw(div);
      } else if (widths.get(div) !== width) {
        widths.set(div, width);
        Plotly.Plots.resize(div);
      }
    });
  });

  function draw(div) {
    if (widths.has(div) || !div.isConnected) { return; }
    var width = div.clientWidth;
    if (!width) { sizes.observe(div); return; }  // not laid out yet (a hidden cell, a widget not attached)
    widths.set(div, width);
    var figure = JSON.parse(div.getAttribute("data-figure"));
    Plotly.newPlot(div, figure.data, figure.layout, figure.config);
    sizes.observe(div);
  }

  function drawIn(root) {
    if (root.matches && root.matches(SELECTOR)) { draw(root); }
    if (root.querySelectorAll) { root.querySelectorAll(SELECTOR).forEach(draw); }
  }

  new MutationObserver(function (records) {
    records.forEach(function (record) {
      record.addedNodes.forEach(function (node) {
        if (node.nodeType === 1) { drawIn(node); }
      });
    });
  }).observe(document.documentElement, {childList: true, subtree: true});

  window.villagestudyDrawPlots = function (root) { drawIn(root || document); };
  drawIn(document);  // the figures already in the page as served (the first view's map)
})();
