"""Benchmark of checks against real crates (not a test):
`uv run python benchmarks/bench_crates.py [--source DIR] [--cache DIR] [--reps N]`.

1. Environment build: `CrateEnvironment.ensure` of tokio, futures, serde(+derive), serde_json,
   bytes, async-stream from an offline directory source (default: Debian's registry) into a
   fresh cache (or --cache, to time a warm reuse). Reported separately: it happens once.
2. Warm check: `RustChecker.check_code` of a tokio + serde_json snippet (inference, sandbox,
   rustc with --extern) vs a bare `rustc --emit=metadata` (plain subprocess) of a std-only
   snippet of similar size, interleaved, same run. Target: median ratio <= 2.0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QWEN2_RUST_NO_PROGRESS", "1")

from qwen2_rust.evaluation.crates import DEBIAN_REGISTRY, CrateEnvironment, CrateSource
from qwen2_rust.evaluation.rust_check import COMPILES, RustChecker

CRATES = ("async_stream", "bytes", "futures", "serde", "serde_json", "tokio")
WITH_DEPS = """use tokio::sync::mpsc;
pub async fn collect(n: u64) -> String {
    let (tx, mut rx) = mpsc::channel(8);
    tokio::spawn(async move {
        for i in 0..n { let _ = tx.send(serde_json::json!({"i": i})).await; }
    });
    let mut out = Vec::new();
    while let Some(v) = rx.recv().await { out.push(v); }
    serde_json::to_string(&out).unwrap_or_default()
}
"""
STD_ONLY = """use std::sync::mpsc;
pub fn collect(n: u64) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for i in 0..n { let _ = tx.send(format!("{{\\"i\\": {i}}}")); }
    });
    let mut out = Vec::new();
    while let Ok(v) = rx.recv() { out.push(v); }
    format!("[{}]", out.join(","))
}
"""


def bare_rustc(workdir: Path) -> float:
    src = workdir / "std.rs"
    src.write_text(STD_ONLY)
    argv = ["rustc", "--edition", "2021", "--crate-type", "lib", "--emit=metadata"]
    argv += ["-A", "warnings", "-o", str(workdir / "std.rmeta"), str(src)]
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", default=str(DEBIAN_REGISTRY))
    p.add_argument("--cache", default=None, help="crate cache (default: a fresh temp dir)")
    p.add_argument("--reps", type=int, default=20)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(args.cache) if args.cache else Path(tmp) / "crates"
        env = CrateEnvironment(CrateSource.from_directory(args.source), cache_dir=cache)
        start = time.perf_counter()
        env.ensure(CRATES)
        build_s = time.perf_counter() - start
        info = env.summary()
        print(f"environment: {'built' if env.built_now else 'reused'} in {build_s:.1f} s")
        print("  " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
        if info["failed"]:
            print(f"  failed: {info['failed']}")
        checker = RustChecker(crates=env)
        first = checker.check_code(WITH_DEPS)
        if first.status != COMPILES:
            print(f"snippet with deps did not compile: {first.status} {first.messages}")
            return 1
        bare_rustc(Path(tmp))  # warm the page cache for both
        dep_times, std_times = [], []
        for _ in range(args.reps):
            start = time.perf_counter()
            checker.check_code(WITH_DEPS)
            dep_times.append(time.perf_counter() - start)
            std_times.append(bare_rustc(Path(tmp)))
        dep, std = statistics.median(dep_times), statistics.median(std_times)
        print(
            f"warm check with deps (sandbox + --extern): median {dep * 1000:.0f} ms; "
            f"bare rustc std-only: median {std * 1000:.0f} ms; ratio {dep / std:.2f} "
            f"(target <= 2.0) over {args.reps} interleaved reps, isolation {checker.isolation}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
