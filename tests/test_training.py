"""qwen2-train: label masks, truncation, config merge, offline errors, artifacts, resume, packing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from qwen2_rust.config import TrainConfig, build_config
from qwen2_rust.data import load_split
from qwen2_rust.errors import UserFacingError
from qwen2_rust.format_utils import format_for_sft
from qwen2_rust.modeling import IM_END, LORA_TARGET_MODULES, load_smoke_tokenizer
from qwen2_rust.sft_data import (
    IGNORE_INDEX,
    render_conversation,
    tokenize_conversations,
    trained_spans,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tokenizer():
    return load_smoke_tokenizer()


@pytest.fixture(scope="module")
def sample_rows():
    return load_split("sample", "train").valid_rows() + load_split("sample", "test").valid_rows()


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        TRACKIO_DIR=str(tmp_path / "trackio"),
        QWEN2_RUST_NO_PROGRESS="1",
        HF_HOME=str(tmp_path / "hf"),
    )
    env.pop("HF_TOKEN", None)
    return env


def _train_cli(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "qwen2_rust.cli.train",
            "--output-dir",
            str(tmp_path / "out"),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env or _env(tmp_path),
        cwd=tmp_path,
        check=False,
    )


# ---------------------------------------------------------------- label masks


def test_trained_tokens_are_exactly_the_answer_and_its_stop_token(tokenizer, sample_rows):
    row = next(r for r in sample_rows if r["task_category"] == "code_review")
    messages = format_for_sft(row)["messages"]
    example = next(tokenize_conversations(tokenizer, [messages]))
    spans = trained_spans(example)
    assert len(spans) == 1
    start, end = spans[0]
    ids = example.input_ids
    # Everything before is the masked prompt, ending in "<|im_start|>assistant\n".
    assert tokenizer.decode(ids[:start]).endswith("<|im_start|>assistant\n")
    assert all(label == IGNORE_INDEX for label in example.labels[:start])
    # The trained range is the answer text followed by <|im_end|>, and nothing else.
    assert tokenizer.decode(ids[start:end]) == messages[-1]["content"] + IM_END
    assert ids[end - 1] == tokenizer.convert_tokens_to_ids(IM_END)
    assert example.labels[start:end] == ids[start:end]
    # Only the template's trailing newline follows, masked.
    assert tokenizer.decode(ids[end:]) == "\n"
    assert all(label == IGNORE_INDEX for label in example.labels[end:])


def test_masks_match_the_chat_template_generation_markers_on_every_sample_row(
    tokenizer, sample_rows
):
    conversations = [format_for_sft(r)["messages"] for r in sample_rows]
    ours = list(tokenize_conversations(tokenizer, conversations))
    for messages, example in zip(conversations, ours, strict=True):
        text, _ = render_conversation(messages)
        assert text == tokenizer.apply_chat_template(messages, tokenize=False)
        reference = tokenizer.apply_chat_template(
            messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        assert example.input_ids == list(reference["input_ids"])
        assert [label != IGNORE_INDEX for label in example.labels] == [
            bool(m) for m in reference["assistant_masks"]
        ]


def test_trl_accepts_the_template_as_training_compatible(tokenizer):
    from trl.chat_template_utils import has_generation_markers, is_chat_template_stop_token_trained

    assert has_generation_markers(tokenizer.chat_template)
    assert is_chat_template_stop_token_trained(tokenizer)


def test_preview_shows_trained_and_masked_tokens(tmp_path):
    result = _train_cli(tmp_path, "--preset", "smoke", "--preview", "1")
    assert result.returncode == 0, result.stderr
    assert "trained" in result.stdout
    assert "+'<|im_end|>'" in result.stdout  # the stop token is trained
    assert "-'<|im_start|>'" in result.stdout  # the prompt is masked
    assert not (tmp_path / "out").exists()  # preview writes nothing


# ---------------------------------------------------------------- truncation


def test_overlong_rows_are_counted_and_dropped_or_truncated(tokenizer):
    from qwen2_rust.training import prepare_data

    base = {"preset": "smoke", "num_examples": 1000, "eval_fraction": 0.0}
    lengths = [
        len(t.input_ids)
        for t in tokenize_conversations(
            tokenizer, (format_for_sft(r)["messages"] for r in load_split("sample").valid_rows())
        )
    ]
    limit = sorted(lengths)[len(lengths) // 2]
    expected = sum(1 for n in lengths if n > limit)
    assert expected > 0

    dropped = prepare_data(build_config({**base, "max_length": limit}), tokenizer)
    assert dropped.overlong == expected
    assert dropped.dropped == expected
    assert len(dropped.train) == len(lengths) - expected
    assert sum(dropped.overlong_by_category.values()) == expected
    assert all(len(t.input_ids) <= limit for t in dropped.train)

    cut = prepare_data(
        build_config({**base, "max_length": limit, "overlong": "truncate"}), tokenizer
    )
    assert cut.overlong == expected
    assert all(len(t.input_ids) <= limit for t in cut.train)
    assert len(cut.train) + cut.dropped == len(lengths)
    stats = cut.stats(limit)
    assert stats["over_max_length"] == expected
    assert stats["over_max_length_share"] == pytest.approx(expected / len(lengths), abs=1e-6)


# ---------------------------------------------------------------- config


def test_yaml_file_overrides_preset_and_flags_override_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "preset: smoke\nlearning-rate: 0.0005\nbatch_size: 3\nlora_r: 8\n"
        "target_modules: q_proj,v_proj\n"
    )
    config = build_config({"batch_size": 5}, str(path))
    assert config.preset == "smoke"
    assert config.learning_rate == 5e-4  # file beats preset (1e-3)
    assert config.batch_size == 5  # flag beats file
    assert config.lora_r == 8
    assert config.target_modules == ["q_proj", "v_proj"]
    assert config.grad_accum == 1  # from the smoke preset
    assert config.lora_alpha == 32  # field default


def test_yaml_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("learning_rat: 1\n")
    with pytest.raises(UserFacingError, match="unknown option 'learning_rat'"):
        build_config({}, str(bad))
    with pytest.raises(UserFacingError, match="config file not found"):
        build_config({}, str(tmp_path / "missing.yaml"))


def test_defaults_are_the_documented_ones():
    config = TrainConfig()
    assert (config.num_examples, config.seed, config.max_length) == (1000, 42, 2048)
    assert (config.lora_r, config.lora_alpha) == (16, 32)
    assert tuple(config.target_modules) == LORA_TARGET_MODULES
    assert config.resolved_model() == "Qwen/Qwen2-7B-Instruct"
    assert config.resolved_data() == "Fortytwo-Network/Strandset-Rust-v1"
    assert config.default_run_name().startswith("sft-1000-")


def test_help_lists_the_flags():
    from qwen2_rust.cli.train import build_parser

    text = build_parser().format_help()
    for flag in (
        "--num-examples",
        "--packing",
        "--resume",
        "--push-to-hub",
        "--preview",
        "--config",
    ):
        assert flag in text


# ---------------------------------------------------------------- fail fast


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_hub_model_offline_exits_2_with_one_line(tmp_path):
    line = _one_line_error(
        _train_cli(tmp_path, "--data", "sample", "-n", "20", "--model", "Qwen/Qwen2-0.5B-Instruct")
    )
    assert "Qwen/Qwen2-0.5B-Instruct" in line
    assert "hf download" in line and "--preset smoke" in line


def test_the_7b_preset_without_cuda_says_so_before_anything_else(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    line = _one_line_error(_train_cli(tmp_path, "--data", "sample", "-n", "20"))
    assert "CUDA" in line and "--preset smoke" in line and "--hf-job" in line
    assert "hf download" not in line  # no 15 GB download advice for a machine that cannot train


def test_resume_never_touches_a_finished_run(tmp_path):
    run = tmp_path / "out" / "done"
    (run / "checkpoints" / "checkpoint-4").mkdir(parents=True)
    (run / "train_config.json").write_text(json.dumps(TrainConfig(preset="smoke").to_dict()))
    (run / "run.json").write_text('{"finished": true}')
    line = _one_line_error(_train_cli(tmp_path, "--resume", "--run-name", "done"))
    assert "already finished" in line
    assert (run / "run.json").read_text() == '{"finished": true}'
    line = _one_line_error(_train_cli(tmp_path, "--resume", str(tmp_path / "nope")))
    assert "does not exist" in line


def test_hub_dataset_offline_exits_2_with_one_line(tmp_path):
    line = _one_line_error(_train_cli(tmp_path, "--preset", "smoke", "--data", "someone/dataset"))
    assert "--data sample" in line


def test_push_to_hub_without_token_fails_before_training(tmp_path):
    line = _one_line_error(_train_cli(tmp_path, "--preset", "smoke", "--push-to-hub"))
    assert "token" in line and "write" in line


def test_existing_run_directory_is_never_overwritten(tmp_path):
    run = tmp_path / "out" / "taken"
    run.mkdir(parents=True)
    (run / "keep.txt").write_text("precious")
    line = _one_line_error(_train_cli(tmp_path, "--preset", "smoke", "--run-name", "taken"))
    assert "already exists" in line and "--resume" in line
    assert (run / "keep.txt").read_text() == "precious"


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("smoke")
    result = _train_cli(
        tmp_path,
        "--preset",
        "smoke",
        "--run-name",
        "smoke-e2e",
        "--max-steps",
        "4",
        "--save-steps",
        "2",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path, result


def test_smoke_run_leaves_adapter_tokenizer_and_run_record(smoke_run):
    tmp_path, result = smoke_run
    run = tmp_path / "out" / "smoke-e2e"
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "run.json"):
        assert (run / name).is_file(), name
    adapter = json.loads((run / "adapter_config.json").read_text())
    assert adapter["r"] == 16 and adapter["lora_alpha"] == 32
    assert sorted(adapter["target_modules"]) == sorted(LORA_TARGET_MODULES)
    tokenizer_config = json.loads((run / "tokenizer_config.json").read_text())
    template = tokenizer_config.get("chat_template") or (run / "chat_template.jinja").read_text()
    assert "generation" in template

    record = json.loads((run / "run.json").read_text())
    assert record["metrics"]["global_step"] == 4
    assert record["metrics"]["train_loss"] > 0
    assert record["metrics"]["eval_loss"] > 0
    assert record["metrics"]["tokens_per_s"] > 0
    assert record["metrics"]["peak_rss_bytes"] > 0
    stats = record["data_stats"]
    assert sum(stats["train_by_category"].values()) == stats["train_examples"]
    assert len(stats["train_by_category"]) == 15
    assert stats["over_max_length"] == 0
    assert record["versions"]["trl"] and record["versions"]["peft"]
    assert record["config"]["lora_r"] == 16
    assert "run smoke-e2e" in result.stdout
    assert not list(run.rglob("*.tmp"))


def test_smoke_run_is_readable_from_trackio(smoke_run):
    tmp_path, _ = smoke_run
    env = _env(tmp_path)
    out = tmp_path / "metrics.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "qwen2_rust.cli.fetch_metrics",
            "--run",
            "smoke-e2e",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["run"] == "smoke-e2e"
    assert data["project"] == "qwen2-rust"
    assert len(data["metrics"]["train/loss"]) >= 2
    assert data["metrics"]["eval/loss"]
    assert data["config"].get("lora_r") == 16 or data["config"]


# ---------------------------------------------------------------- resume


def _adapter_tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path / "adapter_model.safetensors"))


def _api_run(tmp_path: Path, name: str, interrupt_at: int | None = None):
    from qwen2_rust import training

    given = {
        "preset": "smoke",
        "run_name": name,
        "output_dir": str(tmp_path / "out"),
        "max_steps": 6,
        "save_steps": 3,
        "batch_size": 2,
        "num_examples": 24,
        "no_trackio": True,
        "lora_dropout": 0.1,
    }
    config = build_config(given)
    tokenizer = load_smoke_tokenizer()
    data = training.prepare_data(config, tokenizer)
    run_dir = training.create_run_dir(config)

    def on_step(state):
        if interrupt_at is not None and state.global_step == interrupt_at:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does

    return training.run_training(config, run_dir, data, tokenizer, None, on_step)


def test_interrupt_saves_a_checkpoint_and_resume_matches_an_uninterrupted_run(tmp_path):
    straight = _api_run(tmp_path, "straight")
    assert not straight.interrupted and straight.record["metrics"]["global_step"] == 6

    stopped = _api_run(tmp_path, "resumed", interrupt_at=2)
    assert stopped.interrupted
    assert stopped.checkpoint is not None and stopped.checkpoint.name == "checkpoint-2"
    assert not (tmp_path / "out" / "resumed" / "adapter_model.safetensors").exists()

    # Through the CLI, without naming the run: the unfinished one is picked, not "straight".
    result = _train_cli(tmp_path, "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming resumed from checkpoint-2" in result.stderr
    record = json.loads((tmp_path / "out" / "resumed" / "run.json").read_text())
    assert record["metrics"]["global_step"] == 6
    assert record["resumed_from"].endswith("checkpoint-2")

    import torch

    a = _adapter_tensors(tmp_path / "out" / "straight")
    b = _adapter_tensors(tmp_path / "out" / "resumed")
    assert a.keys() == b.keys() and a
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5), key
    # LoRA B starts at zero: a trained adapter has moved away from it.
    assert any(k.endswith("lora_B.weight") and a[k].abs().sum() > 0 for k in a)


# ---------------------------------------------------------------- loss and packing


def test_trained_positions_head_gives_the_models_cross_entropy():
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from qwen2_rust.modeling import lora_config, smoke_model_dir
    from qwen2_rust.training import add_trained_positions_head

    def load():
        torch.manual_seed(0)
        return get_peft_model(
            AutoModelForCausalLM.from_pretrained(str(smoke_model_dir())), lora_config()
        )

    plain = load()
    patched = get_peft_model(
        add_trained_positions_head(AutoModelForCausalLM.from_pretrained(str(smoke_model_dir()))),
        lora_config(),
    )
    patched.load_state_dict(plain.state_dict())
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 150_000, (2, 40), generator=generator)
    labels = ids.clone()
    labels[:, :15] = IGNORE_INDEX
    labels[1, 33:] = IGNORE_INDEX
    mask = torch.ones_like(ids)
    mask[1, 33:] = 0
    reference = plain(input_ids=ids, attention_mask=mask, labels=labels).loss
    ours = patched(input_ids=ids, attention_mask=mask, labels=labels).loss
    assert torch.allclose(reference, ours, atol=1e-5)
    # With the accumulated-batch token count, the sum is divided by that count instead.
    trained = int((labels[:, 1:] != IGNORE_INDEX).sum())
    scaled = patched(
        input_ids=ids, attention_mask=mask, labels=labels, num_items_in_batch=2 * trained
    ).loss
    assert torch.allclose(scaled, reference / 2, atol=1e-5)
    # Without labels it is the untouched model (generation still works).
    assert patched(input_ids=ids).logits.shape == (2, 40, plain.config.vocab_size)


def test_packed_examples_do_not_attend_to_each_other():
    import torch
    from transformers import AutoModelForCausalLM
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from qwen2_rust.modeling import smoke_model_dir

    model = AutoModelForCausalLM.from_pretrained(str(smoke_model_dir())).eval()
    first, second = list(range(100, 130)), list(range(500, 521))
    collator = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)
    packed = collator(
        [{"input_ids": first, "labels": first}, {"input_ids": second, "labels": second}]
    )
    assert "attention_mask" not in packed
    with torch.no_grad():
        # As in training (TRL passes use_cache=False): with no cache and no attention mask,
        # transformers derives a block-diagonal mask from the restarting position ids.
        together = model(
            input_ids=packed["input_ids"], position_ids=packed["position_ids"], use_cache=False
        ).logits
        alone = model(input_ids=torch.tensor([second])).logits
    assert torch.allclose(together[0, len(first) :], alone[0], atol=1e-4)
    # The first token of the second example is not a target of the first one's last token.
    assert packed["labels"][0, len(first)] == IGNORE_INDEX


def test_estimate_memory_matches_published_7b_lora_figures(capsys):
    from qwen2_rust.cli.train import main
    from qwen2_rust.memory import GIB, QWEN2_7B, estimate_memory

    estimate = estimate_memory(QWEN2_7B, batch_size=1, max_length=512)
    assert estimate.parameters == pytest.approx(7.6e9, rel=0.01)
    assert estimate.trainable_parameters == 40_370_176  # r=16 on all 7 projections
    assert 15 * GIB < estimate.total_bytes < 19 * GIB  # published: ~16 GB for 7B LoRA bf16
    longer = estimate_memory(QWEN2_7B, batch_size=4, max_length=2048)
    unchecked = estimate_memory(
        QWEN2_7B, batch_size=4, max_length=2048, gradient_checkpointing=False
    )
    assert estimate.total_bytes < longer.total_bytes < unchecked.total_bytes

    assert main(["--estimate-memory", "--batch-size", "1", "--max-length", "512"]) == 0
    out = capsys.readouterr().out
    assert "weights" in out and "activations" in out and "17.1" in out


def test_load_in_4bit_without_cuda_stops_before_loading(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    line = _one_line_error(_train_cli(tmp_path, "--preset", "smoke", "--load-in-4bit"))
    assert "CUDA" in line and "--load-in-4bit" in line
    assert not (tmp_path / "out").exists()


def test_4bit_estimate_is_smaller_and_fits_16_gb():
    from qwen2_rust.memory import GIB, QWEN2_7B, estimate_memory

    full = estimate_memory(QWEN2_7B, batch_size=1, max_length=1024)
    quantized = estimate_memory(QWEN2_7B, batch_size=1, max_length=1024, load_in_4bit=True)
    # NF4 linear layers; embeddings and LM head stay (upcast to) fp32 under PEFT's k-bit prep.
    assert quantized.weights_bytes < full.weights_bytes / 1.8
    assert quantized.total_bytes < 16 * GIB < full.total_bytes


def test_resume_refuses_settings_that_change_data_or_schedule():
    from qwen2_rust.training import resume_settings

    saved = TrainConfig(preset="smoke", num_examples=24).to_dict()
    merged = resume_settings(saved, {"logging_steps": 5, "no_trackio": True, "resume": "latest"})
    assert merged["logging_steps"] == 5 and merged["num_examples"] == 24
    assert resume_settings(saved, {"num_examples": 24})["num_examples"] == 24  # unchanged: fine
    with pytest.raises(UserFacingError, match="--num-examples, --seed cannot change"):
        resume_settings(saved, {"num_examples": 100, "seed": 1})
