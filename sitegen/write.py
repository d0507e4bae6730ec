"""The write phase: the rendered site, {site path: bytes or a file to copy}, into a
fresh staging folder beside site/ (sitegen.publish swaps it in). The only place,
with the caches, where the build writes files.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from . import publish
from .errors import BuildError


def write(site: Path, files: dict[str, bytes | Path], root: Path | None = None) -> Path:
    """A staging folder holding `files`; removed again if writing fails. A file to copy
    must lie, its links followed, inside `root` (the project): nothing outside is published."""
    for rel, data in files.items():
        if root is not None and isinstance(data, Path) and not data.resolve().is_relative_to(root.resolve()):
            raise BuildError(f"{data.name} is a link to {data.resolve()}, outside the project; it would be "
                             f"published as site/{rel}: copy the file into the project instead", data)
    staged = publish.staging_dir(site)
    try:
        for rel, data in sorted(files.items()):
            out = staged / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, Path):
                shutil.copyfile(data, out)
            else:
                out.write_bytes(data)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return staged
