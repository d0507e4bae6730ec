// The live lesion figure: our trained ResNet-20 and plain-20, run in the reader's browser.
// explorable.js loads this script when the reader reaches the figure; it loads the
// interpreter (lesion_engine.js) and the exported networks (figures/lesion_live.data.js,
// written by the build from the lesion_live experiment), both as scripts so that the page
// works from file:// too. Each network runs in a worker of its own (started from a blob;
// in place where a worker cannot start); the reader picks an image, deletes blocks, and
// sees each network's top classes and its accuracy on the fixed sample of test images.
(function () {
  "use strict";
  var box = document.querySelector(".explorable[data-explorable='lesion-live']");
  if (!box || box.dataset.started) return;
  box.dataset.started = "true";
  var here = (document.currentScript && document.currentScript.src) || "static/lesion_live.js";
  var root = here.replace(/static\/lesion_live\.js.*$/, "");
  var TOP = 3;

  function script(src) {
    return new Promise(function (ok, fail) {
      var s = document.createElement("script");
      s.src = root + src; s.onload = ok; s.onerror = function () { fail(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
  }
  function bytes(b64) { var s = atob(b64), out = new Uint8Array(s.length); for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i); return out; }
  function pct(v) { return (100 * v).toFixed(0) + "%"; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }

  // One network in a worker: run(pixels, blocks, onProgress) -> Promise of { logits, ms }.
  function Runner(net, mean, std) {
    var pending = {}, next = 1, self = this, worker = null;
    function receive(m) {
      var p = pending[m.id];
      if (!p) return;
      if (m.type === "progress") { if (p.progress) p.progress(m.done, m.total); return; }
      delete pending[m.id];
      p.ok({ logits: m.logits, ms: m.ms });
    }
    try {
      var url = URL.createObjectURL(new Blob(["(" + window.lesionEngine.toString() + ")(self);self.defer=function(f){setTimeout(f,0)};"],
                                             { type: "text/javascript" }));
      worker = new Worker(url);
      worker.onmessage = function (e) { receive(e.data); };
      this.where = "worker";
    } catch (e) {  // no worker: the same engine, in place, yielding between images
      var scope = { postMessage: function (m) { setTimeout(function () { receive(m); }, 0); },
                    defer: function (f) { setTimeout(f, 0); } };
      window.lesionEngine(scope);
      worker = { postMessage: function (m) { scope.onmessage({ data: m }); } };
      this.where = "page";
    }
    var graph = { modules: net.modules, tensors: net.tensors, blocks: net.blocks };
    worker.postMessage({ type: "load", name: net.name, graph: graph, buffer: bytes(net.weights).buffer });
    var long = 0;  // the running accuracy, cancelled by the next
    this.run = function (pixels, blocks, progress) {
      var id = next++;
      if (progress) {
        if (long && pending[long]) { worker.postMessage({ type: "cancel", id: long }); delete pending[long]; }
        long = id;
      }
      return new Promise(function (ok) {
        pending[id] = { ok: ok, progress: progress };
        worker.postMessage({ type: "run", id: id, name: net.name, pixels: pixels, blocks: blocks, mean: mean, std: std,
                             progress: !!progress });
      });
    };
    self.net = net;
  }

  function softmax(l) {
    var m = Math.max.apply(null, l), e = Array.prototype.map.call(l, function (v) { return Math.exp(v - m); });
    var s = e.reduce(function (a, b) { return a + b; }, 0);
    return e.map(function (v) { return v / s; });
  }
  function an(word) { return (/^[aeiou]/i.test(word) ? "an " : "a ") + word; }
  function blockLabel(name) { var p = name.replace("layer", "").split("."); return p[0] + "." + (+p[1] + 1); }

  function start(data) {
    var images = bytes(data.images), n = data.labels.length, classes = data.classes;
    var runners = data.networks.map(function (net) { return new Runner(net, data.mean, data.std); });
    var state = { pixels: images.subarray(data.strip[0] * 3072, (data.strip[0] + 1) * 3072), label: data.labels[data.strip[0]],
                  what: "test image " + (data.strip[0] + 1), lesions: data.networks.map(function () { return []; }) };
    var cache = data.networks.map(function () { return {}; }), shown = data.networks.map(function () { return null; });
    box.querySelectorAll(".explorable-fallback").forEach(function (e) { e.hidden = true; });
    var ui = el("div", { "class": "ll" });
    box.appendChild(ui);

    // the strip: a radio group (arrow keys move, as in any radio group)
    var strip = el("div", { "class": "ll-strip", role: "radiogroup", "aria-label": "Test image to classify" });
    data.strip.forEach(function (idx, k) {
      var b = el("button", { type: "button", role: "radio", "aria-checked": k === 0 ? "true" : "false", tabindex: k === 0 ? "0" : "-1",
                             "aria-label": "test image " + (idx + 1) + ", " + an(classes[data.labels[idx]]) });
      var c = el("canvas", { width: 32, height: 32, "aria-hidden": "true" });
      paint(c, images.subarray(idx * 3072, (idx + 1) * 3072));
      b.appendChild(c);
      b.addEventListener("click", function () { pick(k); });
      strip.appendChild(b);
    });
    strip.addEventListener("keydown", function (e) {
      var all = strip.querySelectorAll("[role=radio]"), k = [].indexOf.call(all, document.activeElement), d = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
      if (k < 0 || !d) return;
      e.preventDefault(); pick((k + d + all.length) % all.length); all[(k + d + all.length) % all.length].focus();
    });
    function pick(k) {
      var idx = data.strip[k];
      strip.querySelectorAll("[role=radio]").forEach(function (b, j) { b.setAttribute("aria-checked", j === k ? "true" : "false"); b.tabIndex = j === k ? 0 : -1; });
      state.pixels = images.subarray(idx * 3072, (idx + 1) * 3072); state.label = data.labels[idx]; state.what = "test image " + (idx + 1);
      classify();
    }
    ui.appendChild(strip);
    var upload = el("label", { "class": "ll-upload" }, "or your own image (scaled to 32 × 32) ");
    var file = el("input", { type: "file", accept: "image/*" });
    upload.appendChild(file);
    ui.appendChild(upload);
    file.addEventListener("change", function () {
      var f = file.files && file.files[0];
      if (!f) return;
      var reader = new FileReader();
      reader.onload = function () {
        var img = new Image();
        img.onload = function () {
          var c = el("canvas", { width: 32, height: 32 }), g = c.getContext("2d");
          g.drawImage(img, 0, 0, 32, 32);
          var rgba = g.getImageData(0, 0, 32, 32).data, px = new Uint8Array(3072);
          for (var i = 0; i < 1024; i++) for (var ch = 0; ch < 3; ch++) px[ch * 1024 + i] = rgba[4 * i + ch];
          strip.querySelectorAll("[role=radio]").forEach(function (b) { b.setAttribute("aria-checked", "false"); });
          state.pixels = px; state.label = null; state.what = "your image";
          classify();
        };
        img.src = reader.result;
      };
      reader.readAsDataURL(f);
    });

    // each network: its blocks laid out by stage, as the stage diagram draws them
    var panels = data.networks.map(function (net, k) {
      var p = el("div", { "class": "ll-net ll-" + (net.name.indexOf("plain") === 0 ? "plain" : "residual"), role: "group", "aria-label": net.label });
      p.appendChild(el("p", { "class": "ll-name" }, net.label));
      var diagram = el("div", { "class": "ll-diagram" });
      diagram.appendChild(el("span", { "class": "ll-end" }, "conv"));
      var stages = {};
      net.blocks.forEach(function (b, i) {
        var s = b.split(".")[0];
        if (!stages[s]) {
          stages[s] = el("div", { "class": "ll-stage", role: "group", "aria-label": net.label + ", stage " + s.replace("layer", "") });
          stages[s].appendChild(el("span", { "class": "ll-stage-name", "aria-hidden": "true" }, "stage " + s.replace("layer", "")));
          diagram.appendChild(stages[s]);
        }
        var down = net.downsampling.indexOf(b) >= 0;
        var t = el("button", { type: "button", "class": "ll-block" + (down ? " ll-down" : ""), "aria-pressed": "false",
                               "aria-label": "delete block " + blockLabel(b) + (down ? " (downsamples)" : "") + " of " + net.label,
                               title: b + (down ? ": halves the resolution, its shortcut zero-pads" : "") }, blockLabel(b));
        t.addEventListener("click", function () {
          var l = state.lesions[k], j = l.indexOf(i);
          if (j >= 0) l.splice(j, 1); else l.push(i);
          l.sort(function (a, c) { return a - c; });
          changed(k);
        });
        stages[s].appendChild(t);
      });
      diagram.appendChild(el("span", { "class": "ll-end" }, "pool, fc"));
      p.appendChild(diagram);
      var top = el("ol", { "class": "ll-top", "aria-label": net.label + ": top classes" });
      p.appendChild(top);
      var acc = el("p", { "class": "ll-acc" });
      var bar = el("progress", { max: n, value: 0, "aria-label": net.label + ": accuracy computed so far" });
      var txt = el("span", {});
      acc.appendChild(txt); acc.appendChild(bar);
      p.appendChild(acc);
      return { el: p, top: top, acc: txt, bar: bar, blocks: diagram.querySelectorAll(".ll-block") };
    });
    var nets = el("div", { "class": "ll-nets" });
    panels.forEach(function (p) { nets.appendChild(p.el); });
    ui.appendChild(nets);

    var controls = el("div", { "class": "explorable-controls" });
    var kLabel = el("label", {}, "k ");
    var kInput = el("input", { type: "number", min: 0, max: data.networks[0].blocks.length, value: 3, name: "k" });
    kLabel.appendChild(kInput);
    var random = el("button", { type: "button", name: "random" }, "delete k random blocks (in both)");
    var restore = el("button", { type: "button", name: "restore" }, "restore every block");
    [kLabel, random, restore].forEach(function (c) { controls.appendChild(c); });
    ui.appendChild(controls);
    var readout = el("p", { "class": "explorable-readout", "aria-live": "polite" });
    ui.appendChild(readout);
    random.addEventListener("click", function () {
      var all = data.networks[0].blocks.map(function (_, i) { return i; }), k = Math.max(0, Math.min(all.length, +kInput.value || 0));
      for (var i = all.length - 1; i > 0; i--) { var j = Math.floor(Math.random() * (i + 1)), t = all[i]; all[i] = all[j]; all[j] = t; }
      var pickd = all.slice(0, k).sort(function (a, b) { return a - b; });
      state.lesions = data.networks.map(function () { return pickd.slice(); });
      data.networks.forEach(function (_, k2) { changed(k2); });
    });
    restore.addEventListener("click", function () {
      state.lesions = data.networks.map(function () { return []; });
      data.networks.forEach(function (_, k) { changed(k); });
    });

    function changed(k) {
      panels[k].blocks.forEach(function (b, i) { b.setAttribute("aria-pressed", state.lesions[k].indexOf(i) >= 0 ? "true" : "false"); });
      classify(k);
      accuracy(k);
    }
    var asked = data.networks.map(function () { return 0; });
    function classify(only) {
      runners.forEach(function (r, k) {
        if (only != null && only !== k) return;
        var ticket = ++asked[k];
        r.run(state.pixels, state.lesions[k]).then(function (res) {
          if (ticket !== asked[k]) return;
          var p = softmax(res.logits), order = p.map(function (_, i) { return i; }).sort(function (a, b) { return p[b] - p[a]; });
          panels[k].top.innerHTML = "";
          order.slice(0, TOP).forEach(function (c) {
            var li = el("li", { "class": c === state.label ? "ll-right" : "" });
            li.appendChild(el("span", { "class": "ll-class" }, classes[c]));
            var bar = el("span", { "class": "ll-p", "aria-hidden": "true" });
            bar.style.width = (100 * p[c]).toFixed(1) + "%";
            li.appendChild(bar);
            li.appendChild(el("span", { "class": "ll-pv" }, pct(p[c])));
            panels[k].top.appendChild(li);
          });
          shown[k] = { best: order[0], p: p[order[0]], ms: res.ms };
          box.dataset.ms = res.ms;
          say();
        });
      });
    }
    var running = data.networks.map(function () { return 0; });
    function accuracy(k) {
      var key = state.lesions[k].join(",");
      if (cache[k][key] != null) { show(k); return; }
      var ticket = ++running[k];
      panels[k].bar.hidden = false;
      panels[k].acc.textContent = "computing accuracy… ";
      box.dataset.busy = "true";
      runners[k].run(images, state.lesions[k], function (done, total) {
        if (ticket === running[k]) { panels[k].bar.value = done; panels[k].bar.max = total; }
      }).then(function (res) {
        var right = 0, C = classes.length;
        for (var i = 0; i < n; i++) {
          var best = 0;
          for (var c = 1; c < C; c++) if (res.logits[i * C + c] > res.logits[i * C + best]) best = c;
          right += best === data.labels[i];
        }
        cache[k][key] = right / n;
        box.dataset.accuracyMs = res.ms;
        if (ticket === running[k]) show(k);
      });
    }
    function show(k) {
      var a = cache[k][state.lesions[k].join(",")], intact = cache[k][""], nd = state.lesions[k].length;
      panels[k].bar.hidden = true;
      panels[k].acc.textContent = "accuracy on " + n + " test images: " + pct(a) +
        (nd && intact != null ? " (intact " + pct(intact) + ")" : "");
      box.dataset.busy = running.some(function (t, j) { return cache[j][state.lesions[j].join(",")] == null; }) ? "true" : "false";
      say();
    }
    function say() {
      var parts = data.networks.map(function (net, k) {
        var l = state.lesions[k], s = shown[k], a = cache[k][l.join(",")];
        return net.label + (l.length ? " without block" + (l.length > 1 ? "s " : " ") + l.map(function (i) { return blockLabel(net.blocks[i]); }).join(", ") : ", intact,") +
          (s ? " says " + classes[s.best] + " (" + pct(s.p) + ")" + (state.label != null ? (s.best === state.label ? ", right" : ", wrong") : "") : "") +
          (a != null ? "; it gets " + pct(a) + " of the " + n + " test images right" : "");
      });
      readout.textContent = (state.label != null ? "For " + state.what + ", " + an(classes[state.label]) + ": " : "For your image: ") + parts.join(". ") + ".";
    }
    box.lesionLive = { runners: runners, images: images, labels: data.labels, data: data };
    classify();
    data.networks.forEach(function (_, k) { accuracy(k); });
    box.dataset.ready = "true";
  }

  function paint(canvas, px) {
    var g = canvas.getContext("2d"), im = g.createImageData(32, 32);
    for (var i = 0; i < 1024; i++) { for (var c = 0; c < 3; c++) im.data[4 * i + c] = px[c * 1024 + i]; im.data[4 * i + 3] = 255; }
    g.putImageData(im, 0, 0);
  }

  var css = el("link", { rel: "stylesheet", href: root + "static/lesion_live.css" });
  document.head.appendChild(css);
  window.lesionLiveData = function (d) { window.lesionLiveData = null; start(d); };
  box.setAttribute("aria-busy", "true");
  script("static/lesion_engine.js").then(function () { return script("figures/lesion_live.data.js"); })
    .catch(function (e) { box.dataset.ready = "failed"; box.dataset.error = e.message; })
    .then(function () { box.removeAttribute("aria-busy"); });
})();
