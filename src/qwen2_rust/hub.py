"""Uploading a finished run to the Hugging Face Hub (token never logged)."""

from __future__ import annotations

from pathlib import Path

from qwen2_rust.errors import UserFacingError

_NOT_UPLOADED = ["checkpoints/*", ".staging/*", "*.tmp"]


def push_run(run_dir: Path, repo_id: str, private: bool = False) -> str:
    """Upload the adapter, tokenizer and run.json of ``run_dir``; returns the repo URL."""
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        api.upload_folder(
            folder_path=str(run_dir),
            repo_id=repo_id,
            ignore_patterns=_NOT_UPLOADED,
            commit_message=f"qwen2-rust run {run_dir.name}",
        )
    except Exception as exc:  # HTTP, network and auth errors all end here
        raise UserFacingError(
            f"push to {repo_id} failed ({type(exc).__name__}); the run is saved in {run_dir}, "
            f"upload it later with `hf upload {repo_id} {run_dir}`"
        ) from None
    return f"https://huggingface.co/{repo_id}"
