"""Issue 23, battery findings 3 to 5: author text that would hang the build or fill the
memory stops at a budget with `file:line`; author mistakes once reported as a bug of ours
(exit 2) are one-line author errors; mistakes that passed silently are errors. Each fails
the real build with exit 1 and site/ byte for byte as it was."""
from __future__ import annotations

import errno
import re

import pytest

from conftest import append, cli_build, refused, site_files

CH1, CH2 = "01-first-chapter.md", "02-second.md"


# -- 3: a time and size budget ----------------------------------------------------------
SIZE = [
    ("center", '{{ "x" | center(300000000) }}', "center() to a width past"),
    ("center method", '{{ "x".center(300000000) }}', "center() to a width past"),
    ("percent format", '{{ "%300000000d" % 1 }}', "pads past"),
    ("star width", '{{ "%*d" % (300000000, 1) }}', "pads past"),
    ("str.format width", '{{ "{:>300000000}".format(1) }}', "pads past"),
    ("tilde doubling", '{% set ns = namespace(s="ab") %}{% for c in "x" * 40 %}{% set ns.s = ns.s ~ ns.s %}'
                       '{% endfor %}{{ ns.s | length }}', "too long"),
    ("plus doubling", '{% set ns = namespace(s=[1]) %}{% for c in "x" * 40 %}{% set ns.s = ns.s + ns.s %}'
                      '{% endfor %}{{ ns.s | length }}', "too long"),
    ("replace", '{{ ("a" * 1000000) | replace("a", "bbb") | length }}', "replace() would make"),
    ("output", '{% set s = "x" * 1000000 %}{% for i in "x" * 1000 %}{{ s }}{% endfor %}', "prints more than"),
]


@pytest.mark.parametrize("case, payload, expected", SIZE, ids=[c[0] for c in SIZE])
def test_values_past_the_size_budget_are_refused(built_copy, capsys, case, payload, expected):
    before = site_files(built_copy)
    line = append(built_copy / "content" / CH1, payload + "\n")
    refused(built_copy, capsys, before, rf"{CH1}:{line}", expected)


TIME = [  # (case, text, the lines it may be stopped at, counted from its first)
    ("nested loops over a long text",
     '{% set s = "x" * 100000 %}\n{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}\n', (1,)),
    ("macro calling itself twice",  # stopped in the macro or at its call
     "{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}\n{{ m(60) }}\n", (0, 1)),
]


@pytest.mark.parametrize("case, payload, offsets", TIME, ids=[c[0] for c in TIME])
def test_rendering_past_the_time_budget_stops_at_its_line(built_copy, capsys, monkeypatch, case, payload, offsets):
    from sitegen import limits

    monkeypatch.setattr(limits, "TIME_BUDGET_S", 1.0)
    before = site_files(built_copy)
    line = append(built_copy / "content" / CH1, payload)
    lines = "|".join(str(line + o) for o in offsets)
    refused(built_copy, capsys, before, rf"{CH1}:({lines})", "ran for more than 1 s")


def alias_bomb(levels: int = 9) -> str:
    text = 'lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for i in range(1, levels):
        text += f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * 9) + "]\n"
    return text


def test_yaml_alias_bomb_in_a_chapter(built_copy, capsys):
    before = site_files(built_copy)
    path = built_copy / "content" / CH2
    path.write_text(path.read_text().replace("title: Second chapter\n", "title: Second chapter\n" + alias_bomb()))
    err = refused(built_copy, capsys, before, rf"{CH2}:\d+", "alias bomb")
    assert len(err) < 500


def test_yaml_alias_bomb_in_the_slides(built_copy, capsys):
    before = site_files(built_copy)
    (built_copy / "content" / "slides.md").write_text(
        "---\n" + alias_bomb() + "title: *lol8\n---\n## A slide\n\nText.\n")
    err = refused(built_copy, capsys, before, r"slides\.md:\d+", "alias bomb")
    assert len(err) < 500


# -- 4: the author's mistakes, never "a bug of ours" -------------------------------------
def test_deep_nesting_in_a_chapter(built_copy, capsys):
    before = site_files(built_copy)
    line = append(built_copy / "content" / CH1, "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}\n")
    refused(built_copy, capsys, before, rf"{CH1}:{line}", "nested too deeply")


def test_a_50000_term_sum_in_a_claim(built_copy, capsys):
    before = site_files(built_copy)
    path = built_copy / "content" / CH1
    claim = "  - " + " + ".join(["1"] * 50000) + " > 0\n"
    text = path.read_text()
    path.write_text(text.replace("claims:\n", "claims:\n" + claim, 1))
    refused(built_copy, capsys, before, rf"{CH1}:4", "nested too deeply")


def test_pandoc_past_its_time_names_the_chapter(built_copy, capsys, monkeypatch):
    import subprocess

    from sitegen import pandoc

    real = subprocess.run

    def slow_on_marker(args, **kw):  # pandoc on the marked chapter takes for ever
        if "pathological-7e1" in (kw.get("input") or ""):
            raise subprocess.TimeoutExpired(args, kw.get("timeout"))
        return real(args, **kw)

    monkeypatch.setattr(pandoc.subprocess, "run", slow_on_marker)
    before = site_files(built_copy)
    append(built_copy / "content" / CH2, "pathological-7e1\n")
    refused(built_copy, capsys, before, re.escape(CH2), "pandoc ran for more than")


