"""An author's Vega-Lite chart (tests/test_porting.py ports one) drawn by the build to static
SVG, light and dark, with vl-convert: in the page's chart colours, cached by the spec (a
rebuild draws nothing and changes no byte; new data draws it again), the same bytes when
drawn afresh, and a spec that Vega cannot draw is an error at the spec."""
from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import cli_build, refused, site_files
from test_porting import SPEC, port


def label_fills(svg: str) -> set[str]:
    """The fill of the axis labels' text (vl-convert writes each label as <text ... fill=>)."""
    return set(re.findall(r'<text [^>]*fill="(#[0-9a-fA-F]{3,8})"', svg))


def test_the_chart_is_drawn_in_each_theme_cached_and_the_same_every_time(built_copy, capsys):
    from sitegen.render.charts import vega_config

    content = port(built_copy)
    assert cli_build(built_copy, capsys)[0] == 0
    site = built_copy / "site"
    page = (site / "index.html").read_text()
    themes = json.loads(re.search(r'<script type="application/json" id="chart-theme">(.*?)</script>', page)[1])
    for name, svg in (("light", "chart.svg"), ("dark", "chart-dark.svg")):
        text = (site / "figures" / svg).read_text()
        assert text.startswith("<svg") and "depth" in text and "error" in text  # the axes' titles
        assert label_fills(text) == {themes[name]["fg"]}, (name, label_fills(text))
        # the page's script draws the chart with the config the build drew the SVG with
        assert themes[name]["vega"] == vega_config(themes[name])
    # cached: a rebuild draws nothing and changes no byte
    entries = sorted((built_copy / ".cache" / "charts").iterdir())
    stamps = [p.stat().st_mtime_ns for p in entries]
    before = site_files(built_copy)
    (content / "03-ported.md").write_text((content / "03-ported.md").read_text() + "\nOne more sentence.\n")
    assert cli_build(built_copy, capsys)[0] == 0
    assert [p.stat().st_mtime_ns for p in sorted((built_copy / ".cache" / "charts").iterdir())] == stamps
    after = site_files(built_copy)
    assert {k for k in before if before[k] != after.get(k)} == {Path("index.html")}
    # drawn afresh, the same bytes
    for p in entries:
        p.unlink()
    assert cli_build(built_copy, capsys)[0] == 0
    assert site_files(built_copy) == after
    # new data: drawn again
    changed = {**SPEC, "data": {"values": [{"depth": 20, "error": 8.75}, {"depth": 110, "error": 6.43}]}}
    (content / "charts" / "depth.vl.json").write_text(json.dumps(changed, indent=2))
    assert cli_build(built_copy, capsys)[0] == 0
    assert "110" in (site / "figures" / "chart.svg").read_text()
    assert (site / "figures" / "chart.svg").read_bytes() != after[Path("figures/chart.svg")]


def test_a_spec_vega_cannot_draw_is_an_error_at_the_spec(built_copy, capsys):
    content = port(built_copy)
    assert cli_build(built_copy, capsys)[0] == 0
    before = site_files(built_copy)
    broken = {**SPEC, "transform": [{"calculate": "datum.depth * (", "as": "half"}]}  # valid schema, bad expression
    (content / "charts" / "depth.vl.json").write_text(json.dumps(broken, indent=2))
    err = refused(built_copy, capsys, before, r"depth\.vl\.json", "chart spec could not be drawn")
    assert "Unexpected end of input" in err and " at " not in err.split("drawn:", 1)[1], err
