"""Reading what authors type in YAML: chapter front matter and site.yml.

PyYAML's safe loader quietly keeps the last of two equal keys and forgets where
each value was written; ours refuses duplicates and remembers the line of every
top-level key and of every item under it, so each error can name its line.
Text is normalised first: a BOM and CRLF or CR line endings are accepted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import BuildError

FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*\n", re.S)
ALLOWED_META = {"title", "slug", "description", "claims", "draft", "numbered"}
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
MAX_SIZE = 100_000  # values a YAML text may stand for, its aliases expanded


def normalise(text: str) -> str:
    """Drop a byte-order mark and use \\n line endings (a line stays a line)."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def decode(raw: bytes, path: Path) -> str:
    try:
        return normalise(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise BuildError(f"not valid UTF-8 (byte {raw[e.start]:#x}); save the file as UTF-8",
                         path, raw.count(b"\n", 0, e.start) + 1) from None


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects a key written twice in one mapping."""

    line_offset = 1  # the file line of the text's first line

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (also on line {first + self.line_offset})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


@dataclass
class Yaml:
    data: object
    key_lines: dict = field(default_factory=dict)    # top-level key -> line in the file
    item_lines: dict = field(default_factory=dict)   # top-level key -> [line of each list item]
    sub_lines: dict = field(default_factory=dict)    # top-level key -> {key of its mapping: line}

    def line_of(self, path: tuple) -> int | None:
        """The line of a key, top-level (`("profile",)`) or one level down (`("compute", "jobs")`)."""
        if len(path) > 1 and path[1] in self.sub_lines.get(path[0], {}):
            return self.sub_lines[path[0]][path[1]]
        return self.key_lines.get(path[0]) if path else None


def load(text: str, path: Path, first_line: int = 1, what: str = "YAML") -> Yaml:
    """Parse `text`, which starts on line `first_line` of `path`."""
    loader = None
    try:
        loader = _Loader(text)  # its reader already refuses control characters
        loader.line_offset = first_line
        node = loader.get_single_node()
        if node is not None:
            _check_size(node, path, first_line, what)
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise BuildError(f"invalid {what}: nested too deeply", path, first_line) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        if isinstance(e, yaml.reader.ReaderError):
            problem, line = f"{e.reason} character {e.character!r}", text.count("\n", 0, e.position) + first_line
        else:
            problem, line = str(getattr(e, "problem", None) or e), mark.line + first_line if mark else first_line
        raise BuildError(f"invalid {what}: {problem}", path, line) from None
    finally:
        if loader is not None:
            loader.dispose()
    out = Yaml(data)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            out.key_lines[key] = key_node.start_mark.line + first_line
            if isinstance(value_node, yaml.SequenceNode):
                out.item_lines[key] = [item.start_mark.line + first_line for item in value_node.value]
            elif isinstance(value_node, yaml.MappingNode):
                out.sub_lines[key] = {k.value: k.start_mark.line + first_line
                                      for k, _ in value_node.value if isinstance(k, yaml.ScalarNode)}
    return out


def _size(node, memo: dict) -> int:
    """How many values `node` stands for with its aliases expanded (a scalar: by its length)."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # an alias of a node being measured (a cycle) counts once
    if isinstance(node, yaml.SequenceNode):
        n = 1 + sum(_size(item, memo) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        n = 1 + sum(_size(k, memo) + _size(v, memo) for k, v in node.value)
    else:
        n = 1 + len(str(node.value)) // 64
    memo[id(node)] = n
    return n


def _check_size(node, path: Path, first_line: int, what: str) -> None:
    """Aliases may not expand a short text into a huge value (a "billion laughs")."""
    memo: dict = {}
    if _size(node, memo) <= MAX_SIZE:
        return
    pairs = node.value if isinstance(node, yaml.MappingNode) else []
    big = max(pairs, key=lambda kv: memo.get(id(kv[1]), 0), default=None)
    line = big[0].start_mark.line + first_line if big else first_line
    raise BuildError(f"invalid {what}: its aliases expand to more than {MAX_SIZE:,} values (an alias bomb?); "
                     f"write the values out", path, line)


def split_chapter(text: str, path: Path) -> tuple[dict, str, int, Yaml]:
    """(meta, body, line of the body's first line, where each key was written)."""
    m = FRONT.match(text)
    if not m:
        raise BuildError("missing YAML front matter (a block between --- lines with at least `title:`)", path, 1)
    doc = load(m.group(1) or "", path, 2, "YAML front matter")
    meta = doc.data if doc.data is not None else {}
    if not isinstance(meta, dict):
        raise BuildError("front matter must be a mapping such as `title: ...`", path, 2)
    check_meta(meta, doc, path)
    return meta, text[m.end():], text.count("\n", 0, m.end()) + 1, doc


def check_meta(meta: dict, doc: Yaml, path: Path) -> None:
    """Each key allowed, each value of the type it must have."""
    def where(key) -> int:
        return doc.key_lines.get(key, 2)

    for key in meta:
        if not isinstance(key, str) or key not in ALLOWED_META:
            raise BuildError(f"unknown front matter key {key!r}; allowed: {', '.join(sorted(ALLOWED_META))}",
                             path, where(key if isinstance(key, str) else str(key)))
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        raise BuildError("front matter needs a `title:` (text)", path, where("title"))
    for key in ("description", "slug"):
        if key in meta and not isinstance(meta[key], str):
            raise BuildError(f"`{key}:` must be text, not {type(meta[key]).__name__} {meta[key]!r}", path, where(key))
    if "slug" in meta and not SLUG.match(meta["slug"]):
        raise BuildError(f"`slug:` {meta['slug']!r} must be letters, digits, - and _ (it becomes the chapter's anchor)",
                         path, where("slug"))
    for key in ("draft", "numbered"):  # numbered: false is front or back matter ("About"), outside the count
        if key in meta and not isinstance(meta[key], bool):
            raise BuildError(f"`{key}:` must be true or false, not {meta[key]!r}", path, where(key))
    claims = meta.get("claims")
    if claims is None:
        return
    if not isinstance(claims, list):
        raise BuildError(f"`claims:` must be a list of expressions (one `- ...` line each), not {claims!r}",
                         path, where("claims"))
    lines = doc.item_lines.get("claims", [])
    for i, claim in enumerate(claims):
        if not isinstance(claim, str) or not claim.strip():
            raise BuildError(f"each claim must be an expression such as `result(...) > 1`, not {claim!r}",
                             path, lines[i] if i < len(lines) else where("claims"))
