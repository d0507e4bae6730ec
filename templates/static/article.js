// The article's behaviour: theme toggle, table of contents, footnote, citation
// and number cards, copy buttons, the talk's chapters, margin-note spacing.
// Without JavaScript the page reads the same: every control here is added or
// revealed by this file.
(function () {
  "use strict";
  var root = document.documentElement;
  var systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  // ---- theme: follows the system until the reader picks one (kept in localStorage)
  function effectiveTheme() {
    return root.dataset.theme || (systemDark.matches ? "dark" : "light");
  }
  function showFigures(theme, explicit) {
    document.querySelectorAll("picture.static-figure").forEach(function (pic) {
      var source = pic.querySelector("source");
      if (!source) return;
      if (!source.dataset.media) source.dataset.media = source.media;
      // the <source> decides what a screen shows; the <img> src stays light for paper
      source.media = explicit ? (theme === "dark" ? "screen" : "not all") : source.dataset.media;
    });
  }
  // the button names what a click gives, "Light theme" while the page is dark
  function labelToggle(theme) {
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    var next = theme === "dark" ? "light" : "dark";
    button.dataset.next = next;
    button.querySelector(".theme-toggle-label").textContent = next === "dark" ? "Dark theme" : "Light theme";
  }
  function applyTheme(theme, explicit) {
    if (explicit) root.dataset.theme = theme;
    showFigures(theme, explicit);
    labelToggle(theme);
    document.dispatchEvent(new CustomEvent("themechange", { detail: { theme: theme } }));
  }
  function setupTheme() {
    var button = document.getElementById("theme-toggle");
    if (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var next = effectiveTheme() === "dark" ? "light" : "dark";
        try { localStorage.setItem("theme", next); } catch (e) { /* private mode: this page only */ }
        applyTheme(next, true);
      });
    }
    if (root.dataset.theme) applyTheme(root.dataset.theme, true);
    else labelToggle(effectiveTheme());
    systemDark.addEventListener("change", function () {
      if (!root.dataset.theme) applyTheme(effectiveTheme(), false);
    });
  }

  // ---- table of contents: open beside the text on wide screens, folded on narrow ones
  function setupToc() {
    var details = document.querySelector(".toc details");
    if (!details) return;
    var wide = window.matchMedia("(min-width: 1240px)");
    details.open = wide.matches;
    wide.addEventListener("change", function () { details.open = wide.matches; });
    var links = {};
    details.querySelectorAll("a[href^='#']").forEach(function (a) { links[a.getAttribute("href").slice(1)] = a; });
    details.addEventListener("click", function (e) {
      if (e.target.closest("a") && !wide.matches) details.open = false;
    });
    if (!("IntersectionObserver" in window)) return;
    var visible = new Set();
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (en) { if (en.isIntersecting) visible.add(en.target); else visible.delete(en.target); });
      var top = null;
      visible.forEach(function (el) { if (!top || el.getBoundingClientRect().top > top.getBoundingClientRect().top) top = el; });
      Object.keys(links).forEach(function (id) { links[id].removeAttribute("aria-current"); });
      details.querySelectorAll(".toc-active").forEach(function (li) { li.classList.remove("toc-active"); });
      if (top && links[top.id]) {
        links[top.id].setAttribute("aria-current", "true");
        var chapter = links[top.id].closest(".toc-inner > ol > li");
        if (chapter) chapter.classList.add("toc-active");
      }
    }, { rootMargin: "0px 0px -70% 0px" });
    details.classList.add("toc-follows");  // from here on, only the current chapter's sections show
    Object.keys(links).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) observer.observe(el);
    });
  }

  // ---- hover cards for footnotes, citations and quoted numbers (numbers.js): hover, focus or tap
  function setupCards() {
    var card = document.getElementById("hover-card");
    if (!card) return;
    var current = null, hideTimer = null, touch = false;
    var selector = "a.footnote-ref, .citation a[data-ref], .result-number[tabindex]";
    function content(trigger) {
      if (trigger.classList.contains("result-number")) return window.numberCard ? window.numberCard(trigger) : "";
      var id = trigger.getAttribute("href").slice(1), target = document.getElementById(id);
      if (!target) return "";
      var number = trigger.dataset.ref ? trigger.textContent : (target.getAttribute("value") || "");
      return '<span class="card-number">' + (trigger.dataset.ref ? "[" + number + "]" : number + ".") +
        "</span>" + target.innerHTML;
    }
    function place(trigger) {
      var r = trigger.getBoundingClientRect(), width = card.offsetWidth;
      var left = Math.max(8, Math.min(r.left + window.scrollX - 16, window.scrollX + root.clientWidth - width - 8));
      card.style.left = left + "px";
      var below = r.bottom + window.scrollY + 8;
      var above = r.top + window.scrollY - card.offsetHeight - 8;
      card.style.top = (r.bottom + card.offsetHeight + 16 > window.innerHeight && above > window.scrollY ? above : below) + "px";
    }
    function show(trigger) {
      clearTimeout(hideTimer);
      if (current === trigger && !card.hidden) return;
      if (current) current.removeAttribute("aria-describedby");
      current = trigger;
      card.innerHTML = content(trigger);
      card.hidden = false;
      place(trigger);
      trigger.setAttribute("aria-describedby", "hover-card");
    }
    function hide(delay) {
      clearTimeout(hideTimer);
      hideTimer = setTimeout(function () {
        card.hidden = true;
        if (current) current.removeAttribute("aria-describedby");
        current = null;
      }, delay);
    }
    // a tap shows the card; a second tap on the same link follows it. Decided at
    // pointerdown, before the tap's focus event shows the card by itself.
    var showingAtTap = false;
    document.addEventListener("pointerdown", function (e) {
      touch = e.pointerType !== "mouse";
      var t = e.target.closest && e.target.closest(selector);
      showingAtTap = !!t && current === t && !card.hidden;
    }, true);
    // hover with a mouse only: a touch shows the card on its click (below) instead
    document.addEventListener("pointerover", function (e) {
      if (e.pointerType !== "mouse") return;
      var t = e.target.closest(selector);
      if (t) show(t); else if (e.target.closest("#hover-card")) clearTimeout(hideTimer);
    });
    document.addEventListener("pointerout", function (e) {
      if (e.pointerType !== "mouse") return;
      if (e.target.closest(selector) || e.target.closest("#hover-card")) hide(250);
    });
    document.addEventListener("focusin", function (e) { var t = e.target.closest(selector); if (t) show(t); });
    document.addEventListener("focusout", function (e) { if (e.target.closest(selector)) hide(150); });
    document.addEventListener("click", function (e) {
      var t = e.target.closest(selector);
      var tapped = e.detail !== 0 && (e.pointerType ? e.pointerType !== "mouse" : touch);  // detail 0: keyboard
      if (t && tapped && !showingAtTap) { e.preventDefault(); show(t); return; }
      if (!t && !e.target.closest("#hover-card") && !card.hidden) hide(0);
    });
    document.addEventListener("keydown", function (e) { if (e.key === "Escape" && !card.hidden) hide(0); });
  }

  // ---- copy buttons on code blocks
  function setupCopy() {
    var n = 0;
    document.querySelectorAll("main pre, .appendix pre").forEach(function (pre) {
      var box = pre.closest("div.sourceCode");
      if (!box) {
        box = document.createElement("div");
        box.className = "sourceCode";
        pre.parentNode.insertBefore(box, pre);
        box.appendChild(pre);
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy-code";
      button.textContent = "Copy";
      button.setAttribute("aria-label", pre.classList.contains("bibtex") ? "Copy the BibTeX entry" :
        pre.classList.contains("citation-text") ? "Copy the citation" : "Copy code block " + (++n));
      button.addEventListener("click", function () {
        var text = pre.innerText.replace(/\n$/, "");
        var done = function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1600);
        };
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, function () {});
        else {
          var range = document.createRange(), sel = window.getSelection();
          range.selectNodeContents(pre); sel.removeAllRanges(); sel.addRange(range);
          try { document.execCommand("copy"); done(); } catch (e) { /* selected: the reader can copy */ }
        }
      });
      box.appendChild(button);
    });
  }

  // ---- the talk: its poster plays it; its chapter list and the chips beside the
  // headings ("▶ 0:48", data-talk-start) seek it, and the chapter playing is marked
  function setupTalk() {
    var video = document.querySelector(".talk video"), poster = document.querySelector(".talk-poster");
    if (!video) return;
    var links = document.querySelectorAll(".talk-chapters a[data-start]");
    function playAt(t) {
      if (poster) poster.hidden = true;
      if (t !== null) {
        if (video.readyState > 0) video.currentTime = t;
        else {  // nothing loaded yet (preload="none"): seek as soon as the length is known
          video.addEventListener("loadedmetadata", function () { video.currentTime = t; }, { once: true });
          video.load();
        }
      }
      var playing = video.play();
      if (playing && playing.catch) playing.catch(function () { /* autoplay refused: the reader presses play */ });
    }
    if (poster) poster.addEventListener("click", function () { playAt(null); video.focus(); });
    video.addEventListener("play", function () { if (poster) poster.hidden = true; });
    links.forEach(function (a) {
      a.addEventListener("click", function (e) { e.preventDefault(); playAt(parseFloat(a.dataset.start)); });
    });
    document.querySelectorAll("a.talk-chip[data-talk-start]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        video.scrollIntoView({ block: "center", behavior: "smooth" });
        playAt(parseFloat(a.dataset.talkStart));
      });
    });
    video.addEventListener("timeupdate", function () {
      var current = null;
      links.forEach(function (a) { if (parseFloat(a.dataset.start) <= video.currentTime + 0.05) current = a; });
      links.forEach(function (a) { if (a === current) a.setAttribute("aria-current", "true"); else a.removeAttribute("aria-current"); });
    });
  }

  // ---- margin notes: push a note down when it would overlap the one above
  var inGutter = window.matchMedia("(min-width: 960px)");  // the breakpoint of components.css
  function spaceNotes() {
    var last = -Infinity;
    document.querySelectorAll("main .marginnote, main .aside").forEach(function (note) {
      note.style.marginTop = "";
      if (!inGutter.matches) return;
      var top = note.getBoundingClientRect().top + window.scrollY;
      if (top < last + 12) note.style.marginTop = (last + 12 - top + parseFloat(getComputedStyle(note).marginTop)) + "px";
      last = note.getBoundingClientRect().bottom + window.scrollY;
    });
  }

  // ---- wide maths, tables and code scroll sideways: keyboard readers must reach them too
  function focusableScrollers() {
    document.querySelectorAll("main .equation-body, main table, main pre, main figure.l-screen .figure-media").forEach(function (el) {
      var scrolls = el.scrollWidth > el.clientWidth + 1;
      if (scrolls && !el.hasAttribute("tabindex")) { el.tabIndex = 0; el.dataset.scrollFocus = ""; }
      else if (!scrolls && "scrollFocus" in el.dataset) { el.removeAttribute("tabindex"); delete el.dataset.scrollFocus; }
    });
  }

  // ---- a link to a provenance card opens it
  function openTarget() {
    var el = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (el && el.tagName === "DETAILS") el.open = true;
  }

  setupTheme();
  setupToc();
  setupCards();
  setupCopy();
  setupTalk();
  openTarget();
  window.addEventListener("hashchange", openTarget);
  // paper gets every figure, also those a lazy image never loaded on screen
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("img[loading='lazy']").forEach(function (img) { img.loading = "eager"; });
  });
  window.addEventListener("load", function () { spaceNotes(); focusableScrollers(); });
  var resizeTimer;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { spaceNotes(); focusableScrollers(); }, 150);
  });
})();
