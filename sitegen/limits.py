"""The budget of author text: how long a value, an output and a rendering may get.

Chapters and claims are the author's, and Jinja can loop and recurse: a few
lines could run for hours or fill the memory. Here every way to build a long
text or list in the sandbox (repetition, `+`, `~`, `%` and `str.format` widths,
padding, replace and join, and every filter's result) is checked against
MAX_ITEMS before or right after it is made, a chapter's output against
MAX_OUTPUT, and rendering runs under a time limit (TIME_BUDGET_S, by SIGALRM
in the main thread). Text that shows where a Python object lives in memory
(`"%r" | format(result)`) is refused too: it is no value and differs per run.
Each raises inside the template, so the error names the author's line.
"""
from __future__ import annotations

import contextlib
import functools
import re
import signal
import threading
from typing import Callable

import jinja2
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import SecurityError

from .errors import BuildError

MAX_ITEMS = 1_000_000    # longest string or sequence an expression may produce
MAX_OUTPUT = 10_000_000  # longest text a chapter's Jinja may print
TIME_BUDGET_S = 30.0     # longest a chapter's Jinja and claims may run (main thread: SIGALRM)
PADDING = {"center", "ljust", "rjust", "zfill", "expandtabs", "indent", "wordwrap", "truncate"}
ADDRESS = re.compile(r"<[^\n]{1,300}? at 0x[0-9a-fA-F]{4,}>")  # how Python shows an object it cannot print
WIDTH = re.compile(r"%[-#0 +]*(\d+|\*)?(?:\.(\d+|\*))?|\{[^{}]*\}")  # a %-spec or a {}-field


def sized(value):
    """`value`, unless it is longer than an expression may make, or text that shows
    where a Python object lives in memory."""
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_ITEMS:
        raise SecurityError(f"a {type(value).__name__} of {len(value):,} items is too long (at most {MAX_ITEMS:,})")
    if isinstance(value, str) and ADDRESS.search(value):
        raise SecurityError(f"this would print a Python object ({ADDRESS.search(value).group(0)[:60]}...), "
                            f"not a value; print a number or a text")
    return value


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def check_widths(spec: str, args: tuple = ()) -> None:
    """A format string (`%` or `{}`) may not pad a value past MAX_ITEMS."""
    for m in WIDTH.finditer(spec):
        numbers = [int(n) for n in re.findall(r"\d+", m.group(0))]
        if "*" in m.group(0):
            numbers += [a for a in args if _is_int(a)]
        if any(n > MAX_ITEMS for n in numbers):
            raise SecurityError(f"the format {m.group(0)[:40]!r} pads past {MAX_ITEMS:,} characters")


def check_args(name: str, args: tuple, kwargs: dict) -> None:
    """Before a filter or a string method runs: would it build too long a value?"""
    if name in PADDING and any(_is_int(a) and a > MAX_ITEMS for a in (*args[1:], *kwargs.values())):
        raise SecurityError(f"{name}() to a width past {MAX_ITEMS:,} is too long")
    if name == "replace" and len(args) >= 3 and all(isinstance(a, str) for a in args[:3]):
        text, old, new = args[:3]
        if (text.count(old) if old else len(text) + 1) * len(new) > MAX_ITEMS:
            raise SecurityError(f"replace() would make a text past {MAX_ITEMS:,} characters")
    if name == "join" and len(args) >= 2 and isinstance(args[0], str) and hasattr(args[1], "__len__"):
        if len(args[0]) * len(args[1]) > MAX_ITEMS:
            raise SecurityError(f"join() would make a text past {MAX_ITEMS:,} characters")


def bounded(name: str, fn: Callable) -> Callable:
    """A filter that checks its arguments and the length of what it returns."""
    @functools.wraps(fn)  # keeps jinja_pass_arg (an environment or context passed first)
    def filtered(*args, **kwargs):
        plain = [a for a in args if not isinstance(a, (jinja2.Environment, Context, EvalContext))]
        if name == "join" and plain:  # value | join(sep): the separator between the items
            sep = plain[1] if len(plain) > 1 else kwargs.get("d", "")
            check_args("join", (str(sep), plain[0] if hasattr(plain[0], "__len__") else ()), {})
        elif name == "format" and plain and isinstance(plain[0], str):
            check_widths(plain[0], tuple(plain[1:]))
        else:
            check_args(name, tuple(plain), kwargs)
        return sized(fn(*args, **kwargs))

    return filtered


class _Expired(BuildError):
    """The time budget ran out (raised in the author's code by SIGALRM)."""


@contextlib.contextmanager
def budget(what: str, seconds: float | None = None):
    """Stop the author's code after `seconds` (TIME_BUDGET_S) with a BuildError raised in it, at
    the line it was running. Only the main thread gets signals: elsewhere there is no limit."""
    seconds = TIME_BUDGET_S if seconds is None else seconds
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise _Expired(f"{what} ran for more than {seconds:g} s (a loop over a long text, or a macro "
                       f"that calls itself?); make it do less")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class TooLong(SecurityError):
    """The output ran past MAX_OUTPUT, while the template was at `template_line`."""

    def __init__(self, message: str, template_line: int | None):
        super().__init__(message)
        self.template_line = template_line


def render(tmpl: jinja2.Template, context: dict) -> str:
    """The template's output, stopped once it is longer than MAX_OUTPUT (Template.render,
    piece by piece: the line printing when it got too long is the suspended generator's)."""
    gen = tmpl.root_render_func(tmpl.new_context(context))
    out, size = [], 0
    try:
        for piece in gen:
            size += len(piece)
            if size > MAX_OUTPUT:
                line = tmpl.get_corresponding_lineno(gen.gi_frame.f_lineno) if gen.gi_frame else None
                raise TooLong(f"the chapter's Jinja prints more than {MAX_OUTPUT:,} characters", line)
            out.append(piece)
    except TooLong:
        raise
    except Exception:
        tmpl.environment.handle_exception()  # re-raised with the template's lines in its traceback
    return "".join(out)


def unclosed_line(source: str, upto: int) -> int | None:
    """The line of the last `{{` or `{%` up to line `upto` that is not closed before the next tag opens."""
    found = None
    for m in re.finditer(r"\{\{|\{%", source):
        line = source.count("\n", 0, m.start()) + 1
        if line > upto:
            break
        close = source.find("}}" if m.group(0) == "{{" else "%}", m.end())
        nxt = re.compile(r"\{\{|\{%").search(source, m.end())
        if close < 0 or (nxt and nxt.start() < close):
            found = line
    return found


def deepest_line(source: str) -> int:
    """The line of the Jinja tag most likely to be too deep or too long for the parser."""
    tags = list(re.finditer(r"\{\{.*?\}\}|\{%.*?%\}", source, re.S)) or [None]
    worst = max(tags, key=lambda m: len(m.group(0)) if m else 0)
    return source.count("\n", 0, worst.start()) + 1 if worst else 1
