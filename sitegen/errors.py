"""One error type for everything an author can get wrong.

A BuildError prints as a single line, `file:line: what is wrong`, so an
editor can jump to it; the CLI prints it and exits non-zero, never a traceback.
"""
from __future__ import annotations

import re
from pathlib import Path


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
        # One line, whatever the underlying tool printed.
        return where + " ".join(self.message.split())


def find_line(text: str, needle: str | re.Pattern, start_line: int = 1, nth: int = 1) -> int | None:
    """1-based line of the nth match of `needle` (text or regex) in `text`, offset by start_line - 1."""
    pattern = needle if isinstance(needle, re.Pattern) else re.compile(re.escape(needle))
    for i, m in enumerate(pattern.finditer(text), 1):
        if i == nth:
            return text.count("\n", 0, m.start()) + start_line
    return None


def line_of(text: str, needle: str, start_line: int = 1) -> int | None:
    """1-based line of the first `needle` in `text` (offset by start_line - 1)."""
    return find_line(text, needle, start_line)
