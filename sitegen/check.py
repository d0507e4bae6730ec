"""`build.py check`: is site/ fit to publish?

    links          every internal href/src/srcset/data-spec names a file in site/ and,
                   with #anchor, an id in that page (no outside requests, no DNS lookups)
    html           html5lib's WHATWG parse errors, and duplicate ids
    accessibility  axe-core (vendor/axe-core) in Debian's chromium through Playwright,
                   in the light and the dark colour scheme

Each problem is one line naming the page, the nearest #anchor and, inside a
chapter, its source file; the last line counts them. Exit code 1 if any.
"""
from __future__ import annotations

import functools
import http.server
import threading
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import BuildError
from .project import REPO, Project

CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "vendor" / "axe-core" / "axe.min.js"
# every host name resolves to nothing but our own 127.0.0.1 server: no DNS lookup leaves
# the machine for the links a chapter mentions (requests elsewhere are aborted as well)
NO_LOOKUPS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--dns-prefetch-disable"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", *NO_LOOKUPS]
URL_ATTRS = {"href", "src", "data-spec", "poster", "data"}


@dataclass(frozen=True)
class Problem:
    kind: str       # links, html, accessibility
    where: str      # page#anchor or page:line:col
    source: str     # the chapter file it comes from, "" if none
    message: str

    def __str__(self) -> str:
        src = f" (content/{self.source})" if self.source else ""
        return f"{self.where}{src}: {self.kind}: {self.message}"


