"""Submitting ``qwen2-train`` to Hugging Face Jobs (``qwen2-train --hf-job``).

How our code reaches the job: ``src/qwen2_rust/cli/train.py`` is a PEP 723 script whose
header lists the libraries; it is submitted with ``run_uv_job`` together with a zip of the
installed ``qwen2_rust`` package (built from the files this process imports, so it is
exactly the version you run locally). ``run_uv_job`` uploads local files named on the
command line to a private bucket mounted in the job at ``/data``; the script puts the zip
on ``sys.path`` (``--package-zip``) before importing the package. No git URL, no wheel
index, no unpublished PyPI name is needed.

Defaults that avoid the common failures: ``--push-to-hub`` is implied (the job's disk is
gone when it ends), the write token is checked before submitting and passed as the
``HF_TOKEN`` secret (never on the command line or in logs), and the timeout is estimated
from the example count and the flavor instead of the 30-minute default.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qwen2_rust.errors import UserFacingError

DEFAULT_FLAVOR = "a10g-large"
TOKENS_PER_EXAMPLE = 350  # mean formatted Strandset example, prompt + answer (median ~270)
FIXED_OVERHEAD_S = 15 * 60  # environment install, 15 GB model download and load, save + push
SAFETY_FACTOR = 1.5
PACKAGE_ZIP = "qwen2_rust_package.zip"
# The bucket Jobs mounts for uploaded files is writable and outlives the job: checkpoints
# written there survive a timeout (resume from them with --resume PATH).
JOB_OUTPUT_DIR = "/data/outputs"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Flavor:
    name: str
    gpu_memory_gib: float
    tokens_per_s: float  # assumed LoRA bf16 throughput for Qwen2-7B, non-pad tokens


# Throughputs are planning assumptions (gradient checkpointing on, batch 4, ~350-token
# examples), not measurements; the estimate is printed so users can override --timeout.
FLAVORS: dict[str, Flavor] = {
    f.name: f
    for f in (
        Flavor("t4-medium", 16, 350),
        Flavor("l4x1", 24, 700),
        Flavor("a10g-small", 24, 1100),
        Flavor("a10g-large", 24, 1100),
        Flavor("l40sx1", 48, 1800),
        Flavor("a100-large", 80, 3000),
        Flavor("h100", 80, 5000),
    )
}


def parse_duration(text: str) -> int:
    """Seconds in ``300``, ``45m``, ``6h`` or ``1d``."""
    match = _DURATION.match(text)
    if not match:
        raise UserFacingError(f"--timeout: cannot read {text!r} (use e.g. 90m, 6h, 1d)")
    return math.ceil(float(match.group(1)) * _UNITS[match.group(2)])


def format_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


@dataclass(frozen=True)
class TimeEstimate:
    train_tokens: int
    train_s: int
    overhead_s: int
    timeout_s: int

    def describe(self, flavor: Flavor) -> str:
        return (
            f"~{self.train_tokens:,} training tokens at an assumed {flavor.tokens_per_s:,.0f} "
            f"tokens/s on {flavor.name} = {format_duration(self.train_s)} + "
            f"{format_duration(self.overhead_s)} setup/download/upload; x{SAFETY_FACTOR} margin "
            f"-> timeout {format_duration(self.timeout_s)}"
        )


def estimate_time(
    num_examples: int, epochs: float, max_steps: int, effective_batch: int, flavor: Flavor
) -> TimeEstimate:
    examples = num_examples * epochs
    if max_steps > 0:
        examples = (
            min(examples, max_steps * effective_batch)
            if epochs > 0
            else max_steps * effective_batch
        )
    # ~10 evaluations over at most 500 held-out rows, forward only (~1/3 of a training step).
    eval_tokens = 10 * min(500, num_examples * 0.1) * TOKENS_PER_EXAMPLE / 3
    tokens = int(examples * TOKENS_PER_EXAMPLE + eval_tokens)
    train_s = math.ceil(tokens / flavor.tokens_per_s)
    total = (train_s + FIXED_OVERHEAD_S) * SAFETY_FACTOR
    timeout = max(3600, math.ceil(total / 1800) * 1800)  # whole half hours, at least 1 h
    return TimeEstimate(tokens, train_s, FIXED_OVERHEAD_S, timeout)


@dataclass
class JobPlan:
    script: str
    script_args: list[str]
    dependencies: list[str]  # from the script's PEP 723 header
    extra_dependencies: list[str]  # added with `uv run --with` (e.g. bitsandbytes for QLoRA)
    flavor: str
    timeout_s: int
    estimate: TimeEstimate
    env: dict[str, str]
    secret_names: list[str]
    hub_model_id: str
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        flavor = FLAVORS.get(self.flavor)
        lines = [
            "Hugging Face Job (dry run: nothing submitted)",
            f"  script:       {self.script} (PEP 723; its header installs the libraries)",
            f"  arguments:    {' '.join(self.script_args)}",
            "  dependencies: " + ", ".join(self.dependencies + self.extra_dependencies),
            f"  flavor:       {self.flavor}",
            f"  timeout:      {format_duration(self.timeout_s)} ({self.timeout_s} s)",
            f"  estimate:     {self.estimate.describe(flavor) if flavor else 'n/a'}",
            "  env:          " + ", ".join(f"{k}={v}" for k, v in self.env.items()),
            "  secrets:      " + ", ".join(f"{k} (value not shown)" for k in self.secret_names),
            f"  results:      pushed to https://huggingface.co/{self.hub_model_id}",
            f"  package:      {PACKAGE_ZIP} uploaded with the script, mounted at /data",
            f"  checkpoints:  {JOB_OUTPUT_DIR} (the job's bucket: kept if the job times out)",
        ]
        lines += [f"  note:         {note}" for note in self.notes]
        return "\n".join(lines)


def script_path() -> Path:
    return Path(__file__).resolve().parent / "cli" / "train.py"


def pep723_dependencies(path: Path | None = None) -> list[str]:
    """The dependency list of the PEP 723 header of ``train.py``."""
    text = (path or script_path()).read_text(encoding="utf-8")
    block = re.search(r"^# /// script\n(.*?)^# ///$", text, re.MULTILINE | re.DOTALL)
    if not block:
        raise UserFacingError(f"{path or script_path()} has no PEP 723 header")
    body = "\n".join(
        line[2:] if line.startswith("# ") else line[1:] for line in block.group(1).splitlines()
    )
    import tomllib

    return list(tomllib.loads(body).get("dependencies", []))


def build_package_zip(dest: Path) -> Path:
    """Zip the installed ``qwen2_rust`` package (sources and resources, no caches)."""
    package = Path(__file__).resolve().parent
    target = dest / PACKAGE_ZIP
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(package.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
                archive.write(file, Path("qwen2_rust") / file.relative_to(package))
    return target


_JOB_ONLY_FLAGS = {"--hf-job", "--dry-run", "--flavor", "--timeout", "--push-to-hub"}
_JOB_FLAGS_WITH_VALUE = {"--flavor", "--timeout", "--hub-model-id", "--output-dir", "--run-name"}


def train_args_for_job(
    argv: list[str], hub_model_id: str, package_zip: str, run_name: str
) -> list[str]:
    """The user's training flags, minus job-only ones, plus push-to-hub and the package zip."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in _JOB_FLAGS_WITH_VALUE:
            skip = "=" not in arg
            continue
        if name in _JOB_ONLY_FLAGS:
            continue
        kept.append(arg)
    return [
        "--package-zip",
        package_zip,
        *kept,
        "--push-to-hub",
        "--hub-model-id",
        hub_model_id,
        "--output-dir",
        JOB_OUTPUT_DIR,
        "--run-name",
        run_name,
    ]


