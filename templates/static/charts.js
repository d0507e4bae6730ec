// Interactive charts. Every <div class="vega-chart" data-spec="..."> sits beside
// its figure's static SVG (drawn by matplotlib, or from an author's spec by the build). When the figure nears the viewport, the vendored
// vega, vega-lite and vega-embed load (once, in order), the spec is fetched and
// rendered off-screen, and only then does the chart replace the static image.
// Without JavaScript, or if anything fails, the static figure stays.
(function () {
  "use strict";
  var root = document.documentElement;
  var base = (document.currentScript && document.currentScript.src) || "static/charts.js";
  var VENDOR = ["vendor/vega.min.js", "vendor/vega-lite.min.js", "vendor/vega-embed.min.js"].map(function (f) {
    return new URL(f, base).href;
  });
  var themes = {};
  try { themes = JSON.parse(document.getElementById("chart-theme").textContent); } catch (e) { /* defaults */ }
  var charts = [];   // {el, spec, result}
  var loading = null;

  function loadVega() {
    if (window.vegaEmbed) return Promise.resolve();
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      VENDOR.forEach(function (src, i) {
        var s = document.createElement("script");
        s.src = src;
        s.async = false;  // download in parallel, run in order: vega-lite needs vega, embed needs both
        s.onerror = function () { reject(new Error("could not load " + src)); };
        if (i === VENDOR.length - 1) s.onload = function () { resolve(); };
        document.head.appendChild(s);
      });
    });
    return loading;
  }

  // paper gets every figure's static light SVG (print.css), never the chart
  function currentTheme() {
    return root.dataset.theme || (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  }

  // Vega's config per theme comes with the page (sitegen.render.charts.vega_config): the build
  // draws an author's chart to static SVG with the same one
  function config(theme) {
    var t = themes[theme] || {};
    return t.vega ? JSON.parse(JSON.stringify(t.vega)) : { background: null };
  }

  // keep the reader's slider/select positions when the chart is redrawn for a new theme
  function withCurrentValues(spec, view) {
    var copy = JSON.parse(JSON.stringify(spec));
    if (!view || !copy.params) return copy;
    copy.params.forEach(function (p) {
      if (!p.bind) return;
      try { p.value = view.signal(p.name); } catch (e) { /* not a signal at the top level */ }
    });
    return copy;
  }

  function embed(chart) {
    var theme = currentTheme();
    var spec = withCurrentValues(chart.spec, chart.result && chart.result.view);
    // the mode comes from $schema; the schema's version is the author's, the vendored library decides
    var mode = /\/vega\/v/.test(spec.$schema || "") ? "vega" : "vega-lite";
    delete spec.$schema;
    if (chart.result) chart.result.finalize();
    chart.el.textContent = "";
    return window.vegaEmbed(chart.el, spec, {
      mode: mode, actions: false, renderer: "svg", config: config(theme),
      tooltip: { theme: theme === "dark" ? "dark" : "light" }
    }).then(function (result) {
      chart.result = result;
      chart.theme = theme;
    });
  }

  function render(el) {
    var figure = el.closest("figure");
    var img = figure && figure.querySelector(".static-figure img");
    var inline = figure && figure.querySelector("script.vega-spec");  // an author's chart: its spec is in the page
    loadVega().then(function () {
      if (inline) return JSON.parse(inline.textContent);
      return fetch(el.dataset.spec).then(function (r) {
        if (!r.ok) throw new Error(el.dataset.spec + ": HTTP " + r.status);
        return r.json();
      });
    }).then(function (spec) {
      if (!spec.description && img) spec.description = img.alt;
      var chart = { el: el, spec: spec, result: null };
      el.classList.add("rendering");
      el.hidden = false;
      return embed(chart).then(function () {
        charts.push(chart);
        el.classList.remove("rendering");
        if (figure) figure.classList.add("chart-ready");
        el.dataset.rendered = "true";
      });
    }).catch(function (err) {
      el.hidden = true;
      el.classList.remove("rendering");
      console.error("chart " + el.dataset.spec + " kept as a static figure:", err);
    });
  }

  function start() {
    var els = Array.prototype.slice.call(document.querySelectorAll(".vega-chart[data-spec]"));
    if (!els.length) return;
    if (!("IntersectionObserver" in window)) { els.forEach(render); return; }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (en) {
        if (!en.isIntersecting) return;
        observer.unobserve(en.target);
        render(en.target.querySelector(".vega-chart[data-spec]"));
      });
    }, { rootMargin: "300px 0px" });
    els.forEach(function (el) { observer.observe(el.closest("figure") || el.parentNode); });
  }

  // a tap on a mark opens its tooltip: vega opens tooltips on a mouse's pointermove,
  // which a tap never sends, so the tap is passed on as one; a tap elsewhere closes it
  document.addEventListener("pointerup", function (e) {
    if (e.pointerType === "mouse") return;
    var chart = e.target.closest && e.target.closest(".vega-chart");
    if (chart) {
      e.target.dispatchEvent(new PointerEvent("pointermove", { bubbles: true, cancelable: true, isPrimary: true,
        pointerType: "mouse", clientX: e.clientX, clientY: e.clientY, view: window }));
    } else {
      var tip = document.getElementById("vg-tooltip-element");
      if (tip) tip.classList.remove("visible");
    }
  });

  function retheme() {
    var theme = currentTheme();
    charts.forEach(function (chart) { if (chart.theme !== theme) embed(chart); });
  }
  document.addEventListener("themechange", retheme);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
