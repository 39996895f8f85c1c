"""The one place library code reports progress: a logger and a rich progress bar, on stderr.

Library modules call `get_logger(__name__)` and `make_progress(...)`; they never `print`.
CLI modules own stdout (reports, JSON).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TypeVar

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

stderr_console = Console(stderr=True)
_configured = False


def _configure() -> None:
    global _configured
    if _configured:
        return
    level = os.environ.get("QWEN2_RUST_LOG", "INFO").upper()
    handler: logging.Handler
    if stderr_console.is_terminal:
        handler = RichHandler(console=stderr_console, show_path=False, show_time=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        # Logs and CI: one unwrapped line per message (rich would wrap at 80 columns).
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger("qwen2_rust")
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    _configured = True


def get_logger(name: str) -> logging.Logger:
    _configure()
    return logging.getLogger(name if name.startswith("qwen2_rust") else f"qwen2_rust.{name}")


def progress_enabled() -> bool:
    return stderr_console.is_terminal and os.environ.get("QWEN2_RUST_NO_PROGRESS") != "1"


def make_progress(*extra_columns: object) -> Progress:
    """A rich progress bar on stderr (disabled when stderr is not a terminal)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *extra_columns,  # type: ignore[arg-type]
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr_console,
        disable=not progress_enabled(),
        transient=False,
    )
