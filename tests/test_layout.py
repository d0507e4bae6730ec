"""The layout a newcomer reads: imports point one way, modules stay short and say what they own.

The import graph is read from the source (every `import`, also inside functions),
so an import hidden in a function to dodge a cycle counts as much as one at the top.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("sitegen", "lab", "figures")
MAX_LINES = 350


def modules() -> dict[str, Path]:
    out = {"build": REPO / "build.py"}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            rel = path.relative_to(REPO).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            targets.add(base)
            targets.update(f"{base}.{a.name}" for a in node.names)
    out = set()
    for t in targets:
        while t and t not in known:
            t = t.rpartition(".")[0]
        if t and t != name:
            out.add(t)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for w in graph[todo.pop()] - seen:
            seen.add(w)
            todo.append(w)
    return seen


def test_no_import_cycle(graph):
    assert cycles(graph) == []


def test_a_cycle_would_be_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_module_is_short_and_says_what_it_owns():
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        assert lines <= MAX_LINES, f"{name}: {lines} lines"
        assert ast.get_docstring(ast.parse(text)), f"{name} has no docstring"


def test_every_test_file_is_short_and_says_what_it_tests():
    for path in sorted((REPO / "tests").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= MAX_LINES, f"{path.name}: {len(text.splitlines())} lines"
        assert ast.get_docstring(ast.parse(text)), f"{path.name} has no docstring"


@pytest.mark.parametrize("step", ["sitegen.render.video", "sitegen.render.notebooks"])
def test_media_steps_know_nothing_of_planning_or_running(graph, step):
    reached = reachable(graph, step)
    assert not reached & {"sitegen.plan", "sitegen.run", "sitegen.build", "lab.runner"}, sorted(reached)


def test_phases_point_one_way(graph):
    """read < plan < run < render < write < build: no phase imports a later one."""
    order = ["sitegen.read", "sitegen.plan", "sitegen.run", "sitegen.render", "sitegen.write", "sitegen.build"]

    def phase(module: str) -> int | None:
        return next((i for i, p in enumerate(order) if module == p or module.startswith(p + ".")), None)

    for module, targets in graph.items():
        mine = phase(module)
        for t in targets:
            theirs = phase(t)
            assert mine is None or theirs is None or theirs <= mine, f"{module} imports the later {t}"
    for base in ("sitegen.errors", "sitegen.model", "sitegen.cache", "sitegen.project"):
        assert not {t for t in reachable(graph, base) if phase(t) is not None}, f"{base} imports a phase"


def test_the_lab_never_imports_the_site_generator_or_its_figures(graph):
    """lab/ is the lab (models, training, experiments, executors); figures/ draws what it
    made and sitegen/ builds the site around the drawings. A job runs wherever the lab
    does, with no site and no matplotlib around: imports point lab <- figures <- sitegen."""
    for module, targets in graph.items():
        if module == "lab" or module.startswith("lab."):
            wrong = sorted(t for t in targets if t.split(".")[0] in ("sitegen", "figures"))
            assert not wrong, f"{module} imports {wrong}"
        if module == "figures" or module.startswith("figures."):
            wrong = sorted(t for t in targets if t.split(".")[0] == "sitegen")
            assert not wrong, f"{module} imports {wrong}"


def test_one_way_to_run_stale_experiments(graph):
    """The build and `build.py figures` run stale experiments alike: jobs (lab.jobs) on an
    executor (lab.executors), through sitegen.run.run_jobs; nothing else calls the runner."""
    assert {m for m, targets in graph.items() if "lab.jobs" in targets} <= {"sitegen.run", "lab.campaign"}
    callers = {name for name, path in modules().items() if "run_one(" in path.read_text(encoding="utf-8")}
    assert callers == {"lab.jobs", "lab.runner"}, callers
