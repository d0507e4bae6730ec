"""One module per figure, named like the figure; each draws from stored results.

A plot module defines:
    EXPERIMENT          name of the experiment whose result it draws
    WIDTH               "body", "page" or "screen" (layout column)
    draw(result, theme) -> matplotlib Figure   (theme: figures.plotstyle.Theme)
    caption(result)     -> str, Markdown: what the figure shows
    alt(result)         -> str, plain text written from the data, with key numbers
    chart(result)       -> dict | None, an optional Vega-Lite spec for an interactive chart

Where the experiment ran once per seed (a profile's seeds, lab.spread), the result
a plot gets has the means as its metrics and its data as the first seed's, plus
    result.data["per_seed"]  {seed: that seed's data}       curves to draw a band from
    result.data["spreads"]   the metrics with every spread   error bars: mean, sd, min, max
figures.plotstyle.view(result) makes that result from the stored one; its per_seed, spread,
band and spread_note read it, and say in captions what a band is.
"""
from __future__ import annotations

import functools
import importlib
import os
import pkgutil
from types import ModuleType


def names() -> list[str]:
    """The plot modules' names, worked out again only when a folder of them lists other
    files (a module added or removed), not at each of the dozens of lookups a build makes."""
    folders = tuple(__path__)
    return list(_names(folders, tuple(_listing(f) for f in folders)))


@functools.lru_cache(maxsize=8)
def _names(folders: tuple, _listings: tuple) -> tuple[str, ...]:
    return tuple(sorted(i.name for i in pkgutil.iter_modules(list(folders)) if not i.name.startswith("_")))


def _listing(folder: str) -> tuple[str, ...]:
    try:
        return tuple(sorted(os.listdir(folder)))
    except OSError:
        return ()


def get(name: str) -> ModuleType:
    if name not in names():
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}")

