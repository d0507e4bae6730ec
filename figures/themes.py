"""The figures' two looks, light and dark: their colours, with no matplotlib to import, so that
the page's interactive charts take the same ones (sitegen.render.page_meta.chart_theme)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    name: str
    fg: str          # text and axes
    muted: str       # grid, secondary text
    bg: str          # figure background ("none" = page shows through)
    page: str        # the page's background (article.css --bg) behind a legend's text; light's is
                     # #fefefe, not #ffffff, so that the dark recolouring swaps only what uses it
    plain: str       # series colour for plain (no shortcut) networks
    residual: str    # series colour for residual networks
    accent: tuple    # further series colours


LIGHT = Theme("light", fg="#222222", muted="#8a8a8a", bg="none", page="#fefefe",
              plain="#c0392b", residual="#1f5fa8",
              accent=("#2a9d8f", "#8e44ad", "#d68910", "#555555", "#16a085"))
DARK = Theme("dark", fg="#e6e6e6", muted="#8f8f8f", bg="none", page="#15171b",
             plain="#ff7b6b", residual="#7fb2ff",
             accent=("#5fd3c4", "#c39bd3", "#f5b041", "#bbbbbb", "#48c9b0"))
THEMES = {"light": LIGHT, "dark": DARK}


def palette(theme: Theme) -> tuple[str, ...]:
    """Every colour a theme gives the plots, in the same order for every theme."""
    return (theme.fg, theme.muted, theme.plain, theme.residual, *theme.accent, theme.page)
