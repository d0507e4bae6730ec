"""One module per figure, named like the figure; each draws from stored results.

A plot module defines:
    EXPERIMENT          name of the experiment whose result it draws
    WIDTH               "body", "page" or "screen" (layout column)
    draw(result, theme) -> matplotlib Figure   (theme: figures.plotstyle.Theme)
    caption(result)     -> str, Markdown: what the figure shows
    alt(result)         -> str, plain text written from the data, with key numbers
    chart(result)       -> dict | None, an optional Vega-Lite spec for an interactive chart
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def names() -> list[str]:
    return sorted(i.name for i in pkgutil.iter_modules(__path__) if not i.name.startswith("_"))


def get(name: str) -> ModuleType:
    if name not in names():
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}")
