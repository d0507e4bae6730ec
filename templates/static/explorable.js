// The gradient product of Equation 1, computed live. A chain of `depth` random
// layers (32 units, He-scaled weights times the reader's scale, batch norm if
// chosen, ReLU, with or without the identity shortcut) is run forward on a batch
// of 16 random inputs, then a random loss gradient is carried back through every
// layer's Jacobian. The chart shows |dL/dx_l| relative to the last layer, beside
// the curve we measured on the real networks (Figure 2). Plain JavaScript and
// an inline SVG: nothing is fetched but the figure's own data file.
(function () {
  "use strict";
  var WIDTH = 32, BATCH = 16, PAD = { l: 62, r: 12, t: 14, b: 40 };
  var root = document.documentElement;

  function rng(seed) {  // mulberry32: the same weights for the same seed
    return function () {
      seed |= 0; seed = seed + 0x6D2B79F5 | 0;
      var t = Math.imul(seed ^ seed >>> 15, 1 | seed);
      t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t;
      return ((t ^ t >>> 14) >>> 0) / 4294967296;
    };
  }
  function gauss(r) { return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()); }

  // the weights of `depth` layers, N(0, 2/width) each (He et al.'s initialization),
  // a batch of inputs and the loss gradient at the output
  function weights(depth, seed) {
    var r = rng(seed), out = [], k;
    for (var i = 0; i < depth; i++) {
      var m = new Float64Array(WIDTH * WIDTH);
      for (k = 0; k < m.length; k++) m[k] = gauss(r) * Math.sqrt(2 / WIDTH);
      out.push(m);
    }
    var x0 = new Float64Array(WIDTH * BATCH), g0 = new Float64Array(WIDTH * BATCH);
    for (k = 0; k < x0.length; k++) { x0[k] = gauss(r); g0[k] = gauss(r); }
    return { ws: out, x0: x0, g0: g0 };
  }

  // y = s W x for a batch (rows: units, columns: the batch), or y = s W^T g going back
  function matmul(w, s, x, transpose) {
    var y = new Float64Array(WIDTH * BATCH);
    for (var j = 0; j < WIDTH; j++) {
      for (var k = 0; k < WIDTH; k++) {
        var wjk = s * (transpose ? w[k * WIDTH + j] : w[j * WIDTH + k]);
        if (!wjk) continue;
        for (var b = 0; b < BATCH; b++) y[j * BATCH + b] += wjk * x[k * BATCH + b];
      }
    }
    return y;
  }

  // |dL/dx_l| over the batch for l = 1..depth (input to output), relative to the last layer's.
  // Each layer: h = s W x, then batch norm over the batch (if chosen), then ReLU; residual adds x.
  function simulate(net, opts) {
    var L = opts.depth, x = net.x0, layers = [], j, b, i;
    for (i = 0; i < L; i++) {
      var h = matmul(net.ws[i], opts.scale, x, false), sd = new Float64Array(WIDTH);
      if (opts.normalize) {
        for (j = 0; j < WIDTH; j++) {
          var mu = 0, v = 0;
          for (b = 0; b < BATCH; b++) mu += h[j * BATCH + b] / BATCH;
          for (b = 0; b < BATCH; b++) v += Math.pow(h[j * BATCH + b] - mu, 2) / BATCH;
          sd[j] = Math.sqrt(v + 1e-5);
          for (b = 0; b < BATCH; b++) h[j * BATCH + b] = (h[j * BATCH + b] - mu) / sd[j];
        }
      }
      var a = h.map(function (t) { return t > 0 ? t : 0; });
      layers.push({ hat: h, sd: sd });
      x = opts.residual ? x.map(function (t, k) { return t + a[k]; }) : a;
    }
    var g = net.g0, norms = new Array(L), top = norm(g);
    for (i = L - 1; i >= 0; i--) {
      norms[i] = norm(g) / top;
      var lay = layers[i], gh = g.map(function (t, k) { return lay.hat[k] > 0 ? t : 0; });
      if (opts.normalize) {  // batch norm's backward pass: it couples the batch
        for (j = 0; j < WIDTH; j++) {
          var m1 = 0, m2 = 0;
          for (b = 0; b < BATCH; b++) { m1 += gh[j * BATCH + b] / BATCH; m2 += gh[j * BATCH + b] * lay.hat[j * BATCH + b] / BATCH; }
          for (b = 0; b < BATCH; b++) gh[j * BATCH + b] = (gh[j * BATCH + b] - m1 - lay.hat[j * BATCH + b] * m2) / lay.sd[j];
        }
      }
      var back = matmul(net.ws[i], opts.scale, gh, true);
      g = opts.residual ? g.map(function (t, k) { return t + back[k]; }) : back;
    }
    return norms;  // norms[0]: the first layer's input, norms[L-1]: the last layer's
  }
  function norm(v) { var s = 0; for (var i = 0; i < v.length; i++) s += v[i] * v[i]; return Math.sqrt(s); }

  function colours() {
    var themes = {};
    try { themes = JSON.parse(document.getElementById("chart-theme").textContent); } catch (e) { /* defaults */ }
    var dark = root.dataset.theme ? root.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    var t = themes[dark ? "dark" : "light"] || { fg: "#222", muted: "#888", category: ["#c0392b", "#1f5fa8"] };
    return { fg: t.fg, muted: t.muted, plain: t.category[0], residual: t.category[1] };
  }

  function fmt(v) {
    if (v >= 1e6 || v < 1e-3) return v.toExponential(1).replace("e+", "e");
    return v >= 100 ? Math.round(v).toLocaleString("en") : v.toPrecision(3);
  }

  function chart(svg, live, measured, opts) {
    // drawn at the width it is shown at, so its text stays legible on a phone
    var W = Math.max(260, Math.round(svg.getBoundingClientRect().width || 640)), H = W < 480 ? 240 : 300;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    var c = colours(), n = Math.max(live.length, measured ? measured.norms.length : 0);
    var all = live.concat(measured ? measured.norms : []).filter(function (v) { return v > 0 && isFinite(v); });
    var lo = Math.floor(Math.log10(Math.min.apply(null, all.concat([1])))), hi = Math.ceil(Math.log10(Math.max.apply(null, all.concat([1]))));
    if (hi - lo < 2) { lo -= 1; hi += 1; }
    var X = function (i, len) { return PAD.l + (len > 1 ? i / (len - 1) : 0.5) * (W - PAD.l - PAD.r); };
    var Y = function (v) { return PAD.t + (hi - Math.log10(Math.max(v, Math.pow(10, lo)))) / (hi - lo) * (H - PAD.t - PAD.b); };
    var out = [], step = Math.max(1, Math.ceil((hi - lo) / 6));
    for (var e = lo; e <= hi; e += step) {
      out.push('<line x1="' + PAD.l + '" x2="' + (W - PAD.r) + '" y1="' + Y(Math.pow(10, e)) + '" y2="' + Y(Math.pow(10, e)) +
        '" stroke="' + c.muted + '" stroke-opacity=".3"/><text x="' + (PAD.l - 6) + '" y="' + Y(Math.pow(10, e)) +
        '" text-anchor="end" dominant-baseline="central" fill="' + c.fg + '">1e' + e + "</text>");
    }
    out.push('<text x="' + ((W + PAD.l) / 2) + '" y="' + (H - 8) + '" text-anchor="middle" fill="' + c.fg +
      '">layer, input → output' + (W < 480 ? "" : " (each curve over its own depth)") + "</text>");
    var mid = (PAD.t + H - PAD.b) / 2;  // the y-axis says what it counts: a log scale, relative to the last layer
    out.push('<text x="14" y="' + mid + '" transform="rotate(-90 14 ' + mid + ')" text-anchor="middle" dominant-baseline="central" fill="' +
      c.fg + '">|gradient| ÷ last layer' + (W < 480 ? "" : " (log)") + "</text>");
    function path(vals, colour, dash, cls) {
      var d = vals.map(function (v, i) { return (i ? "L" : "M") + X(i, vals.length).toFixed(1) + " " + Y(v).toFixed(1); }).join(" ");
      return '<path class="' + cls + '" d="' + d + '" fill="none" stroke="' + colour + '" stroke-width="2"' + (dash ? ' stroke-dasharray="5 4"' : "") + "/>";
    }
    if (measured) out.push(path(measured.norms, c.muted, true, "measured"));
    out.push(path(live, opts.residual ? c.residual : c.plain, false, "live"));
    svg.innerHTML = out.join("");
    return opts.residual ? c.residual : c.plain;
  }

  function setup(box) {
    var seed = 1, net = null, measured = {};
    var name = box.dataset.measured;
    box.querySelectorAll(".explorable-fallback").forEach(function (el) { el.hidden = true; });
    var ui = document.createElement("div");
    ui.innerHTML =
      '<div class="explorable-controls">' +
      '<label>depth <input type="range" name="depth" min="2" max="60" value="20"> <output name="depth-value">20</output></label>' +
      '<fieldset><legend class="visually-hidden">network</legend>' +
      '<label><input type="radio" name="kind" value="plain" checked> plain</label> ' +
      '<label><input type="radio" name="kind" value="residual"> residual</label></fieldset>' +
      '<label>initial scale <input type="range" name="scale" min="0.5" max="1.5" step="0.05" value="1"> <output name="scale-value">1.00</output>× He</label>' +
      '<label><input type="checkbox" name="normalize" checked> batch norm</label>' +
      '<button type="button" name="resample">new random weights</button></div>' +
      '<svg class="explorable-chart" viewBox="0 0 640 300" role="img" aria-label=""></svg>' +
      '<p class="explorable-legend"><span class="key live"></span> computed here, now ' +
      '<span class="key measured"></span> <span class="measured-label">measured</span></p>' +
      '<p class="explorable-readout" aria-live="polite"></p>';
    box.appendChild(ui);
    var form = function (n) { return box.querySelector('[name="' + n + '"]'); };
    var svg = box.querySelector("svg");

    function update() {
      var opts = { depth: +form("depth").value, scale: +form("scale").value, normalize: form("normalize").checked,
                   residual: box.querySelector('[name="kind"]:checked').value === "residual" };
      form("depth-value").textContent = opts.depth;
      form("scale-value").textContent = opts.scale.toFixed(2);
      if (!net || net.ws.length < opts.depth || net.seed !== seed) { net = weights(60, seed); net.seed = seed; }
      var live = simulate(net, opts), kind = opts.residual ? "residual" : "plain";
      var depths = Object.keys(measured[kind] || {}).map(Number);
      var near = depths.sort(function (a, b) { return Math.abs(a - opts.depth) - Math.abs(b - opts.depth); })[0];
      // our networks were measured with batch norm at He's scale: compare only under those settings
      var comparable = opts.normalize && Math.abs(opts.scale - 1) < 1e-9;
      var m = near && comparable ? { depth: near, norms: measured[kind][near] } : null;
      box.querySelector(".key.live").style.borderTopColor = chart(svg, live, m, opts);
      box.querySelector(".key.measured").hidden = !m;
      box.querySelector(".measured-label").textContent = m ? "measured: our " + kind + "-" + near + " at initialization (Figure 2)" :
        near ? "our measured networks have batch norm at 1.00× He: set those to compare" : "";
      var perLayer = function (v) { return Math.pow(v[0], 1 / Math.max(1, v.length - 1)).toFixed(3); };
      var text = "A " + opts.depth + "-layer " + kind + " chain" + (opts.normalize ? " with batch norm" : "") +
        " at " + opts.scale.toFixed(2) + "× He scale: the first layer's gradient is " + fmt(live[0]) +
        " times the last layer's" + (m ? "; in our measured " + kind + "-" + near + ", " + fmt(m.norms[0]) +
        ". Per layer that is ×" + perLayer(live) + " here against ×" + perLayer(m.norms) + " measured: this chain has " +
        WIDTH + " fully connected units on random inputs, the network convolutions on real images, so their growth per layer " +
        "compares, not the totals" : near ? " (our measured networks have batch norm at 1.00× He scale; set those to compare)" : "") + ".";
      svg.setAttribute("aria-label", text);
      box.querySelector(".explorable-readout").textContent = text;
      box.dataset.first = live[0];
    }
    box.addEventListener("input", update);
    form("resample").addEventListener("click", function () { seed += 1; update(); });
    document.addEventListener("themechange", update);
    var resized;
    window.addEventListener("resize", function () { clearTimeout(resized); resized = setTimeout(update, 150); });
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", update);
    update();
    if (!name) { box.dataset.ready = "true"; return; }
    fetch("figures/" + name + ".vl.json").then(function (r) { return r.ok ? r.json() : null; }).then(function (spec) {
      ((spec && spec.data && spec.data.values) || []).forEach(function (row) {
        var k = row.network, byDepth = (measured[k] = measured[k] || {});
        (byDepth[row.depth] = byDepth[row.depth] || [])[row.layer - 1] = row.norm;
      });
      Object.keys(measured).forEach(function (k) {  // relative to each net's last layer, as the live curve
        Object.keys(measured[k]).forEach(function (d) {
          var v = measured[k][d], last = v[v.length - 1];
          measured[k][d] = v.map(function (x) { return x / last; });
        });
      });
      update();
      box.dataset.ready = "true";
    }).catch(function () { box.dataset.ready = "true"; });
  }

  // nothing of an explorable, nor of its data, loads before the reader gets near it
  function whenNear(box, go) {
    if (!("IntersectionObserver" in window)) { go(box); return; }
    var seen = new IntersectionObserver(function (es) {
      if (es.some(function (e) { return e.isIntersecting; })) { seen.disconnect(); go(box); }
    }, { rootMargin: "300px" });
    seen.observe(box);
  }
  document.querySelectorAll(".explorable[data-explorable='gradient-product']").forEach(function (box) { whenNear(box, setup); });
  // the live lesion figure (lesion_live.js) and its networks
  document.querySelectorAll(".explorable[data-explorable='lesion-live']").forEach(function (box) {
    whenNear(box, function () { var s = document.createElement("script"); s.src = "static/lesion_live.js"; document.head.appendChild(s); });
  });
})();
