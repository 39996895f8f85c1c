"""`qwen2-fetch-metrics` against real Trackio stores, built with trackio.init/log/finish."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import trackio

from qwen2_rust import metrics as m
from qwen2_rust.cli.fetch_metrics import main

PROJECT = "fetch-test"
RUN = "sft-8-20250101-000000"
TOKEN = "hf_secretTOKENdoNotPrint1234567890"

# Logged out of order on purpose: the JSON must come back with steps ascending.
TRAIN_LOSS = {2: 1.5, 0: 2.5, 1: 2.0, 3: 1.25}
EVAL_LOSS = {1: 2.2, 3: 1.4}


def _point_trackio_at(monkeypatch: pytest.MonkeyPatch, store: Path) -> None:
    """Trackio binds its directory at import; point every binding at `store` for writing."""
    monkeypatch.setenv("TRACKIO_DIR", str(store))
    for name, module in list(sys.modules.items()):
        if name == "trackio" or name.startswith("trackio."):
            for attr, value in (
                ("TRACKIO_DIR", store),
                ("MEDIA_DIR", store / "media"),
                ("ARTIFACTS_DIR", store / "artifacts"),
            ):
                if hasattr(module, attr):
                    monkeypatch.setattr(module, attr, value)


def _log_run(name: str, config: dict, rows: list[tuple[int | None, dict]]) -> None:
    trackio.init(project=PROJECT, name=name, config=config, auto_log_cpu=False, auto_log_gpu=False)
    for step, values in rows:
        trackio.log(values, step=step)
    trackio.finish()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real Trackio store with three runs; cwd is a fresh directory (for `.data/`)."""
    store_dir = tmp_path / "trackio"
    _point_trackio_at(monkeypatch, store_dir)
    rows: list[tuple[int | None, dict]] = [
        (s, {"train/loss": v, "train/learning_rate": 1e-4 * (4 - s), "train/grad_norm": 0.5 + s})
        for s, v in TRAIN_LOSS.items()
    ]
    rows += [(s, {"eval/loss": v}) for s, v in EVAL_LOSS.items()]
    _log_run(RUN, {"learning_rate": 1e-4, "seed": 42, "model": "smoke"}, rows)
    # Logged the way transformers' TrackioCallback does it: no step, train/global_step inside.
    _log_run(
        "sft-8-20250101-000500",
        {"seed": 1},
        [(None, {"train/loss": 3.0 - i, "train/global_step": 10 * (i + 1)}) for i in range(3)],
    )
    _log_run("baseline", {}, [(0, {"train/loss": 9.0})])
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return store_dir


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _no_temp_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".tmp")]


# ----------------------------------------------------------------------------- fetching


def test_writes_json_with_values_in_step_order(store: Path, capsys) -> None:
    assert main(["--run", RUN, "--project", PROJECT]) == 0
    out = Path(".data") / f"{RUN}.json"
    data = _read(out)

    assert set(data) == {"run", "run_id", "project", "source", "config", "metrics"}
    assert data["run"] == RUN
    assert data["project"] == PROJECT
    assert data["source"] == f"local:{store.resolve()}"
    assert data["config"]["learning_rate"] == 1e-4
    assert data["config"]["seed"] == 42

    metrics = data["metrics"]
    assert {"train/loss", "train/learning_rate", "train/grad_norm", "eval/loss"} <= set(metrics)
    train = metrics["train/loss"]
    assert [p["step"] for p in train] == [0, 1, 2, 3]
    assert [p["value"] for p in train] == [TRAIN_LOSS[s] for s in range(4)]
    assert [(p["step"], p["value"]) for p in metrics["eval/loss"]] == sorted(EVAL_LOSS.items())
    for points in metrics.values():
        steps = [p["step"] for p in points]
        assert steps == sorted(steps)
        for point in points:
            assert set(point) == {"step", "value", "timestamp"}
            assert isinstance(point["timestamp"], str) and point["timestamp"]

    summary = capsys.readouterr().out
    assert f"Wrote .data/{RUN}.json" in summary
    assert "last train/loss 1.25" in summary
    assert "last eval/loss 1.4" in summary


