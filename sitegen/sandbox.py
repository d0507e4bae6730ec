"""Author text is data: chapters and claims run in Jinja's sandbox.

Chapters come from pull requests as much as from us, so their Jinja must not
reach Python: ImmutableSandboxedEnvironment refuses attributes that start with
an underscore (`__globals__`, `__class__`, `__subclasses__` ...), sandboxes
`str.format`, and forbids mutating lists and dicts. Its globals hold only what
an author needs: the functions the build passes in and `namespace()`.

Author text gets a budget too (sitegen.limits), and exceeding it is an error at
its line: no power past MAX_BITS, no string or list past MAX_ITEMS, no output
past MAX_OUTPUT, no expression nested past what the parser takes, and a time limit.

Code is not Jinja: fenced code blocks and inline code are cut out before Jinja
runs and put back afterwards, so a pasted listing is printed as typed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jinja2
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Namespace

from . import limits
from .errors import BuildError
from .limits import ADDRESS, MAX_ITEMS, budget, deepest_line, render, unclosed_line  # noqa: F401

MAX_BITS = 100_000       # largest integer a power may produce
OURS = tuple(str(Path(__file__).resolve().parent.parent / d) + "/" for d in ("sitegen", "lab", "figures"))
NUMBERS = str(Path(__file__).resolve().parent / "render" / "numbers.py")  # value()'s arithmetic is the template's


def code_filter(value) -> str:
    """`{{ value(...) | code }}`: a computed value shown as inline code."""
    text = format(value)  # the plain digits of a number that prints itself marked (sitegen.render.numbers)
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


class AuthorEnvironment(ImmutableSandboxedEnvironment):
    """`formatted(spec, text, args)`, if given, sees what every format string made of its
    arguments (`"{:.2f}".format(x)`, `"%.1f" | format(x)`) and may return other text: the
    render phase marks a formatted stored number with its source there."""
    intercepted_binops = frozenset({"**", "*", "+", "%"})

    class code_generator_class(CodeGenerator):
        """`a ~ b` is checked for its length like every other way to build a string."""

        def visit_Concat(self, node, frame) -> None:
            self.write("environment.sized(")
            super().visit_Concat(node, frame)
            self.write(")")

    def __init__(self, formatted: Callable[[str, str, tuple], str] | None = None) -> None:
        # `{# #}` comments are off: pandoc uses `{#id}` for attributes
        super().__init__(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                         comment_start_string="{##", comment_end_string="##}")
        self.globals = {"namespace": Namespace}  # not lipsum, cycler, joiner, range, dict
        self.filters["code"] = code_filter
        self.finalize = _printable
        self.formatted = formatted
        if formatted is not None:
            plain = self.filters["format"]
            self.filters["format"] = lambda spec, *a, **kw: formatted(str(spec), plain(spec, *a, **kw), a or tuple(kw.values()))
        for name, pick in (("max", max), ("min", min)):  # numbers measured on seeds: by their mean
            self.filters[name] = _by_mean(pick, self.filters[name])
        self.filters = {name: limits.bounded(name, f) for name, f in self.filters.items()}

    sized = staticmethod(limits.sized)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (jinja's signature)
        name = getattr(__obj, "__name__", "")
        if isinstance(getattr(__obj, "__self__", None), str):
            limits.check_args(name, (__obj.__self__, *args), kwargs)
        return __self.sized(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value):
        fmt = super().wrap_str_format(value)
        if fmt is not None:
            limits.check_widths(str(value.__self__))
        if fmt is None or self.formatted is None:
            return fmt
        spec = str(value.__self__)
        return lambda *a, **kw: self.formatted(spec, fmt(*a, **kw), a + tuple(kw.values()))

    def unsafe_undefined(self, obj, attribute):
        # at once, not as an undefined value that `is defined`, a list or a repr would swallow
        if isinstance(obj, jinja2.Undefined):
            obj._fail_with_undefined_error()  # "'cycler' is undefined" says more
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context, operator, left, right):
        if operator == "**" and _is_int(left) and _is_int(right) and right > 0 \
                and abs(left) > 1 and abs(left).bit_length() * right > MAX_BITS:
            raise SecurityError(f"{left} ** {right} is too large a number")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and _is_int(n) and len(seq) * n > MAX_ITEMS:
                    raise SecurityError(f"repeating {type(seq).__name__} {n} times is too long")
        if operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)) \
                and len(left) + len(right) > MAX_ITEMS:
            raise SecurityError(f"adding these {type(left).__name__}s is too long (over {MAX_ITEMS:,} items)")
        if operator == "%" and isinstance(left, str):
            limits.check_widths(left, right if isinstance(right, tuple) else (right,))
        return self.sized(super().call_binop(context, operator, left, right))


def _printable(value):
    """What `{{ }}` prints: a list or group would come out as Python's repr, a function
    or another object as where it lives in memory."""
    if isinstance(value, jinja2.Undefined):
        return value  # printing it raises the undefined error
    if callable(value) or (not isinstance(value, (str, int, float)) and ADDRESS.search(str(value))):
        raise BuildError(f"{{{{ }}}} would print the Python object {type(value).__name__}, not a value; "
                         f"call it (result(...)) or print one of its values")
    if isinstance(value, (dict, list, tuple)):
        raise BuildError(f"{{{{ }}}} would print {type(value).__name__} {str(value)[:60]} as Python writes it; "
                         f"print one value (x[0], x[\"key\"]) or join them (x | join(\", \"))")
    return value


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# -- code is left alone ---------------------------------------------------------
TOKEN = re.compile("\ue000(\\d+)\n*\ue001")   # private-use characters: no author types them
SCAN = re.compile(r"(?m)^[ \t]*(`{3,}|~{3,})|\{\{|\{%|\{##|`+")
JINJA_CLOSE = {"{{": "}}", "{%": "%}", "{##": "##}"}
PARAGRAPH_END = re.compile(r"\n[ \t]*\n")


@dataclass
class Protected:
    jinja: str          # the text Jinja sees: each code region a token, its newlines kept
    regions: list[str]  # the code regions, as typed
    search: str         # the text with code blanked out, for finding a line

    def restore(self, rendered: str) -> str:
        return TOKEN.sub(lambda m: self.regions[int(m.group(1))], rendered)


def protect_code(text: str, path: Path, first_line: int = 1) -> Protected:
    """Cut fenced code blocks and inline code spans out of `text`, which starts on line
    `first_line` of `path` (Jinja tags are skipped first, so a backtick inside `{{ ... }}`
    starts no code span)."""
    if "\ue000" in text or "\ue001" in text:
        i = min(i for i in (text.find("\ue000"), text.find("\ue001")) if i >= 0)
        raise BuildError("the private-use characters U+E000/U+E001 are reserved; remove them",
                         path, text.count("\n", 0, i) + first_line)
    spans: list[tuple[int, int]] = []
    pos = 0
    while m := SCAN.search(text, pos):
        tok, start = m.group(0), m.start()
        if m.group(1):
            line_end = text.find("\n", m.end())
            line_end = len(text) if line_end < 0 else line_end
            if not (tok.lstrip()[0] == "`" and "`" in text[m.end():line_end]):  # else inline code
                fence = m.group(1)
                close = re.compile(rf"(?m)^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
                c = close.search(text, line_end + 1)  # unclosed: code to the end, as pandoc reads it
                pos = c.end() if c else len(text)
                spans.append((start, pos))
                continue
            tok, start = m.group(1), m.start(1)
        if tok in JINJA_CLOSE:
            close_at = text.find(JINJA_CLOSE[tok], m.end())
            pos = close_at + len(JINJA_CLOSE[tok]) if close_at >= 0 else m.end()
        elif start > 0 and text[start - 1] == "\\":  # \` is a literal backtick
            pos = start + 1
        else:  # a code span ends at the next run of as many backticks, within its paragraph
            blank = PARAGRAPH_END.search(text, m.end())
            c = re.compile(rf"(?<!`){tok}(?!`)").search(text, m.end(), blank.start() if blank else len(text))
            pos = c.end() if c else m.end()
            if c:
                spans.append((start, pos))
    jinja, search, regions, last = [], [], [], 0
    for a, b in spans:
        region = text[a:b]
        jinja += [text[last:a], f"\ue000{len(regions)}" + "\n" * region.count("\n") + "\ue001"]
        search += [text[last:a], re.sub(r"[^\n]", " ", region)]
        regions.append(region)
        last = b
    jinja.append(text[last:])
    search.append(text[last:])
    return Protected("".join(jinja), regions, "".join(search))


# -- errors -------------------------------------------------------------------------
def template_line(exc: BaseException, name: str) -> int | None:
    """The template line an exception was raised at (Jinja maps its frames)."""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.lineno:
        return exc.lineno
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _ours_after_template(exc: BaseException, name: str) -> bool:
    """Did our own code (sitegen, figures) raise it, below the template's frames?"""
    frames, tb = [], exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code is not AuthorEnvironment.call.__code__:  # it only passes the template's call on (a macro's
            frames.append(code.co_filename)  # wrong argument count raises below it)
        tb = tb.tb_next
    last = max((i for i, f in enumerate(frames) if f == name or f == "<template>"), default=-1)
    # the arithmetic of the numbers value() returns (1/0 on one) is the template's own
    return any(f.startswith(OURS) and f != NUMBERS for f in frames[last + 1:])


