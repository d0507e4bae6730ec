"""Random Markdown and front matter through the chapter renderer (front matter,
Jinja with result()/figure(), claims, pandoc): every outcome is HTML or a one-line
BuildError naming the chapter file, never another exception."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from lab.store import ResultStore
from sitegen.read.chapters import load_chapter
from sitegen.render.chapters import check_claims, render_jinja, render_markdown
from sitegen.errors import BuildError
from sitegen.render.results import ResultsView

PATH = Path("content/01-fuzz.md")
PIECES = ["{{", "}}", "{%", "%}", "{#", "#}", "$", "$$", "\\frac{a}{b}", "[@he2016deep]", "[@", "]", "@fig:fuzz_fig",
          "@eq:x", "{#eq:x}", "---", "```", "~~~", "[^n]", "[^n]: note", "<div>", "</span>", ":::", "|a|b|",
          "\n", "\n\n", "# ", "* ", "1. ", "> ", "`", "\\", '{{ result("fuzz_exp", "a", "b", fmt="{:.2f}") }}',
          '{{ result("fuzz_exp", "missing") }}', '{{ result("nope", "a") }}', '{{ figure("fuzz_fig") }}',
          '{{ figure("fuzz_fig", width="page") }}', '{{ figure("nothing") }}', "{{ undefined_name }}",
          '{{ value("fuzz_exp", "n") + 1 }}', "{% for i in range(2) %}x{% endfor %}", "{% if %}", "\t", "\x00"]
YAML_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=6)
META = st.dictionaries(st.sampled_from(["title", "slug", "description", "claims", "draft", "extra"]), YAML_VALUES,
                       max_size=4)
CLAIMS = st.lists(st.sampled_from(['result("fuzz_exp", "n") > 1', 'result("fuzz_exp", "n") < 1', "1 +",
                                   'value("fuzz_exp", "zz")', "undefined_thing", "[1, 2]"]), max_size=2)


@pytest.fixture(scope="module")
def view(tmp_path_factory) -> ResultsView:
    store = ResultStore(tmp_path_factory.mktemp("results"))
    store.save("fuzz_exp", "quick", "key", {}, {}, {"a": {"b": 1.5}, "n": 3}, {"xs": [1, 2]})
    return ResultsView(store, "quick")


def front_matter(meta: dict, claims: list, title: str | None) -> st.SearchStrategy:
    if title is not None:
        meta = {**meta, "title": title}
    if claims:
        meta = {**meta, "claims": claims}
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\n"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(meta=META, claims=CLAIMS, title=st.none() | st.text(min_size=1, max_size=30),
       raw_front=st.booleans(), front_text=st.text(max_size=60),
       body=st.lists(st.sampled_from(PIECES) | st.text(max_size=15), max_size=25).map("".join))
def test_renderer_never_crashes(view, meta, claims, title, raw_front, front_text, body):
    front = f"---\n{front_text}\n---\n" if raw_front else front_matter(meta, claims, title)
    text = front + body
    try:
        ch = load_chapter(PATH, text)
        ch.markdown = render_jinja(ch, view.helpers({"fuzz_fig"}, []))
        check_claims(ch, {"result": view.value, "value": view.value})
        assert isinstance(render_markdown(ch), str)
    except BuildError as e:
        assert e.file == str(PATH) and "\n" not in str(e) and str(e).startswith(str(PATH)), str(e)
