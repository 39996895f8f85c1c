"""qwen2-rust: fine-tune Qwen2-7B-Instruct on Strandset-Rust-v1 with TRL + LoRA."""

from qwen2_rust.errors import StrandsetFormatError, UserFacingError
from qwen2_rust.format_utils import format_for_sft, parse_json_field

__all__ = ["StrandsetFormatError", "UserFacingError", "format_for_sft", "parse_json_field"]
__version__ = "0.1.0"
