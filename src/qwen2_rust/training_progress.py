"""A rich progress bar for `transformers.Trainer`: step, loss, tokens/s, ETA (on stderr).

When stderr is not a terminal (CI, log files) it logs one line per logging step instead.
"""

from __future__ import annotations

import time
from typing import Any

from rich.progress import TextColumn
from transformers import TrainerCallback

from qwen2_rust.log import get_logger, make_progress, progress_enabled

log = get_logger(__name__)


class ProgressCallback(TrainerCallback):
    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._start = 0.0
        self._start_tokens = 0
        self.loss: float | None = None

    def _tokens_per_s(self, state: Any) -> float:
        elapsed = time.perf_counter() - self._start
        tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0) - self._start_tokens
        return tokens / elapsed if elapsed > 0 else 0.0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        self._start = time.perf_counter()
        self._start_tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)
        if progress_enabled():
            self._bar = make_progress(TextColumn("{task.fields[info]}"))
            self._bar.start()
            self._task = self._bar.add_task(
                "training", total=state.max_steps, completed=state.global_step, info=""
            )

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            loss = f"loss {self.loss:.4f} " if self.loss is not None else ""
            info = f"{loss}{self._tokens_per_s(state):,.0f} tok/s"
            self._bar.update(self._task, completed=state.global_step, info=info)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        if "loss" in logs:
            self.loss = float(logs["loss"])
        if self._bar is None and ("loss" in logs or "eval_loss" in logs):
            parts = [f"step {state.global_step}/{state.max_steps}"]
            for key in ("loss", "eval_loss", "learning_rate", "grad_norm"):
                if key in logs:
                    parts.append(f"{key} {logs[key]:.4g}")
            parts.append(f"{self._tokens_per_s(state):,.0f} tok/s")
            log.info(" | ".join(parts))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
