"""Benchmark of `qwen2-validate` (not a test): `uv run python benchmarks/bench_validate.py`.

Builds a synthetic Strandset dataset from the bundled sample (``--rows``, default 191,008 =
the real train split) with the real category mix (`tasks.STRANDSET_TRAIN_COUNTS`), every
row perturbed so no two rows are equal, written in the raw format (``input_data`` a Python
literal, ``output_data`` JSON) to a temporary JSONL or parquet file. Then, in one run:

(a) bare tokenization: the already formatted and rendered texts through the tokenizer
    backend's ``encode_batch_fast`` (batches of 1,024): the floor;
(b) end to end: ``qwen2-validate --data FILE --json`` (load + check + format + render +
    tokenize + report) in a child process, timed from before its imports to after its
    report is written; its peak RSS from ``getrusage(RUSAGE_CHILDREN).ru_maxrss``;
(c) naive row by row: per row ``parse_json_field`` + ``format_for_sft`` +
    ``tokenizer.apply_chat_template(messages, tokenize=True)``, on a seeded subset
    (``--naive-rows``), rows/s extrapolated.

Targets: (b) >= 0.7x (a) rows/s; (b) >= 2x (c) rows/s; (b) peak memory < 3 GB.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QWEN2_RUST_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qwen2_rust.data import load_split
from qwen2_rust.format_utils import format_for_sft, parse_json_field
from qwen2_rust.tasks import STRANDSET_TRAIN_COUNTS, TASKS

TARGET_VS_TOKENIZER = 0.7
TARGET_VS_NAIVE = 2.0
TARGET_PEAK_BYTES = 3 * 1024**3
WORDS = ("alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "iota")

CHILD = """
import sys, time, resource
t0 = time.perf_counter()
from qwen2_rust.cli.validate import main
with open(sys.argv[2], "w") as out:
    sys.stdout = out
    rc = main(["--data", sys.argv[1], "--json"])
    sys.stdout = sys.__stdout__
