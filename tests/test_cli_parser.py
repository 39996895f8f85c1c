"""Every command answers a mistyped flag with a suggestion (exit 2, no traceback)."""

from __future__ import annotations

import pytest

from qwen2_rust.cli import evaluate, fetch_metrics, merge, train, validate


@pytest.mark.parametrize(
    ("module", "argv", "suggestion"),
    [
        (train, ["--presset", "smoke"], "--preset"),
        (validate, ["--max-lenght", "5"], "--max-length"),
        (evaluate, ["score", "x.jsonl", "--jbos", "2"], "--jobs"),
        (fetch_metrics, ["--run", "r", "--stdot"], "--stdout"),
        (merge, ["adapter", "--push-to-hubb", "me/x"], "--push-to-hub"),
    ],
)
def test_mistyped_flags_get_a_suggestion(module, argv, suggestion, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        module.build_parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"did you mean {suggestion}?" in err
    assert "Traceback" not in err