def plan_job(
    config: Any,
    argv: list[str],
    flavor_name: str,
    timeout: str | None,
    package_zip: str,
    user: str | None,
) -> JobPlan:
    """Everything that would be submitted; raises for a flavor that cannot fit the model."""
    from qwen2_rust.memory import GIB, QWEN2_7B, estimate_memory

    flavor = FLAVORS.get(flavor_name)
    notes: list[str] = []
    if flavor is None:
        notes.append(f"unknown flavor {flavor_name!r}: no memory or time check")
    estimate_flavor = flavor or FLAVORS[DEFAULT_FLAVOR]
    if flavor is not None and config.resolved_model() == QWEN2_7B.name:
        memory = estimate_memory(
            QWEN2_7B,
            batch_size=config.batch_size,
            max_length=config.max_length,
            lora_r=config.lora_r,
            target_modules=config.target_modules,
            gradient_checkpointing=config.gradient_checkpointing != "off",
            load_in_4bit=config.load_in_4bit,
        )
        if memory.total_bytes > flavor.gpu_memory_gib * GIB:
            raise UserFacingError(
                f"flavor {flavor.name} has {flavor.gpu_memory_gib:.0f} GiB of GPU memory but this "
                f"run needs ~{memory.total_bytes / GIB:.1f} GiB (qwen2-train --estimate-memory); "
                "pick a larger --flavor, a smaller --batch-size, or --load-in-4bit"
            )
    times = estimate_time(
        config.num_examples,
        config.epochs,
        config.max_steps,
        config.batch_size * config.grad_accum,
        estimate_flavor,
    )
    timeout_s = parse_duration(timeout) if timeout else times.timeout_s
    if timeout and timeout_s < times.timeout_s:
        notes.append(
            f"--timeout {timeout} is below the estimate ({format_duration(times.timeout_s)}): "
            "the job may be killed before it pushes its results"
        )
    run_name = config.run_name or config.default_run_name()
    hub_model_id = config.hub_model_id or f"{user or '<your-username>'}/{run_name}"
    if user is None:
        notes.append("token not checked (dry run): the real submission checks write access first")
    return JobPlan(
        script=str(script_path()),
        script_args=train_args_for_job(argv, hub_model_id, package_zip, run_name),
        dependencies=pep723_dependencies(),
        extra_dependencies=["bitsandbytes>=0.45"] if config.load_in_4bit else [],
        flavor=flavor_name,
        timeout_s=timeout_s,
        estimate=times,
        env={"PYTHONUNBUFFERED": "1", "QWEN2_RUST_NO_PROGRESS": "1"},
        secret_names=["HF_TOKEN"],
        hub_model_id=hub_model_id,
        notes=notes,
    )


def submit(plan: JobPlan) -> str:
    """Submit ``plan``; returns the job URL. Errors come back as one line."""
    from huggingface_hub import get_token, run_uv_job

    token = get_token()
    try:
        job = run_uv_job(
            plan.script,
            script_args=plan.script_args,
            dependencies=plan.extra_dependencies or None,
            flavor=plan.flavor,
            timeout=plan.timeout_s,
            env=plan.env,
            secrets={"HF_TOKEN": token},
            labels={"app": "qwen2-rust"},
        )
    except Exception as exc:  # HTTP, auth and quota errors all end here
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if token:
            message = message.replace(token, "***")
        raise UserFacingError(f"Hugging Face Jobs refused the submission: {message}") from None
    return getattr(job, "url", None) or f"job {getattr(job, 'id', '?')}"
