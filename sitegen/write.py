"""The write phase: the rendered site, {site path: bytes or a file to copy}, into a
fresh staging folder beside site/ (sitegen.publish swaps it in). The only place,
with the caches, where the build writes files.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from . import publish


def write(site: Path, files: dict[str, bytes | Path]) -> Path:
    """A staging folder holding `files`; removed again if writing fails."""
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
