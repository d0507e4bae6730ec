"""One error type for everything an author can get wrong.

A BuildError prints as a single line, `file:line: what is wrong`, so an
editor can jump to it; the CLI prints it and exits non-zero, never a traceback.
"""
from __future__ import annotations

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


def line_of(text: str, needle: str, start_line: int = 1) -> int | None:
    """1-based line of the first `needle` in `text` (offset by start_line - 1)."""
    idx = text.find(needle)
    if idx < 0:
        return None
    return text.count("\n", 0, idx) + start_line