def author_error(exc: BaseException, name: str, path: Path, first_line: int, what: str = "",
                 source: str = "") -> BuildError | None:
    """The one-line error for an exception out of an author's template or expression (its
    text `source`), or None when it came from our own code (a bug, with its traceback kept)."""
    line = template_line(exc, name) or getattr(exc, "template_line", None)
    if isinstance(exc, jinja2.TemplateSyntaxError) and source and line:
        line = unclosed_line(source, line) or line  # Jinja names where it gave up, not the open tag
    where = first_line + line - 1 if line else first_line
    if isinstance(exc, (RecursionError, MemoryError)):
        where = first_line + deepest_line(source) - 1 if source and not line else where
        return BuildError(f"{what}nested too deeply or too long to evaluate ({type(exc).__name__}); "
                          f"split it into smaller expressions", path, where)
    if isinstance(exc, BuildError):
        return BuildError(what + exc.message, path, where)
    if isinstance(exc, SecurityError):
        return BuildError(f"{what}not allowed in a chapter: {exc}", path, where)
    if isinstance(exc, jinja2.TemplateError):
        return BuildError(f"{what}template error: {exc.message or type(exc).__name__}", path, where)
    if _ours_after_template(exc, name):
        return None
    # the template's own arithmetic or calls (1/0, result() with wrong arguments, a bad format)
    return BuildError(f"{what}{type(exc).__name__}: {exc}", path, where)


def _by_mean(pick: Callable, jinja_filter: Callable) -> Callable:
    """`| max` and `| min` that order a number measured on several seeds by its mean (its
    `sort_key`), not by comparisons that hold only beyond the noise; else Jinja's own."""
    @jinja2.pass_environment
    def filtered(environment, value, case_sensitive=False, attribute=None):
        items = list(value)
        if attribute is None and any(callable(getattr(v, "sort_key", None)) for v in items):
            key = lambda v: v.sort_key() if callable(getattr(v, "sort_key", None)) else v  # noqa: E731
            return pick(items, key=key) if items else environment.undefined("No aggregated item, sequence was empty.")
        return jinja_filter(environment, items, case_sensitive, attribute)
    return filtered
