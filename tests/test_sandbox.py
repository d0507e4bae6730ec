"""Chapters are data: hostile Jinja in a chapter or a claim reaches nothing of
Python. Each known escape fails the real build with one line naming the file and
line, exit 1, site/ byte for byte as it was, and nothing run. Code blocks and
inline code are printed as typed."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from conftest import append, at, cli_build, refused, site_files

CH1 = "01-first-chapter.md"
SPREAD = 'result("gradient_flow", "plain56", "spread"'

# (case, chapter line, what the one-line error says); {marker} is a file the payload would create
ESCAPES = [
    ("lipsum globals", '{{ lipsum.__globals__["os"].popen("touch {marker}").read() }}', "'lipsum' is undefined"),
    ("author function globals", '{{ result.__globals__["__builtins__"]["__import__"]("os").system("touch {marker}") }}',
     "access to attribute '__globals__' of"),
    ("helper closure", "{{ value.__closure__[0].cell_contents.store }}", "'__closure__'"),
    ("class mro subclasses", '{{ "".__class__.__mro__[1].__subclasses__() }}', "'__class__' of 'str'"),
    ("tuple base subclasses", "{{ ().__class__.__base__.__subclasses__() }}", "'__class__' of 'tuple'"),
    ("subclasses of object via mro", "{{ [].__class__.__mro__[-1].__subclasses__() }}", "'__class__' of 'list'"),
    ("cycler internals", '{{ cycler.__init__.__globals__.os.popen("touch {marker}").read() }}', "'cycler' is undefined"),
    ("joiner internals", '{{ joiner.__init__.__globals__.os.popen("touch {marker}").read() }}', "'joiner' is undefined"),
    ("namespace internals", '{{ namespace.__init__.__globals__["os"].popen("touch {marker}") }}',
     "'__init__' of 'type'"),
    ("namespace instance internals", "{% set ns = namespace() %}{{ ns.__class__.__init__.__globals__ }}",
     "'__class__'"),
    ("attr filter", '{{ ()|attr("__class__")|attr("__base__")|attr("__subclasses__")() }}', "'__class__' of 'tuple'"),
    ("attr filter, escaped underscores", '{{ ()|attr("\\x5f\\x5fclass\\x5f\\x5f") }}', "'__class__' of 'tuple'"),
    ("map attribute", '{{ [1]|map(attribute="__class__")|list }}', "'__class__' of 'int'"),
    ("str.format", '{{ "{0.__class__.__mro__}".format(1) }}', "'__class__' of 'int'"),
    ("str.format_map", '{{ "{x.__class__}".format_map({"x": 1}) }}', "'__class__' of 'int'"),
    ("format filter", '{{ "%s"|format(result.__globals__) }}', "'__globals__' of 'function'"),
    ("fmt= attribute lookup", '{{ ' + SPREAD + ', fmt="{0.__class__.__mro__}") }}', "must hold one field"),
    ("fmt= nested field", '{{ ' + SPREAD + ', fmt="{:{0.__class__}}") }}', "must hold one field"),
    ("fmt= index lookup", '{{ ' + SPREAD + ', fmt="{0[0]}") }}', "must hold one field"),
    ("template self", "{{ self.__init__.__globals__ }}", "'__init__' of 'TemplateReference'"),
    ("loop internals", "{% for x in [1] %}{{ loop.__class__.__init__ }}{% endfor %}", "'__class__' of 'LoopContext'"),
    ("list mutation", '{{ value("gradient_flow", "depths").append(1) }}', "has no attribute 'append'"),
    ("include", '{% include "/etc/passwd" %}', "no loader"),
    ("import", '{% import "os" as os %}', "no loader"),
    ("huge power", "{{ 2 ** 100000000 }}", "too large a number"),
    ("huge repetition", '{{ "x" * 1000000000 }}', "too long"),
]


def built(root: Path) -> tuple[dict, Path]:
    return site_files(root), root / "content" / CH1


def assert_refused(root, capsys, before, line, *expected, marker=None):
    refused(root, capsys, before, "/" + at(CH1, line), *expected)
    if marker is not None:
        assert not marker.exists(), "the payload ran"


@pytest.mark.parametrize("case, payload, expected", ESCAPES, ids=[e[0] for e in ESCAPES])
def test_escape_in_chapter_is_refused(built_copy, capsys, tmp_path, case, payload, expected):
    before, chapter = built(built_copy)
    marker = tmp_path / "PWNED"
    line = append(chapter, payload.replace("{marker}", str(marker)) + "\n")
    assert_refused(built_copy, capsys, before, line, expected, marker=marker)


CLAIM_ESCAPES = [
    ("lipsum globals", 'lipsum.__globals__.os.popen("touch {marker}").read()', "'lipsum' is undefined"),
    ("function globals", 'result.__globals__["__builtins__"]', "'__globals__' of"),
    ("subclasses", "().__class__.__base__.__subclasses__()", "'__class__' of 'tuple'"),
    ("format string", '"{0.__class__}".format(1) == 1', "'__class__' of 'int'"),
    ("attr filter", '(()|attr("__class__")) == 1', "'__class__' of 'tuple'"),
]


@pytest.mark.parametrize("case, claim, expected", CLAIM_ESCAPES, ids=[e[0] for e in CLAIM_ESCAPES])
def test_escape_in_claim_is_refused(built_copy, capsys, tmp_path, case, claim, expected):
    before, chapter = built(built_copy)
    marker = tmp_path / "PWNED"
    text = chapter.read_text()
    chapter.write_text(text.replace("claims:\n", f"claims:\n  - '{claim.replace('{marker}', str(marker))}'\n", 1))
    assert_refused(built_copy, capsys, before, 4, "claim `", expected, marker=marker)


def test_claim_escape_message(built_copy, capsys):
    before, chapter = built(built_copy)
    chapter.write_text(chapter.read_text().replace("claims:\n", "claims:\n  - 'result.__globals__'\n", 1))
    assert_refused(built_copy, capsys, before, 4, "claim `result.__globals__`: not allowed in a chapter: "
                                                  "access to attribute '__globals__' of")


CODE = '''\
Inline `{{ 7*6 }}` and ``{% if %}`` stay as typed.

```jinja
{{ x }} and {{ 7*6 }}
{% for i in nothing %}
```

~~~
{{ undefined_in_a_tilde_fence }}
~~~

Computed: {{ 6 * 7 }}; as code: {{ value("gradient_flow", "depths")[0] | code }}.
'''


def test_code_is_left_alone(built_copy, capsys):
    chapter = built_copy / "content" / "02-second.md"
    append(chapter, CODE)
    code, err = cli_build(built_copy, capsys)
    assert code == 0, err
    page = (built_copy / "site" / "index.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "Inline {{ 7*6 }} and {% if %} stay as typed." in text
    assert "{{ x }} and {{ 7*6 }}" in text and "{% for i in nothing %}" in text
    assert "{{ undefined_in_a_tilde_fence }}" in text
    assert "Computed: 42; as code: " in text
    assert re.search(r"as code: <code>\d+</code>", page)  # the plain digits: code shows no markup


def test_lines_stay_right_after_code(built_copy, capsys):
    """Code cut out before Jinja keeps its lines: an error after it names its own line."""
    before, _ = built(built_copy)
    chapter = built_copy / "content" / "02-second.md"
    line = append(chapter, "```\none\ntwo\n```\n\n`inline`\n\n{{ nonsense }}\n") + 7
    refused(built_copy, capsys, before, at("02-second.md", line), "template error: 'nonsense' is undefined")


def test_printing_a_group_is_an_error(built_copy, capsys):
    before, chapter = built(built_copy)
    line = append(chapter, '{{ value("gradient_flow", "depths") }}\n')
    assert_refused(built_copy, capsys, before, line, "would print tuple")


@pytest.mark.parametrize("template, marked, derived", [
    ('{{ "{:.2f}".format(v ** 0.5) }}', "2.00", True),
    ('{{ "%.1f" | format(100 * v) }}', "400.0", True),
    ('{{ "{:,}".format(big) }}', "12,345", False),
    ('{{ "{:.1f} points".format(v) }}', None, False),   # more than the number: left plain
    ('{{ "{} {}".format(v, v) }}', None, False),
    ('{{ "{:.1f}".format(4.0) }}', None, False),        # typed by the author: no source to show
])
def test_a_formatted_stored_number_keeps_its_source(template, marked, derived):
    from sitegen.render import numbers
    from sitegen.sandbox import AuthorEnvironment

    values = numbers.sourced({"v": 4, "big": 12345}, "depth_sweep", ("resnet20",))
    out = AuthorEnvironment(formatted=numbers.formatted).from_string(template).render(**values)
    if marked is None:
        assert "result-number" not in out
    else:
        assert numbers.unwrap(out) == marked
        assert out.startswith('`<span class="result-number" data-experiment="depth_sweep" data-path="resnet20/')
        assert ('data-derived="true"' in out) == derived
