"""Generation: prompts (never the answer), left-padded length-sorted batches, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qwen2_rust.evaluation import generate as gen
from qwen2_rust.evaluation.scoring import read_jsonl, row_key

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "qwen2_rust" / "resources" / "sample"
REPLY = "```rust\nfn answer() {}\n```"


@pytest.fixture(scope="module")
def tokenizer():
    from qwen2_rust.modeling import load_smoke_tokenizer

    return load_smoke_tokenizer()


class StubModel:
    """Records batches and answers each prompt with REPLY + <|im_end|> (+ padding)."""

    def __init__(self, tokenizer) -> None:
        import torch

        self.tok = tokenizer
        self.batches: list[list[int]] = []
        self._param = torch.nn.Parameter(torch.zeros(1))

    def parameters(self):
        return iter([self._param])

    def generate(self, input_ids, attention_mask, **kwargs):
        import torch

        assert kwargs["do_sample"] is False
        # left padding: every row's last position is a real token
        assert bool(attention_mask[:, -1].all())
        self.batches.append(attention_mask.sum(dim=1).tolist())
        reply = self.tok(REPLY + "<|im_end|>", add_special_tokens=False)["input_ids"]
        new = torch.tensor([reply] * input_ids.shape[0])
        return torch.cat([input_ids, new], dim=1)


def _rows() -> list[dict]:
    return read_jsonl(SAMPLE / "test.jsonl") + read_jsonl(SAMPLE / "train.jsonl")


def test_select_rows_per_category_and_filter() -> None:
    rows = _rows()
    picked = gen.select_rows(rows, n=1, categories=["code_generation", "function_naming"])
    assert [r["task_category"] for r in picked] == ["code_generation", "function_naming"]
    assert len(gen.select_rows(rows, n=3)) == 45
    with pytest.raises(Exception, match="unknown categories"):
        gen.select_rows(rows, categories=["nope"])


def test_prompts_are_training_prompts_without_the_answer(tokenizer) -> None:
    row = next(r for r in _rows() if r["task_category"] == "function_naming")
    prompt = gen.build_prompts(tokenizer, [row], system=True)[0]
    answer = json.loads(row["output_data"])["function_name"]
    assert "__placeholder__" in prompt
    assert answer not in prompt
    assert prompt.rstrip().endswith("<|im_start|>assistant")


def test_generate_writes_rows_sorted_batches_and_resumes(tmp_path: Path, tokenizer) -> None:
    out = tmp_path / "gens.jsonl"
    rows = _rows()
    cfg = gen.GenerationConfig(model="stub", out=str(out), n=1, batch_size=4, label="stub-model")
    model = StubModel(tokenizer)
    first = gen.generate(cfg, rows=rows, model=model, tokenizer=tokenizer)
    assert (first.generated, first.skipped_existing) == (15, 0)
    lengths = [n for batch in model.batches for n in batch]
    assert lengths == sorted(lengths, reverse=True)  # length-sorted, longest first
    written = read_jsonl(out)
    assert len(written) == 15
    for rec in written:
        assert set(rec) == {
            "crate_name",
            "task_category",
            "input_data",
            "output_data",
            "test",
            "prediction",
            "model",
        }
        assert rec["prediction"] == REPLY and rec["model"] == "stub-model"

    # an interrupted write leaves a cut line: it is ignored and regenerated
    with out.open("a") as fh:
        fh.write('{"crate_name": "cut')
    cfg2 = gen.GenerationConfig(model="stub", out=str(out), n=2, batch_size=4, label="stub-model")
    second = gen.generate(cfg2, rows=rows, model=StubModel(tokenizer), tokenizer=tokenizer)
    assert (second.generated, second.skipped_existing) == (15, 15)
    keys = [row_key(r) for r in _read_valid(out)]
    assert len(keys) == 30 == len(set(keys))

    third = gen.generate(cfg2, rows=rows, model=None, tokenizer=None)  # nothing left to do
    assert (third.generated, third.skipped_existing) == (0, 30)


def _read_valid(path: Path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def test_resolve_run_adapter(tmp_path: Path) -> None:
    run = tmp_path / "sft-10-20250101-000000"
    (run / "checkpoint-5").mkdir(parents=True)
    (run / "checkpoint-5" / "adapter_config.json").write_text("{}")
    assert gen.resolve_run_adapter(run.name, tmp_path).endswith("checkpoint-5")
    (run / "adapter").mkdir()
    (run / "adapter" / "adapter_config.json").write_text("{}")
    assert gen.resolve_run_adapter(run.name, tmp_path).endswith("adapter")
    with pytest.raises(Exception, match="no LoRA adapter"):
        gen.resolve_run_adapter("missing", tmp_path)


@pytest.mark.slow
def test_smoke_model_end_to_end_generate_then_score(tmp_path: Path) -> None:
    """The real transformers path: the smoke model, then the CLI's scorer on its output."""
    from qwen2_rust.cli.evaluate import main

    out_dir = tmp_path / "eval"
    code = main(
        [
            "run",
            "--model",
            "smoke",
            "--data",
            "sample",
            "--split",
            "test",
            "-n",
            "1",
            "--categories",
            "code_generation,function_naming,code_summarization",
            "--max-new-tokens",
            "8",
            "--batch-size",
            "2",
            "--device",
            "cpu",
            "--out-dir",
            str(out_dir),
            "--jobs",
            "2",
            "--no-charts",
        ]
    )
    assert code == 0
    gens = read_jsonl(out_dir / "generations-smoke.jsonl")
    assert len(gens) == 3 and all(g["model"] == "smoke" for g in gens)
    report = json.loads((out_dir / "report.json").read_text())
    assert report["models"][0]["overall"]["n"] == 3


def test_resuming_into_another_models_file_is_refused(tmp_path: Path) -> None:
    from qwen2_rust.errors import UserFacingError

    out = tmp_path / "generations.jsonl"
    row = {"crate_name": "c", "task_category": "code_summarization", "input_data": "{}"}
    out.write_text(json.dumps({**row, "prediction": "x", "model": "smoke+my-run"}) + "\n")
    assert gen.existing_keys(out, "smoke+my-run") == {row_key(row)}
    with pytest.raises(UserFacingError, match="holds generations of 'smoke\\+my-run'"):
        gen.existing_keys(out, "smoke")


def test_run_names_its_file_after_model_and_adapter(tmp_path: Path) -> None:
    from qwen2_rust.cli.evaluate import _generation_config, build_parser

    adapter = tmp_path / "sft-run"
    adapter.mkdir()
    base = build_parser().parse_args(["run", "--model", "smoke"])
    tuned = build_parser().parse_args(["run", "--model", "smoke", "--adapter", str(adapter)])
    assert _generation_config(base, "").model_label() == "smoke"
    assert _generation_config(tuned, "").model_label() == "smoke+sft-run"