class _Page(HTMLParser):
    """ids, outgoing URLs, and for each URL the nearest id and chapter source before it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, int] = {}
        self.urls: list[tuple[str, str, str, int]] = []  # (url, anchor, source, line)
        self.dupes: list[tuple[str, int]] = []
        self._anchor = ""
        self._open: dict[str, int] = {}                # open elements by tag name
        self._sources: list[tuple[str, int, str]] = []  # chapters we are inside: (tag, depth, file)

    @property
    def _source(self) -> str:
        return self._sources[-1][2] if self._sources else ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        self._open[tag] = self._open.get(tag, 0) + 1
        if a.get("data-source"):
            self._sources.append((tag, self._open[tag], a["data-source"]))
        if a.get("id"):
            if a["id"] in self.ids:
                self.dupes.append((a["id"], self.getpos()[0]))
            self.ids.setdefault(a["id"], self.getpos()[0])
            self._anchor = a["id"]
        if tag == "a" and a.get("name"):
            self.ids.setdefault(a["name"], self.getpos()[0])
        for name, value in attrs:
            if value and name in URL_ATTRS and (name != "data" or tag == "object"):
                self.urls.append((value.strip(), self._anchor, self._source, self.getpos()[0]))
            elif value and name == "srcset":
                for part in value.split(","):
                    if part.strip():
                        self.urls.append((part.split()[0], self._anchor, self._source, self.getpos()[0]))

    def handle_endtag(self, tag: str) -> None:
        if self._sources and self._sources[-1][:2] == (tag, self._open.get(tag, 0)):
            self._sources.pop()
        self._open[tag] = max(self._open.get(tag, 0) - 1, 0)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)


def check_links(site: Path) -> tuple[list[Problem], int]:
    pages: dict[Path, _Page] = {}
    for path in sorted(site.rglob("*.html")):
        parser = _Page()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        pages[path] = parser
    problems, count = [], 0
    for path, page in pages.items():
        rel = path.relative_to(site)
        for ident, line in page.dupes:
            problems.append(Problem("html", f"{rel}:{line}", "", f"duplicate id {ident!r}"))
        for url, anchor, source, line in page.urls:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith(("mailto:", "data:", "javascript:")):
                continue  # outside links are not fetched
            count += 1
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            where = f"{rel}#{anchor}" if anchor else f"{rel}:{line}"
            if site.resolve() not in (target, *target.parents):
                problems.append(Problem("links", where, source, f"{url!r} points outside site/"))
            elif not target.exists():
                problems.append(Problem("links", where, source, f"{url!r}: no such file in site/"))
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else set()
                if unquote(parts.fragment) not in ids:
                    problems.append(Problem("links", where, source,
                                            f"{url!r}: no element with id {parts.fragment!r}"))
    return problems, count


def check_html(site: Path) -> list[Problem]:
    import html5lib

    problems = []
    for path in sorted(site.rglob("*.html")):
        parser = html5lib.HTMLParser(strict=False)
        parser.parse(path.read_bytes())
        for (line, col), code, data in parser.errors:
            detail = ", ".join(f"{k}={v}" for k, v in sorted((data or {}).items()))
            problems.append(Problem("html", f"{path.relative_to(site)}:{line}:{col}", "",
                                    code + (f" ({detail})" if detail else "")))
    return problems


NEAREST = """targets => targets.map(t => {
  const el = document.querySelector(t[0]);
  const near = el && el.closest('[id]');
  const chapter = el && el.closest('[data-source]');
  return [near ? near.id : '', chapter ? chapter.dataset.source : ''];
})"""


def check_accessibility(site: Path) -> list[Problem]:
    if not CHROMIUM.exists():
        raise BuildError("accessibility check needs Debian's chromium; run `make browser-deps`", CHROMIUM)
    if not AXE.exists():
        raise BuildError("axe-core is not vendored; `npm pack axe-core` and copy axe.min.js and LICENSE there", AXE)
    try:
        from playwright.sync_api import Error as PlaywrightError, sync_playwright
    except ImportError:
        raise BuildError("accessibility check needs playwright; run `make`") from None
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    problems = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for path in sorted(site.rglob("*.html")):
                rel = path.relative_to(site).as_posix()
                for scheme in ("light", "dark"):
                    ctx = browser.new_context(color_scheme=scheme)
                    ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
                    page = ctx.new_page()
                    page.goto(base + rel, wait_until="load")
                    page.wait_for_timeout(300)  # let charts and fonts settle
                    page.add_script_tag(path=str(AXE))
                    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                                          ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
                                          "url: v.helpUrl, nodes: v.nodes.map(n => n.target)}))")
                    for v in found:
                        for (anchor, source), target in zip(page.evaluate(NEAREST, v["nodes"]), v["nodes"]):
                            problems.append(Problem(
                                "accessibility", f"{rel}#{anchor}" if anchor else rel, source,
                                f"[{v['impact']}] {v['id']} ({scheme} scheme): {v['help']} at `{target[0]}`; "
                                f"see {v['url']}"))
                    ctx.close()
            browser.close()
    except PlaywrightError as e:
        raise BuildError(f"browser failed: {str(e).splitlines()[0]}", CHROMIUM) from None
    finally:
        server.shutdown()
        server.server_close()
    return problems


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def check(project: Project, verbose: bool = False, quiet: bool = False) -> int:
    site = project.site
    if not (site / "index.html").exists():
        raise BuildError("no built site to check; run `python build.py build` first", site)
    timings, results = {}, {}
    t0 = time.perf_counter()
    results["links"], n_links = check_links(site)
    timings["links"] = time.perf_counter() - t0
    for kind, fn in (("html", check_html), ("accessibility", check_accessibility)):
        t0 = time.perf_counter()
        results[kind] = fn(site)
        timings[kind] = time.perf_counter() - t0
    problems = [p for kind in results for p in results[kind]]
    for p in problems:
        print(p)
    pages = len(list(site.rglob("*.html")))
    html_n = sum(p.kind == "html" for p in problems)
    links_n = sum(p.kind == "links" for p in problems)
    summary = (f"checked {pages} page(s) in {site}: {links_n} broken of {n_links} internal links, "
               f"{html_n} HTML error(s), {len(results['accessibility'])} accessibility violation(s)")
    if verbose:
        summary += " [" + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()) + "]"
    if problems or not quiet:
        print(summary if problems else summary + ": all good")
    return 1 if problems else 0