def test_non_utf8_slides(built_copy, capsys):
    before = site_files(built_copy)
    (built_copy / "content" / "slides.md").write_bytes(b"## One\n\nText.\n\n## Two \xff\xfe\n")
    refused(built_copy, capsys, before, r"slides\.md:5", "not valid UTF-8")


def rewrite(root, *chapters):
    """Same text, new mtime: the next build runs (and meets what is in the caches)."""
    for ch in chapters:
        p = root / "content" / ch
        p.write_text(p.read_text())


def test_damaged_cache_entries_are_misses(built_copy, capsys):
    rewrite(built_copy, CH1, CH2)
    assert cli_build(built_copy, capsys)[0] == 0  # the site as this commit builds it
    before = site_files(built_copy)
    damaged = 0
    for kind in ("jinja", "chapters", "figures", "templates"):
        for entry in (built_copy / ".cache" / kind).glob("*"):
            data = entry.read_bytes()
            entry.write_bytes(data[: len(data) // 2])
            damaged += 1
    assert damaged >= 4
    rewrite(built_copy, CH1, CH2)
    code, err = cli_build(built_copy, capsys)
    assert code == 0, err
    assert site_files(built_copy) == before  # nothing truncated was published


def test_full_disk_is_one_line_and_keeps_the_site(built_copy, capsys, monkeypatch):
    from sitegen import publish

    def full(site):
        raise OSError(errno.ENOSPC, "No space left on device", str(site))

    monkeypatch.setattr(publish, "staging_dir", full)
    before = site_files(built_copy)
    append(built_copy / "content" / CH2, "More text.\n")
    refused(built_copy, capsys, before, "site", "no space left on the device")


def test_port_outside_the_range(built_copy, capsys):
    import build as cli

    capsys.readouterr()
    code = cli.main(["--root", str(built_copy), "-q", "serve", "--port", "70000"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "70000 is not a port" in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("raised", ["author", "bug"])
def test_serve_survives_every_error(built_copy, monkeypatch, raised):
    from sitegen import serve
    from sitegen.errors import BuildError
    from sitegen.project import load_project

    preview = serve.Preview(load_project(built_copy), train=False, verbose=False, interactive=False)
    said = []
    monkeypatch.setattr(preview, "say", said.append)
    monkeypatch.setattr(preview, "stale", lambda: [])

    def broken(*a, **kw):
        raise BuildError("a mistake", "x.md", 3) if raised == "author" else RuntimeError("ours")

    monkeypatch.setattr("sitegen.build.build", broken)
    preview.rebuild({built_copy / "content" / CH1})  # returns: the preview goes on
    assert preview.error.startswith("error: ") and said == [preview.error]
    assert ("x.md:3: a mistake" if raised == "author" else "bug in the site generator") in preview.error


# -- 5: mistakes that passed silently ----------------------------------------------------
def test_duplicate_bibtex_key(built_copy, capsys):
    before = site_files(built_copy)
    bib = built_copy / "content" / "references.bib"
    text = bib.read_text()
    line = text.count("\n") + 2
    bib.write_text(text + "\n@article{he2016deep,\n  title = {Something else},\n  year = {1999}\n}\n")
    refused(built_copy, capsys, before, rf"references\.bib:{line}", "duplicate BibTeX key 'he2016deep'")


@pytest.mark.parametrize("front, line, expected", [
    ("title: A talk\ntitle: Again\n", 3, "duplicate key 'title'"),
    ("title: A talk\nautor: Me\n", 3, "unknown front matter key 'autor'"),
])
def test_slides_front_matter_keys(built_copy, capsys, front, line, expected):
    before = site_files(built_copy)
    (built_copy / "content" / "slides.md").write_text(f"---\n{front}---\n## A slide\n\nText.\n")
    refused(built_copy, capsys, before, rf"slides\.md:{line}", expected)


@pytest.mark.parametrize("cite", ['[@{he2016deep"onmouseover="alert(1)"}]', "[@{a<b>c}]", '[see @{x"y}, p. 3]',
                                  "[@{fig:x&y}]"])
def test_braced_citation_keys_are_checked(built_copy, capsys, cite):
    before = site_files(built_copy)
    line = append(built_copy / "content" / CH2, f"As shown {cite}.\n")
    refused(built_copy, capsys, before, rf"{CH2}:{line}", "is no citation key or label")


@pytest.mark.parametrize("payload", ['{{ "%r" | format(result) }}', '{{ "%s" % value }}', "{{ result }}",
                                     '{{ "{}".format(value) }}'])
def test_memory_addresses_are_not_published(built_copy, capsys, payload):
    before = site_files(built_copy)
    line = append(built_copy / "content" / CH1, payload + "\n")
    refused(built_copy, capsys, before, rf"{CH1}:{line}", "Python object")
