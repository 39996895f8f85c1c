"""Config -> data -> trainer -> artifacts. The one code path of every training run.

Steps, cheapest first so a bad run fails before the expensive part:

1. resolve the run directory (never overwrite one silently) and, with ``--push-to-hub``,
   check that a token with write access is there;
2. load and validate the data: invalid rows are skipped and reported, the sample is seeded
   and stratified by category, then split into train/eval (stratified too);
3. check the model is reachable (local dir, cache or Hub), load its tokenizer, render and
   tokenize every example with assistant-only labels, count those over ``--max-length``;
4. only then load the model, wrap it with LoRA and train with TRL's `SFTTrainer`;
5. save the adapter, tokenizer (with the chat template) and ``run.json`` atomically.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qwen2_rust.config import TrainConfig
from qwen2_rust.data import load_split, stratified_sample_indices, stratified_split
from qwen2_rust.errors import UserFacingError
from qwen2_rust.io_utils import atomic_write_json
from qwen2_rust.log import get_logger
from qwen2_rust.sft_data import IGNORE_INDEX, Tokenized, tokenize_conversations
from qwen2_rust.validation import RowProblem, check_rows

log = get_logger(__name__)

CHECKPOINTS = "checkpoints"
RUN_RECORD = "run.json"
CONFIG_RECORD = "train_config.json"


@dataclass
class PreparedData:
    """Tokenized train/eval examples plus what the run record reports about them."""

    train: list[Tokenized]
    eval: list[Tokenized]
    train_categories: list[str]
    eval_categories: list[str]
    total_rows: int
    invalid: list[RowProblem]
    overlong: int
    overlong_by_category: dict[str, int]
    dropped: int

    @property
    def examples(self) -> int:
        return len(self.train) + len(self.eval)

    def stats(self, max_length: int) -> dict[str, Any]:
        lengths = sorted(len(t.input_ids) for t in self.train + self.eval)
        overlong_share = self.overlong / max(1, self.examples + self.dropped)
        return {
            "rows_in_split": self.total_rows,
            "invalid_rows": len(self.invalid),
            "sampled": self.examples + self.dropped,
            "train_examples": len(self.train),
            "eval_examples": len(self.eval),
            "train_by_category": dict(sorted(Counter(self.train_categories).items())),
            "eval_by_category": dict(sorted(Counter(self.eval_categories).items())),
            "max_length": max_length,
            "over_max_length": self.overlong,
            "over_max_length_share": round(overlong_share, 6),
            "over_max_length_by_category": dict(sorted(self.overlong_by_category.items())),
            "dropped_over_max_length": self.dropped,
            "tokens_total": sum(lengths),
            "tokens_trained": sum(t.trained_tokens for t in self.train + self.eval),
            "token_length_p50": lengths[len(lengths) // 2] if lengths else 0,
            "token_length_max": lengths[-1] if lengths else 0,
        }


@dataclass
class TrainResult:
    run_dir: Path
    record: dict[str, Any]
    interrupted: bool = False
    checkpoint: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- run directory


def runs_root(config: TrainConfig) -> Path:
    return Path(config.output_dir)


def latest_checkpoint(run_dir: Path) -> Path | None:
    checkpoints = sorted(
        (
            p
            for p in (run_dir / CHECKPOINTS).glob("checkpoint-*")
            if p.name.split("-")[-1].isdigit()
        ),
        key=lambda p: int(p.name.split("-")[-1]),
    )
    return checkpoints[-1] if checkpoints else None


def _last_checkpoint_time(run_dir: Path) -> float:
    checkpoint = latest_checkpoint(run_dir)
    return checkpoint.stat().st_mtime if checkpoint else 0.0


def resolve_resume(config: TrainConfig) -> tuple[Path, Path]:
    """(run dir, checkpoint) for ``--resume [PATH]``.

    Without a path or --run-name: the unfinished run (no run.json) whose newest checkpoint
    is the most recent; a finished run is only resumed when named.
    """
    if config.resume in (None, "latest"):
        if config.run_name:
            run_dir = runs_root(config) / config.run_name
        else:
            candidates = [
                p
                for p in runs_root(config).glob("*")
                if (p / CONFIG_RECORD).is_file()
                and not (p / RUN_RECORD).is_file()
                and latest_checkpoint(p) is not None
            ]
            if not candidates:
                raise UserFacingError(
                    f"--resume: no unfinished run with a checkpoint in {runs_root(config)}/ "
                    "(name one with --run-name, or pass a checkpoint directory)"
                )
            run_dir = max(candidates, key=_last_checkpoint_time)
        checkpoint = latest_checkpoint(run_dir)
    else:
        path = Path(config.resume)
        if not path.exists():
            raise UserFacingError(f"--resume: {path} does not exist")
        if path.name.startswith("checkpoint-"):
            run_dir, checkpoint = path.parent.parent, path
        else:
            run_dir, checkpoint = path, latest_checkpoint(path)
    if not run_dir.is_dir():
        raise UserFacingError(f"--resume: no run directory {run_dir}")
    if (run_dir / RUN_RECORD).is_file():
        raise UserFacingError(
            f"--resume: run {run_dir.name} already finished ({run_dir / RUN_RECORD} exists); "
            "resuming it would overwrite its adapter and record: start a new run instead"
        )
    if checkpoint is None or not checkpoint.is_dir():
        raise UserFacingError(f"--resume: no checkpoint found in {run_dir / CHECKPOINTS}/")
    return run_dir, checkpoint


# Settings that decide which examples are seen, in what order, and the LR schedule: a
# resumed run must keep them or it silently trains on something else.
RESUME_FIXED = (
    "preset",
    "model",
    "data",
    "split",
    "num_examples",
    "seed",
    "max_length",
    "overlong",
    "packing",
    "eval_fraction",
    "max_eval_examples",
    "batch_size",
    "grad_accum",
    "epochs",
    "max_steps",
    "learning_rate",
    "lr_scheduler",
    "warmup_ratio",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "target_modules",
    "load_in_4bit",
)


def resume_settings(saved: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The saved config with the flags given now; refuses changes that break the resume."""
    changed = [
        name
        for name in RESUME_FIXED
        if name in given and name in saved and given[name] != saved[name]
    ]
    if changed:
        flags = ", ".join("--" + n.replace("_", "-") for n in changed)
        raise UserFacingError(
            f"--resume keeps the run's data, order and schedule: {flags} cannot change "
            "(start a new run to change them)"
        )
    extra = {k: v for k, v in given.items() if k not in ("resume", "run_name")}
    return {**saved, **extra}


