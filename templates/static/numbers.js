// Numbers that show their source. Each number the text quotes from a stored
// result is a <span class="result-number" data-experiment data-path>; this file
// makes it focusable and tells article.js's hover card what to show for it:
// what the number is, its experiment, profile, network, epochs and device, and
// links to the figures drawn from it and its provenance entry. Without
// JavaScript the span is a plain number.
(function () {
  "use strict";
  var data = { experiments: {}, numbers: {} };
  try { data = JSON.parse(document.getElementById("number-sources").textContent); } catch (e) { return; }

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; });
  }

  function links(exp) {
    var out = (exp.figures || []).map(function (f) { return '<a href="' + esc(f.href) + '">' + esc(f.text) + "</a>"; });
    out.push('<a href="' + esc(exp.provenance) + '">how it was made</a>');
    return out;
  }

  // the card's HTML for one number; article.js places and shows it
  window.numberCard = function (el) {
    var name = el.dataset.experiment, path = el.dataset.path, exp = data.experiments[name];
    if (!exp) return "";
    var n = data.numbers[name + "/" + path] || { what: "a stored value", network: "", label: "" };
    var head = "<p><strong>" + esc(el.textContent) + "</strong> is " + (el.dataset.derived ? "computed from " : "") +
      esc(n.what) + (n.label ? " of " + esc(n.label) : "") + ".</p>";
    var where = "<p>Experiment <code>" + esc(name) + "</code>, key <code>" + esc(path.split("/").join(" › ")) +
      "</code>; " + esc(exp.profile) + " profile, " + esc(exp.device) + (exp.precision ? ", run in " + esc(exp.precision) : "") + ".</p>";
    if (n.quoted) {  // a paper's number: its own source, not our runs
      return "<p><strong>" + esc(el.textContent) + "</strong> is quoted from " + esc(n.quoted) +
        ", not measured by us.</p>" + '<p class="card-links">' + links(exp).join(" · ") + "</p>";
    }
    var trained = n.network && exp.trained[n.network] ?
      "<p>" + esc(n.label) + " was trained " + esc(exp.trained[n.network]) + ".</p>" : "";
    return head + where + seeds(n, exp) + trained + '<p class="card-links">' + links(exp).join(" · ") + "</p>";
  };

  // a number measured on several seeds: n, the spread's meaning and every seed's value
  function seeds(n, exp) {
    if (!n.seeds) {  // one training run: say so, a single seed has no spread to show
      var one = exp.seeds || [];
      return one.length === 1 ? "<p>From the networks trained from seed " + esc(one[0]) +
        " (n = 1): no spread across seeds.</p>" : "";
    }
    var fmt = function (v) { return v === null ? "–" : Number(v).toPrecision(3); };
    var each = n.seeds.map(function (s) { return "seed " + esc(s.seed) + ": " + esc(fmt(s.value)); });
    return "<p>" + (n.seed !== null ? "One seed's value; over n = " : "Mean ± standard deviation over n = ") +
      esc(n.n) + " seeds (" + each.join(", ") + ").</p>";
  };

  window.numberTarget = function (el) {  // where Enter on a focused number goes
    var exp = data.experiments[el.dataset.experiment];
    return exp ? ((exp.figures[0] || {}).href || exp.provenance) : null;
  };

  document.querySelectorAll(".result-number[data-experiment]").forEach(function (el) {
    if (data.experiments[el.dataset.experiment]) el.tabIndex = 0;
  });
  document.addEventListener("keydown", function (e) {
    var el = e.target.closest && e.target.closest(".result-number[tabindex]");
    if (!el || e.key !== "Enter") return;
    var target = window.numberTarget(el);
    if (target) { e.preventDefault(); location.hash = target; }
  });
})();
