/* The consultation page's first view (villagestudy.consult.first_view), after its HTML: draw its map if the
   page's drawer (templates/voila/plots.js) is there already (else the drawer draws it when it loads), and
   remove the view once the live panel has drawn its own map. */
(function () {
  "use strict";
  var script = document.currentScript;
  var view = script && script.parentNode;
  if (!view) { return; }
  var fallbackMs = Number(script.getAttribute("data-fallback-ms")) || 8000;
  var hasMap = view.getAttribute("data-first-view") === "map";
  if (window.villagestudyDrawPlots) { window.villagestudyDrawPlots(view); }

  var live = null;
  var timer = null;
  var observer = null;
  var events = ["pointerdown", "keydown", "input"];

  function takeOver() {
    if (observer) { observer.disconnect(); observer = null; }
    if (timer) { clearTimeout(timer); timer = null; }
    if (live) {
      events.forEach(function (name) { live.removeEventListener(name, takeOver, true); });
    }
    if (view.parentNode) { view.parentNode.removeChild(view); }
  }

  function liveMapDrawn() {
    // the live panel's map widget shows the figure, or the same note as this view when there is no map
    return live.querySelector(".vs-map .js-plotly-plot .main-svg") !== null ||
      (!hasMap && live.querySelector(".vs-map .vs-note") !== null);
  }

  function check() {
    if (!live) {
      live = document.querySelector(".vs-consult:not(.vs-first-view)");
      if (!live) { return; }
      // someone using the live panel wants it on screen; and a live map that never draws must not leave
      // this copy on the page once the scenario may have changed
      events.forEach(function (name) { live.addEventListener(name, takeOver, true); });
      timer = setTimeout(takeOver, fallbackMs);
    }
    if (liveMapDrawn()) { takeOver(); }
  }

  observer = new MutationObserver(check);
  observer.observe(document.body, {childList: true, subtree: true});
})();
