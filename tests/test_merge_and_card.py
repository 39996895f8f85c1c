"""qwen2-merge (logit equivalence with base + adapter) and model-card rendering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qwen2_rust.cli.merge import main as merge_main
from qwen2_rust.model_card import render_model_card
from qwen2_rust.modeling import LORA_TARGET_MODULES


@pytest.fixture(scope="module")
def trained_adapter(tmp_path_factory) -> Path:
    """A LoRA adapter on the smoke model whose B matrices are non-zero (as after training)."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from qwen2_rust.modeling import load_smoke_tokenizer, lora_config, smoke_model_dir

    path = tmp_path_factory.mktemp("adapter") / "run"
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(str(smoke_model_dir())), lora_config()
    )
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    model.save_pretrained(str(path))
    load_smoke_tokenizer().save_pretrained(str(path))
    (path / "run.json").write_text(json.dumps(_record()))
    return path


def _record() -> dict:
    return {
        "run_name": "sft-1000-20251205-175811",
        "model": "Qwen/Qwen2-7B-Instruct",
        "data": "Fortytwo-Network/Strandset-Rust-v1",
        "config": {
            "num_examples": 1000,
            "seed": 42,
            "split": "train",
            "lora_r": 16,
            "lora_alpha": 32,
            "lora_dropout": 0.05,
            "target_modules": list(LORA_TARGET_MODULES),
            "learning_rate": 0.0002,
            "lr_scheduler": "cosine",
            "epochs": 2.0,
            "max_steps": -1,
            "batch_size": 4,
            "grad_accum": 4,
            "max_length": 2048,
            "packing": False,
            "overlong": "drop",
        },
        "data_stats": {
            "train_examples": 900,
            "eval_examples": 100,
            "rows_in_split": 191008,
            "max_length": 2048,
            "over_max_length": 4,
            "train_by_category": {"code_generation": 81, "bug_detection": 60},
        },
        "metrics": {
            "global_step": 113,
            "train_loss": 0.61,
            "eval_loss": 0.72,
            "wall_time_s": 2400.0,
        },
        "device": {"precision": "bf16"},
        "versions": {"trl": "1.16.0", "peft": "0.21.2"},
        "git_commit": "abc123",
    }


def test_merged_model_gives_the_same_logits_as_base_plus_adapter(trained_adapter, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from qwen2_rust.merge import adapter_base_model

    out = tmp_path / "merged"
    assert merge_main([str(trained_adapter), "--out", str(out)]) == 0
    assert (out / "model.safetensors").is_file()
    assert (out / "tokenizer.json").is_file()
    assert "generation" in (out / "chat_template.jinja").read_text()
    assert "library_name: transformers" in (out / "README.md").read_text()

    base = AutoModelForCausalLM.from_pretrained(adapter_base_model(trained_adapter))
    reference = PeftModel.from_pretrained(base, str(trained_adapter)).eval()
    merged = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    ids = torch.randint(0, 150_000, (2, 24), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(input_ids=ids).logits
        got = merged(input_ids=ids).logits
        plain = (
            base.get_base_model()(input_ids=ids).logits if hasattr(base, "get_base_model") else None
        )
    assert torch.allclose(expected, got, atol=1e-5)
    assert plain is None or not torch.allclose(expected, plain, atol=1e-5)


def test_merge_refuses_bad_input_with_one_line(tmp_path, capsys, monkeypatch):
    assert merge_main([str(tmp_path / "missing")]) == 2
    assert "adapter_config.json" in capsys.readouterr().err


def test_merge_push_without_token_fails_before_merging(
    trained_adapter, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    out = tmp_path / "merged"
    code = merge_main([str(trained_adapter), "--out", str(out), "--push-to-hub", "me/model"])
    assert code == 2
    assert "write access" in capsys.readouterr().err
    assert not out.exists()


def test_card_has_base_model_data_settings_and_how_to_load():
    evaluation = {
        "models": [
            {
                "label": "fine-tuned",
                "overall": {"n": 225, "metrics": {"compiles": {"mean": 0.61, "ci95": [0.5, 0.7]}}},
                "categories": {
                    "code_generation": {
                        "n": 15,
                        "metrics": {"compiles": {"mean": 0.6, "ci95": [0.33, 0.8]}},
                    }
                },
            }
        ]
    }
    card = render_model_card(_record(), "me/qwen2-rust-lora", evaluation=evaluation)
    assert card.startswith("---\nbase_model: Qwen/Qwen2-7B-Instruct\nlibrary_name: peft")
    assert "- Fortytwo-Network/Strandset-Rust-v1" in card
    assert "900 train / 100 eval" in card and "seed 42" in card
    assert "| code_generation | 81 |" in card
    assert "| LoRA r / alpha / dropout | 16 / 32 / 0.05 |" in card
    assert "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj" in card
    assert "| eval loss | 0.7200 |" in card
    assert "## Evaluation" in card and "| code_generation | 15 | 0.600 [0.33, 0.80]" in card
    assert 'AutoPeftModelForCausalLM.from_pretrained("me/qwen2-rust-lora"' in card
    merged = render_model_card(_record(), "me/merged", merged=True)
    assert "library_name: transformers" in merged and "## Evaluation" not in merged
    assert 'AutoModelForCausalLM.from_pretrained("me/merged"' in merged
