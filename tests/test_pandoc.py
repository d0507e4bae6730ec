"""Chapters through pandoc, several to a process (sitegen/filters/chapters.lua): each comes out
as the command line would make it alone, and a failure names the chapter it happened on."""
from __future__ import annotations

import pytest

from sitegen import pandoc
from sitegen.errors import BuildError

# what pandoc's command line does that pandoc.read alone does not: tabs expanded, the default
# abbreviations (a no-break space after "e.g." and "al."), the final newline
TRICKY = [
    "a\tb\n\n\tcode\twith\ttabs\n\n- item\n\n\t- nested under a tab\n",
    "é\tafter a two-byte letter\n",
    "He et al. showed it, e.g. in Fig. 2; cf. the appendix, pp. 3-4.\n",
    "Footnotes[^a] get the prefix.[^b]\n\n[^a]: One.\n[^b]: Two, with $x^2$.\n",
    "# A section {#sec:one}\n\nSee @fig:one and [@eq:two; @he2016].\n\n$$ y = x $$ {#eq:two}\n",
    "::: {.callout-note}\nA Quarto callout.\n:::\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
    "```python\nprint('x')\n```\n\nNo final newline",
    "\ufeffA byte-order mark, then\r\nWindows line ends.\r\n",
    "",
]


def command_line(text: str, prefix: str) -> str:
    """The chapter as `pandoc -L porting.lua -L article.lua` renders it, one process for it alone."""
    return pandoc.run(["-f", pandoc.READER, "-t", "html5", "--mathml", "--wrap=none", "--lua-filter",
                       str(pandoc.PORTING), "--lua-filter", str(pandoc.FILTER), "--section-divs",
                       "--id-prefix", prefix], text)


def test_chapters_in_one_process_come_out_as_the_command_line_makes_each():
    together = pandoc.chapters_to_html([(text, f"ch{i}.md", f"ch{i}-") for i, text in enumerate(TRICKY)])
    for i, (text, html) in enumerate(zip(TRICKY, together)):
        assert html == command_line(text, f"ch{i}-"), text
    assert "et al.\u00a0showed" in together[2] and 'id="ch3-fn1"' in together[3]


def test_a_chapter_comes_out_the_same_alone_and_beside_others():
    alone = [pandoc.markdown_to_html(text, None, "x-") for text in TRICKY[:4]]
    assert pandoc.chapters_to_html([(text, None, "x-") for text in TRICKY[:4]]) == alone


def test_a_run_past_its_time_names_the_chapter_it_was_on(monkeypatch):
    """The process stopped on its time: the chapter it had started last, not the first of its share."""
    monkeypatch.setattr(pandoc, "TIMEOUT_S", 1)
    slow = "".join(f"Paragraph {i} with *emphasis* and $x_{i}$ and [a link](#x).\n\n" for i in range(60000))
    with pytest.raises(BuildError) as e:
        pandoc.chapters_to_html([("Quick.\n", "01-quick.md", "a-"), (slow, "02-slow.md", "b-"),
                                 ("Never reached.\n", "03-after.md", "c-")])
    assert e.value.file == "02-slow.md" and "pandoc ran for more than" in e.value.message


def test_a_chapter_the_filters_fail_on_names_its_file(monkeypatch, tmp_path):
    """An error in one chapter's filtering is that chapter's, named by its file."""
    failing = tmp_path / "failing.lua"
    failing.write_text('function Str(el) if el.text == "boom" then error("the filter failed here") end end\n')
    monkeypatch.setattr(pandoc, "FILTER", failing)
    with pytest.raises(BuildError) as e:
        pandoc.chapters_to_html([("Fine.\n", "01-fine.md", "a-"), ("A boom here.\n", "02-boom.md", "b-")])
    assert e.value.file == "02-boom.md" and "the filter failed here" in e.value.message