print(f"{rc} {time.perf_counter() - t0:.3f}")
"""


def scaled_counts(rows: int) -> dict[str, int]:
    """The real category mix scaled to ``rows`` (largest remainder; exact at 191,008)."""
    total = sum(STRANDSET_TRAIN_COUNTS.values())
    shares = {c: rows * n / total for c, n in STRANDSET_TRAIN_COUNTS.items()}
    counts = {c: int(s) for c, s in shares.items()}
    for c in sorted(shares, key=lambda c: counts[c] - shares[c])[: rows - sum(counts.values())]:
        counts[c] += 1
    return counts


def _perturb_text(text: str, rng: random.Random, serial: int, rust: bool) -> str:
    tag = f"{rng.choice(WORDS)}_{serial}"
    if rust:
        return f"// variant {tag}\n{text}" if rng.random() < 0.5 else f"{text}\n// {tag}"
    return f"{text} ({tag})"


def _perturb(fields: dict[str, Any], specs: tuple, rng: random.Random, serial: int) -> None:
    for spec in specs:
        value = fields.get(spec.name)
        if isinstance(value, str) and value.strip() and value != "None":
            fields[spec.name] = _perturb_text(value, rng, serial, spec.kind == "rust")
        elif isinstance(value, list) and value:
            fields[spec.name] = [*value[:-1], _perturb_text(value[-1], rng, serial, True)]


def build_rows(rows: int, seed: int = 0) -> list[dict[str, Any]]:
    """``rows`` raw rows with the real category mix, each a perturbed copy of a sample row."""
    sample = [r for r in load_split("sample", "train").rows if r is not None]
    by_category: dict[str, list[tuple[dict, dict, dict]]] = {}
    for row in sample:
        parsed = (row, ast.literal_eval(row["input_data"]), json.loads(row["output_data"]))
        by_category.setdefault(row["task_category"], []).append(parsed)
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    serial = 0
    for category, count in scaled_counts(rows).items():
        spec = TASKS[category]
        pool = by_category[category]
        for i in range(count):
            base, inputs, outputs = pool[i % len(pool)]
            inputs, outputs = dict(inputs), dict(outputs)
            _perturb(inputs, spec.inputs, rng, serial)
            _perturb(outputs, spec.outputs, rng, serial)
            serial += 1
            out.append(
                {
                    "crate_name": base["crate_name"],
                    "input_data": repr(inputs),  # a Python literal, as in Strandset
                    "output_data": json.dumps(outputs),
                    "task_category": category,
                    "test": base.get("test", ""),
                }
            )
    rng.shuffle(out)
    return out


def write_rows(rows: list[dict[str, Any]], directory: Path, fmt: str) -> Path:
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = directory / "train.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
        return path
    path = directory / "train.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return path


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_end_to_end(path: Path, report_path: Path) -> tuple[int, float, float, int]:
    """(exit code, seconds, CPU seconds, peak RSS bytes) of the CLI in a fresh child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu = _cpu(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(report_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu
    if proc.returncode != 0:
        sys.exit(f"end-to-end run failed:\n{proc.stderr}")
    rc, seconds = proc.stdout.strip().splitlines()[-1].split()
    if peak_kib <= before:
        print("warning: an earlier child had a larger peak RSS", file=sys.stderr)
    return int(rc), float(seconds), cpu, peak_kib * 1024


def rendered_texts(path: Path, tokenizer: Any) -> list[str]:
    from qwen2_rust.sft_data import render_conversation
    from qwen2_rust.validation import check_rows

    checked = check_rows(load_split(str(path)))
    return [render_conversation(m)[0] for m in checked.conversations]


def bare_tokenization(
    tokenizer: Any, texts: list[str], batch: int = 1024
) -> tuple[float, float, int]:
    """(seconds, CPU seconds, tokens) of the fastest batched encode (no offsets) over ``texts``."""
    backend = tokenizer.backend_tokenizer
    encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
    tokens = 0
    cpu = _cpu(resource.RUSAGE_SELF)
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        tokens += sum(len(e) for e in encode(texts[i : i + batch], False))
    return time.perf_counter() - start, _cpu(resource.RUSAGE_SELF) - cpu, tokens


def naive(rows: list[dict[str, Any]], tokenizer: Any) -> float:
    start = time.perf_counter()
    for row in rows:
        parse_json_field(row["input_data"], "input_data")
        parse_json_field(row["output_data"], "output_data")
        messages = format_for_sft(row)["messages"]
        tokenizer.apply_chat_template(messages, tokenize=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=191_008)
    parser.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl")
    parser.add_argument("--naive-rows", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="alternate (b) and (a) this many times and keep the best of each "
        "(the machine is shared; the best run is the least disturbed)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        t = time.perf_counter()
        rows = build_rows(args.rows, args.seed)
        path = write_rows(rows, Path(tmp), args.format)
        print(
            f"dataset: {len(rows):,} rows, {path.stat().st_size / 1e6:,.0f} MB {args.format} "
            f"(built in {time.perf_counter() - t:.1f} s)"
        )
        from qwen2_rust.modeling import load_tokenizer

        tokenizer = None
        texts: list[str] = []
        e2e_runs: list[tuple[float, float]] = []
        tok_runs: list[tuple[float, float]] = []
        peak = 0
        for round_ in range(args.repeat):
            # (b) in a fresh child; the parent holds no tokenizer threads the first time.
            rc, e2e_s, e2e_cpu, peak = run_end_to_end(path, Path(tmp) / "report.json")
            e2e_runs.append((e2e_s, e2e_cpu))
            report = json.loads((Path(tmp) / "report.json").read_text())
            if rc != 0 or report["valid_rows"] != len(rows):
                print(f"warning: exit {rc}, {report['invalid_rows']} invalid", file=sys.stderr)
            if tokenizer is None:
                tokenizer = load_tokenizer("smoke")
                texts = rendered_texts(path, tokenizer)
            tok_s, tok_cpu, tokens = bare_tokenization(tokenizer, texts)
            tok_runs.append((tok_s, tok_cpu))
            print(
                f"round {round_ + 1}: (b) {e2e_s:6.1f} s ({e2e_cpu:6.1f} CPU s), "
                f"(a) {tok_s:6.1f} s ({tok_cpu:6.1f} CPU s)"
            )
        del texts

        subset = random.Random(args.seed).sample(rows, min(args.naive_rows, len(rows)))
        naive_s = naive(subset, tokenizer)

    e2e_s = min(w for w, _ in e2e_runs)
    tok_s = min(w for w, _ in tok_runs)
    e2e_cpu = min(c for _, c in e2e_runs)
    tok_cpu = min(c for _, c in tok_runs)
    e2e_rps = len(rows) / e2e_s
    tok_rps = len(rows) / tok_s
    naive_rps = len(subset) / naive_s
    lengths = report["token_lengths"]
    print(
        f"tokens: {tokens:,} ({tokens / len(rows):,.0f}/row); p50 {lengths['p50']}, "
        f"p95 {lengths['p95']}, p99 {lengths['p99']}, max {lengths['max']}"
    )
    print(f"(a) bare batched tokenization : {tok_rps:>9,.0f} rows/s ({tok_s:6.1f} s)")
    print(f"(b) qwen2-validate end to end : {e2e_rps:>9,.0f} rows/s ({e2e_s:6.1f} s, exit {rc})")
    print(
        f"(c) naive row by row          : {naive_rps:>9,.0f} rows/s "
        f"({naive_s:6.1f} s for {len(subset):,} rows)"
    )
    checks = [
        ("end to end / tokenization", e2e_rps / tok_rps, TARGET_VS_TOKENIZER),
        ("end to end / naive", e2e_rps / naive_rps, TARGET_VS_NAIVE),
    ]
    for name, value, target in checks:
        verdict = "ok" if value >= target else "MISSED"
        print(f"{name:<27}: {value:5.2f}x (target >= {target}x) {verdict}")
    print(
        f"{'(same, in CPU seconds)':<27}: {tok_cpu / e2e_cpu:5.2f}x "
        f"({tok_cpu:.1f} CPU s tokenizer / {e2e_cpu:.1f} CPU s end to end; less load-sensitive)"
    )
    verdict = "ok" if peak < TARGET_PEAK_BYTES else "MISSED"
    print(f"{'peak memory (b)':<27}: {peak / 1024**3:5.2f} GB (target < 3 GB) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