def load_saved_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / CONFIG_RECORD
    if not path.is_file():
        raise UserFacingError(f"--resume: {path} is missing; is {run_dir} a qwen2-train run?")
    return json.loads(path.read_text(encoding="utf-8"))


def check_run_dir(config: TrainConfig) -> Path:
    """The run directory to use; refuses one that exists with content (never overwritten)."""
    run_dir = runs_root(config) / (config.run_name or config.default_run_name())
    if run_dir.exists() and any(run_dir.iterdir()):
        raise UserFacingError(
            f"run directory {run_dir} already exists; pick another --run-name, or continue it "
            f"with --resume --run-name {run_dir.name}"
        )
    parent = next((p for p in [run_dir, *run_dir.parents] if p.exists()), Path("."))
    if not os.access(parent, os.W_OK):
        raise UserFacingError(f"cannot create run directory {run_dir}: {parent} is not writable")
    return run_dir


def create_run_dir(config: TrainConfig) -> Path:
    """Create the checked run directory and record the resolved config in it."""
    run_dir = check_run_dir(config)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserFacingError(f"cannot create run directory {run_dir}: {exc.strerror}") from None
    atomic_write_json(run_dir / CONFIG_RECORD, config.to_dict())
    return run_dir


def distributed_state() -> Any:
    """accelerate's process-wide state, asked for CPU (gloo) exactly as the Trainer will."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def on_main_then_share(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on the main process only; every process gets its result or its error.

    Under ``accelerate launch`` this keeps directory creation, Hub checks and the choice of
    a timestamped run name in one process, without leaving the others waiting forever when
    it fails.
    """
    from accelerate.utils import broadcast_object_list

    state = distributed_state()
    payload: list[Any] = [None]
    failure: BaseException | None = None
    if state.is_main_process:
        try:
            payload = [("ok", fn())]
        except UserFacingError as exc:
            payload = [("error", str(exc))]
        except Exception as exc:  # tell the other ranks before failing here
            payload, failure = [("error", f"the main process failed: {exc!r}")], exc
    if state.num_processes > 1:
        broadcast_object_list(payload)
    if failure is not None:
        raise failure
    kind, value = payload[0]
    if kind == "error":
        raise UserFacingError(value)
    return value


