"""qwen2-train --hf-job: the submission plan, checked offline through --dry-run."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from qwen2_rust import hf_jobs
from qwen2_rust.cli.train import main

ROOT = Path(__file__).resolve().parents[1]
SECRET = "hf_thisIsNotARealTokenButMustNeverBePrinted"


def _dry_run(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("HF_TOKEN", SECRET)
    code = main(["--hf-job", "--dry-run", *args])
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    return code, captured.out, captured.err


def test_dry_run_prints_the_complete_submission(capsys, monkeypatch):
    code, out, _ = _dry_run(
        capsys,
        monkeypatch,
        "-n",
        "5000",
        "--flavor",
        "a10g-large",
        "--run-name",
        "big",
        "--seed",
        "7",
    )
    assert code == 0
    assert "dry run: nothing submitted" in out
    assert "cli/train.py (PEP 723" in out
    assert "flavor:       a10g-large" in out
    assert "timeout:      2h00m" in out  # estimated, not the 30-minute default
    assert "trl>=1.16" in out and "peft>=0.21" in out
    assert "HF_TOKEN (value not shown)" in out
    arguments = next(line for line in out.splitlines() if "arguments:" in line)
    assert "--package-zip" in arguments and "qwen2_rust_package.zip" in arguments
    assert "-n 5000" in arguments and "--seed 7" in arguments
    assert "--push-to-hub" in arguments  # implied: the job's disk disappears
    assert "--hub-model-id <your-username>/big" in arguments
    assert arguments.count("--run-name") == 1
    assert "--hf-job" not in arguments and "--dry-run" not in arguments


def test_timeout_grows_with_examples_and_respects_an_explicit_value(capsys, monkeypatch):
    small = hf_jobs.estimate_time(1000, 2.0, -1, 16, hf_jobs.FLAVORS["a10g-large"])
    large = hf_jobs.estimate_time(50_000, 2.0, -1, 16, hf_jobs.FLAVORS["a10g-large"])
    faster = hf_jobs.estimate_time(50_000, 2.0, -1, 16, hf_jobs.FLAVORS["h100"])
    assert small.timeout_s >= 3600 and small.timeout_s % 1800 == 0
    assert large.timeout_s > small.timeout_s > 0
    assert faster.timeout_s < large.timeout_s
    capped = hf_jobs.estimate_time(50_000, 2.0, 10, 16, hf_jobs.FLAVORS["a10g-large"])
    assert capped.train_tokens < small.train_tokens  # --max-steps bounds the work

    code, out, _ = _dry_run(capsys, monkeypatch, "-n", "50000", "--timeout", "30m")
    assert code == 0
    assert "timeout:      30m (1800 s)" in out
    assert "below the estimate" in out


def test_a_flavor_too_small_for_the_model_is_refused_before_submitting(capsys, monkeypatch):
    code, _, err = _dry_run(capsys, monkeypatch, "--flavor", "t4-medium")
    assert code == 2
    assert "t4-medium" in err and "--load-in-4bit" in err
    code, out, _ = _dry_run(capsys, monkeypatch, "--flavor", "t4-medium", "--load-in-4bit")
    assert code == 0
    assert "bitsandbytes" in out


def test_usage_errors_are_one_line(capsys, monkeypatch):
    code, _, err = _dry_run(capsys, monkeypatch, "--preset", "smoke")
    assert code == 2 and "--preset smoke" in err
    assert main(["--dry-run"]) == 2
    assert "--hf-job" in capsys.readouterr().err
    with pytest.raises(Exception, match="cannot read"):
        hf_jobs.parse_duration("soon")
    assert hf_jobs.parse_duration("6h") == 21600
    assert hf_jobs.parse_duration("90m") == 5400


def test_script_header_lists_the_package_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    header = hf_jobs.pep723_dependencies()
    evaluation_only = {"sacrebleu", "matplotlib"}
    expected = [d for d in project if d.split(">")[0].split("=")[0] not in evaluation_only]
    assert header == expected


def test_the_shipped_package_zip_imports_with_its_resources(tmp_path):
    package = hf_jobs.build_package_zip(tmp_path)
    names = zipfile.ZipFile(package).namelist()
    assert "qwen2_rust/cli/train.py" in names
    assert "qwen2_rust/resources/chat_templates/qwen2_training.jinja" in names
    assert not any("__pycache__" in n for n in names)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import qwen2_rust, qwen2_rust.modeling as m;"
        "assert qwen2_rust.__file__.startswith(sys.argv[1]), qwen2_rust.__file__;"
        "assert 'generation' in m.training_chat_template(); print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(package)], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_the_script_runs_standalone_from_the_package_zip(tmp_path):
    package = hf_jobs.build_package_zip(tmp_path)
    result = subprocess.run(
        [sys.executable, str(hf_jobs.script_path()), "--package-zip", str(package), "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--num-examples" in result.stdout and "--package-zip" not in result.stdout
