// The network interpreter of the live lesion figure: it runs the torch.fx graphs that
// lab/live.py exported from our trained networks, on the committed weights, in
// float32. It knows a handful of ops (conv, batch norm, ReLU, add, average pooling,
// linear, strided slicing, padding); the export fails for anything else. A lesion
// deletes a block by calling its `shortcut` child instead, as lab.models.lesion
// does. One function, so that lesion_live.js can start it as a worker from a blob
// (a page opened from file:// may start no worker from a file) or run it in place.
function lesionEngine(scope) {
  "use strict";
  var nets = {}, cancelled = {};

  function half(h) {  // IEEE float16 bits -> number
    var s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    if (e === 0) return s * f * Math.pow(2, -24);
    if (e === 31) return f ? NaN : s * Infinity;
    return s * (1 + f / 1024) * Math.pow(2, e - 15);
  }
  function tensors(spec, buffer) {
    var out = {}, bytes = new DataView(buffer);
    Object.keys(spec).forEach(function (name) {
      var t = spec[name], n = t.shape.reduce(function (a, b) { return a * b; }, 1), v = new Float32Array(n), i;
      if (t.dtype === "f16") for (i = 0; i < n; i++) v[i] = half(bytes.getUint16(t.offset + 2 * i, true));
      else for (i = 0; i < n; i++) v[i] = bytes.getFloat32(t.offset + 4 * i, true);
      out[name] = v;
    });
    return out;
  }
  function load(name, graph, buffer) {
    var w = tensors(graph.tensors, buffer), mods = graph.modules;
    Object.keys(mods).forEach(function (k) {  // batch norm in eval mode: one scale and shift per channel
      var m = mods[k];
      if (m.op === "conv2d") m.shape = graph.tensors[m.weight].shape;
      if (m.op !== "batchnorm") return;
      var g = w[m.weight], b = w[m.bias], mu = w[m.mean], v = w[m.var], c = g.length;
      m.scale = new Float32Array(c); m.shift = new Float32Array(c);
      for (var i = 0; i < c; i++) { m.scale[i] = g[i] / Math.sqrt(v[i] + m.eps); m.shift[i] = b[i] - mu[i] * m.scale[i]; }
    });
    nets[name] = { graph: graph, w: w };
  }

  // a tensor: { d: Float32Array, s: shape with the batch of 1 first }
  function size(s) { return s.reduce(function (a, b) { return a * b; }, 1); }
  // im2col, one row at a time: for each input channel and kernel offset, the shifted input
  // plane (zero outside) is added into every output channel, four channels a pass
  function conv(x, m, w) {
    var W = w[m.weight], Ci = x.s[1], H = x.s[2], Wd = x.s[3], Co = m.shape[0], kh = m.shape[2], kw = m.shape[3];
    var sy = m.stride[0], sx = m.stride[1], py = m.padding[0], px = m.padding[1];
    var Ho = Math.floor((H + 2 * py - kh) / sy) + 1, Wo = Math.floor((Wd + 2 * px - kw) / sx) + 1, P = Ho * Wo;
    var K = Ci * kh * kw, y = new Float32Array(Co * P), col = new Float32Array(P), xd = x.d, o, p;
    if (m.bias) for (o = 0; o < Co; o++) y.fill(w[m.bias][o], o * P, (o + 1) * P);
    for (var c = 0; c < Ci; c++) for (var ky = 0; ky < kh; ky++) for (var kx = 0; kx < kw; kx++) {
      var k = (c * kh + ky) * kw + kx;
      for (var oy = 0; oy < Ho; oy++) {
        var iy = oy * sy - py + ky, ob = oy * Wo, ib = (c * H + iy) * Wd - px + kx;
        for (var ox = 0; ox < Wo; ox++) {
          var ix = ox * sx - px + kx;
          col[ob + ox] = iy >= 0 && iy < H && ix >= 0 && ix < Wd ? xd[ib + ox * sx] : 0;
        }
      }
      for (o = 0; o + 3 < Co; o += 4) {
        var w0 = W[o * K + k], w1 = W[(o + 1) * K + k], w2 = W[(o + 2) * K + k], w3 = W[(o + 3) * K + k];
        var b0 = o * P, b1 = b0 + P, b2 = b1 + P, b3 = b2 + P;
        for (p = 0; p < P; p++) {
          var v = col[p];
          y[b0 + p] += w0 * v; y[b1 + p] += w1 * v; y[b2 + p] += w2 * v; y[b3 + p] += w3 * v;
        }
      }
      for (; o < Co; o++) { var wo = W[o * K + k], bo = o * P; for (p = 0; p < P; p++) y[bo + p] += wo * col[p]; }
    }
    return { d: y, s: [1, Co, Ho, Wo] };
  }
  function leaf(m, x, w) {
    var i, c, n, y;
    switch (m.op) {
      case "conv2d": return conv(x, m, w);
      case "batchnorm":
        n = x.s[2] * x.s[3]; y = new Float32Array(x.d.length);
        for (c = 0; c < x.s[1]; c++) for (i = c * n; i < (c + 1) * n; i++) y[i] = x.d[i] * m.scale[c] + m.shift[c];
        return { d: y, s: x.s };
      case "relu": return relu(x);
      case "identity": return x;
      case "avgpool":
        n = x.s[2] * x.s[3]; y = new Float32Array(x.s[1]);
        for (c = 0; c < x.s[1]; c++) { var t = 0; for (i = c * n; i < (c + 1) * n; i++) t += x.d[i]; y[c] = t / n; }
        return { d: y, s: [1, x.s[1], 1, 1] };
      case "linear":
        var W = w[m.weight], b = w[m.bias], k = x.d.length, o = b.length;
        y = new Float32Array(o);
        for (c = 0; c < o; c++) { var s = b[c]; for (i = 0; i < k; i++) s += W[c * k + i] * x.d[i]; y[c] = s; }
        return { d: y, s: [1, o] };
    }
    throw new Error("no op " + m.op);
  }
  function relu(x) { var y = new Float32Array(x.d.length); for (var i = 0; i < y.length; i++) y[i] = x.d[i] > 0 ? x.d[i] : 0; return { d: y, s: x.s }; }
  function strides(s) { var st = [], a = 1; for (var i = s.length - 1; i >= 0; i--) { st[i] = a; a *= s[i]; } return st; }
  function getitem(x, idx) {  // x[slices]: basic slicing with steps, one slice per leading dim
    var s = x.s, st = strides(s), starts = [], steps = [], out = [];
    for (var k = 0; k < s.length; k++) {
      var sl = idx[k] && idx[k].slice ? idx[k].slice : [null, null, null];
      var step = sl[2] || 1, a = sl[0] == null ? 0 : (sl[0] < 0 ? sl[0] + s[k] : sl[0]);
      var b = sl[1] == null ? s[k] : Math.min(s[k], sl[1] < 0 ? sl[1] + s[k] : sl[1]);
      starts.push(a); steps.push(step); out.push(Math.max(0, Math.ceil((b - a) / step)));
    }
    var y = new Float32Array(size(out)), pos = new Array(s.length).fill(0);
    for (var j = 0; j < y.length; j++) {
      var r = j, off = 0;
      for (k = s.length - 1; k >= 0; k--) { pos[k] = r % out[k]; r = (r - pos[k]) / out[k]; off += (starts[k] + pos[k] * steps[k]) * st[k]; }
      y[j] = x.d[off];
    }
    return { d: y, s: out };
  }
  function pad(x, p, value) {  // F.pad: pairs of (before, after) from the last dim backwards
    var s = x.s, lo = s.map(function () { return 0; }), out = s.slice();
    for (var k = 0; k < p.length / 2; k++) { var d = s.length - 1 - k; lo[d] = p[2 * k]; out[d] = s[d] + p[2 * k] + p[2 * k + 1]; }
    var y = new Float32Array(size(out)).fill(value || 0), st = strides(s), ost = strides(out);
    for (var j = 0; j < x.d.length; j++) {
      var r = j, off = 0;
      for (k = 0; k < s.length; k++) { var q = Math.floor(r / st[k]); r -= q * st[k]; off += (q + lo[k]) * ost[k]; }
      y[off] = x.d[j];
    }
    return { d: y, s: out };
  }
  function call(net, name, x, lesioned) {
    var mods = net.graph.modules, m = mods[name];
    if (lesioned[name]) return call(net, name + ".shortcut", x, lesioned);  // the block, deleted
    if (m.op !== "graph") return leaf(m, x, net.w);
    var env = {}, result = null;
    function arg(a) {
      if (a && a.node !== undefined) return env[a.node];
      if (Array.isArray(a)) return a.map(arg);
      return a;
    }
    m.nodes.forEach(function (n) {
      var a = arg(n.args), kw = n.kwargs ? arg(n.kwargs) : {};
      if (n.op === "placeholder") env[n.name] = x;
      else if (n.op === "call_module") env[n.name] = call(net, n.target, a[0], lesioned);
      else if (n.op === "output") result = a[0];
      else if (n.target === "add") {
        var y = new Float32Array(a[0].d.length);
        for (var i = 0; i < y.length; i++) y[i] = a[0].d[i] + a[1].d[i];
        env[n.name] = { d: y, s: a[0].s };
      } else if (n.target === "relu") env[n.name] = relu(a[0]);
      else if (n.target === "flatten") env[n.name] = { d: a[0].d, s: [1, a[0].d.length] };
      else if (n.target === "getitem") env[n.name] = getitem(a[0], a[1]);
      else if (n.target === "pad") env[n.name] = pad(a[0], a[1], kw.value != null ? kw.value : a[3]);
      else throw new Error("no op " + n.target);
    });
    return result;
  }
  // uint8 RGB pixels (3 x 32 x 32, channel first) -> the network's input, as lab.data.normalize
  function input(px, mean, std) {
    var n = px.length / 3, d = new Float32Array(px.length);
    for (var c = 0; c < 3; c++) for (var i = 0; i < n; i++) d[c * n + i] = (px[c * n + i] - 255 * mean[c]) / (255 * std[c]);
    return { d: d, s: [1, 3, 32, 32] };
  }
  function logits(name, px, blocks, mean, std) {
    var net = nets[name], les = {};
    (blocks || []).forEach(function (b) { les[net.graph.blocks[b]] = true; });
    return call(net, "", input(px, mean, std), les).d;
  }

  scope.onmessage = function (e) {
    var m = e.data;
    if (m.type === "load") {
      load(m.name, m.graph, m.buffer);
      scope.postMessage({ type: "loaded", name: m.name });
    } else if (m.type === "cancel") {
      cancelled[m.id] = true;
    } else if (m.type === "run") {  // logits of one or more images (3072 bytes each)
      var n = m.pixels.length / 3072, out = null, t0 = Date.now();
      var step = function (i) {
        if (cancelled[m.id]) { delete cancelled[m.id]; return; }
        for (var stop = Math.min(n, i + 5); i < stop; i++) {
          var l = logits(m.name, m.pixels.subarray(i * 3072, (i + 1) * 3072), m.blocks, m.mean, m.std);
          (out = out || new Float32Array(n * l.length)).set(l, i * l.length);
        }
        if (m.progress && i < n) scope.postMessage({ type: "progress", id: m.id, name: m.name, done: i, total: n });
        if (i < n && scope.defer) scope.defer(function () { step(i); }); else if (i < n) step(i);
        else scope.postMessage({ type: "done", id: m.id, name: m.name, logits: out, ms: Date.now() - t0 });
      };
      step(0);
    }
  };
}
if (typeof module !== "undefined") module.exports = lesionEngine;
