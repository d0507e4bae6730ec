"""What chapters see of the experiments: result() numbers and figure() slots.

The build decides beforehand which experiments a chapter needs (by reading its
Jinja calls), makes sure they are fresh, and hands this view to the renderer.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes

from figures.store import ResultStore, StoredResult

from .errors import BuildError

WIDTHS = ("body", "page", "screen")


def scan_calls(source: str) -> tuple[list[str], list[str]]:
    """Names passed to figure("...") and result("...") in a chapter's Jinja."""
    from .chapters import jinja_env

    try:
        ast = jinja_env().parse(source)
    except jinja2.TemplateSyntaxError:
        return [], []  # the renderer reports it with its line
    figs, exps = [], []
    for call in ast.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.args and isinstance(call.args[0], nodes.Const):
            if call.node.name == "figure":
                figs.append(str(call.args[0].value))
            elif call.node.name == "result":
                exps.append(str(call.args[0].value))
    return figs, exps


def format_value(value: Any, fmt: str | None) -> str:
    if fmt:
        return fmt.format(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class ResultsView:
    def __init__(self, store: ResultStore, profile: str):
        self.store = store
        self.profile = profile
        self._cache: dict[str, StoredResult | None] = {}

    def load(self, experiment: str) -> StoredResult:
        if experiment not in self._cache:
            self._cache[experiment] = self.store.load(experiment, self.profile)
        stored = self._cache[experiment]
        if stored is None:
            raise BuildError(f"no stored result for experiment {experiment!r} (profile {self.profile}); "
                             f"run `python build.py figures`")
        return stored

    def value(self, experiment: str, *path: Any) -> Any:
        stored = self.load(experiment)
        try:
            return stored.get(*[str(p) for p in path])
        except KeyError:
            keys = ", ".join(sorted(stored.metrics))
            raise BuildError(f"result {experiment}/{'/'.join(map(str, path))} does not exist; "
                             f"metrics of {experiment}: {keys}") from None

    def helpers(self, known_figures: set[str], used: list[str]) -> dict[str, Any]:
        """The functions a chapter may call."""

        def result(experiment: str, *path: Any, fmt: str | None = None) -> Any:
            return format_value(self.value(experiment, *path), fmt)

        def value(experiment: str, *path: Any) -> Any:  # raw number, for claims and arithmetic
            return self.value(experiment, *path)

        def figure(name: str, width: str | None = None) -> str:
            if name not in known_figures:
                raise BuildError(f"unknown figure {name!r}; known: {', '.join(sorted(known_figures)) or 'none'}")
            if width is not None and width not in WIDTHS:
                raise BuildError(f"figure width must be one of {', '.join(WIDTHS)}, not {width!r}")
            used.append(name)
            return f"`<!--figure:{name}:{width or ''}-->`{{=html}}"

        return {"result": result, "value": value, "figure": figure}


FIGURE_SLOT = re.compile(r"<p><!--figure:([\w.-]+):(\w*)--></p>")


def needs(path: Path, text: str) -> tuple[list[str], list[str]]:
    return scan_calls(text)
