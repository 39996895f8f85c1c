"""Merge a LoRA adapter into its base model and save it as a standalone model."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from qwen2_rust.errors import UserFacingError
from qwen2_rust.log import get_logger

log = get_logger(__name__)


def adapter_base_model(adapter: Path) -> str:
    config_path = adapter / "adapter_config.json"
    if not config_path.is_file():
        raise UserFacingError(f"no LoRA adapter (adapter_config.json) in {adapter}")
    base = json.loads(config_path.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise UserFacingError(f"{config_path} does not name its base model")
    return str(base)


def merged_model(adapter: Path, dtype: str = "auto") -> tuple[Any, Any]:
    """(merged model, tokenizer): base + adapter folded into plain weights."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    from qwen2_rust.modeling import load_base_model, load_tokenizer, prepare_tokenizer

    base_name = adapter_base_model(adapter)
    base = load_base_model(base_name, dtype=dtype)
    model = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    if (adapter / "tokenizer_config.json").is_file():
        tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(str(adapter)))
    else:
        tokenizer = load_tokenizer(base_name)
    return model, tokenizer


def _make_public(directory: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)


def merge_adapter(adapter: Path, out: Path, dtype: str = "auto") -> Path:
    """Write the merged model (safetensors), tokenizer and chat template to ``out`` atomically."""
    if out.exists() and any(out.iterdir()):
        raise UserFacingError(f"{out} already exists and is not empty; choose another --out")
    model, tokenizer = merged_model(adapter, dtype)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        model.save_pretrained(str(staging), safe_serialization=True)
        tokenizer.save_pretrained(str(staging))
        if (adapter / "run.json").is_file():
            shutil.copy2(adapter / "run.json", staging / "run.json")
        if out.exists():
            out.rmdir()
        _make_public(staging)  # mkdtemp creates 0700; a model directory is for sharing
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("merged %s into %s", adapter, out)
    return out
