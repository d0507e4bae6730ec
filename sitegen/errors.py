"""One error type for everything an author can get wrong.

A BuildError prints as a single line, `file:line: what is wrong`, so an
editor can jump to it; the CLI prints it and exits 1, never a traceback.
Anything else that escapes the build is a bug of ours and keeps its traceback.

The figures package cannot import this module (imports point from sitegen to
figures), so its own author errors (a config that does not fit, a missing data
set, a training run that diverged) are turned into BuildErrors, by class, where
sitegen calls into it: `authored()`.
"""
from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path

# the lab's author errors, (module, class): a module not imported yet raised none of them
MAX_MESSAGE = 2000  # characters of a message, at most
FIGURES_ERRORS = (("lab.config", "ConfigError"), ("lab.cifar", "DataError"), ("lab.train", "Divergence"))


class BuildError(Exception):
    def __init__(self, message: str, file: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        # One line, whatever the underlying tool printed, and short: a value quoted in it
        # may be huge (the middle goes, so that the hint at the end stays)
        text = " ".join(self.message.split())
        if len(text) > MAX_MESSAGE:
            text = text[:MAX_MESSAGE // 2] + " [...] " + text[-MAX_MESSAGE // 4:]
        return where + text


def figures_error_types() -> tuple[type, ...]:
    """The classes of the lab's author errors that this process has imported."""
    found = (getattr(sys.modules.get(module), name, None) for module, name in FIGURES_ERRORS)
    return tuple(t for t in found if isinstance(t, type))


@contextlib.contextmanager
def authored():
    """Re-raise the lab's author errors as BuildErrors; every other exception passes untouched."""
    try:
        yield
    except BuildError:
        raise
    except Exception as e:
        if isinstance(e, figures_error_types()):
            raise BuildError(str(e).strip("'\"")) from None
        raise


def find_line(text: str, needle: str | re.Pattern, start_line: int = 1, nth: int = 1) -> int | None:
    """1-based line of the nth match of `needle` (text or regex) in `text`, offset by start_line - 1."""
    pattern = needle if isinstance(needle, re.Pattern) else re.compile(re.escape(needle))
    for i, m in enumerate(pattern.finditer(text), 1):
        if i == nth:
            return text.count("\n", 0, m.start()) + start_line
    return None
