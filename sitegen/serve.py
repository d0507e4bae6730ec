"""Live preview: serve site/ on 127.0.0.1, rebuild on every change, reload the page.

Watches content/, templates/ and figures/. A rebuild is the normal build, so its
caches decide what is redone: an edited chapter re-renders only itself, an edited
plot module redraws only its figure. An edited model or experiment makes results
stale: on a terminal we ask before training, with --train we train, otherwise we
keep serving the last good site and say which experiments are stale.

The page polls /__version (a script injected into served pages only, never into
the files on disk) and reloads when a build published; a failed build shows its
one-line error over the page until the next good one.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import json
import math
import queue
import re
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from .errors import BuildError
from .project import REPO, Project

DEBOUNCE_S = 0.2
IGNORED = ("__pycache__", ".git", ".ipynb_checkpoints")
RELOAD_JS = """<script>/* live preview (added by build.py serve) */
(function () {
  let seen = null;
  const box = document.createElement("pre");
  box.style.cssText = "position:fixed;left:0;right:0;bottom:0;margin:0;padding:1em;z-index:9999;" +
    "background:#7a1010;color:#fff;font:13px/1.4 monospace;white-space:pre-wrap";
  async function poll() {
    try {
      const state = await (await fetch("/__version", {cache: "no-store"})).json();
      if (seen !== null && state.version !== seen) { location.reload(); return; }
      seen = state.version;
      box.textContent = state.error || "";
      if (state.error && !box.isConnected) document.body.append(box);
      if (!state.error) box.remove();
    } catch (e) { /* server restarting */ }
    setTimeout(poll, 400);
  }
  poll();
})();
</script>"""


class Preview:
    """The watch-and-rebuild loop; the HTTP handler reads `version` and `error`."""

    def __init__(self, project: Project, train: bool, verbose: bool, interactive: bool,
                 profile: str | None = None):
        self.project = project
        self.profile = profile
        self.train = train
        self.verbose = verbose
        self.interactive = interactive
        self.version = 0
        self.error = ""
        self.declined: frozenset = frozenset()
        self.changes: queue.Queue[Path] = queue.Queue()

    def say(self, message: str) -> None:
        print(message, flush=True)

    def stale(self) -> list:
        """The stale experiments the article needs, as the build's plan finds them."""
        from lab.store import ResultStore

        from . import plan
        from .modules import project_modules
        from .read import read

        with project_modules(self.project.root):
            chapters, deck = read(self.project)
            return plan.plan(self.project, ResultStore(self.project.results), chapters, deck).stale

    def may_train(self, stale: list) -> bool:
        listing = ", ".join(f"{s.name} ({s.reason}, ~{s.estimate_s:.0f} s)" for s in stale)
        if self.train:
            self.say(f"training stale experiments: {listing}")
            return True
        if self.interactive and frozenset((s.name, s.key) for s in stale) != self.declined:
            answer = input(f"stale experiments: {listing}\ntrain them now? [y/N] ").strip().lower()
            if answer in ("y", "yes"):
                return True
            self.declined = frozenset((s.name, s.key) for s in stale)
        self.error = f"stale experiments: {listing}"  # shown over the page
        self.say(f"stale experiments: {listing}; still serving the last good site "
                 f"(train with `python build.py figures` or restart with --train)")
        return False

    def rebuild(self, changed: set[Path], initial: bool = False) -> None:
        from . import modules
        from .build import build

        if any(p.suffix == ".py" for p in changed):
            modules.forget_modules()  # import the edited experiments and plots afresh
        t0 = time.perf_counter()
        try:
            if any(p.name == "site.yml" for p in changed):
                from .project import load_project

                self.project = load_project(self.project.root, profile=self.profile)
            stale = self.stale()
            if stale and not self.may_train(stale):
                return
            report = build(self.project, progress=self.interactive, log=self.say if self.verbose else (lambda m: None),
                           wait_s=math.inf, train=True)  # asked above
        except BuildError as e:
            self.error = f"error: {e}"
            self.say(self.error)
            return
        except Exception as e:  # a bug of ours: said once, its traceback kept, and the preview goes on
            import traceback

            log = self.project.cache / "error.log"
            with contextlib.suppress(OSError):
                log.parent.mkdir(parents=True, exist_ok=True)
                log.write_text("".join(traceback.format_exception(e)), encoding="utf-8")
            self.error = (f"error: bug in the site generator, not in your files ({type(e).__name__}: "
                          f"{' '.join(str(e).split())[:300]}); traceback in {log}; still serving the last good site")
            self.say(self.error)
            return
        self.error = ""
        if report.up_to_date:
            return
        self.version += 1
        drawn = f"; redrew {', '.join(report.figures_drawn)}" if report.figures_drawn else ""
        trained = f"; trained {', '.join(report.ran)}" if report.ran else ""
        cause = "" if initial else f" after {', '.join(sorted(p.name for p in changed))}"
        self.say(f"{'built' if initial else 'rebuilt'} in {time.perf_counter() - t0:.2f} s "
                 f"({report.chapters_rendered} chapter(s) re-rendered{drawn}{trained}){cause}")
        if self.verbose:
            self.say("  " + ", ".join(f"{k} {v:.3f}s" for k, v in report.timings.items()))

    def loop(self) -> None:
        while True:
            changed = {self.changes.get()}
            deadline = time.monotonic() + DEBOUNCE_S  # an editor's save is several events
            while (left := deadline - time.monotonic()) > 0:
                try:
                    changed.add(self.changes.get(timeout=left))
                except queue.Empty:
                    break
            self.rebuild(changed)


