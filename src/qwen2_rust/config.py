"""The training configuration: one dataclass that flags, YAML files and presets all fill.

Precedence (lowest to highest): field defaults < preset < YAML file (``--config``) < flags,
as TRL's ``TrlParser`` does. Field metadata carries the flag names and help text, so the
CLI and the YAML schema cannot drift apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qwen2_rust.errors import UserFacingError
from qwen2_rust.modeling import LORA_TARGET_MODULES, PRESETS


def _opt(help_text: str, *flags: str, **kwargs: Any) -> dict[str, Any]:
    return {"help": help_text, "flags": flags, **kwargs}


@dataclass
class TrainConfig:
    preset: str = field(
        default="qwen2-7b",
        metadata=_opt(
            "qwen2-7b: Qwen2-7B-Instruct on Strandset (GPU). smoke: tiny random Qwen2 with the "
            "real Qwen tokenizer on the bundled sample; runs offline on a CPU in about a minute.",
            choices=tuple(PRESETS),
        ),
    )
    num_examples: int = field(
        default=1000,
        metadata=_opt(
            "examples to sample (seeded, stratified by category)", "-n", "--num-examples"
        ),
    )
    seed: int = field(default=42, metadata=_opt("seed for sampling, splitting and training"))
    data: str | None = field(
        default=None,
        metadata=_opt(
            "hub dataset id, local .parquet/.jsonl/.json file or directory, or 'sample' "
            "(default: the preset's: Fortytwo-Network/Strandset-Rust-v1, or 'sample' for smoke)"
        ),
    )
    split: str = field(default="train", metadata=_opt("dataset split to train on"))
    model: str | None = field(
        default=None,
        metadata=_opt("base model id or local dir (default: the preset's, Qwen/Qwen2-7B-Instruct)"),
    )
    output_dir: str = field(default="outputs", metadata=_opt("where run directories are created"))
    run_name: str | None = field(
        default=None,
        metadata=_opt("run directory and Trackio run name (default sft-<n>-<UTC time>)"),
    )
    epochs: float = field(
        default=2.0,
        metadata=_opt("passes over the sampled data; 2 suits ~1K examples with LoRA"),
    )
    max_steps: int = field(
        default=-1, metadata=_opt("stop after this many steps (-1: use --epochs)")
    )
    learning_rate: float = field(
        default=2e-4,
        metadata=_opt(
            "peak learning rate; 2e-4 is the usual LoRA rate (full fine-tuning uses ~2e-5)"
        ),
    )
    batch_size: int = field(default=4, metadata=_opt("per-device micro-batch size"))
    grad_accum: int = field(
        default=4,
        metadata=_opt("gradient accumulation steps (effective batch = batch x accum x GPUs)"),
    )
    max_length: int = field(
        default=2048,
        metadata=_opt("max tokens per example; ~99.6%% of Strandset fits in 2048"),
    )
    overlong: str = field(
        default="drop",
        metadata=_opt(
            "what to do with examples longer than --max-length: drop them (default: a cut answer "
            "would lose its stop token) or truncate them; either way they are counted and reported",
            choices=("drop", "truncate"),
        ),
    )
    packing: bool = field(
        default=False,
        metadata=_opt(
            "pack examples into --max-length rows without cross-example attention "
            "(padding-free, position ids restart per example)"
        ),
    )
    eval_fraction: float = field(
        default=0.1, metadata=_opt("share of the sample held out for eval loss (stratified)")
    )
    max_eval_examples: int = field(
        default=500,
        metadata=_opt("cap on held-out examples, so evaluation stays cheap at any -n"),
    )
    lora_r: int = field(default=16, metadata=_opt("LoRA rank"))
    lora_alpha: int = field(default=32, metadata=_opt("LoRA alpha (scale = alpha / r)"))
    lora_dropout: float = field(default=0.05, metadata=_opt("LoRA dropout"))
    target_modules: list[str] = field(
        default_factory=lambda: list(LORA_TARGET_MODULES),
        metadata=_opt(
            "comma-separated modules to adapt (default: all attention and MLP projections; "
            "PEFT's Qwen2 default would be q,v only)"
        ),
    )
    warmup_ratio: float = field(default=0.03, metadata=_opt("share of steps for LR warm-up"))
    lr_scheduler: str = field(default="cosine", metadata=_opt("learning-rate schedule"))
    logging_steps: int = field(default=10, metadata=_opt("log every N optimizer steps"))
    save_steps: int = field(default=50, metadata=_opt("checkpoint every N optimizer steps"))
    save_total_limit: int = field(default=2, metadata=_opt("checkpoints to keep"))
    gradient_checkpointing: str = field(
        default="auto",
        metadata=_opt(
            "trade compute for memory: auto = on for GPU, off on CPU", choices=("auto", "on", "off")
        ),
    )
    precision: str = field(
        default="auto",
        metadata=_opt(
            "auto = bf16 where the GPU supports it, else fp32",
            choices=("auto", "bf16", "fp16", "fp32"),
        ),
    )
    load_in_4bit: bool = field(
        default=False,
        metadata=_opt(
            "QLoRA: load the base model in 4-bit NF4 (bitsandbytes, CUDA only; "
            "install with the 'qlora' extra) so 7B fits a 16 GB GPU"
        ),
    )
    resume: str | None = field(
        default=None,
        metadata=_opt(
            "continue an interrupted run: alone, the run's latest checkpoint (of --run-name, or "
            "the newest run); or a checkpoint/run directory",
            nargs="?",
            const="latest",
        ),
    )
    push_to_hub: bool = field(
        default=False, metadata=_opt("upload the adapter (token with write access checked first)")
    )
    hub_model_id: str | None = field(
        default=None, metadata=_opt("repo for --push-to-hub (default <user>/<run-name>)")
    )
    trackio_project: str = field(default="qwen2-rust", metadata=_opt("Trackio project"))
    trackio_space: str | None = field(
        default=None, metadata=_opt("also sync metrics to this Trackio Space (USER/SPACE)")
    )
    no_trackio: bool = field(default=False, metadata=_opt("do not log to Trackio"))
    preview: int = field(
        default=0,
        metadata=_opt("print K formatted rows token by token (trained vs masked), then exit"),
    )
    estimate_memory: bool = field(
        default=False, metadata=_opt("print the expected peak GPU memory, then exit")
    )

    def resolved_model(self) -> str:
        return self.model or PRESETS[self.preset].model

    def resolved_data(self) -> str:
        return self.data or PRESETS[self.preset].data

    def default_run_name(self, now: dt.datetime | None = None) -> str:
        now = now or dt.datetime.now(dt.UTC)
        return f"sft-{self.num_examples}-{now.strftime('%Y%m%d-%H%M%S')}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Settings a preset changes from the field defaults (flags and YAML still win).
PRESET_OVERRIDES: dict[str, dict[str, Any]] = {
    "qwen2-7b": {},
    "smoke": {
        "epochs": 1.0,
        "batch_size": 4,
        "grad_accum": 1,
        "logging_steps": 1,
        "save_steps": 10,
        "learning_rate": 1e-3,
        "eval_fraction": 0.1,
    },
}

_NOT_FLAGS = {"config"}


def _fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(TrainConfig) if f.name not in _NOT_FLAGS]


def _flag_names(f: dataclasses.Field) -> list[str]:
    return list(f.metadata.get("flags") or ()) or [f"--{f.name.replace('_', '-')}"]


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per `TrainConfig` field; defaults are suppressed so only given flags appear."""
    parser.add_argument(
        "--config",
        metavar="FILE.yaml",
        help="read options from a YAML file (keys as the long flag names, - or _); flags override it",
    )
    for f in _fields():
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS}
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        help_text = f.metadata.get("help", "")
        if f.type in ("bool", bool):
            kwargs["action"] = "store_true"
        else:
            if "choices" in f.metadata:
                kwargs["choices"] = f.metadata["choices"]
            if "nargs" in f.metadata:
                kwargs["nargs"] = f.metadata["nargs"]
                kwargs["const"] = f.metadata["const"]
            if f.name == "target_modules":
                kwargs["type"] = _comma_list
            elif f.type in ("int", int):
                kwargs["type"] = int
            elif f.type in ("float", float):
                kwargs["type"] = float
            if default not in (None, False):
                shown = ",".join(default) if isinstance(default, list) else default
                help_text = f"{help_text} (default: {shown})"
        parser.add_argument(*_flag_names(f), help=help_text, **kwargs)


