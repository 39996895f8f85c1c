"""Hugging Face Hub access: write-token checks and uploads (a token is never printed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qwen2_rust.errors import UserFacingError
from qwen2_rust.io_utils import atomic_write_text

_NOT_UPLOADED = ["checkpoints/*", ".staging/*", "*.tmp"]


def check_write_token(what: str) -> str:
    """The user name behind the local token, after checking it can write; else one clear error."""
    from huggingface_hub import HfApi, get_token

    from qwen2_rust.data import hub_offline_mode

    token = get_token()
    if not token:
        raise UserFacingError(
            f"{what} needs a Hugging Face token with write access: run `hf auth login` "
            "or set HF_TOKEN (checked now so nothing fails at the end of a long run)"
        )
    if hub_offline_mode():
        raise UserFacingError(f"{what} needs the Hugging Face Hub, but HF_HUB_OFFLINE is set")
    try:
        info = HfApi().whoami(token=token)
    except Exception as exc:  # network errors and HTTP errors both mean "cannot verify"
        raise UserFacingError(
            f"{what}: cannot verify the Hugging Face token ({type(exc).__name__}); "
            "check the network and the token"
        ) from None
    role = ((info.get("auth") or {}).get("accessToken") or {}).get("role")
    if role not in (None, "write", "fineGrained"):
        raise UserFacingError(
            f"{what}: the Hugging Face token has role {role!r}; a token with write access is needed"
        )
    return str(info["name"])


def write_model_card(
    folder: Path, repo_id: str, evaluation: dict[str, Any] | None = None, merged: bool = False
) -> Path | None:
    """README.md from the folder's run.json (and an evaluation report), if there is a run.json."""
    from qwen2_rust.model_card import render_model_card

    record_path = folder / "run.json"
    if not record_path.is_file():
        return None
    record = json.loads(record_path.read_text(encoding="utf-8"))
    card = render_model_card(record, repo_id, evaluation=evaluation, merged=merged)
    return atomic_write_text(folder / "README.md", card)


def load_evaluation(path: str | Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    file = Path(path)
    if file.is_dir():
        file = file / "report.json"
    if not file.is_file():
        raise UserFacingError(f"evaluation report not found: {file}")
    return json.loads(file.read_text(encoding="utf-8"))


def push_folder(
    folder: Path,
    repo_id: str,
    evaluation: dict[str, Any] | None = None,
    merged: bool = False,
    private: bool = False,
) -> str:
    """Upload ``folder`` (adapter or merged model, without checkpoints) with a model card."""
    from huggingface_hub import HfApi

    write_model_card(folder, repo_id, evaluation, merged)
    api = HfApi()
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            ignore_patterns=_NOT_UPLOADED,
            commit_message=f"qwen2-rust: {folder.name}",
        )
    except Exception as exc:  # HTTP, network and auth errors all end here
        raise UserFacingError(
            f"push to {repo_id} failed ({type(exc).__name__}); everything is saved in {folder}, "
            f"upload it later with `hf upload {repo_id} {folder}`"
        ) from None
    return f"https://huggingface.co/{repo_id}"
