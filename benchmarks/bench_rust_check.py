"""Benchmarks of the Rust checker (not tests): run with `uv run python benchmarks/bench_rust_check.py`.

1. Throughput: checks per second scoring the bundled sample's code answers (reference mode),
   sequential (--jobs 1) vs --jobs 2, same process, same rows. Target: >= 1.7x.
2. Sandbox overhead: one `rustc --emit=metadata` call on the same snippet, bare
   `subprocess.run` vs `sandbox.run_sandboxed` (process group, rlimits, isolation).
   Target: <= 1.3x (median over interleaved repetitions).
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

from qwen2_rust.evaluation.rust_check import RustChecker
from qwen2_rust.evaluation.sandbox import Limits, detect_isolation, run_sandboxed
from qwen2_rust.evaluation.scoring import Scorer, read_jsonl
from qwen2_rust.tasks import TASKS

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "qwen2_rust" / "resources" / "sample"
SNIPPET = """use std::collections::HashMap;
pub fn word_counts(text: &str) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
}
"""


def code_rows(repeat: int) -> list[dict]:
    rows = []
    for split in ("train", "test"):
        path = SAMPLE / f"{split}.jsonl"
        if path.is_file():
            rows += [
                r
                for r in read_jsonl(path)
                if TASKS[r["task_category"]].answer_kind in ("code", "completion", "tests")
            ]
    return rows * repeat


def throughput(repeat: int, rounds: int) -> tuple[float, float, int]:
    """Best-of-``rounds`` checks/s, sequential and --jobs 2 rounds interleaved (the machine
    is shared, so the best round is the least disturbed one)."""
    rows = code_rows(repeat)
    scorer = Scorer(RustChecker())
    scorer.score_rows(rows[:4], jobs=1, reference=True)  # warm up caches
    seq, par = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        scorer.score_rows(rows, jobs=1, reference=True)
        seq.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        scorer.score_rows(rows, jobs=2, reference=True)
        par.append(time.perf_counter() - t0)
    return len(rows) / min(seq), len(rows) / min(par), len(rows)


def overhead(reps: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "unit.rs"
        src.write_text(SNIPPET)
        argv = [
            "rustc",
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--emit=metadata",
            "--error-format=json",
            "-A",
            "warnings",
            "-o",
            "unit.rmeta",
            "unit.rs",
        ]
        bare, boxed = [], []
        limits = Limits(wall_s=20)
        for _ in range(3):  # warm up
            subprocess.run(argv, cwd=tmp, capture_output=True, check=True)
        for _ in range(reps):
            t0 = time.perf_counter()
            subprocess.run(argv, cwd=tmp, capture_output=True, check=True)
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            r = run_sandboxed(argv, tmp, limits)
            boxed.append(time.perf_counter() - t0)
            assert r.returncode == 0, r.stderr
    return statistics.median(bare), statistics.median(boxed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="sample rows repeated (3)")
    parser.add_argument("--reps", type=int, default=40, help="overhead repetitions (40)")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (3)")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}  isolation: {detect_isolation()}")
    seq, par, n = throughput(args.repeat, args.rounds)
    print(
        f"throughput on {n} checks: sequential {seq:.2f} checks/s, --jobs 2 {par:.2f} "
        f"checks/s, speed-up {par / seq:.2f}x (target >= 1.7x)"
    )
    bare, boxed = overhead(args.reps)
    print(
        f"per check: bare rustc {bare * 1000:.1f} ms, sandboxed {boxed * 1000:.1f} ms, "
        f"overhead {boxed / bare:.2f}x (target <= 1.3x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