def test_stdout_prints_the_json_and_writes_nothing(store: Path, capsys) -> None:
    assert main(["--run", RUN, "--project", PROJECT, "--stdout"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["run"] == RUN
    assert [p["value"] for p in data["metrics"]["train/loss"]] == [2.5, 2.0, 1.5, 1.25]
    assert not Path(".data").exists()


def test_out_creates_directories(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "report" / "nested" / "run.json"
    assert main(["--run", RUN, "--project", PROJECT, "--out", str(target)]) == 0
    assert _read(target)["metrics"]["eval/loss"][-1]["value"] == 1.4
    assert _no_temp_files(target.parent)


def test_non_finite_values_are_strict_json(store: Path, monkeypatch) -> None:
    _log_run("nan-run", {"bad": float("inf")}, [(0, {"train/loss": float("nan")})])
    assert main(["--run", "nan-run", "--project", PROJECT]) == 0
    text = Path(".data/nan-run.json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert data["metrics"]["train/loss"][0]["value"] == "NaN"
    assert data["config"]["bad"] == "Infinity"


def test_list_shows_every_run(store: Path, capsys) -> None:
    assert main(["--list", "--project", PROJECT]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines() if "sft-" in line or "base" in line}
    assert set(lines) == {RUN, "sft-8-20250101-000500", "baseline"}
    assert "1.25" in lines[RUN] and "1.4" in lines[RUN]
    # The callback-style run: steps is the trainer's last global step.
    assert " 30 " in lines["sft-8-20250101-000500"]
    assert "9" in lines["baseline"]
    runs = m.list_runs(m.open_source(), PROJECT)
    assert [r.name for r in runs] == [RUN, "sft-8-20250101-000500", "baseline"]
    assert (runs[0].steps, runs[0].last_train_loss, runs[0].last_eval_loss) == (3, 1.25, 1.4)
    assert (runs[1].steps, runs[1].last_eval_loss) == (30, None)


def test_plot_writes_a_png(store: Path) -> None:
    assert main(["--run", "sft-8-20250101-000500", "--project", PROJECT, "--plot"]) == 0
    png = Path(".data/sft-8-20250101-000500.png")
    blob = png.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(blob) > 20_000
    assert Path(".data/sft-8-20250101-000500.json").exists()
    assert _no_temp_files(png.parent)


def test_plot_with_out_goes_next_to_the_json(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "r" / "x.json"
    assert main(["--run", RUN, "--project", PROJECT, "--out", str(target), "--plot"]) == 0
    assert (tmp_path / "r" / "x.png").read_bytes()[:4] == b"\x89PNG"


def test_callback_style_run_plots_against_global_step(store: Path) -> None:
    data = m.fetch_run(m.open_source(), PROJECT, "sft-8-20250101-000500")
    assert [p["step"] for p in data["metrics"]["train/loss"]] == [0, 1, 2]
    mapping, label = m._x_mapping(data["metrics"])
    assert label == "trainer global step"
    assert mapping == {0: 10.0, 1: 20.0, 2: 30.0}


def test_module_runs_as_a_subprocess(store: Path) -> None:
    env = {**os.environ, "TRACKIO_DIR": str(store), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "qwen2_rust.cli.fetch_metrics", "--run", RUN, "--project", PROJECT,
         "--stdout"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [p["step"] for p in data["metrics"]["train/loss"]] == [0, 1, 2, 3]


def test_help_exits_zero(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--run", "--project", "--space", "--stdout", "--out", "--plot", "--list"):
        assert flag in out


def test_run_or_list_is_required(capsys) -> None:
    assert main([]) == 2
    assert main(["--run", "x", "--list"]) == 2
    assert main(["--run", "x", "--stdout", "--out", "y.json"]) == 2


# ----------------------------------------------------------------------------- errors


def test_unknown_run_names_the_closest_runs(store: Path, capsys) -> None:
    assert main(["--run", "sft-8-20250101-00000", "--project", PROJECT]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert RUN in err and "sft-8-20250101-000500" in err
    assert "Traceback" not in err
    assert not Path(".data").exists()

    with pytest.raises(m.RunNotFoundError) as info:
        m.find_run(m.open_source(), PROJECT, "sft-8-20250101-00000")
    assert info.value.suggestions[:2] == [RUN, "sft-8-20250101-000500"] or set(
        info.value.suggestions[:2]
    ) == {RUN, "sft-8-20250101-000500"}


def test_unknown_project_says_where_it_looked(store: Path, capsys) -> None:
    assert main(["--run", RUN, "--project", "no-such-project"]) == 1
    err = capsys.readouterr().err
    assert str(store.resolve()) in err
    assert PROJECT in err  # the projects that do exist
    assert len(err.strip().splitlines()) == 1


def test_empty_store_says_where_it_looked(tmp_path: Path, monkeypatch, capsys) -> None:
    empty = tmp_path / "empty-store"
    monkeypatch.setenv("TRACKIO_DIR", str(empty))
    monkeypatch.chdir(tmp_path)
    assert main(["--list"]) == 1
    err = capsys.readouterr().err
    assert str(empty.resolve()) in err and "no Trackio projects" in err
    assert main(["--run", "anything"]) == 1
    assert not empty.exists()  # reading never creates the store


def _assert_one_clean_line(text: str) -> None:
    assert len(text.strip().splitlines()) == 1, text
    assert "Traceback" not in text
    assert TOKEN not in text


def test_space_offline_exits_2_in_one_line(store: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert main(["--run", RUN, "--space", "someone/trackio"]) == 2
    captured = capsys.readouterr()
    _assert_one_clean_line(captured.err)
    assert "offline" in captured.err and "someone/trackio" in captured.err
    assert TOKEN not in captured.out


def test_space_offline_subprocess_never_prints_the_token(store: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_TOKEN": TOKEN, "TRACKIO_DIR": str(store)}
    proc = subprocess.run(
        [sys.executable, "-m", "qwen2_rust.cli.fetch_metrics", "--list", "--space", "me/space"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    _assert_one_clean_line(proc.stderr)
    assert TOKEN not in proc.stdout and proc.stdout == ""


def test_unreachable_server_exits_2_in_one_line(store: Path, monkeypatch, capsys) -> None:
    # A closed local port: refused at once, no outside network involved.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert main(["--run", RUN, "--space", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    _assert_one_clean_line(err)
    assert "cannot reach" in err


def test_scrub_hides_tokens(monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert TOKEN not in m.scrub(f"401 for token {TOKEN}\nsecond line")
    assert "hf_abcdefghijkl" not in m.scrub("Bearer hf_abcdefghijkl")
    assert "\n" not in m.scrub("a\nb")


# ----------------------------------------------------------------------------- atomic write


def test_failed_serialization_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "run.json"
    m.write_json_atomic({"ok": True}, target)
    before = target.read_bytes()
    # Half of it serializes (and is written to the temp file) before the bad value.
    bad = {"metrics": {"train/loss": [{"step": i, "value": i} for i in range(5000)]}, "z": object()}
    with pytest.raises(TypeError):
        m.write_json_atomic(bad, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["run.json"]

    fresh = tmp_path / "fresh" / "run.json"
    with pytest.raises(TypeError):
        m.write_json_atomic(bad, fresh)
    assert not fresh.exists() and list(fresh.parent.iterdir()) == []


def test_crash_before_rename_keeps_the_old_file(store: Path, monkeypatch, capsys) -> None:
    out = Path(".data") / f"{RUN}.json"
    out.parent.mkdir()
    out.write_text('{"previous": true}\n')

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(m.os, "replace", boom)
    assert main(["--run", RUN, "--project", PROJECT]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and len(err.strip().splitlines()) == 1
    assert _read(out) == {"previous": True}
    assert _no_temp_files(out.parent)


def test_unwritable_output_exits_2(store: Path, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["--run", RUN, "--project", PROJECT, "--out", str(blocker / "run.json")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_closest_names() -> None:
    names = ["sft-1000-20251205-175811", "sft-2000-20251205-175811", "baseline"]
    assert m.closest_names("sft-1000-20251205", names)[0] == "sft-1000-20251205-175811"
    assert m.closest_names("zzz", names) == []
