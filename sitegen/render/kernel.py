"""A companion notebook run in a Jupyter kernel (nbclient), in quick mode (QUICK=1), all
its cells within a time limit; and the files that run imported or read, traced in the
kernel with an audit hook and named relative to the repository or the project, so that
sitegen.render.notebooks reruns it only when one of them changes.

A cell that raises is one line naming the notebook and the cell; so is a notebook still
running at its limit. Its kernel, and whatever the kernel started, is then killed, not
asked to stop; a kernel whose build was killed ends by itself (ipykernel watches its
parent), and the next build removes its connection file.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from lab.store import sha256

from ..errors import BuildError
from ..project import REPO

TIME_LIMIT_S = 300  # a notebook's cells together, unless site.yml's notebook_time_limit_s says otherwise


def kernel_env() -> dict:
    """Quick mode, the repository's packages importable, no progress bars."""
    env = dict(os.environ, QUICK="1", TQDM_DISABLE="1", PYTHONHASHSEED="0", MPLBACKEND="module://matplotlib_inline.backend_inline")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


# hidden cells around the author's, run without history (no In[] number): the first
# records every file the kernel opens for reading, the last reports them with the
# files of the imported modules
_TRACE_START = """
def _sitegen_trace():
    import os, sys, types
    trace = sys.modules["_sitegen_trace"] = types.ModuleType("_sitegen_trace")
    trace.opened = set()
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def hook(event, args):
        if event == "open" and isinstance(args[0], (str, bytes)):
            mode, flags = args[1], args[2]
            if (not set(mode) & set("wax+")) if isinstance(mode, str) else not (flags or 0) & writes:
                trace.opened.add(os.path.abspath(os.fsdecode(args[0])))
    sys.addaudithook(hook)
_sitegen_trace(); del _sitegen_trace
"""
_TRACE_REPORT = """
def _sitegen_report():
    import json, sys
    files = set(sys.modules["_sitegen_trace"].opened)
    files.update(f for m in list(sys.modules.values()) if isinstance(f := getattr(m, "__file__", None), str))
    print(json.dumps(sorted(files)))
_sitegen_report(); del _sitegen_report
"""


def execute(nb, path: Path, touched: list[str] | None = None, time_limit_s: int = TIME_LIMIT_S,
            kernels: Path | None = None):
    """Run every cell in a fresh kernel (in place), all of them within `time_limit_s`; a
    failing cell, or the one running at the limit, is a one-line error. `touched` gets the
    absolute path of every file the kernel imported or read. `kernels`: the folder of the
    kernels' connection files (default: Jupyter's runtime folder)."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    client = _client(nb, kernels, timeout=time_limit_s, kernel_name="python3", allow_errors=False,
                     resources={"metadata": {"path": str(path.parent)}})
    at = -1  # the author's cell running (-1: none, ours)
    try:
        # the kernel's own log (a TCP warning) is not the author's business; cell errors come as messages
        with client.setup_kernel(env=kernel_env(), stderr=subprocess.DEVNULL):
            try:
                info = client.wait_for_reply(client.kc.kernel_info())
                nb.metadata["language_info"] = info["content"]["language_info"]
                deadline = time.monotonic() + time_limit_s
                _hidden(client, _TRACE_START)
                for at, cell in enumerate(nb.cells):  # numbered as nbclient numbers them, the probe not counted
                    # nbclient's limit is per cell: each gets what the notebook has left
                    client.timeout = max(1, math.ceil(deadline - time.monotonic()))
                    client.execute_cell(cell, at, execution_count=client.code_cells_executed)
                at = -1
                client.timeout = max(1, math.ceil(deadline - time.monotonic()))
                report = _hidden(client, _TRACE_REPORT)
            except BaseException:  # a busy or broken kernel (and what it started) is killed, not asked
                client.shutdown_kernel = "immediate"
                raise
    except CellExecutionError as e:
        for i, cell in enumerate(nb.cells, 1):
            errs = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errs:
                first = (cell.source.strip().splitlines() or [""])[0][:60]
                raise BuildError(f"cell {i} (`{first}`) failed: {errs[0].ename}: {errs[0].evalue}", path) from None
        raise BuildError(f"a cell failed: {str(e).strip().splitlines()[-1]}", path) from None
    except CellTimeoutError:
        first = (nb.cells[at].source.strip().splitlines() or [""])[0][:60] if at >= 0 else ""
        which = f"cell {at + 1} (`{first}`)" if at >= 0 else "the notebook"
        raise BuildError(f"{which} was still running at the notebook's time limit, {time_limit_s} s "
                         "(notebook_time_limit_s in site.yml)", path) from None
    except DeadKernelError as e:
        raise BuildError(f"the kernel died: {e}", path) from None
    if touched is not None:
        touched += json.loads("".join(o.get("text", "") for o in report.outputs if o.get("name") == "stdout"))
    return nb


def _client(nb, kernels: Path | None, **options):
    """nbclient's client, its kernel's connection file in `kernels`, named by this process:
    a file whose process is gone was left by a killed build, and is removed."""
    from nbclient import NotebookClient

    class Client(NotebookClient):
        def create_kernel_manager(self):
            km = super().create_kernel_manager()
            if kernels is not None:
                kernels.mkdir(parents=True, exist_ok=True)
                sweep_kernel_files(kernels)
                km.connection_file = str(kernels / f"kernel-{os.getpid()}-{uuid.uuid4().hex[:12]}.json")
            return km

    return Client(nb, **options)


def sweep_kernel_files(folder: Path) -> None:
    """Remove the connection files of kernels whose build process has ended."""
    for f in folder.glob("kernel-*-*.json"):
        try:
            os.kill(int(f.name.split("-")[1]), 0)
        except ProcessLookupError:
            f.unlink(missing_ok=True)
        except (ValueError, PermissionError):
            pass  # not ours, or another user's live process


def _hidden(client, code: str):
    """Run `code` as a cell of the notebook for a moment, out of its history."""
    from nbformat.v4 import new_code_cell

    cells = client.nb.cells
    cells.append(new_code_cell(code))
    try:
        return client.execute_cell(cells[-1], len(cells) - 1, store_history=False)
    finally:
        cells.pop()


def dependency_names(paths: list[str], root: Path) -> list[str]:
    """The files among `paths` inside the repository or the project `root`, named relative to
    it (`repo:lab/models/resnet.py`); the Python installation and caches are not among them."""
    outside = [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    names = set()
    for p in map(Path, paths):
        p = p.resolve()
        if "__pycache__" in p.parts or "site-packages" in p.parts or any(p.is_relative_to(o) for o in outside):
            continue
        for label, base in (("repo", REPO), ("project", root.resolve())):
            if p.is_relative_to(base) and p.is_file():
                names.add(f"{label}:{p.relative_to(base).as_posix()}")
                break
    return sorted(names)


def dependency_digests(names: list[str], root: Path) -> dict[str, str | None]:
    """{name: sha256 of the file now, or None where it is gone}."""
    out = {}
    for name in names:
        label, rel = name.split(":", 1)
        try:
            out[name] = sha256(((REPO if label == "repo" else root) / rel).read_bytes())
        except OSError:
            out[name] = None
    return out