def watched_dirs(project: Project) -> list[Path]:
    dirs = [project.content, project.templates, *(root / d for root in (project.root, REPO) for d in ("lab", "figures"))]
    return [d for d in dict.fromkeys(d.resolve() for d in dirs) if d.is_dir()]


def start_watching(preview: Preview) -> object:
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.event_type in ("opened", "closed_no_write") or event.is_directory:
                return
            for raw in (event.src_path, getattr(event, "dest_path", "")):
                path = Path(str(raw))
                if raw and not any(part in IGNORED for part in path.parts) and not _scratch(path.name):
                    preview.changes.put(path)

    observer = Observer()
    for d in watched_dirs(preview.project):
        observer.schedule(Handler(), str(d), recursive=True)
    observer.daemon = True
    observer.start()
    return observer


def _scratch(name: str) -> bool:
    """Editors' and our own temporary files."""
    return name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp"))


class Handler(http.server.SimpleHTTPRequestHandler):
    preview: Preview

    def do_GET(self) -> None:
        if not self._host_ok():
            return None
        if self.path.split("?")[0] == "/__version":
            body = json.dumps({"version": self.preview.version, "error": self.preview.error}).encode()
            return self._send(body, "application/json")
        path = self._target()
        if path is None:
            return None
        if path.suffix == ".html":
            html = path.read_text(encoding="utf-8", errors="replace")
            at = html.rfind("</body>")
            html = html[:at] + RELOAD_JS + html[at:] if at >= 0 else html + RELOAD_JS
            return self._send(html.encode("utf-8"), "text/html; charset=utf-8")
        if self.headers.get("Range"):
            return self._send_range(path)
        return super().do_GET()

    def _send_range(self, path: Path) -> None:
        """A byte range (HTTP 206), as a host serves one: a video seeks with them. One range,
        `bytes=a-b`, `bytes=a-` or `bytes=-n`; a range past the end is 416, a malformed one
        is ignored and the whole file sent (RFC 9110, 14.2)."""
        size = path.stat().st_size
        m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", self.headers["Range"])
        if not m or m.group(1) == m.group(2) == "":
            return super().do_GET()
        if m.group(1):
            start, end = int(m.group(1)), min(int(m.group(2) or size - 1), size - 1)
        else:  # the last n bytes
            start, end = max(size - int(m.group(2)), 0), size - 1
        if start > end or start >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        self.send_response(206)
        for k, v in (("Content-Type", self.guess_type(str(path))), ("Accept-Ranges", "bytes"),
                     ("Content-Range", f"bytes {start}-{end}/{size}"), ("Content-Length", str(end - start + 1))):
            self.send_header(k, v)
        self.end_headers()
        with path.open("rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0 and (chunk := f.read(min(left, 1 << 16))):
                self.wfile.write(chunk)
                left -= len(chunk)
        return None

    def do_HEAD(self) -> None:
        if self._host_ok() and self._target() is not None:
            super().do_HEAD()

    def _host_ok(self) -> bool:
        """Only pages asked for by this machine's name: another Host is a page elsewhere
        that had its name resolve here (DNS rebinding), and is refused."""
        host, _, port = (self.headers.get("Host") or "").strip().lower().rpartition(":")
        if not host or not port.isdigit():
            host, port = host + (":" if host else "") + port, str(self.server.server_address[1])
        if host in ("127.0.0.1", "localhost", "[::1]") and int(port) == self.server.server_address[1]:
            return True
        self.send_error(403, "this preview answers only to 127.0.0.1 and localhost")
        return False

    def _target(self) -> Path | None:
        """The file of site/ the request names (a folder: its index.html), or None when an
        error was sent: a NUL byte, no such file, or a link that leads out of site/."""
        if "\x00" in urllib.parse.unquote(self.path):
            self.send_error(400, "a NUL byte in the path")
            return None
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"  # never a listing of the folder
        if not path.is_file() or not path.resolve().is_relative_to(Path(self.directory).resolve()):
            self.send_error(404, "File not found")
            return None
        return path

    def list_directory(self, path):  # a folder without index.html lists nothing
        self.send_error(404, "File not found")
        return None

    def _send(self, body: bytes, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # always the latest build
        if b"Accept-Ranges" not in b"".join(getattr(self, "_headers_buffer", [])):
            self.send_header("Accept-Ranges", "bytes")  # so a browser knows it may ask for a range
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        pass  # quiet: the build lines are what matters


def serve(project: Project, host: str = "127.0.0.1", port: int = 8000, train: bool = False,
          verbose: bool = False, profile: str | None = None) -> int:
    if not 0 <= port <= 65535:
        raise BuildError(f"--port {port} is not a port: pass one in 0..65535 (0 picks a free one)")
    preview = Preview(project, train, verbose, interactive=sys.stdin.isatty(), profile=profile)
    preview.rebuild({project.content}, initial=True)
    project.site.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(type("H", (Handler,), {"preview": preview}), directory=str(project.site))
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise BuildError(f"cannot serve on {host}:{port} ({e.strerror}); pass another --port") from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    observer = start_watching(preview)
    preview.say(f"serving http://{host}:{server.server_address[1]}/ (watching content/, templates/, lab/, figures/; "
                f"Ctrl-C stops)")
    try:
        preview.loop()
    except KeyboardInterrupt:
        preview.say("stopped")
    finally:
        observer.stop()
        server.shutdown()
    return 0
