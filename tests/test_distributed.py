"""Multi-process training through `accelerate launch`: two CPU processes with gloo."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ACCELERATE = shutil.which("accelerate", path=str(Path(sys.executable).parent))


@pytest.mark.slow
@pytest.mark.skipif(ACCELERATE is None, reason="accelerate CLI not installed")
def test_two_processes_train_and_only_the_main_one_writes(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", QWEN2_RUST_NO_PROGRESS="1")
    env["TRACKIO_DIR"] = str(tmp_path / "trackio")
    result = subprocess.run(
        [
            ACCELERATE,
            "launch",
            "--config_file",
            str(ROOT / "configs" / "accelerate" / "cpu_2proc.yaml"),
            "-m",
            "qwen2_rust.cli.train",
            *("--preset", "smoke", "-n", "30", "--eval-fraction", "0", "--no-trackio"),
            *("--output-dir", str(tmp_path / "out")),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    logs = result.stdout + result.stderr
    # Both processes trained, each on its own share of the batches.
    assert "process 1/2 trained on" in logs
    assert "process 2/2 trained on" in logs
    # One run directory (both agreed on the timestamped name), written once.
    runs = list((tmp_path / "out").iterdir())
    assert len(runs) == 1, runs
    assert logs.count("adapter, tokenizer and run.json in") == 1
    record = json.loads((runs[0] / "run.json").read_text())
    batch, accum = record["config"]["batch_size"], record["config"]["grad_accum"]
    assert record["distributed"]["world_size"] == 2
    assert record["distributed"]["effective_batch_size"] == batch * accum * 2
    # One epoch over 30 examples with an effective batch of 2 x batch x accum.
    assert record["metrics"]["global_step"] == math.ceil(30 / (batch * accum * 2))
    assert (runs[0] / "adapter_model.safetensors").is_file()
