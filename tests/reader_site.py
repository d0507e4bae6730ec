"""The copy of the built fixture that the reader tests open in Chromium: a long
equation, numbers quoted every way a chapter can, an image and a diagram of the
authors' own, the explorable, and the settings a published article has (url,
doi, repository); a static server that answers byte ranges, as a host does."""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from sitegen.build import build
from sitegen.project import load_project

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
HIGHWAY = ("$$y = H(x, W_H)\\cdot T(x, W_T) + x \\cdot C(x, W_C), \\qquad C = 1 - T, "
           "\\qquad T(x) = \\sigma(W_T x + b_T)$$ {#eq:highway}\n\n"
           "$$x_{l+1} = \\mathrm{ReLU}\\big(x_l + \\mathrm{BN}(W_2 * \\mathrm{ReLU}(\\mathrm{BN}(W_1 * x_l)))\\big)"
           " + \\sum_{i=1}^{L} \\left(\\frac{a_i}{b_i}\\right)$$\n")
URL = "https://example.org/articles/resnets/"
# numbers quoted every way a chapter can: result(), value() printed, in a table, in a loop, computed
NUMBERS = """
The plain network spreads its gradient over {{ result("gradient_flow", "plain56", "spread", fmt="{:.1f}") }}
decades, at depths {{ value("gradient_flow", "depths") | join(" and ") }}; one fewer is
{{ value("gradient_flow", "depths")[-1] - 1 }}.

| depth | first over last |
|------:|----------------:|
{% for d in value("gradient_flow", "depths") %}| {{ d }} | {{ result("gradient_flow", "plain%d" % d, "first_over_last", fmt="{:.1f}") }} |
{% endfor %}
"""
QUOTED = 1 + 1 + 2 + 1 + 2 * 2  # CHAPTER_1's result() and the numbers above
BOX = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 100"><rect x="10" y="10" width="280" height="80" ' \
      'fill="{colour}"/></svg>\n'
EXPLORABLE = """
::: {#gradient-explorable .explorable data-explorable="gradient-product" data-measured="gradient_flow"}
**The product, computed live.**

[Without JavaScript there is nothing to compute here.]{.explorable-fallback}
:::
"""
AUTHOR_FIGURES = EXPLORABLE + """
Our own drawing is @fig:box, and the traced blocks are @fig:blocks.

![A box of our own, drawn by hand [@he2016deep].](images/box.svg){#fig:box alt="A blue rectangle"}

![Two blocks, traced.](diagram:blocks){#fig:blocks .page models="plain20 resnet20"}
"""


@pytest.fixture(scope="module")
def reader_root(built_project, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reader") / "proj"
    shutil.copytree(built_project, root, symlinks=True)
    with open(root / "content" / "02-second.md", "a", encoding="utf-8") as f:
        f.write("\nThe highway layer gates its shortcut:\n\n" + HIGHWAY + NUMBERS)
    images = root / "content" / "images"
    images.mkdir()
    for name, colour in (("box.svg", "#1f5fa8"), ("box-dark.svg", "#7fb2ff")):
        (images / name).write_text(BOX.format(colour=colour), encoding="utf-8")
    with open(root / "content" / "01-first-chapter.md", "a", encoding="utf-8") as f:
        f.write(AUTHOR_FIGURES)
    with open(root / "content" / "site.yml", "a", encoding="utf-8") as f:
        f.write(f'url: "{URL}"\ndoi: "10.1234/test.5678"\nrepository: "https://example.org/code/resnets"\n')
    build(load_project(root), progress=False, log=lambda m: None)
    return root


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with byte ranges, as a real host serves them (a video seeks with them)."""

    def log_message(self, *args):
        pass

    def send_head(self):
        path, rng = self.translate_path(self.path), self.headers.get("Range")
        m = re.match(r"bytes=(\d*)-(\d*)$", rng or "")
        if not m or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        start, end = int(m.group(1) or 0), min(int(m.group(2) or size - 1), size - 1)
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start + 1)
        self.send_response(206)
        for k, v in (("Content-Type", self.guess_type(path)), ("Content-Range", f"bytes {start}-{end}/{size}"),
                     ("Content-Length", str(len(data))), ("Accept-Ranges", "bytes")):
            self.send_header(k, v)
        self.end_headers()
        import io

        return io.BytesIO(data)


def serve(site: Path):
    """(url of index.html, server): stop it with server.shutdown()."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_RangeHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/index.html", server


@pytest.fixture(scope="module")  # one Playwright at a time: each test module its own
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (make browser-deps)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def reader(chromium, reader_root):
    """reader(**context options) -> page of the reader copy, console errors and outside requests kept."""
    url, server = serve(reader_root / "site")
    contexts = []

    def _open(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        ctx = chromium.new_context(**options)
        contexts.append(ctx)
        page = ctx.new_page()
        page.errors, page.outside = [], []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("http://127.0.0.1", "data:"))
                  else (page.outside.append(r.request.url), r.abort()))
        page.goto(url, wait_until="load")
        return page

    yield _open
    for ctx in contexts:
        ctx.close()
    server.shutdown()
    server.server_close()
