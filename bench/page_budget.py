#!/usr/bin/env python3
"""What the built article costs a reader: bytes by type, requests, and Lighthouse.

    python bench/page_budget.py                 # measures site/ (build it first)
    python bench/page_budget.py --site DIR --no-lighthouse

Serves the site on 127.0.0.1 the way a static host would (gzip for text), opens
it in Debian's chromium, and records every response twice: at first view, and
after scrolling through the whole article so that every interactive chart has
loaded. Video and its caption tracks are left out (they stream on demand).
Lighthouse (npm, installed into a temporary folder on first use) runs against
the same server. Prints the measurements beside the goals; never fails on them.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import mimetypes
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
LIGHTHOUSE = "lighthouse@12.8.2"  # 13.x needs node 22; Debian has 20
LIGHTHOUSE_DIR = Path(tempfile.gettempdir()) / "resnet-explainer-lighthouse"
GOAL_KB = 600
QUARTO = "a comparable Quarto article: ~2,400 KB, 2 CDN requests"
TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")
KINDS = [("html", "HTML"), ("css", "CSS"), ("js", "JavaScript"), ("font", "fonts"),
         ("figure", "figures (SVG/PNG)"), ("data", "chart data (JSON)"), ("other", "other")]


class StaticHost(http.server.SimpleHTTPRequestHandler):
    """http.server plus gzip for text, like GitHub Pages or Netlify."""
    cache: dict = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        rel = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
        path = (Path(self.directory) / rel).resolve()
        ctype = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
        if (not path.is_file() or not ctype.startswith(TEXT_TYPES)
                or "gzip" not in self.headers.get("Accept-Encoding", "")):
            return super().do_GET()
        if path not in self.cache:
            self.cache[path] = gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
        body = self.cache[path]
        self.send_response(200)
        self.send_header("Content-Type", ctype + ("; charset=utf-8" if ctype.startswith("text/") else ""))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "public, max-age=3600")
        self.end_headers()
        self.wfile.write(body)


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    mimetypes.add_type("application/json", ".json")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(StaticHost, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/index.html"


def kind_of(url: str, resource_type: str) -> str | None:
    path = urlsplit(url).path.lower()
    if resource_type == "media" or path.endswith((".mp4", ".webm", ".vtt")):
        return None  # video excluded
    if resource_type == "document" or path.endswith(".html"):
        return "html"
    for kind, ends in (("css", (".css",)), ("js", (".js",)), ("font", (".woff", ".woff2", ".ttf", ".otf")),
                       ("figure", (".svg", ".png", ".jpg", ".jpeg", ".webp", ".gif")), ("data", (".json",))):
        if path.endswith(ends):
            return kind
    return "other"


def measure(url: str) -> dict:
    from playwright.sync_api import sync_playwright

    host = urlsplit(url).netloc
    phases: dict[str, dict] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        seen: list = []
        page.on("requestfinished", lambda r: seen.append(r))
        page.on("requestfailed", lambda r: seen.append(r))
        page.goto(url, wait_until="networkidle")
        phases["first view"] = _tally(list(seen), host)
        height = page.evaluate("document.documentElement.scrollHeight")
        for y in range(0, height, 700):
            page.evaluate(f"window.scrollTo(0, {y})")
            page.wait_for_timeout(60)
        try:
            page.wait_for_function("() => [...document.querySelectorAll('.vega-chart')]"
                                   ".every(c => c.dataset.rendered === 'true')", timeout=30_000)
        except Exception:
            print("warning: not every chart rendered within 30 s", file=sys.stderr)
        page.wait_for_load_state("networkidle")
        phases["whole article"] = _tally(list(seen), host)
        phases["whole article"]["charts"] = page.locator(".vega-chart[data-rendered=true]").count()
        browser.close()
    return phases


def _tally(requests: list, host: str) -> dict:
    out = {"raw": {k: 0 for k, _ in KINDS}, "sent": {k: 0 for k, _ in KINDS}, "requests": 0, "outside": []}
    for req in requests:
        if urlsplit(req.url).scheme == "data":
            continue
        if urlsplit(req.url).netloc != host:
            out["outside"].append(req.url)
            continue
        kind = kind_of(req.url, req.resource_type)
        if kind is None:
            continue
        resp = req.response()
        if resp is None:
            continue
        out["requests"] += 1
        out["raw"][kind] += len(resp.body())
        out["sent"][kind] += req.sizes()["responseBodySize"]
    return out


def lighthouse(url: str) -> dict | None:
    node = shutil.which("node")
    if not node:
        print("lighthouse: skipped (node not found)")
        return None
    cli = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        print(f"lighthouse: installing {LIGHTHOUSE} into {LIGHTHOUSE_DIR} ...", flush=True)
        r = subprocess.run(["npm", "install", "--prefix", str(LIGHTHOUSE_DIR), "--no-audit", "--no-fund", LIGHTHOUSE],
                           capture_output=True, text=True)
        if r.returncode != 0 or not cli.exists():
            print("lighthouse: skipped (npm install failed: " + (r.stderr.strip().splitlines() or ["?"])[-1] + ")")
            return None
    cmd = [node, str(cli), url, "--output=json", "--output-path=stdout", "--quiet",
           "--only-categories=performance,accessibility,best-practices,seo",
           "--chrome-flags=--headless=new --no-sandbox --disable-gpu"]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)
    if r.returncode != 0:
        print("lighthouse: failed: " + (r.stderr.strip().splitlines() or ["?"])[-1])
        return None
    report = json.loads(r.stdout)
    scores = {c["title"]: round(100 * (c["score"] or 0)) for c in report["categories"].values()}
    missed = sorted({a["title"] for c in report["categories"].values() for ref in c["auditRefs"]
                     if ref["weight"] > 0 and (a := report["audits"][ref["id"]])["score"] is not None
                     and a["score"] < 1})
    return {"scores": scores, "missed": missed, "version": report.get("lighthouseVersion", "?")}


def report(phases: dict, lh: dict | None) -> None:
    kb = lambda b: f"{b / 1024:8.1f}"  # noqa: E731
    names = list(phases)
    print(f"\n{'bytes the article loads (KB)':28s}" + "".join(f"{n + ' raw':>16s}{'gzip':>8s}" for n in names))
    for kind, label in KINDS:
        print(f"  {label:26s}" + "".join(f"{kb(phases[n]['raw'][kind]):>16s}{kb(phases[n]['sent'][kind])}"
                                          for n in names))
    totals = {n: (sum(phases[n]["raw"].values()), sum(phases[n]["sent"].values())) for n in names}
    print(f"  {'total':26s}" + "".join(f"{kb(totals[n][0]):>16s}{kb(totals[n][1])}" for n in names))
    print(f"  {'requests':26s}" + "".join(f"{phases[n]['requests']:>24d}" for n in names))
    whole = phases[names[-1]]
    print(f"  interactive charts rendered: {whole.get('charts', 0)}")
    print("\nmeasured                               goal")
    sent_kb = totals[names[-1]][1] / 1024
    raw_kb = totals[names[-1]][0] / 1024
    print(f"  whole article, gzip  {sent_kb:9.1f} KB   under {GOAL_KB} KB "
          f"({'met' if sent_kb < GOAL_KB else 'MISSED'}); {QUARTO}")
    print(f"  whole article, raw   {raw_kb:9.1f} KB   (no compression at all)")
    print(f"  first view, gzip     {totals[names[0]][1] / 1024:9.1f} KB   (charts' libraries not loaded yet)")
    outside = sorted(set(whole["outside"]))
    print(f"  requests elsewhere   {len(outside):9d}      0 ({'met' if not outside else 'MISSED: ' + ', '.join(outside[:5])})")
    if lh:
        print(f"\nLighthouse {lh['version']} (mobile defaults, chromium on 127.0.0.1)        goal")
        for title, score in lh["scores"].items():
            print(f"  {title:22s} {score:5d}                                100")
        if lh["missed"]:
            print("  audits below full marks: " + "; ".join(lh["missed"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--site", default=str(ROOT / "site"), help="built site folder (default: site/)")
    ap.add_argument("--no-lighthouse", action="store_true", help="only the byte and request counts")
    args = ap.parse_args(argv)
    site = Path(args.site)
    if not (site / "index.html").exists():
        print(f"error: {site / 'index.html'} not found; run `python build.py build` first", file=sys.stderr)
        return 1
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} not found (make browser-deps)", file=sys.stderr)
        return 1
    server, url = serve(site)
    try:
        phases = measure(url)
        lh = None if args.no_lighthouse else lighthouse(url)
    finally:
        server.shutdown()
    print(f"page budget of {site / 'index.html'}")
    report(phases, lh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