def check_push_access(config: TrainConfig) -> str:
    """The repo id to push to, after checking a token with write access exists."""
    from qwen2_rust.hub import check_write_token

    user = check_write_token("--push-to-hub")
    return config.hub_model_id or f"{user}/{config.run_name}"


# ---------------------------------------------------------------- data


def prepare_data(config: TrainConfig, tokenizer: Any) -> PreparedData:
    """Load, validate, sample, split, format and tokenize; count over-length examples."""
    loaded = load_split(config.resolved_data(), config.split)
    report = check_rows(loaded)
    if report.problems:
        bad_rows = sorted({p.row for p in report.problems})
        log.warning(
            "skipping %d invalid row(s) of %d (first: row %d, %s: %s); run qwen2-validate for the full list",
            len(bad_rows),
            len(loaded.rows),
            report.problems[0].row,
            report.problems[0].field,
            report.problems[0].reason,
        )
    categories = [loaded.rows[i]["task_category"] for i in report.valid_indices]  # type: ignore[index]
    chosen = stratified_sample_indices(categories, config.num_examples, config.seed)
    row_categories = [categories[i] for i in chosen]
    # The validation pass already formatted every valid row: reuse its conversations.
    tokenized = list(tokenize_conversations(tokenizer, (report.conversations[i] for i in chosen)))

    overlong_by_category: Counter[str] = Counter()
    keep: list[int] = []
    for i, example in enumerate(tokenized):
        if len(example.input_ids) > config.max_length:
            overlong_by_category[row_categories[i]] += 1
            if config.overlong == "drop":
                continue
            cut = config.max_length
            example = Tokenized(example.input_ids[:cut], example.labels[:cut])
            if all(label == IGNORE_INDEX for label in example.labels):
                continue  # the prompt alone fills max_length: nothing to learn
            tokenized[i] = example
        keep.append(i)
    overlong = sum(overlong_by_category.values())
    kept_categories = [row_categories[i] for i in keep]
    train_pos, eval_pos = stratified_split(
        kept_categories, config.eval_fraction, config.seed, max_eval=config.max_eval_examples
    )
    return PreparedData(
        train=[tokenized[keep[p]] for p in train_pos],
        eval=[tokenized[keep[p]] for p in eval_pos],
        train_categories=[kept_categories[p] for p in train_pos],
        eval_categories=[kept_categories[p] for p in eval_pos],
        total_rows=len(loaded.rows),
        invalid=report.problems,
        overlong=overlong,
        overlong_by_category=dict(overlong_by_category),
        dropped=len(tokenized) - len(keep),
    )


def to_dataset(examples: list[Tokenized]) -> Any:
    from datasets import Dataset

    return Dataset.from_dict(
        {"input_ids": [e.input_ids for e in examples], "labels": [e.labels for e in examples]}
    )


def padded_efficiency(lengths: list[int], batch_size: int, seed: int) -> float:
    """Share of real tokens when random batches are padded to their longest member."""
    import random

    order = list(range(len(lengths)))
    random.Random(seed).shuffle(order)
    real = padded = 0
    for i in range(0, len(order), batch_size):
        batch = [lengths[j] for j in order[i : i + batch_size]]
        real += sum(batch)
        padded += max(batch) * len(batch)
    return real / padded if padded else 1.0


# ---------------------------------------------------------------- environment facts


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in (
        "qwen2-rust",
        "torch",
        "transformers",
        "trl",
        "peft",
        "datasets",
        "accelerate",
        "trackio",
    ):
        with contextlib.suppress(PackageNotFoundError):
            versions[name] = version(name)
    return versions


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---------------------------------------------------------------- trainer


def check_device(config: TrainConfig) -> None:
    """The 7B preset on a machine without CUDA would train in fp32 on the CPU for days."""
    import torch

    if config.model is None and config.preset == "qwen2-7b" and not torch.cuda.is_available():
        raise UserFacingError(
            "the qwen2-7b preset needs a CUDA GPU and none is visible: try the pipeline with "
            "--preset smoke, run on Hugging Face's GPUs with --hf-job, or pass --model for a "
            "small model"
        )


