"""Shared by the tests that need real crates: one offline crate environment per test run.

The crates come from Debian's ``librust-*-dev`` packages (``/usr/share/cargo/registry``,
installed by ``.ci/run``); without them, or without cargo, those tests skip with the reason.
The environment lives in a per-user temporary cache (never the user's own cache) and every
test asks for the same crate set, so it is built once and reused by later runs.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path

from qwen2_rust.evaluation.crates import DEBIAN_REGISTRY, CrateEnvironment, CrateSource

CI_CRATES = ("async_stream", "bytes", "futures", "serde", "serde_json", "tokio")
DEBIAN_PACKAGES = (
    "librust-tokio-dev librust-futures-dev librust-serde-json-dev librust-bytes-dev "
    "librust-async-stream-dev"
)


def cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"qwen2-rust-tests-{os.getuid()}" / "crates"


@functools.cache
def skip_reason() -> str | None:
    """Why the crate tests cannot run here (None: they can)."""
    if shutil.which("cargo") is None or shutil.which("rustc") is None:
        return "cargo/rustc not installed"
    if not any(DEBIAN_REGISTRY.glob("*/Cargo.toml")):
        return f"no Debian crate packages in {DEBIAN_REGISTRY} (apt-get install {DEBIAN_PACKAGES})"
    index = CrateSource.from_directory(DEBIAN_REGISTRY).index(cache_dir())
    missing = [c for c in CI_CRATES if c not in index]
    if missing:
        return f"Debian crate packages missing for {missing} (apt-get install {DEBIAN_PACKAGES})"
    return None


@functools.cache
def environment() -> CrateEnvironment:
    """The offline environment with `CI_CRATES` built (once per process; cached on disk)."""
    env = CrateEnvironment(CrateSource.from_directory(DEBIAN_REGISTRY), cache_dir=cache_dir())
    env.ensure(CI_CRATES)
    return env