def _comma_list(value: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def load_yaml(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise UserFacingError(f"config file not found: {path}")
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserFacingError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(loaded, dict):
        raise UserFacingError(f"{path}: expected a mapping of option: value")
    known = {f.name for f in _fields()}
    values: dict[str, Any] = {}
    for key, value in loaded.items():
        name = str(key).replace("-", "_")
        if name not in known:
            raise UserFacingError(f"{path}: unknown option {key!r} (see qwen2-train --help)")
        if name == "target_modules" and isinstance(value, str):
            value = _comma_list(value)
        values[name] = value
    return values


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    types = {f.name: f.type for f in _fields()}
    out = dict(values)
    for name, value in values.items():
        if value is None:
            continue
        try:
            if types[name] in ("int", int):
                out[name] = int(value)
            elif types[name] in ("float", float):
                out[name] = float(value)
            elif types[name] in ("bool", bool) and not isinstance(value, bool):
                raise UserFacingError(f"option {name!r} must be true or false, got {value!r}")
        except (TypeError, ValueError):
            raise UserFacingError(f"option {name!r}: cannot use {value!r}") from None
    return out


def build_config(given: dict[str, Any], yaml_path: str | None = None) -> TrainConfig:
    """Merge defaults < preset < YAML < flags (``given`` holds only the flags the user set)."""
    from_file = load_yaml(yaml_path) if yaml_path else {}
    preset = given.get("preset") or from_file.get("preset") or "qwen2-7b"
    if preset not in PRESETS:
        raise UserFacingError(f"unknown preset {preset!r} (choose from {', '.join(PRESETS)})")
    merged = {**PRESET_OVERRIDES[preset], **from_file, **given, "preset": preset}
    config = TrainConfig(**_coerce(merged))
    validate_config(config)
    return config


def validate_config(config: TrainConfig) -> None:
    checks = [
        (config.num_examples > 0, "--num-examples must be positive"),
        (config.batch_size > 0, "--batch-size must be positive"),
        (config.grad_accum > 0, "--grad-accum must be positive"),
        (config.max_length >= 64, "--max-length must be at least 64"),
        (config.learning_rate > 0, "--learning-rate must be positive"),
        (config.lora_r > 0 and config.lora_alpha > 0, "--lora-r and --lora-alpha must be positive"),
        (0 <= config.lora_dropout < 1, "--lora-dropout must be in [0, 1)"),
        (0 <= config.eval_fraction < 1, "--eval-fraction must be in [0, 1)"),
        (config.max_eval_examples >= 0, "--max-eval-examples must be 0 or more"),
        (0 <= config.warmup_ratio < 1, "--warmup-ratio must be in [0, 1)"),
        (config.epochs > 0 or config.max_steps > 0, "--epochs or --max-steps must be positive"),
        (
            not (config.trackio_space and config.no_trackio),
            "--trackio-space contradicts --no-trackio",
        ),
        (
            config.trackio_space is None or "/" in config.trackio_space,
            "--trackio-space must look like USER/SPACE",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise UserFacingError(message)
