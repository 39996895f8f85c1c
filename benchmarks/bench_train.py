"""Training benchmarks on the smoke preset (CPU), each against a baseline from the same run.

1. ``qwen2-train --preset smoke`` end to end (data, model build, train, save, Trackio):
   wall time and peak RSS of the process, against the targets (< 120 s, < 4 GiB).
2. Training throughput, padded batches vs ``--packing`` (same data, same run): trained
   (non-pad) tokens/s for both, their ratio, and the batch token efficiency of each.
3. Data preparation at scale: format + tokenize + mask per 10K rows, against bare batched
   tokenization of the same rendered texts (the floor).

    uv run python benchmarks/bench_train.py [--skip-e2e] [--rows 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
E2E_TARGET_S = 120.0
E2E_TARGET_RSS_GIB = 4.0
PACKING_TARGET_EFFICIENCY = 0.95


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", QWEN2_RUST_NO_PROGRESS="1", TRACKIO_DIR=str(workdir / "trackio"))
    return env


def _train(workdir: Path, name: str, *flags: str) -> tuple[float, dict]:
    start = time.perf_counter()
    result = subprocess.run(
        [
            *(sys.executable, "-m", "qwen2_rust.cli.train", "--preset", "smoke"),
            *("--output-dir", str(workdir / "out"), "--run-name", name, *flags),
        ],
        capture_output=True,
        text=True,
        env=_env(workdir),
        cwd=workdir,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"training {name} failed:\n{result.stderr[-3000:]}")
    record = json.loads((workdir / "out" / name / "run.json").read_text())
    return elapsed, record


def bench_end_to_end(workdir: Path) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    elapsed, record = _train(workdir, "e2e")
    rss_gib = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 2**20
    print("== smoke end to end (qwen2-train --preset smoke)")
    print(
        f"wall {elapsed:.1f} s (target < {E2E_TARGET_S:.0f} s: ratio {elapsed / E2E_TARGET_S:.2f})"
    )
    print(f"peak RSS {rss_gib:.2f} GiB (target < {E2E_TARGET_RSS_GIB} GiB)")
    print(
        f"steps {record['metrics']['global_step']}, train time {record['metrics']['train_time_s']} s"
    )


def bench_packing(workdir: Path) -> None:
    common = ("--no-trackio", "--epochs", "1")
    _, padded = _train(workdir, "padded", *common)
    _, packed = _train(workdir, "packed", "--packing", *common)
    p, k = padded["metrics"], packed["metrics"]
    print("== padded vs --packing (smoke model, bundled sample, 1 epoch, same run)")
    for label, m in (("padded", p), ("packed", k)):
        print(
            f"{label:7s} trained tokens/s {m['tokens_per_s']:8.1f}   batch token efficiency "
            f"{m['batch_token_efficiency']:.1%}   train time {m['train_time_s']} s"
        )
    print(f"packed / padded tokens/s: {k['tokens_per_s'] / p['tokens_per_s']:.2f}x")
    ok = k["batch_token_efficiency"] >= PACKING_TARGET_EFFICIENCY
    print(
        f"packing efficiency target >= {PACKING_TARGET_EFFICIENCY:.0%}: {'met' if ok else 'MISSED'}"
    )


def bench_data_preparation(rows: int) -> None:
    from qwen2_rust.data import load_split
    from qwen2_rust.format_utils import format_for_sft
    from qwen2_rust.modeling import load_smoke_tokenizer
    from qwen2_rust.sft_data import render_conversation, token_lengths, tokenize_conversations

    tokenizer = load_smoke_tokenizer()
    sample = load_split("sample").valid_rows()
    data = [sample[i % len(sample)] for i in range(rows)]

    start = time.perf_counter()
    prepared = list(
        tokenize_conversations(tokenizer, (format_for_sft(r)["messages"] for r in data))
    )
    full = time.perf_counter() - start

    texts = [render_conversation(format_for_sft(r)["messages"])[0] for r in data]
    start = time.perf_counter()
    token_lengths(tokenizer, texts)
    bare = time.perf_counter() - start

    per_10k = full / rows * 10_000
    print(
        f"== data preparation ({rows:,} rows, {sum(len(t.input_ids) for t in prepared):,} tokens)"
    )
    print(f"format + tokenize + mask: {per_10k:.2f} s per 10K rows ({rows / full:,.0f} rows/s)")
    print(f"bare batched tokenization: {bare / rows * 10_000:.2f} s per 10K rows")
    print(
        f"ratio full / bare: {full / bare:.2f}x; 191,008 rows would take {full / rows * 191_008:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-e2e", action="store_true", help="skip the end-to-end run")
    parser.add_argument("--skip-packing", action="store_true", help="skip padded vs packed")
    parser.add_argument("--rows", type=int, default=10_000, help="rows for data preparation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        workdir = Path(tmp)
        if not args.skip_e2e:
            bench_end_to_end(workdir)
        if not args.skip_packing:
            bench_packing(workdir)
    bench_data_preparation(args.rows)


if __name__ == "__main__":
    main()