def check_4bit_support() -> None:
    """QLoRA needs CUDA and bitsandbytes: say so before any data or model is loaded."""
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        raise UserFacingError(
            "--load-in-4bit needs a CUDA GPU (bitsandbytes 4-bit kernels); "
            "this machine has none: train without it, or use --hf-job"
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise UserFacingError(
            "--load-in-4bit needs bitsandbytes: `uv sync --extra qlora` (or pip install bitsandbytes)"
        )


def _device_settings(config: TrainConfig) -> dict[str, Any]:
    import torch

    cuda = torch.cuda.is_available()
    precision = config.precision
    if precision == "auto":
        # Emulated bf16 (pre-Ampere GPUs such as T4/V100) is slow: use fp16 there.
        if cuda:
            native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
            precision = "bf16" if native_bf16 else "fp16"
        else:
            precision = "fp32"
    if precision in ("bf16", "fp16") and not cuda:
        raise UserFacingError(f"--precision {precision} needs a CUDA GPU; use fp32 on this machine")
    checkpointing = config.gradient_checkpointing == "on" or (
        config.gradient_checkpointing == "auto" and cuda
    )
    return {"precision": precision, "gradient_checkpointing": checkpointing, "cuda": cuda}


class _Interrupt:
    """First Ctrl-C: finish the step, save a checkpoint, stop. Second: abort at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("interrupt: saving a checkpoint after this step (Ctrl-C again to abort)")

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Interrupt]:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread
            self._previous = None
        try:
            yield self
        finally:
            if self._previous is not None:
                signal.signal(signal.SIGINT, self._previous)


def _any_process(flag: bool) -> bool:
    """True when ``flag`` is set in any process: all ranks must stop at the same step."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return flag
    import torch

    value = torch.tensor(
        [1 if flag else 0], device="cuda" if dist.get_backend() == "nccl" else "cpu"
    )
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def _make_callbacks(interrupt: _Interrupt, on_step: Callable[[Any], None] | None) -> list[Any]:
    from transformers import TrainerCallback

    from qwen2_rust.training_progress import ProgressCallback

    class StopOnInterrupt(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if on_step is not None:
                on_step(state)
            if _any_process(interrupt.requested):
                interrupt.requested = True  # a Ctrl-C seen by any rank stops every rank
                control.should_save = True
                control.should_training_stop = True
            return control

    return [StopOnInterrupt(), ProgressCallback()]


class CountingCollator:
    """Wraps the trainer's collator to measure real vs padded tokens of every batch."""

    def __init__(self, inner: Callable[[list[dict]], dict]) -> None:
        self.inner = inner
        self.positions = 0
        self.real = 0
        self.batches = 0

    def __call__(self, features: list[dict]) -> dict:
        batch = self.inner(features)
        self.batches += 1
        ids = batch["input_ids"]
        self.positions += ids.numel()
        mask = batch.get("attention_mask")
        self.real += int(mask.sum()) if mask is not None else ids.numel()
        return batch

    @property
    def efficiency(self) -> float:
        return self.real / self.positions if self.positions else 1.0


def add_trained_positions_head(model: Any) -> Any:
    """Patch a causal LM so that, given labels, it projects only the trained positions.

    Equal to the model's own shifted cross-entropy (a test checks it), but the logits exist
    only for the ~30% of positions that are trained, never ``batch x length x 152K``. The
    loss is computed inside ``forward`` so DDP's gradient hooks see the whole computation.
    Called with ``num_items_in_batch`` (tokens of the accumulated batch) it divides by that.
    """
    import types

    import torch
    import torch.nn.functional as F
    from transformers.modeling_outputs import CausalLMOutputWithPast

    original = model.forward

    def forward(
        self: Any, *args: Any, labels: Any = None, num_items_in_batch: Any = None, **kw: Any
    ):
        if labels is None:
            return original(*args, **kw)
        kw.pop("use_cache", None)
        hidden = self.model(*args, use_cache=False, **kw).last_hidden_state
        targets = labels[:, 1:]
        selected = targets != IGNORE_INDEX
        logits = self.lm_head(hidden[:, :-1][selected]).float()
        total = F.cross_entropy(logits, targets[selected], reduction="sum")
        count = num_items_in_batch if num_items_in_batch is not None else selected.sum()
        loss = total / torch.as_tensor(count, device=total.device).clamp(min=1)
        return CausalLMOutputWithPast(loss=loss)

    model.forward = types.MethodType(forward, model)
    return model


def _trainer_class() -> type:
    from trl import SFTTrainer

    class RustSFTTrainer(SFTTrainer):
        """TRL's SFTTrainer; on CPU the loss projects only the trained positions.

        TRL computes the loss with a fused, tiled LM head that never materialises the logits:
        the right call on a GPU (Triton kernel), but its torch fallback is ~4x slower on a CPU,
        and the plain model loss would materialise ``batch x length x 152K`` logits. Same
        labels, same token-mean reduction over the accumulated batch (and processes) as TRL.
        """

        def get_eval_dataloader(self, eval_dataset=None):
            # Eval batches go around the counting collator: its figures are training's.
            counting = self.data_collator
            if isinstance(counting, CountingCollator):
                self.data_collator = counting.inner
            try:
                return super().get_eval_dataloader(eval_dataset)
            finally:
                self.data_collator = counting

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.args.device.type != "cpu":
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            inputs = {**inputs, "use_cache": False}
            loss = model(**inputs, num_items_in_batch=num_items_in_batch).loss
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes
            return (loss, {"loss": loss}) if return_outputs else loss

    return RustSFTTrainer


def eval_interval(config: TrainConfig, train_examples: int) -> int:
    """Steps between evaluations: about ten over the run, never more often than logging.

    With the eval set capped (--max-eval-examples) this keeps evaluation a small, fixed
    share of the compute whatever -n is (every 50 steps on 10% of 191K rows would cost
    several times the training itself).
    """
    from accelerate import PartialState

    per_step = config.batch_size * config.grad_accum * PartialState().num_processes
    steps = math.ceil(train_examples / per_step) * config.epochs
    if config.max_steps > 0:
        steps = config.max_steps
    return max(config.logging_steps, math.ceil(steps / 10))


def build_trainer(
    config: TrainConfig,
    run_dir: Path,
    data: PreparedData,
    tokenizer: Any,
    callbacks: list[Any],
) -> Any:
    from trl import SFTConfig

    from qwen2_rust.modeling import load_base_model, lora_config

    device = _device_settings(config)
    has_eval = bool(data.eval)
    report_to = [] if config.no_trackio else ["trackio"]
    # Built before the model: a bad argument fails in seconds, not after a 15 GB load.
    args = SFTConfig(
        output_dir=str(run_dir / CHECKPOINTS),
        run_name=run_dir.name,
        project=config.trackio_project,
        trackio_space_id=config.trackio_space,
        # No post-training public snapshot Space: only what the user asked for.
        trackio_static_space_id=False,
        report_to=report_to,
        seed=config.seed,
        data_seed=config.seed,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a share of the steps
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        max_length=config.max_length,
        packing=config.packing,
        packing_strategy="bfd",
        padding_free=config.packing,
        bf16=device["precision"] == "bf16",
        fp16=device["precision"] == "fp16",
        gradient_checkpointing=device["gradient_checkpointing"],
        logging_steps=config.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=eval_interval(config, len(data.train)) if has_eval else None,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        remove_unused_columns=True,
        use_cpu=not device["cuda"],
        prediction_loss_only=True,
    )
    model = load_base_model(
        config.resolved_model(),
        dtype=device["precision"] if device["cuda"] else "fp32",
        load_in_4bit=config.load_in_4bit,
        gradient_checkpointing=device["gradient_checkpointing"],
    )
    if not device["cuda"]:
        add_trained_positions_head(model)
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=to_dataset(data.train),
        eval_dataset=to_dataset(data.eval) if has_eval else None,
        processing_class=tokenizer,
        peft_config=lora_config(
            config.lora_r, config.lora_alpha, config.lora_dropout, config.target_modules
        ),
        callbacks=callbacks,
    )
    trainer.data_collator = CountingCollator(trainer.data_collator)
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # our ProgressCallback reports instead of raw dicts
    return trainer


def _final_metrics(trainer: Any) -> dict[str, float | None]:
    history = trainer.state.log_history
    train_losses = [h["loss"] for h in history if "loss" in h]
    eval_losses = [h["eval_loss"] for h in history if "eval_loss" in h]
    return {
        "train_loss": train_losses[-1] if train_losses else None,
        "train_loss_mean": next((h["train_loss"] for h in history if "train_loss" in h), None),
        "eval_loss": eval_losses[-1] if eval_losses else None,
    }


def save_artifacts(trainer: Any, run_dir: Path) -> None:
    """Adapter + tokenizer into ``run_dir``, through a staging directory renamed file by file.

    Every process must call it: under FSDP or DeepSpeed ZeRO-3 ``save_model`` gathers the
    sharded adapter with collectives; only the main process writes and renames.
    """
    staging = run_dir / ".staging"
    trainer.save_model(str(staging))
    if trainer.is_world_process_zero():
        for item in staging.iterdir():
            os.replace(item, run_dir / item.name)
        staging.rmdir()


def _tokens_before(resume_from: Path | None) -> int:
    """Tokens a resumed run had already seen (so tokens/s covers this session only)."""
    state_file = resume_from / "trainer_state.json" if resume_from else None
    if state_file is None or not state_file.is_file():
        return 0
    return int(json.loads(state_file.read_text()).get("num_input_tokens_seen") or 0)


def run_training(
    config: TrainConfig,
    run_dir: Path,
    data: PreparedData,
    tokenizer: Any,
    resume_from: Path | None = None,
    on_step: Callable[[Any], None] | None = None,
) -> TrainResult:
    """Train, save and write ``run.json``. ``on_step`` is a test hook called after each step."""
    import torch

    start = time.perf_counter()
    interrupt = _Interrupt()
    if (run_dir / ".staging").exists():  # left by a crash during an earlier final save
        import shutil

        shutil.rmtree(run_dir / ".staging", ignore_errors=True)
    trainer = build_trainer(config, run_dir, data, tokenizer, _make_callbacks(interrupt, on_step))
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    # Libraries print banners during training (Trackio's, for one): keep stdout for our report.
    with interrupt.installed(), contextlib.redirect_stdout(sys.stderr):
        train_start = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        train_seconds = time.perf_counter() - train_start
    state = trainer.state
    if interrupt.requested:
        checkpoint = latest_checkpoint(run_dir)
        return TrainResult(run_dir, {"global_step": state.global_step}, True, checkpoint)

    save_artifacts(trainer, run_dir)
    collator: CountingCollator = trainer.data_collator
    process = {
        "rank": trainer.args.process_index,
        "world_size": trainer.args.world_size,
        "micro_batches": collator.batches,
        "tokens": collator.real,
    }
    if process["world_size"] > 1:
        log.info(
            "process %d/%d trained on %d micro-batches (%d tokens)",
            process["rank"] + 1,
            process["world_size"],
            collator.batches,
            collator.real,
        )
    if not trainer.is_world_process_zero():
        # Artifacts, run.json and Trackio belong to the main process only.
        return TrainResult(run_dir, {"global_step": state.global_step, "process": process})

    lengths = [len(e.input_ids) for e in data.train]
    tokens_seen = int(getattr(state, "num_input_tokens_seen", 0) or 0) - _tokens_before(resume_from)
    device = _device_settings(config)
    record = {
        "run_name": run_dir.name,
        "config": config.to_dict(),
        "model": config.resolved_model(),
        "data": config.resolved_data(),
        "data_stats": data.stats(config.max_length),
        "invalid_rows_sample": [p.to_dict() for p in data.invalid[:20]],
        "metrics": {
            **_final_metrics(trainer),
            "global_step": state.global_step,
            "epochs": state.epoch,
            "wall_time_s": round(time.perf_counter() - start, 2),
            "train_time_s": round(train_seconds, 2),
            "tokens_seen": tokens_seen,
            "tokens_per_s": round(tokens_seen / train_seconds, 1) if train_seconds else None,
            "batch_token_efficiency": round(collator.efficiency, 4),
            "padded_batching_efficiency": round(
                padded_efficiency(lengths, config.batch_size, config.seed), 4
            ),
            "peak_rss_bytes": peak_rss_bytes(),
            "peak_gpu_bytes": torch.cuda.max_memory_allocated() if device["cuda"] else None,
        },
        "distributed": {
            "world_size": trainer.args.world_size,
            "effective_batch_size": config.batch_size * config.grad_accum * trainer.args.world_size,
        },
        "device": {
            "cuda": device["cuda"],
            "gpu": torch.cuda.get_device_name(0) if device["cuda"] else None,
            "precision": device["precision"],
            "gradient_checkpointing": device["gradient_checkpointing"],
        },
        "resumed_from": str(resume_from) if resume_from else None,
        "versions": library_versions(),
        "git_commit": git_commit(),
        "trackio": None
        if config.no_trackio
        else {
            "project": config.trackio_project,
            "run": run_dir.name,
            "space": config.trackio_space,
        },
    }
    atomic_write_json(run_dir / RUN_RECORD, record)
    return TrainResult(run_dir, record)
