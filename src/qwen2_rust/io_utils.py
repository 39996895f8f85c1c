"""Atomic file writes: a crash or a full disk never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qwen2_rust.errors import UserFacingError


@contextlib.contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A temp file next to ``path``, moved over it only if the block finishes.

    On any failure the temp file is removed and ``path`` is left as it was; an OS error
    becomes a one-line `UserFacingError`.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise UserFacingError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise UserFacingError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write_text(path: str | Path, text: str) -> Path:
    target = Path(path)
    with atomic_target(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """Serialise first (so an unserialisable value fails before touching disk), then write."""
    return atomic_write_text(
        path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    )


def json_lines(text: str) -> Iterator[dict[str, Any]]:
    """The JSON objects of the lines of ``text`` that hold one (tool output mixes in others)."""
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value
